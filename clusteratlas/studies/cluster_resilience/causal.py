"""The main job's causal stage: every estimator of the evidence section, at region level and at
region x cluster level, for every shock the data can see.

Owns the study's causal designs (which rows, windows, scales, treatment and standard errors)
and the list of estimators (:data:`ESTIMATORS`); it calls :mod:`clusteratlas.causal` for every
number. **Adding an estimator is one entry in** :data:`ESTIMATORS`: an :class:`Estimator`
whose ``run(evidence)`` returns rows for its table (``level`` and ``shock`` columns included);
:class:`Evidence` hands it the designs already built:

* :meth:`Evidence.region_designs`: per outcome x (design, shock, phase), the balanced 2x2 frame
  of regions (log outcome, the treatment measured before that shock);
* :meth:`Evidence.cluster_designs`: per shock x phase, the balanced 2x2 frame of traded
  region x cluster units; outcome y = log(E_rc / E_US,c), the unit's share of its cluster's
  national employment (the cluster's national path differenced out), treatment = the
  cluster was strong in the region in the year before the shock; inference clustered by
  region;
* :meth:`Evidence.event_panels`: the same units over the years around each shock.

The designs live in :mod:`.evidence`. Estimators now: the 2x2 DID (:func:`~clusteratlas.causal.did.did_2x2`, the corrected
designs with CRV1 by region and the restricted wild cluster bootstrap; beside them the seed
design as printed, from :func:`clusteratlas.studies.cho2024.paper.paper_did` via
:func:`.cho_tables.seed_did_rows`), the event study with its pre-trend test (:func:`~clusteratlas.causal.did.shock_event_study`,
the window every study shares),
the RD at the strong-cluster cut-off with its falsification checks (:mod:`.causal_rd`), the
staggered design (regions turn into cluster regions in different years) with the
heterogeneity-robust DID estimators, HonestDiD and the Bacon decomposition
(:mod:`.causal_staggered`), and the seed paper's own tables at its years (:mod:`.cho_tables`).
Tables: ``run_did``, ``run_did_wild_bootstrap``, ``run_event_study``, ``run_rd*``,
``run_staggered_*``, ``run_seed_rdd``, ``run_cho2024``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.causal.did import (
    did_2x2,
    shock_event_study,
    shock_window_years,
    wild_cluster_bootstrap,
)
from clusteratlas.errors import ClusterAtlasError
from clusteratlas.results import TIDY_COLUMNS
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.causal_rd import rd_rows
from clusteratlas.studies.cluster_resilience.causal_staggered import staggered_rows
from clusteratlas.studies.cluster_resilience.cho_tables import cho_rows, seed_did_rows
from clusteratlas.studies.cluster_resilience.config import shocks
from clusteratlas.studies.cluster_resilience.evidence import (
    CLUSTER_OUTCOME,
    REGION,
    REGION_CLUSTER,
    Evidence,
)
from clusteratlas.studies.cluster_resilience.figures import causal_figures, source_line
from clusteratlas.studies.cluster_resilience.stages import CBP_TIMED

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

#: wild cluster bootstrap of the corrected DID: draws and seed (recorded in run_did_wild_bootstrap)
BOOTSTRAP_REPS = 9999
BOOTSTRAP_SEED = 20240101
#: above this many clusters CRV1 is reliable and the bootstrap's G x G x draws cost is not worth it
BOOTSTRAP_MAX_CLUSTERS = 200


# -- estimators ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimator:
    """One estimator of the evidence section: its name, the table its rows go to, and
    ``run(evidence) -> DataFrame`` (rows with ``level`` and ``shock`` columns)."""

    name: str
    table: str
    run: Callable[[Evidence], pd.DataFrame]


def did_rows(ev: Evidence) -> pd.DataFrame:
    """2x2 DID of every design at both levels (Cho et al. 2024 Eq. 1, clusteratlas.causal.did.did_2x2).

    Corrected designs: log outcome, SE clustered by region (CRV1, fixest small-sample factor,
    t(G-1)). Region x cluster: units = traded region x cluster pairs, SE clustered by region.
    The seed design as printed (growth rates, Idaho as the control, classical SEs) comes from
    the seed study's own implementation (:func:`.cho_tables.seed_did_rows`).
    """
    rows, boots = [], []
    for design in [*ev.region_designs(), *ev.cluster_designs()]:
        try:
            res = did_2x2(
                design.data,
                y="y",
                treat="treated_i",
                time="year",
                pre=design.start,
                post=design.end,
                unit="unit",
                cluster="region_id",
            )
        except ClusterAtlasError as error:
            ev.notes.append(
                f"DID {design.level} {design.outcome} {design.shock} {design.phase}: {error}"
            )
            continue
        # the result's own tidy row of its headline term (estimate ... conf_high)
        row = pd.DataFrame(res.tidy()).set_index("term").loc[res.term]
        rows.append(
            {
                **design.labels(),
                "scale": "log",
                **{column: float(row[column]) for column in TIDY_COLUMNS[1:]},
                "r2_adj": float(res.info.get("r2_adj", res.info.get("adj_r2", float("nan")))),
                "n_obs": int(res.nobs),
                "n_clusters": int(res.info.get("n_clusters") or 0),
                "se_type": res.se_type,
                "estimator": res.method,
            }
        )
        if design.level == REGION:
            boot = _wild_bootstrap(res, rows[-1], ev.notes)
            if boot is not None:
                boots.append(boot)
    if boots:
        ev.extra["run_did_wild_bootstrap"] = pd.DataFrame(boots)
    parts = [frame for frame in (pd.DataFrame(rows), seed_did_rows(ev)) if not frame.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _wild_bootstrap(result, row: dict, notes: list[str]) -> dict | None:
    """Restricted wild cluster bootstrap (WCR11, Rademacher, clusters = regions) of one DID.

    With ~50 states the CRV1 t(G-1) p-value can over-reject; the bootstrap p-value and its
    test-inversion CI (clusteratlas.causal.did.wild_cluster_bootstrap) go beside it.
    """
    label = f"wild bootstrap {row['outcome']} {row['shock']} {row['phase']}"
    n_clusters = int(result.info.get("n_clusters") or 0)
    if n_clusters > BOOTSTRAP_MAX_CLUSTERS:
        notes.append(
            f"wild cluster bootstrap skipped: {n_clusters} region clusters "
            f"(> {BOOTSTRAP_MAX_CLUSTERS}), the CRV1 p-value is reliable with this many"
        )
        return None
    try:
        boot = wild_cluster_bootstrap(result, reps=BOOTSTRAP_REPS, seed=BOOTSTRAP_SEED)
    except ClusterAtlasError as error:
        notes.append(f"{label}: {error}")
        return None
    return {
        **{
            k: row[k]
            for k in ("level", "outcome", "design", "shock", "phase", "start", "end", "scale")
        },
        # the bootstrap's own tidy row: estimate, statistic (the original t), bootstrap p_value
        # and conf_low/high; reps, weights, n_clusters (no standard error: NaN)
        **pd.DataFrame(boot.tidy()).drop(columns="term").iloc[0].to_dict(),
        "crv1_p_value": row["p_value"],
        "seed": BOOTSTRAP_SEED,
        "method": "WCR11 restricted wild cluster bootstrap, clusters = regions",
    }


def _event_rows(ev: Evidence, frame: pd.DataFrame, labels: dict, peak: int) -> pd.DataFrame | None:
    """One event study: TWFE with leads and lags on the shared shock window
    (:func:`~clusteratlas.causal.did.shock_window_years`: the replication's too), CRV1 by
    region, reference year = the peak (the last pre-shock year), joint Wald pre-trend test."""
    first, last = shock_window_years(peak + 1)
    frame = frame.loc[frame["year"].between(first, last)]
    if frame["region_id"].nunique() < 4 or frame["year"].nunique() < 3:
        return None
    try:
        res = shock_event_study(
            frame, "y", "unit", "year", treat="treated_i", shock_year=peak + 1, cluster="region_id"
        )
    except ClusterAtlasError as error:
        ev.notes.append(
            f"event study {labels['level']} {labels['outcome']} {labels['shock']}: {error}"
        )
        return None
    # the result's own tidy rows of its event times (the reference year is not estimated: 0)
    tidy = pd.DataFrame(res.tidy())
    tidy = tidy.loc[tidy["event_time"].notna()]
    part = tidy[list(TIDY_COLUMNS[1:])].assign(
        year=(peak + 1 + tidy["event_time"].astype(int)).to_numpy()
    )[["year", *TIDY_COLUMNS[1:]]]
    base = pd.DataFrame(
        [{"year": peak, "estimate": 0.0, "std_error": 0.0, "conf_low": 0.0, "conf_high": 0.0}]
    )
    return (
        pd.concat([part, base], ignore_index=True)
        .sort_values("year")
        .assign(
            **labels,
            base_year=peak,
            pretrend_p=res.info.get("pretrend_p", np.nan),
            n_units=int(frame["unit"].nunique()),
            estimator=res.method,
            se_type=res.se_type,
        )
    )


def event_rows(ev: Evidence) -> pd.DataFrame:
    """Event studies around each shock: every outcome of the regions (log outcome), and the
    region x cluster units (log national share of the cluster)."""
    parts = []
    rt = ev.p.config.region_type
    for shock in reversed(shocks(ev.p.config)):
        treatment = ev.treatment(shock.name)
        if treatment.empty:
            continue
        for outcome in ev.p.config.outcomes["names"]:
            window = shock.cbp if outcome in CBP_TIMED else shock.annual
            frame = ev.outcomes.loc[
                (ev.outcomes["outcome"] == outcome) & (ev.outcomes["value"] > 0)
            ]
            frame = frame.groupby(["region_id", "year"], as_index=False)["value"].sum()
            frame = frame.merge(treatment, on="region_id").assign(
                y=lambda f: np.log(f["value"]),
                treated_i=lambda f: f["treated"].astype(int),
                unit=lambda f: f["region_id"],
            )
            if not {window.peak, window.peak + 1} <= set(frame["year"]):
                continue
            part = _event_rows(
                ev, frame, {"level": REGION, "outcome": outcome, "shock": shock.label}, window.peak
            )
            if part is not None:
                parts.append(part)
        window = shock.cbp
        first, last = shock_window_years(window.peak + 1)
        years = set(range(first, last + 1))
        units = ev.cluster_units(shock.name, years)
        label = f"region x cluster event study, {shock.label}"
        part = None
        if units is not None and {window.peak, window.peak + 1} <= set(units["year"]):
            part = _event_rows(
                ev,
                units,
                {"level": REGION_CLUSTER, "outcome": CLUSTER_OUTCOME, "shock": shock.label},
                window.peak,
            )
        if part is None:
            ev.prov.append(
                provenance.row(
                    label,
                    "cluster panels",
                    sorted(years),
                    rt,
                    "not possible",
                    f"the cluster panels do not cover {window.peak} and {window.peak + 1} with a treatment measured before",
                )
            )
        else:
            parts.append(part)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not out.empty:
        main = out.loc[(out["level"] == REGION) & (out["shock"] == "COVID-19")]
        ev.figures["event"] = main
    return out


#: every estimator of the evidence section, in report order. Adding one = adding an entry.
ESTIMATORS: list[Estimator] = [
    Estimator("2x2 DID (+ wild cluster bootstrap)", "run_did", did_rows),
    Estimator("event study (TWFE, pre-trend test)", "run_event_study", event_rows),
    Estimator("RD at the strong-cluster cut-off", "run_rd", rd_rows),
    Estimator(
        "staggered DID (imputation, did2s, Sun-Abraham, Callaway-Sant'Anna, HonestDiD, Bacon)",
        "run_staggered_did",
        staggered_rows,
    ),
    Estimator("Cho et al. (2024) Tables 3-6 at the paper's years", "run_cho2024", cho_rows),
]


def stage_causal(p: ClusterResilience, store: Store) -> dict:
    """Run every estimator of :data:`ESTIMATORS`; write their tables, figures and provenance."""
    ev = Evidence(p, store)
    tables: dict[str, list[pd.DataFrame]] = {}
    for estimator in ESTIMATORS:
        frame = estimator.run(ev)
        if frame is not None and not frame.empty:
            tables.setdefault(estimator.table, []).append(frame)
            for (level, shock), part in (
                frame.groupby(["level", "shock"])
                if {"level", "shock"} <= set(frame.columns)
                else []
            ):
                ev.prov.append(
                    provenance.row(
                        f"{estimator.name}, {shock}, {level} level",
                        "run_outcomes, run_treatment_by_shock"
                        + (", cluster panels" if level == REGION_CLUSTER else ""),
                        _years(part),
                        p.config.region_type,
                    )
                )
        else:
            ev.prov.append(
                provenance.row(
                    estimator.name,
                    "",
                    "",
                    p.config.region_type,
                    "not possible",
                    "no design had the data it needs (see the rows above)",
                )
            )
    written = []
    for name, frames in {**tables, **{k: [v] for k, v in ev.extra.items()}}.items():
        store.write(name, pd.concat(frames, ignore_index=True))
        written.append(name)
    for required in ("run_did", "run_event_study"):
        if required not in written:  # the report reads them: empty, with the reason in the notes
            store.write(required, pd.DataFrame({"note": ["not estimated: see the causal notes"]}))
            written.append(required)
    ev.files = (
        causal_figures(
            p.out_dir,
            ev.figures.get("event"),
            ev.figures.get("rd_points"),
            ev.figures.get("rd_sensitivity"),
            source_line(p, "run_event_study, run_rd (clusteratlas.causal)"),
        )
        + ev.files
    )
    notes = ev.notes + provenance.record(store, "causal", ev.prov)
    return {"tables": [*written, provenance.TABLE], "files": ev.files, "notes": notes}


def _years(part: pd.DataFrame) -> list[int]:
    years: set[int] = set()
    for column in ("start", "end", "year"):
        if column in part.columns:
            years |= {int(y) for y in part[column].dropna().unique()}
    return sorted(years)
