"""The designs every estimator of the main job's causal stage works on (:class:`Evidence`).

Owns how the causal stage's data are shaped, once, for all estimators (:mod:`.causal` lists
them): the balanced 2x2 region frames of every outcome x corrected design (the corrected
windows of each shock) with the treatment measured before that shock (the seed study's design
as printed is :mod:`clusteratlas.studies.cho2024`'s, called by :mod:`.cho_tables`); the traded
region x cluster units with y = log(E_rc / E_US,c) (the unit's share of its cluster's national
employment: the cluster's national path differenced out) and the treatment "the cluster was
strong in the region in the year before the shock"; and what estimators hand back besides
their rows (extra tables, figures, notes, provenance rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.config import shocks
from clusteratlas.studies.cluster_resilience.panels import TREATMENT_LABELS
from clusteratlas.studies.cluster_resilience.stages import cluster_panel_for, designs, window_for

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

REGION = "region"
REGION_CLUSTER = "region x cluster"
#: the outcome name of region x cluster rows
CLUSTER_OUTCOME = "cluster_share"  # log(E_rc / E_US,c): the share of the cluster's national jobs


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
