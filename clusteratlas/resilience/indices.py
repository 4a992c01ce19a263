"""Resilience indices around a shock: Martin (2012), Martin-Sunley-Gardiner-Tyler (2016), Lagravinese (2015).

For a unit r (a region, or a region x cluster) and a phase from t0 to t1 (resistance:
peak -> trough; recovery: trough -> end), with g_r = ΔE_r/E_r and national growth g_N:

.. math::

    \\beta_r = g_r / g_N                                     \\quad\\text{(Martin 2012, sensitivity)}

    \\text{MSGT}_r = \\frac{\\Delta E_r - \\Delta E_r^{exp}}{|\\Delta E_r^{exp}|}
    \\quad \\Delta E_r^{exp} = \\begin{cases} g_N E_r & \\text{expected="aggregate"} \\\\
                                             \\sum_i g_{iN} E_{ir} & \\text{expected="sectoral"} \\end{cases}

    \\text{Lagravinese}_r = (g_r - g_N)/|g_N|

With the aggregate expectation MSGT equals Lagravinese, which is 1 − β in a contraction
(g_N < 0) and β − 1 in a recovery (g_N > 0). The sectoral expectation applies national
industry (or cluster) rates to the unit's own mix, so what remains is competitive, not
structural. The shift-share split of each phase (:mod:`clusteratlas.resilience.shiftshare`)
gives the structural part IM/|NS| and the competitive part CS/|NS|.

Direction. Every index reads "> 0: better than the reference". For an outcome where lower is
better (:data:`LOWER_IS_BETTER`: unemployment, the unemployment rate) the signed indices
(resilience, lagravinese, structural and competitive components, difference_pp) are multiplied
by ``d = -1``: a region whose unemployment rose 90% while the nation's rose 102% scores
``-(0.90 - 1.02)/1.02 = +0.118``. Martin's β (a ratio of growth rates) carries no direction.

Near-zero reference change. The ratio indices divide by the expected (reference) change: with
reference growth :math:`g^{ref}_r = \\Delta E_r^{exp}/E_r` (``g_N`` under the aggregate
expectation) a gap of 1 percentage point moves the index by :math:`0.01/|g^{ref}_r|`. Below
:data:`MIN_REFERENCE_GROWTH` (1%: one point of gap moves the index by more than 1) the index
is set by the denominator, not by the region (Michigan GDP 2007-2009 in current dollars:
national growth +0.03%, index -377). Such rows keep their index but carry
``index_reliable = False`` and a note, and the table always has the difference form

.. math::

    \\text{difference\\_pp}_r = 100\\, d\\, (g_r - g^{ref}_r)

(regional minus reference growth, percentage points), which stays meaningful at any reference
change. For GDP, nominal growth near zero is often inflation offsetting a real fall: real
(chained-dollar) GDP is BEA table SAGDP9N (``read_gdp_csv(path, lines={1: "real_gdp"})`` or
``fetch_bea_gdp(years, table="SAGDP9N", outcome="real_gdp")``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clusteratlas.data.acquire import year_span
from clusteratlas.errors import (
    DataCoverageWarning,
    DesignWarning,
    EstimationError,
    EstimationWarning,
    InputError,
    ParameterError,
)
from clusteratlas.resilience.shiftshare import shift_share
from clusteratlas.resilience.windows import PHASES, ShockWindow, timing_warnings
from clusteratlas.results import Result

EXPECTED = ("aggregate", "sectoral")

#: Below this absolute reference growth (a fraction of the start value) the ratio indices are
#: flagged unreliable: one percentage point of gap would move them by more than 1.
MIN_REFERENCE_GROWTH = 0.01

#: Outcomes where a fall is good news: their indices are multiplied by -1 (see the module doc).
LOWER_IS_BETTER = frozenset({"unemployment", "unemployment_rate"})

#: Where BEA publishes real (chained-dollar) values of a current-dollar outcome.
REAL_SERIES = {
    "gdp": "real GDP in chained dollars (BEA SAGDP9N, line 1: outcome 'real_gdp')",
    "mfg_gdp": "real manufacturing GDP in chained dollars (BEA SAGDP9N, line 12)",
}


def outcome_direction(outcome: str | None) -> int:
    """+1 when higher values of ``outcome`` are better (GDP, employment...), -1 when lower are
    (:data:`LOWER_IS_BETTER`); +1 for an unnamed outcome."""
    return -1 if outcome in LOWER_IS_BETTER else 1


def too_small_note(reference_growth: float, outcome: str | None = None) -> str:
    """The note of a row whose reference change is below :data:`MIN_REFERENCE_GROWTH`."""
    note = (
        f"reference change too small ({reference_growth:+.2%}, below "
        f"{MIN_REFERENCE_GROWTH:.0%} in absolute value): the ratio index is unreliable; read "
        "difference_pp (regional minus reference growth, percentage points)"
    )
    if outcome in REAL_SERIES:
        note += f", or use {REAL_SERIES[outcome]}"
    return note


NO_NATIONAL_NOTE = "no national series given: the benchmark is the sum over the units analysed"


@dataclass
class ResilienceResult(Result):
    """Per-unit, per-phase resilience indices with the shift-share split.

    ``table`` has one row per unit and phase: value_start/end, change, growth,
    national_growth, sensitivity (Martin β), expected_change, resilience (MSGT index),
    lagravinese, the NS/IM/CS effects, structural and competitive components, reference_growth,
    difference_pp (regional minus reference growth, points, signed by the direction),
    index_reliable (False where the reference change is below :data:`MIN_REFERENCE_GROWTH` or an
    index is undefined), direction ("higher is better"/"lower is better") and a note where an
    index is undefined or unreliable.
    """

    table: pd.DataFrame
    window: ShockWindow
    expected: str
    unit: tuple[str, ...]
    outcome: str | None = None
    warnings: list[str] = field(default_factory=list)
    dropped: list = field(default_factory=list)

    def tidy(self) -> pd.DataFrame:
        """The long table (one row per unit x phase): indices, not estimates with standard
        errors, so not the estimate vocabulary of :mod:`clusteratlas.results`."""
        return self.table.copy()

    @property
    def caption(self) -> str:
        return f"Resilience of {self.outcome or 'the outcome'}, window {self.window}"

    def wide(self) -> pd.DataFrame:
        """One row per unit: resistance_* and recovery_* columns of the main indices."""
        cols = ["growth", "sensitivity", "resilience", "lagravinese", "competitive_component"]
        wide = self.table.pivot_table(
            index=list(self.unit), columns="phase", values=cols, aggfunc="first"
        )
        wide.columns = [f"{phase}_{name}" for name, phase in wide.columns]
        return wide.reset_index()

    def summary(self, top: int = 5) -> str:
        """A short text report: window, national growth, most and least resilient units."""
        lines = [
            f"Resilience of {self.outcome or 'the outcome'} ({self.expected} expectation), window {self.window}",
            f"units: {self.table[list(self.unit)].drop_duplicates().shape[0]}"
            + (f"; dropped (missing years): {len(self.dropped)}" if self.dropped else ""),
        ]
        for phase in PHASES:
            part = self.table[self.table["phase"] == phase].dropna(subset=["resilience"])
            if part.empty:
                continue
            g_n = part["national_growth"]
            # per region x sector every unit has its own national (sector) growth
            national = (
                f"national growth {g_n.iloc[0]:+.2%}"
                if g_n.nunique() == 1
                else f"national growth per sector, median {g_n.median():+.2%}"
            )
            lines.append(
                f"\n{phase} {int(part['start'].iloc[0])}->{int(part['end'].iloc[0])}: {national}"
                f"; median index {part['resilience'].median():+.3f}; "
                f"{(part['resilience'] > 0).mean():.0%} of units above the expectation"
            )
            label = " ".join(self.unit[1:] if len(self.unit) > 1 else self.unit)
            ranked = part.sort_values("resilience", ascending=False)
            for title, rows in (("most", ranked.head(top)), ("least", ranked.tail(top).iloc[::-1])):
                lines.append(f"  {title} resilient ({label}):")
                for _, row in rows.iterrows():
                    name = (
                        " ".join(str(row[c]) for c in self.unit[1:])
                        if len(self.unit) > 1
                        else str(row[self.unit[0]])
                    )
                    flag = (
                        ""
                        if row.get("index_reliable", True)
                        else f"  (unreliable: reference change too small; difference "
                        f"{row['difference_pp']:+.1f} pp)"
                    )
                    lines.append(
                        f"    {name:<14} growth {row['growth']:+.2%}  index {row['resilience']:+.3f}  "
                        f"beta {row['sensitivity']:.3f}{flag}"
                    )
        for note in self.warnings:
            lines.append(f"\nwarning: {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


def check_window_years(
    data: pd.DataFrame,
    window: ShockWindow,
    phases: Sequence[str] = PHASES,
    outcome: str | None = None,
    *,
    year: str = "year",
) -> None:
    """One :class:`InputError` naming the outcome, the years the window asks for and the years
    the (regional) data have, when a year the ``phases`` need is absent."""
    asked = sorted({t for phase in phases for t in window.phases[phase]})
    have = {int(y) for y in data[year].dropna().unique()} if year in data.columns else set()
    absent = [t for t in asked if t not in have]
    if absent:
        raise InputError(
            f"{outcome or 'the outcome'} has no data for {', '.join(map(str, absent))}: the "
            f"window ({window}) asks for {', '.join(map(str, asked))}",
            hint=f"years available for {outcome or 'it'}: {year_span(have) or 'none'}; choose "
            "a window inside them",
        )


def _split_national(
    frame: pd.DataFrame, unit: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if "region_type" in frame.columns and (frame["region_type"] == "nation").any():
        return frame[frame["region_type"] != "nation"], frame[frame["region_type"] == "nation"]
    return frame, None


def resilience(
    frame: pd.DataFrame,
    window: ShockWindow | tuple[int, int, int],
    *,
    unit: Sequence[str] = ("region_type", "region_id"),
    sector: str | None = None,
    match: Sequence[str] = (),
    national: pd.DataFrame | None = None,
    value: str = "value",
    expected: str = "aggregate",
    outcome: str | None = None,
    phases: Sequence[str] = PHASES,
    direction: int | None = None,
) -> ResilienceResult:
    """Resistance and recoverability of every unit over a shock window.

    Parameters
    ----------
    frame
        Long data: ``year``, ``value``, the ``unit`` columns (and ``sector``). An OUTCOMES
        table works as is (filter one outcome first or pass ``outcome``); a CLUSTER_PANEL works
        with ``value="emp"`` and either ``sector="cluster_code"`` (region totals over the
        cluster mix) or ``unit=("region_id", "cluster_code"), match=("cluster_code",)`` (each
        region x cluster against its national cluster).
    window
        :class:`ShockWindow` or ``(peak, trough, end)``.
    national
        National benchmark (``year``, ``value``, sector/match columns). Default: rows with
        region_type "nation" in ``frame``, else the sum over the units (with a warning).
    expected
        "aggregate" (national total rate, MSGT = Lagravinese) or "sectoral" (national sector
        rates on the unit's own mix; needs ``sector``).
    phases
        The phases to measure (default both): ``("resistance",)`` for a window whose
        recovery the data do not reach yet (the ``end`` year is then not read).
    direction
        +1 (higher is better) or -1 (lower is better: the signed indices are flipped so that
        > 0 always reads "better than the reference"). Default: :func:`outcome_direction` of
        ``outcome`` (-1 for unemployment and the unemployment rate).
    """
    unknown = [ph for ph in phases if ph not in PHASES]
    if unknown or not phases:
        raise ParameterError("phases", f"unknown phases {unknown}", allowed=", ".join(PHASES))
    if expected not in EXPECTED:
        raise ParameterError(
            "expected", f"unknown expectation {expected!r}", allowed=", ".join(EXPECTED)
        )
    if expected == "sectoral" and not sector:
        raise ParameterError(
            "expected",
            "'sectoral' needs the sector column (industry or cluster) of a region x sector panel",
            allowed="aggregate, or pass sector='cluster_code'/'naics'",
        )
    if direction is None:
        direction = outcome_direction(outcome)
    if direction not in (1, -1):
        raise ParameterError("direction", f"got {direction!r}", allowed="1 or -1")
    window = window if isinstance(window, ShockWindow) else ShockWindow(*window)
    unit = list(unit)
    data = frame
    if outcome is not None:
        if "outcome" not in data.columns:
            raise InputError("frame has no 'outcome' column to select from")
        data = data[data["outcome"] == outcome]
        if data.empty:
            raise InputError(
                f"no rows with outcome {outcome!r}",
                hint=f"outcomes: {sorted(frame['outcome'].unique())}",
            )
    elif "outcome" in data.columns and data["outcome"].nunique() > 1:
        raise ParameterError(
            "outcome",
            "the frame mixes several outcomes",
            allowed=", ".join(sorted(data["outcome"].unique())),
        )
    if "source" in data.columns and data["source"].nunique() > 1:
        raise ParameterError(
            "source",
            "the rows mix several sources of the same outcome (e.g. CBP and LAUS employment); "
            "filter to one",
            allowed=", ".join(sorted(data["source"].dropna().unique())),
        )
    notes: list[str] = []
    data, from_frame = _split_national(data, unit)
    check_window_years(data, window, phases, outcome)
    if national is None:
        national = from_frame
    if national is None:
        keys = ["year", *match] + ([sector] if sector else [])
        national = data.groupby(keys, as_index=False)[value].sum()
        notes.append(NO_NATIONAL_NOTE)
    if "source" in data.columns:
        notes += timing_warnings(window, data["source"].dropna().unique(), outcome)

    parts, dropped = [], []
    for phase, (t0, t1) in window.phases.items():
        if phase not in phases:
            continue
        split = shift_share(
            data, t0, t1, national=national, unit=unit, sector=sector, match=match, value=value
        )
        dropped += split.attrs.get("dropped", [])
        split.insert(len(unit), "phase", phase)
        parts.append(split)
    table = pd.concat(parts, ignore_index=True)

    e0, change, g_n = table["value_start"], table["change"], table["national_growth"]
    if (g_n == 0).any():
        raise EstimationError(
            "national growth is exactly zero in a phase: sensitivity and indices undefined"
        )
    ns, im = table["national_share_effect"], table["industry_mix_effect"]
    exp_change = ns + im if expected == "sectoral" else ns
    base_ok = e0 != 0
    table["growth"] = np.where(base_ok, change / e0.where(base_ok), np.nan)
    table["sensitivity"] = table["growth"] / g_n
    table["expected_change"] = exp_change
    exp_ok = exp_change != 0
    d = float(direction)
    table["resilience"] = np.where(
        exp_ok, d * (change - exp_change) / exp_change.abs().where(exp_ok), np.nan
    )
    table["lagravinese"] = d * (table["growth"] - g_n) / g_n.abs()
    ns_ok = ns != 0
    table["structural_component"] = np.where(ns_ok, d * im / ns.abs().where(ns_ok), np.nan)
    table["competitive_component"] = np.where(
        ns_ok, d * table["competitive_effect"] / ns.abs().where(ns_ok), np.nan
    )
    table["reference_growth"] = np.where(base_ok, exp_change / e0.where(base_ok), np.nan)
    table["difference_pp"] = 100.0 * d * (table["growth"] - table["reference_growth"])
    small = base_ok & (table["reference_growth"].abs() < MIN_REFERENCE_GROWTH)
    table["index_reliable"] = base_ok & exp_ok & ~small
    table["direction"] = "higher is better" if direction == 1 else "lower is better"
    table["note"] = np.where(
        ~base_ok,
        "zero base value: indices undefined",
        np.where(~exp_ok, "zero expected change: index undefined", ""),
    )
    for i in np.flatnonzero((small & exp_ok).to_numpy()):
        table.iloc[i, table.columns.get_loc("note")] = too_small_note(
            float(table["reference_growth"].iloc[i]), outcome
        )
    unreliable = int((small & exp_ok).sum())
    if unreliable:
        warnings.warn(
            f"{unreliable} unit-phase rows have a reference change below "
            f"{MIN_REFERENCE_GROWTH:.0%}: their ratio index is unreliable (index_reliable=False); "
            "read difference_pp",
            EstimationWarning,
            stacklevel=2,
        )
    undefined = int((~base_ok | ~exp_ok).sum())
    if undefined:
        warnings.warn(
            f"{undefined} unit-phase rows have undefined indices (see the 'note' column)",
            category=EstimationWarning,
            stacklevel=2,
        )
    for note in notes:  # the benchmark note is about the data, the others about timing
        kind = DataCoverageWarning if note == NO_NATIONAL_NOTE else DesignWarning
        warnings.warn(note, category=kind, stacklevel=2)
    return ResilienceResult(
        table=table,
        window=window,
        expected=expected,
        unit=tuple(unit),
        outcome=outcome,
        warnings=notes,
        dropped=dropped,
    )
