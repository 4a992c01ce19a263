"""The seed study's own tables inside the main job: Cho et al. (2024) Tables 3-6 at the paper's years.

Owns the bridge from the main job's panel and outcomes to the paper's specification in
:mod:`clusteratlas.studies.cho2024.paper` (which it calls for every number): the paper's unit
is the region x cluster row of a pre-shock cluster panel (here the panel year the "Cho et al.
windows" treatment is measured in, before 2018), each row carrying its region's outcome.

* Tables 3 and 5 (:func:`~clusteratlas.studies.cho2024.paper.paper_did`): OLS of the region's
  annual outcome growth on Period, Treatment (the row's strong flag) and their interaction,
  Model 1 = 2018 vs 2020, Model 2 = 2020 vs 2022 (classical SEs as printed, region-clustered
  beside them);
* Tables 4 and 6 (:func:`~clusteratlas.studies.cho2024.paper.paper_rdd`): the printed "RDD", an
  OLS of the outcome level in 2020 / 2022 on QP, EST, AP, WAGE and LQ.

A table is computed when the outcomes cover its years (the paper's fallback for CBP
employment, 2021 for 2022, is said in the ``years`` column); otherwise a provenance row says
which years are missing. Rows go to ``run_cho2024``.
"""

from __future__ import annotations

import warnings

import pandas as pd

from clusteratlas.errors import ClusterAtlasError
from clusteratlas.studies.cho2024.inputs import Cho2024Inputs
from clusteratlas.studies.cho2024.paper import MODELS, PAPER_OUTCOMES, paper_did, paper_rdd
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.evidence import REGION_CLUSTER, Evidence

#: the years each table needs in the outcomes (growth needs the year before)
TABLE_YEARS = {
    "Table 3": (2017, 2018, 2019, 2020),
    "Table 5": (2019, 2020, 2021, 2022),
    "Table 4": (2020,),
    "Table 6": (2022,),
}


def _inputs(ev: Evidence) -> Cho2024Inputs | None:
    treatment = ev.treatment("seed")
    if treatment.empty:
        return None
    base = int(treatment["base_year"].iloc[0])
    rt = ev.p.config.region_type
    panel = ev.store.read("cluster_panel", where="region_type = ? and year = ?", params=[rt, base])
    rows = panel.copy()
    # integer region codes: the paper's clustered SEs group on them (ids may be "EA001")
    codes = {r: i for i, r in enumerate(sorted(rows["region_id"].astype(str).unique()))}
    rows["region_id"] = rows["region_id"].astype(str).map(codes)
    rows["wage_uscm"] = rows["wage"].where(rows["wage"].notna() | (rows["emp_reported"] > 0), 0.0)
    rows["qp1"] = rows["qp1"].fillna(0.0)
    rows["ap"] = rows["ap"].fillna(0.0)
    rows["lq_percentile"] = rows.groupby("cluster_code")["lq"].rank(pct=True) * 100.0
    rows["treat_strong"] = rows["strong"].astype(bool)
    rows["treat_lq1"] = rows["lq"] >= 1.0
    outcomes = ev.outcomes.loc[ev.outcomes["outcome"].isin(PAPER_OUTCOMES.values())].copy()
    outcomes = outcomes.groupby(["region_id", "year", "outcome"], as_index=False)["value"].sum()
    outcomes["region_id"] = outcomes["region_id"].astype(str).map(codes)
    outcomes = outcomes.dropna(subset=["region_id"]).assign(region_type=rt)
    outcomes["region_id"] = outcomes["region_id"].astype(int)
    return Cho2024Inputs(rows=rows, states=treatment, outcomes=outcomes, notes=[f"rows of {base}"])


def cho_rows(ev: Evidence) -> pd.DataFrame:
    """Tables 3-6 of Cho et al. (2024) where the outcomes reach the paper's years."""
    rt = ev.p.config.region_type
    inputs = _inputs(ev)
    if inputs is None:
        ev.prov.append(
            provenance.row(
                "Cho et al. (2024) Tables 3-6",
                "cluster_panel",
                "",
                rt,
                "not possible",
                "no cluster panel year before the paper's 2018 window",
            )
        )
        return pd.DataFrame()
    base = int(ev.treatment("seed")["base_year"].iloc[0])
    years = set(inputs.outcomes["year"].astype(int))
    parts = []
    for table, runner in (
        ("Table 3", lambda: paper_did(inputs, "shock")),
        ("Table 5", lambda: paper_did(inputs, "recovery")),
        ("Table 4", lambda: paper_rdd(inputs, 2020)),
        ("Table 6", lambda: paper_rdd(inputs, 2022)),
    ):
        missing = sorted(set(TABLE_YEARS[table]) - years)
        if len(missing) == len(TABLE_YEARS[table]):
            ev.prov.append(
                provenance.row(
                    f"Cho et al. (2024) {table}",
                    "run_outcomes",
                    list(TABLE_YEARS[table]),
                    rt,
                    "not possible",
                    f"the outcomes have no {', '.join(map(str, missing))}",
                )
            )
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                summary, coefs, _ = runner()
        except (ClusterAtlasError, ValueError, KeyError) as error:
            ev.prov.append(
                provenance.row(
                    f"Cho et al. (2024) {table}", "run_outcomes", "", rt, "not possible", str(error)
                )
            )
            continue
        if summary.empty:
            continue
        when = "years" if "years" in summary.columns else "year"
        summary = summary.rename(columns={when: "years"})[
            ["dependent", "years", "n", "r2", "adj_r2"]
        ]
        summary["years"] = summary["years"].astype(str)
        coefs = coefs.rename(
            columns={
                "std_err_cluster_state": "std_err_cluster_region",
                "p_cluster_state": "p_cluster_region",
            }
        ).merge(summary, on="dependent")
        model = {"Table 3": MODELS["shock"][0], "Table 5": MODELS["recovery"][0]}.get(
            table, "printed 'RDD' (OLS on levels)"
        )
        parts.append(
            coefs.assign(
                table=table, model=model, level=REGION_CLUSTER, shock="COVID-19", rows_year=base
            )
        )
        if missing:
            ev.prov.append(
                provenance.row(
                    f"Cho et al. (2024) {table}",
                    "run_outcomes",
                    list(TABLE_YEARS[table]),
                    rt,
                    "partial",
                    f"no {', '.join(map(str, missing))} for some outcomes: see the years column",
                )
            )
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    first = [
        "table",
        "model",
        "dependent",
        "years",
        "term",
        "coef",
        "std_err",
        "p",
        "std_err_cluster_region",
        "p_cluster_region",
    ]
    return out[first + [c for c in out.columns if c not in first]]
