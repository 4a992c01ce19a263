"""The paper's Table 1 corrected and its Table 2 checked column by column (tidy DataFrames).

* :func:`corrected_table1`: every corner-equilibrium income, relative price and relative
  number of the seven paper structures in simplified closed form (general ``k_x, k_y, k_z``
  and ``z_scale``; and with the paper's common ``k`` and ``s = 1``) beside the printed form,
  with each difference named exactly (``printed / derived``, or ``printed x derived`` when
  the printed value is the reciprocal, and which configuration's income a wrong printed
  income is);
* :func:`table2_columns`: each of the paper's 12 regime columns, the parameter region as the
  paper states it and as operationalised here, what the model gives there (structure and
  income margin over the runner-up) and whether the paper's structure is the equilibrium.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sympy as sp

from clusteratlas.theory import symbolic
from clusteratlas.theory.model import Params, regimes
from clusteratlas.theory.printed import ILLEGIBLE, PRINTED
from clusteratlas.theory.structures import PAPER_STRUCTURES
from clusteratlas.theory.symbolic import LogMonomial, k, kx, ky, kz, s

PAPER_FORM = {kx: k, ky: k, kz: k, s: sp.Integer(1)}  # the paper's common k, no z_scale


def _printed_prices(structure: str) -> dict[sp.Expr, LogMonomial] | None:
    """The printed relative prices as a full price vector (numeraire 1), if all are printed."""
    spec = PAPER_STRUCTURES[structure]
    numeraire = next(g for g in ("z", "y", "x") if g in spec.traded)
    prices = {symbolic.PRICES[numeraire]: LogMonomial()}
    for good in spec.traded:
        if good == numeraire:
            continue
        key = f"p_{good}/p_{numeraire}"
        if key not in PRINTED.get(structure, {}):
            return None
        prices[symbolic.PRICES[good]] = LogMonomial.of(PRINTED[structure][key])
    return prices


def _difference(structure: str, quantity: str, derived: LogMonomial, printed: LogMonomial) -> str:
    ratio = printed / derived
    if not ratio.terms:
        return "agrees"
    product = printed * derived
    if len(product.terms) < len(ratio.terms):
        text = (
            f"printed = ({product.text()}) / derived: the reciprocal of the derived value "
            f"times {product.text()}"
        )
    else:
        text = f"printed / derived = {ratio.text()}"
    if quantity == "u":
        prices = _printed_prices(structure)
        matches = [
            config
            for config in (PAPER_STRUCTURES[structure].configurations if prices else ())
            if symbolic.configuration(config)[0].subs(PAPER_FORM).compose(prices) == printed
        ]
        if matches:
            text += (
                f"; the printed income is what {' and '.join(matches)} earn at the printed "
                "prices (which are not the equilibrium prices)"
            )
    return text


def corrected_table1() -> pd.DataFrame:
    """Corrected Table 1: derived closed forms beside the printed ones, differences named.

    Columns: structure, quantity, derived (general ``k_x, k_y, k_z``, ``s``), derived_paper_form
    (common ``k``, ``s = 1``: comparable with the print), printed, difference, and the LaTeX
    of the three forms.
    """
    rows = []
    for structure in PAPER_STRUCTURES:
        corner = symbolic.corner(structure)
        derived = {"u": corner.utility, **corner.prices, **corner.numbers}
        printed = PRINTED.get(structure, {})
        keys = list(derived) + [q for q in printed if q not in derived]
        for quantity in keys:
            general = derived.get(quantity)
            paper_form = general.subs(PAPER_FORM) if general is not None else None
            row = {
                "structure": structure,
                "quantity": quantity,
                "derived": general.text() if general else "",
                "derived_paper_form": paper_form.text() if paper_form else "",
                "printed": "",
                "difference": "not printed",
                "derived_latex": general.text(latex=True) if general else "",
                "derived_paper_form_latex": paper_form.text(latex=True) if paper_form else "",
                "printed_latex": "",
            }
            if (structure, quantity) in ILLEGIBLE:
                row["difference"] = "printed form illegible: " + ILLEGIBLE[(structure, quantity)]
            elif quantity in printed:
                expr = printed[quantity]
                row["printed"] = symbolic.show(expr)
                row["printed_latex"] = symbolic.show(expr, latex=True)
                row["difference"] = _difference(
                    structure, quantity, paper_form, LogMonomial.of(expr)
                )
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Table 2, column by column
# ---------------------------------------------------------------------------------------------

#: How the paper's verbal conditions are read (ranges of the common-k design). Stated in every
#: output row, so a reader can disagree with a reading and rerun with another.
READINGS = {
    "K -> 0": ("K", (0.05, 0.2)),
    "K medium, relatively smaller": ("K", (0.35, 0.55)),
    "K medium, relatively larger": ("K", (0.55, 0.75)),
    "K large": ("K", (0.85, 1.0)),
    "alpha small": ("alpha", (0.05, 0.35)),
    "alpha large": ("alpha", (0.6, 0.95)),
    "t relatively smaller": ("t", (0.0, 0.15)),
    "t relatively larger": ("t", (0.3, 0.6)),
}
DEFAULT_RANGES = {
    "K": (0.05, 1.0), "t": (0.0, 0.3), "alpha": (0.05, 0.95), "b": (0.01, 0.45),
    "F": (0.01, 0.45), "e": (0.01, 0.5), "theta": (0.01, 0.5),
}  # fmt: skip
#: Relations between parameters: "b > F" reads "b relatively larger given the value of F",
#: "beta < alpha" reads "beta relatively smaller given the value of alpha" (that is e < theta).
RELATIONS = {
    "b > F": lambda v: v["b"] > v["F"],
    "b < F": lambda v: v["b"] < v["F"],
    "beta < alpha": lambda v: v["e"] < v["theta"],
    "beta > alpha": lambda v: v["e"] > v["theta"],
}


@dataclass(frozen=True)
class Table2Column:
    number: int
    paper_structure: str
    conditions: tuple[str, ...]  # keys of READINGS or RELATIONS, in the paper's words


TABLE2 = [
    Table2Column(1, "A", ("K -> 0", "alpha small")),
    Table2Column(2, "A", ("K -> 0", "alpha large", "b > F")),
    Table2Column(3, "B", ("K -> 0", "alpha large", "b < F")),
    Table2Column(4, "P_C", ("K medium, relatively smaller", "b > F")),
    Table2Column(5, "P_B", ("K medium, relatively smaller", "b < F")),
    Table2Column(6, "P_A", ("K medium, relatively larger", "b > F", "t relatively smaller")),
    Table2Column(7, "P_B", ("K medium, relatively larger", "b > F", "t relatively larger")),
    Table2Column(8, "P_A", ("K medium, relatively larger", "b < F")),
    Table2Column(9, "CC_A", ("K large", "beta < alpha", "t relatively smaller")),
    Table2Column(10, "CC_B", ("K large", "beta < alpha", "t relatively larger")),
    Table2Column(11, "CC_B", ("K large", "beta > alpha", "t relatively smaller")),
    Table2Column(12, "CC_A", ("K large", "beta > alpha", "t relatively larger")),
]


def _region(column: Table2Column, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    ranges = dict(DEFAULT_RANGES)
    relations = []
    for condition in column.conditions:
        if condition in READINGS:
            name, bounds = READINGS[condition]
            ranges[name] = bounds
        else:
            relations.append(RELATIONS[condition])
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in ranges}
    have = 0
    while have < n:  # rejection sampling for the relations (b > F, e < theta)
        draw = {name: rng.uniform(lo, hi, 2 * n) for name, (lo, hi) in ranges.items()}
        keep = np.ones(2 * n, dtype=bool)
        for relation in relations:
            keep &= relation(draw)
        for name in ranges:
            chunks[name].append(draw[name][keep])
        have += int(keep.sum())
    return {name: np.concatenate(parts)[:n] for name, parts in chunks.items()}


def _region_text(column: Table2Column) -> str:
    ranges = dict(DEFAULT_RANGES)
    for condition in column.conditions:
        if condition in READINGS:
            name, bounds = READINGS[condition]
            ranges[name] = bounds
    parts = [f"{name} in [{lo:g}, {hi:g}]" for name, (lo, hi) in ranges.items()]
    parts += [c for c in column.conditions if c in RELATIONS]
    return "; ".join(parts)


def table2_columns(
    samples: int = 2000,
    seed: int = 20260402,
    z_scale: float = 1.0,
    structures: str = "paper",
) -> pd.DataFrame:
    """The paper's Table 2 column by column: its region, what the model gives, verdict.

    Each column's verbal region is read as the ranges in :data:`READINGS` (others as in
    :data:`DEFAULT_RANGES`) and sampled uniformly (``samples`` points, seeded). Columns:

    * ``paper_region`` (the paper's words), ``region_used`` (the ranges sampled);
    * ``paper_structure``; ``model_structures`` (share of the region won by each structure);
    * ``paper_structure_share``: share of the region where the paper's structure is the GE;
    * ``representative_point`` and there ``model_structure``, ``runner_up`` and ``margin``
      (``u_winner / u_runner_up - 1``);
    * ``paper_structure_gap``: the best the paper's structure does in the region,
      ``max(u_paper / u_winner) - 1`` (0 where it wins; NaN where it never exists);
    * ``verdict``: holds (>= 99.9% of the region), holds in part, fails (nowhere).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for column in TABLE2:
        values = _region(column, samples, rng)
        params = Params(**values, z_scale=z_scale)
        result = regimes(params, structures)
        labels = result.labels()
        shares = pd.Series(labels).value_counts(normalize=True)
        stack = np.stack([np.broadcast_to(u, labels.shape) for u in result.utilities.values()])
        ordered = np.sort(np.where(np.isnan(stack), -np.inf, stack), axis=0)
        paper_u = np.broadcast_to(result.utilities[column.paper_structure], labels.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            margin = ordered[-1] / ordered[-2] - 1
            gap = paper_u / result.utility - 1
        medians = {n: np.median(v) for n, v in values.items()}
        spread = {n: np.ptp(v) or 1.0 for n, v in values.items()}
        distance = sum(((values[n] - medians[n]) / spread[n]) ** 2 for n in values)
        i = int(np.argmin(distance))
        names = list(result.utilities)
        order = np.argsort(np.where(np.isnan(stack[:, i]), -np.inf, stack[:, i]))
        share = float(shares.get(column.paper_structure, 0.0))
        verdict = "holds" if share >= 0.999 else ("fails" if share == 0 else "holds in part")
        rows.append(
            {
                "column": column.number,
                "paper_region": "; ".join(column.conditions),
                "region_used": _region_text(column),
                "paper_structure": column.paper_structure,
                "model_structures": ", ".join(f"{n} {v:.1%}" for n, v in shares.items()),
                "paper_structure_share": share,
                "representative_point": ", ".join(f"{n}={values[n][i]:.6g}" for n in values),
                "model_structure": labels[i],
                "runner_up": names[order[-2]],
                "margin": float(margin[i]),
                "paper_structure_gap": float(np.nanmax(gap)) if np.isfinite(gap).any() else np.nan,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)
