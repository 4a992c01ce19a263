"""The designs every estimator of the main job's causal stage works on (:class:`Evidence`).

Owns how the causal stage's data are shaped, once, for all estimators (:mod:`.causal` lists
them): the balanced 2x2 region frames of every outcome x corrected design (the corrected
windows of each shock) with the treatment measured before that shock (the seed study's design
as printed is :mod:`clusteratlas.studies.cho2024`'s, called by :mod:`.cho_tables`); the traded
region x cluster units with y = log(E_rc / E_US,c) (the unit's share of its cluster's national
employment: the cluster's national path differenced out) and the treatment "the cluster was
strong in the region in the year before the shock"; and what estimators hand back besides
their rows (extra tables, figures, notes, provenance rows); and the staggered design
(:meth:`Evidence.staggered_designs`): each region's cohort, the first panel year its cluster
portfolio counts as strong under the ``[treatment]`` rule
(:func:`clusteratlas.panel.design.cohort_from_panel`), on the balanced multi-year outcome
panel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.data.acquire import year_span
from clusteratlas.panel.design import cohort_from_panel
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.config import design_rule, shocks
from clusteratlas.studies.cluster_resilience.panels import TREATMENT_LABELS
from clusteratlas.studies.cluster_resilience.stages import cluster_panel_for, designs, window_for

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

REGION = "region"
REGION_CLUSTER = "region x cluster"
#: the outcome name of region x cluster rows
CLUSTER_OUTCOME = "cluster_share"  # log(E_rc / E_US,c): the share of the cluster's national jobs
#: a staggered design needs this many outcome years from the first panel year on
STAGGERED_MIN_YEARS = 3


@dataclass
class StaggeredDesign:
    """One staggered-adoption panel (or why there is none): ``data`` has unit, region_id,
    year, y (log outcome) and cohort (first panel year the region counts as a cluster region;
    0 = not in the years observed), balanced over ``years``. ``reason`` is empty when usable."""

    level: str
    outcome: str
    years: list[int]
    data: pd.DataFrame | None
    reason: str = ""
    dropped_at_start: int = 0  # regions already cluster regions in the first panel year

    def summary(self) -> dict:
        """The row of ``run_staggered_design``: what the design holds, or why it is not there."""
        row = {
            "level": self.level,
            "outcome": self.outcome,
            "years": year_span(self.years) if self.years else "",
            "status": "used" if not self.reason else "not possible",
            "reason": self.reason,
            "n_units": 0,
            "n_never": 0,
            "n_cohorts": 0,
            "cohorts": "",
            "dropped_at_start": self.dropped_at_start,
        }
        if self.data is not None:
            units = self.data.drop_duplicates("unit")
            sizes = units.loc[units["cohort"] > 0, "cohort"].value_counts().sort_index()
            row.update(
                n_units=len(units),
                n_never=int((units["cohort"] == 0).sum()),
                n_cohorts=len(sizes),
                cohorts=", ".join(f"{int(g)}: {int(n)}" for g, n in sizes.items()),
            )
        return row


@dataclass
class Design:
    """One 2x2 comparison: the balanced frame and what it is."""

    level: str
    outcome: str
    design: str
    shock: str
    phase: str
    start: int
    end: int
    data: pd.DataFrame  # unit, region_id, year, y, treated_i

    def labels(self) -> dict:
        return {
            "level": self.level,
            "outcome": self.outcome,
            "design": self.design,
            "shock": self.shock,
            "phase": self.phase,
            "start": self.start,
            "end": self.end,
        }


@dataclass
class Evidence:
    """What every estimator of the causal stage gets: the study, the store and the designs;
    estimators add tables (``extra``), figures (``files``), notes and provenance rows."""

    p: ClusterResilience
    store: Store
    notes: list[str] = field(default_factory=list)
    prov: list[dict] = field(default_factory=list)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    figures: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rt = self.p.config.region_type
        self.outcomes = self.store.read("run_outcomes", where="region_type = ?", params=[rt])
        self.by_shock = self.store.read("run_treatment_by_shock")
        self._cluster_cache: dict[tuple, pd.DataFrame | None] = {}

    def treatment(self, key: str) -> pd.DataFrame:
        """region_id, treated, base_year of treatment set ``key`` (covid19, great_recession,
        seed); empty when it could not be measured."""
        label = TREATMENT_LABELS[key]
        return self.by_shock.loc[
            self.by_shock["shock"] == label, ["region_id", "treated", "base_year"]
        ]

    # -- region level ------------------------------------------------------------------------
    def region_designs(self) -> Iterator[Design]:
        """Balanced 2x2 region frames (log outcome), per outcome x corrected design and shock.

        The seed study's design as printed (growth rates, Idaho as the control) is not a 2x2
        of regions: :func:`.cho_tables.seed_did_rows` gets it from
        :func:`clusteratlas.studies.cho2024.paper.paper_did`."""
        for outcome in self.p.config.outcomes["names"]:
            frame = self.outcomes.loc[self.outcomes["outcome"] == outcome]
            for design in designs(self.p):
                if design["design"].startswith("seed"):
                    continue
                treatment = self.treatment(design["treatment"])
                if frame.empty or treatment.empty:
                    continue
                start, end = window_for(self.p, design, outcome)
                data = _did_frame(frame, treatment, start, end)
                if data["region_id"].nunique() < 4:
                    continue  # the outcome stage already said which years are missing
                data["y"] = data["log_value"]
                yield Design(
                    REGION,
                    outcome,
                    design["design"],
                    design["shock"],
                    design["phase"],
                    start,
                    end,
                    data,
                )

    # -- region x cluster level --------------------------------------------------------------
    def cluster_units(self, shock_name: str, years: set[int]) -> pd.DataFrame | None:
        """Traded region x cluster units over ``years``: y = log(E_rc / E_US,c) and the
        treatment (strong in the region in the year before the shock, from the level panel)."""
        key = (shock_name, tuple(sorted(years)))
        if key in self._cluster_cache:
            return self._cluster_cache[key]
        rt = self.p.config.region_type
        treatment = self.treatment(shock_name)
        out = None
        found = cluster_panel_for(self.p, self.store, years)
        if not treatment.empty and found is not None:
            base = int(treatment["base_year"].iloc[0])
            flags = self.store.read(
                "cluster_panel", where="region_type = ? and year = ? and traded", params=[rt, base]
            )
            flags = flags.loc[flags["emp"] > 0, ["region_id", "cluster_code", "strong", "lq"]]
            panel, source = found
            rows = panel.loc[
                panel["traded"]
                & panel["year"].isin(years)
                & (panel["emp"] > 0)
                & (panel["emp_national"] > 0),
                ["region_id", "cluster_code", "year", "emp", "emp_national"],
            ].merge(flags, on=["region_id", "cluster_code"])
            rows["y"] = np.log(rows["emp"] / rows["emp_national"])
            rows["treated_i"] = rows["strong"].astype(int)
            rows["unit"] = rows["region_id"].astype(str) + ":" + rows["cluster_code"].astype(str)
            out = rows.sort_values(["unit", "year"], kind="stable").reset_index(drop=True)
            out.attrs["source"] = source
            out.attrs["base_year"] = base
        self._cluster_cache[key] = out
        return out

    def cluster_designs(self) -> Iterator[Design]:
        """Balanced 2x2 region x cluster frames per shock x phase (CBP March windows)."""
        for shock in reversed(shocks(self.p.config)):
            window = shock.cbp
            for phase, (start, end) in (
                ("shock", (window.peak, window.trough)),
                ("recovery", (window.trough, window.end)),
            ):
                units = self.cluster_units(shock.name, {start, end})
                label = f"region x cluster DID, {shock.label} {phase} {start}->{end}"
                if units is None or not {start, end} <= set(units["year"]):
                    self.prov.append(
                        provenance.row(
                            label,
                            "cluster panels",
                            [start, end],
                            self.p.config.region_type,
                            "not possible",
                            "no cluster panel with both years, or no treatment before the shock",
                        )
                    )
                    continue
                data = units.loc[units["year"].isin([start, end])]
                both = data.groupby("unit")["year"].transform("nunique") == 2
                yield Design(
                    REGION_CLUSTER,
                    CLUSTER_OUTCOME,
                    "corrected",
                    shock.label,
                    phase,
                    start,
                    end,
                    data.loc[both].copy(),
                )

    # -- staggered adoption -------------------------------------------------------------------
    def staggered_cohorts(self) -> tuple[pd.DataFrame | None, list[int], str]:
        """Each region's cohort from the level panel (:func:`cohort_from_panel` under the
        ``[treatment]`` rule, every panel year), the panel years, and why not ("" if fine)."""
        if hasattr(self, "_cohorts"):
            return self._cohorts
        rt = self.p.config.region_type
        panel = self.store.read("cluster_panel", where=f"region_type = '{rt}'")
        years = sorted(int(y) for y in panel["year"].unique())
        out: tuple[pd.DataFrame | None, list[int], str] = (None, years, "")
        if len(years) < 2:
            out = (
                None,
                years,
                f"the cluster panel has {len(years)} year ({year_span(years) or 'none'}): the "
                "year a region turns into a cluster region needs at least two panel years",
            )
        else:
            rule, options = design_rule(self.p.config.treatment)
            # (one-group years are normal in a cohort scan: cohort_from_panel expects them)
            cohorts = cohort_from_panel(panel, rule, region_type=rt, **options)
            cohorts["region_id"] = cohorts["region_id"].astype(str)
            out = (cohorts[["region_id", "first_treated"]], years, "")
        self._cohorts = out
        return out

    def staggered_designs(self) -> Iterator[StaggeredDesign]:
        """Per outcome, the balanced region panel with each region's cohort, from the first
        cluster-panel year on (a region already a cluster region then has no known start and
        is left out; a cohort after the last outcome year counts as not treated); then the
        region x cluster units (:meth:`_cluster_staggered`)."""
        rt = self.p.config.region_type
        cohorts, panel_years, why = self.staggered_cohorts()
        if cohorts is None:  # fewer than two panel years: nothing staggered at either level
            for outcome in [*self.p.config.outcomes["names"], CLUSTER_OUTCOME]:
                level = REGION_CLUSTER if outcome == CLUSTER_OUTCOME else REGION
                yield StaggeredDesign(level, outcome, [], None, why)
            return
        for outcome in self.p.config.outcomes["names"]:
            frame = self.outcomes.loc[
                (self.outcomes["outcome"] == outcome)
                & (self.outcomes["region_type"] == rt)
                & (self.outcomes["value"] > 0)
            ]
            frame = frame.groupby(["region_id", "year"], as_index=False)["value"].sum()
            frame["region_id"] = frame["region_id"].astype(str)
            first = panel_years[0]
            years = sorted(int(y) for y in frame["year"].unique() if int(y) >= first)
            if len(years) < STAGGERED_MIN_YEARS:
                yield StaggeredDesign(
                    REGION,
                    outcome,
                    years,
                    None,
                    f"{outcome} has {year_span(years) or 'no year'} from the first panel year "
                    f"{first} on; a staggered design needs {STAGGERED_MIN_YEARS} years",
                )
                continue
            data = frame.loc[frame["year"].isin(years)].merge(cohorts, on="region_id")
            complete = data.groupby("region_id")["year"].transform("nunique") == len(years)
            data = data.loc[complete].copy()
            data["cohort"] = data["first_treated"].where(data["first_treated"] <= years[-1], 0)
            at_start = data["cohort"] == first
            dropped = int(data.loc[at_start, "region_id"].nunique())
            data = data.loc[~at_start]
            data["unit"] = data["region_id"]
            data["y"] = np.log(data["value"])
            data = data[["unit", "region_id", "year", "y", "cohort"]]
            data = data.sort_values(["unit", "year"], kind="stable").reset_index(drop=True)
            design = StaggeredDesign(REGION, outcome, years, data, "", dropped)
            staggered = data.loc[data["cohort"] > 0, "unit"].nunique()
            if staggered == 0:
                design.data, design.reason = (
                    None,
                    f"no region turns into a cluster region after {first} within "
                    f"{year_span(years)} ({dropped} already were in {first}): no staggered "
                    "cohort to compare",
                )
            elif data["unit"].nunique() - staggered == 0 and data["cohort"].nunique() < 2:
                design.data, design.reason = (
                    None,
                    "every region turns into a cluster region in the same year and none "
                    "stays out: no comparison group",
                )
            yield design
        yield self._cluster_staggered(panel_years)

    def _cluster_staggered(self, panel_years: list[int]) -> StaggeredDesign:
        """Traded region x cluster units of the level panel, balanced over its years: y =
        log(E_rc / E_US,c), cohort = the first panel year the cluster is strong in the region
        (:func:`cohort_from_panel`, rule ``any_strong`` on each unit's one-cluster portfolio);
        units strong in the first panel year are left out (start unknown)."""
        if len(panel_years) < STAGGERED_MIN_YEARS:
            return StaggeredDesign(
                REGION_CLUSTER,
                CLUSTER_OUTCOME,
                panel_years,
                None,
                f"the cluster panel has {year_span(panel_years) or 'no year'}; a staggered "
                f"design needs {STAGGERED_MIN_YEARS} panel years",
            )
        rt = self.p.config.region_type
        panel = self.store.read("cluster_panel", where=f"region_type = '{rt}' and traded")
        panel = panel.loc[(panel["emp"] > 0) & (panel["emp_national"] > 0)].copy()
        panel["region_id"] = panel["region_id"].astype(str)
        panel["unit"] = panel["region_id"] + ":" + panel["cluster_code"].astype(str)
        panel = panel.loc[panel.groupby("unit")["year"].transform("nunique") == len(panel_years)]
        cohorts = cohort_from_panel(
            panel.assign(region_id=panel["unit"]), "any_strong", region_type=rt
        )
        cohort = cohorts.set_index("region_id")["first_treated"]
        data = panel[["unit", "region_id", "year"]].assign(
            y=np.log(panel["emp"] / panel["emp_national"]),
            cohort=panel["unit"].map(cohort).fillna(0).astype(int).to_numpy(),
        )
        first = panel_years[0]
        at_start = data["cohort"] == first
        dropped = int(data.loc[at_start, "unit"].nunique())
        data = data.loc[~at_start].sort_values(["unit", "year"], kind="stable")
        design = StaggeredDesign(
            REGION_CLUSTER, CLUSTER_OUTCOME, panel_years, data.reset_index(drop=True), "", dropped
        )
        if not (data["cohort"] > 0).any():
            design.data, design.reason = (
                None,
                f"no cluster turns strong in a region after {first}: no staggered cohort",
            )
        return design


def _did_frame(
    outcomes: pd.DataFrame, treatment: pd.DataFrame, start: int, end: int
) -> pd.DataFrame:
    rows = outcomes.loc[outcomes["year"].isin([start, end])].merge(treatment, on="region_id")
    rows = rows.loc[rows["value"] > 0]
    rows = rows.groupby(["region_id", "year"], as_index=False).agg(
        value=("value", "sum"), treated=("treated", "first")
    )
    counts = rows.groupby("region_id")["year"].transform("nunique")
    rows = rows.loc[counts == 2].copy()  # balanced 2x2
    rows["treated_i"] = rows["treated"].astype(int)
    rows["log_value"] = np.log(rows["value"])
    rows["unit"] = rows["region_id"]
    # a fixed row order, so the bootstrap's cluster weights do not depend on the store's order
    return rows.sort_values(["region_id", "year"], kind="stable").reset_index(drop=True)
