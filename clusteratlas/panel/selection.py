"""Which panel columns to compute: the metric names of ``build_panel(metrics=...)`` and
``clusteratlas panel build --metrics``, and what each one needs.

Only what a selection needs is computed: ``--metrics lq,strong`` sums employment and
establishments (no payroll, no reported employment), computes the regional and national
denominators of the LQ and the three quantiles the strong flag compares with (LQ 75th,
employment and establishments 25th), and nothing else. Every panel row carries the keys
(region_type, region_id, year, cluster_code), cluster_name, traded and emp.

Kept free of heavy imports: the command line validates ``--metrics`` before it loads an
engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clusteratlas.errors import ParameterError

KEYS = ("region_type", "region_id", "year", "cluster_code")
LABELS = ("cluster_name", "traded")
MEASURES = ("emp", "emp_reported", "est", "ap", "qp1")
RATIOS = ("wage", "lq", "region_share", "national_share")
FLAGS = ("qualifying", "significant", "strong", "strong10")
DENOMINATORS = ("emp_region_group", "emp_national")
GROWTH = (
    "prev_year",
    "emp_change",
    "emp_growth",
    "expected_emp_change",
    "competitive_effect",
    "est_change",
    "lq_change",
)
#: every metric, in the panel's column order (schema.CLUSTER_PANEL, then PANEL_EXTRA)
ORDER = MEASURES + RATIOS + FLAGS + DENOMINATORS + GROWTH

#: names that stand for several metrics
GROUPS = {
    "all": ORDER,
    "measures": MEASURES,
    "shares": ("region_share", "national_share"),
    "flags": FLAGS,
    "growth": GROWTH,
}

#: the LQ quantile each flag compares with (all flags also need Q25 of emp and est)
FLAG_QUANTILE = {
    "qualifying": ("lq_q25", 0.25),
    "significant": ("lq_q50", 0.50),
    "strong": ("lq_q75", 0.75),
    "strong10": ("lq_q90", 0.90),
}

#: what each metric is computed from (besides emp, always there)
NEEDS: dict[str, tuple[str, ...]] = {
    "wage": ("ap", "emp_reported"),
    "lq": DENOMINATORS,
    "region_share": ("emp_region_group",),
    "national_share": ("emp_national",),
    **dict.fromkeys(FLAGS, ("lq", "est")),
    "prev_year": (),
    "emp_change": (),
    "emp_growth": (),
    "expected_emp_change": ("emp_national",),
    "competitive_effect": ("expected_emp_change", "emp_change"),
    "est_change": ("est",),
    "lq_change": ("lq",),
}


@dataclass(frozen=True)
class Selection:
    """The metrics written (``output``, panel order) and all that is computed for them."""

    output: tuple[str, ...]
    computed: frozenset[str]

    @property
    def measures(self) -> tuple[str, ...]:
        """The sums taken over the 6-digit industries (emp always first)."""
        return tuple(m for m in MEASURES if m in self.computed)

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(f for f in FLAGS if f in self.computed)

    @property
    def growth(self) -> bool:
        return any(g in self.computed for g in GROWTH)

    def has(self, name: str) -> bool:
        return name in self.computed

    @property
    def columns(self) -> tuple[str, ...]:
        """The panel's columns: keys, labels, emp and the requested metrics."""
        return (*KEYS, *LABELS, *(m for m in ORDER if m == "emp" or m in self.output))

    @property
    def signature(self) -> str:
        """What the compiled SQL depends on."""
        return ",".join(self.output) + "|" + ",".join(sorted(self.computed))


def select(metrics: str | Iterable[str] | None = None, *, growth: bool = True) -> Selection:
    """The :class:`Selection` for ``metrics``: None for every metric (without the growth
    columns if ``growth`` is False); else names of :data:`ORDER` or :data:`GROUPS`, as a
    list or one comma-separated string."""
    if metrics is None:
        wanted = {m for m in ORDER if growth or m not in GROWTH}
    else:
        names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
        names = [str(n).strip() for n in names if str(n).strip()]
        if not names:
            raise ParameterError("metrics", "no metric named", allowed=_allowed())
        wanted = set()
        for name in names:
            if name in GROUPS:
                wanted.update(GROUPS[name])
            elif name in ORDER:
                wanted.add(name)
            else:
                raise ParameterError("metrics", f"unknown metric {name!r}", allowed=_allowed())
    computed = _closure(wanted | {"emp"})
    return Selection(output=tuple(m for m in ORDER if m in wanted), computed=frozenset(computed))


def _closure(names: set[str]) -> set[str]:
    done: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        todo.extend(NEEDS.get(name, ()))
    return done


def _allowed() -> str:
    return ", ".join([*ORDER, *GROUPS])


def parse(text: str | None) -> Sequence[str] | None:
    """``--metrics`` text -> names (None: all), checked."""
    if text is None:
        return None
    select(text)
    return [n.strip() for n in text.split(",") if n.strip()]
