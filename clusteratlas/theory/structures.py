"""Market structures: the paper's seven and every other one compatible with Lemma 1.

A structure is a set of configurations in which every traded good has exactly one seller
configuration, every good bought is sold by some configuration and every good sold is bought
by some configuration (plus the two autarky structures). :func:`enumerate_structures` builds
all of them from :data:`~clusteratlas.theory.configs.CONFIGURATIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from clusteratlas.theory.configs import CONFIGURATIONS, GOODS


@dataclass(frozen=True)
class Structure:
    """A market structure: named configurations, the traded goods and the paper's name if any."""

    name: str
    configurations: tuple[str, ...]
    traded: tuple[str, ...]
    in_paper: bool
    description: str = ""

    @property
    def division_level(self) -> int:
        """0 autarky, 1 partial division of labour (2 goods traded), 2 complete (3 goods)."""
        return {0: 0, 2: 1, 3: 2}[len(self.traded)]

    @property
    def uses_z(self) -> bool:
        """True when some configuration makes x with z (roundabout production)."""
        return any(CONFIGURATIONS[c].z_use != "none" for c in self.configurations)

    @property
    def buys_z(self) -> bool:
        return "z" in self.traded

    @property
    def cluster(self) -> bool:
        return any(CONFIGURATIONS[c].tech == "beta" for c in self.configurations)


#: The seven structures of the paper (Figure 1 / Table 1), in the paper's order.
PAPER_STRUCTURES: dict[str, Structure] = {
    s.name: s
    for s in [
        Structure("A", ("A",), (), True, "autarky without intermediate good z"),
        Structure("B", ("B",), (), True, "autarky with self-provided intermediate good z"),
        Structure("P_A", ("(xy/z)[a]", "(zy/x)"), ("x", "z"), True,
                  "partial division: x and z traded, y self-provided"),
        Structure("P_B", ("(xz/y)", "(y/x)"), ("x", "y"), True,
                  "partial division: x (made with self-provided z) traded for y"),
        Structure("P_C", ("(x/y)", "(y/x)"), ("x", "y"), True,
                  "partial division: x (made without z) traded for y"),
        Structure("CC_A", ("(x/yz)[c]", "(z/xy)", "(y/x)"), ("x", "y", "z"), True,
                  "complete division with industrial cluster (technology beta)"),
        Structure("CC_B", ("(x/yz)[a]", "(z/xy)", "(y/x)"), ("x", "y", "z"), True,
                  "complete division without cluster (technology alpha)"),
    ]
}  # fmt: skip


def enumerate_structures() -> dict[str, Structure]:
    """All structures compatible with Lemma 1, the paper's seven under their paper names.

    Rules: one seller configuration per traded good; each configuration's purchases are sold
    within the structure; each sold good is bought by some configuration; autarky
    configurations only form the autarky structures (mixing them with traders is a measure-
    zero coincidence of utility equalisation, as in Yang 2001).
    """
    sellers: dict[str, list[str]] = {g: [] for g in GOODS}
    for name, config in CONFIGURATIONS.items():
        if config.sells:
            sellers[config.sells].append(name)
    paper_by_set = {frozenset(s.configurations): s for s in PAPER_STRUCTURES.values()}
    found: dict[str, Structure] = {"A": PAPER_STRUCTURES["A"], "B": PAPER_STRUCTURES["B"]}
    for traded in (("x", "y"), ("x", "z"), ("y", "z"), ("x", "y", "z")):
        for combo in product(*(sellers[g] for g in traded)):
            configs = [CONFIGURATIONS[c] for c in combo]
            if not all(set(c.buys) <= set(traded) for c in configs):
                continue
            bought = set().union(*(set(c.buys) for c in configs))
            if bought != set(traded):
                continue
            key = frozenset(combo)
            if key in paper_by_set:
                paper = paper_by_set[key]
                found[paper.name] = paper
                continue
            name = "S[" + " ".join(combo) + "]"
            found[name] = Structure(name, tuple(combo), traded, False, "not in the paper")
    order = list(PAPER_STRUCTURES) + sorted(n for n in found if n not in PAPER_STRUCTURES)
    return {n: found[n] for n in order}


ALL_STRUCTURES: dict[str, Structure] = enumerate_structures()
