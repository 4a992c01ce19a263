"""The seed study's own tables inside the main job: Cho et al. (2024) Tables 3-6 at the paper's years.

Owns the bridge from the main job's panel and outcomes to the seed study's one implementation,
:mod:`clusteratlas.studies.cho2024.paper` (which computes every number, for ``clusteratlas
run`` and ``clusteratlas replicate cho2024`` alike):

* Tables 3 and 5 (:func:`~clusteratlas.studies.cho2024.paper.paper_did`), as printed: the
  state's annual growth (the paper's "2018" = 2018 -> 2019) on state x subcluster rows, Idaho
  alone as the "non-cluster" group, Model 1 = 2018 vs 2020, Model 2 = 2020 vs 2022 (classical
  SEs as printed, state-clustered beside them). State-level runs only: the paper's control
  group is a state. Their interactions are also the seed rows of ``run_did``
  (:func:`seed_did_rows`).
* Tables 4 and 6 (:func:`~clusteratlas.studies.cho2024.paper.paper_rdd`): the printed "RDD", an
  OLS of the outcome level in 2020 / 2022 on QP, EST, AP, WAGE and LQ over the region x
  cluster rows of the pre-shock panel year (the year the "Cho et al. windows" treatment is
  measured in).

A table is computed when the outcomes cover its years (the paper's fallback for CBP
employment, 2021 for 2022, is said in the ``years`` column); otherwise a provenance row says
which years are missing. Rows go to ``run_cho2024``.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from clusteratlas.errors import ClusterAtlasError
from clusteratlas.studies.cho2024.inputs import (
    Cho2024Inputs,
    subcluster_list,
    with_paper_columns,
)
from clusteratlas.studies.cho2024.paper import (
    CONTROL_STATE,
    GROWTH_YEAR,
    MODELS,
    PAPER_OUTCOMES,
    paper_did,
    paper_rdd,
)
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.evidence import REGION, REGION_CLUSTER, Evidence

#: the years each table needs in the outcomes (growth needs the year before)
TABLE_YEARS = {
    "Table 3": (GROWTH_YEAR[2018] - 1, GROWTH_YEAR[2018], GROWTH_YEAR[2020] - 1, GROWTH_YEAR[2020]),
    "Table 5": (GROWTH_YEAR[2020] - 1, GROWTH_YEAR[2020], GROWTH_YEAR[2022] - 1, GROWTH_YEAR[2022]),
    "Table 4": (2020,),
    "Table 6": (2022,),
}


def _inputs(ev: Evidence) -> Cho2024Inputs | None:
    """The run's data in the seed study's shape: the region x cluster rows of the pre-shock
    panel year, the run's outcomes and the subclusters of its cluster definitions."""
    treatment = ev.treatment("seed")
    if treatment.empty:
        return None
    base = int(treatment["base_year"].iloc[0])
    rt = ev.p.config.region_type
    rows = ev.store.read("cluster_panel", where="region_type = ? and year = ?", params=[rt, base])
    rows["region_id"] = rows["region_id"].astype(str)
    rows = with_paper_columns(rows)
    outcomes = ev.outcomes.loc[ev.outcomes["outcome"].isin(PAPER_OUTCOMES.values())]
    outcomes = outcomes.groupby(["region_id", "year", "outcome"], as_index=False)["value"].sum()
    outcomes["region_id"] = outcomes["region_id"].astype(str)
    outcomes = outcomes.loc[outcomes["region_id"].isin(set(rows["region_id"]))].assign(
        region_type=rt
    )
    definitions = ev.store.read("cluster_definitions")
    subclusters = subcluster_list(definitions)
    subclusters = subclusters.loc[
        subclusters["cluster_code"].isin(set(rows["cluster_code"].astype(str)))
    ]
    return Cho2024Inputs(
        rows=rows,
        states=treatment,
        outcomes=outcomes,
        notes=[f"rows of {base}"],
        subclusters=subclusters.reset_index(drop=True),
    )


def _did_tables(ev: Evidence, inputs: Cho2024Inputs) -> dict[str, tuple]:
    """Tables 3 and 5 from :func:`paper_did` (state-level runs with the control state only)."""
    if ev.p.config.region_type != "state":
        raise ClusterAtlasError(
            "the paper's 'non-cluster' group is one state (Idaho): state-level runs only"
        )
    if CONTROL_STATE not in set(inputs.rows["region_id"]):
        raise ClusterAtlasError(f"the control state {CONTROL_STATE} (Idaho) is not in the rows")
    return {model: paper_did(inputs, model) for model in ("shock", "recovery")}


def seed_did_rows(ev: Evidence) -> pd.DataFrame:
    """The seed design's DID rows of ``run_did``: the interactions of Tables 3 and 5 as
    printed, from :func:`~clusteratlas.studies.cho2024.paper.paper_did` (the same function
    ``clusteratlas replicate cho2024`` reports), with classical SEs and a t(n - 4) interval."""
    inputs = _inputs(ev)
    if inputs is None:
        return pd.DataFrame()
    try:
        tables = _did_tables(ev, inputs)
    except ClusterAtlasError as error:
        ev.notes.append(f"seed DID as printed not estimated: {error}")
        return pd.DataFrame()
    names = set(ev.p.config.outcomes["names"])
    rows = []
    for model, (summary, coefs, _) in tables.items():
        summary = summary.set_index("dependent")
        inter = coefs.loc[coefs["term"] == "Interaction"]
        for _, r in inter.iterrows():
            outcome = PAPER_OUTCOMES[r["dependent"]]
            if outcome not in names:
                continue
            info = summary.loc[r["dependent"]]
            # the paper's period labels; employment's 2022 falls back to 2021 offline
            start, end = (int(y) for y in str(info["years"]).split(" vs "))
            crit = stats.t.ppf(0.975, int(info["n"]) - 4)
            rows.append(
                {
                    "level": REGION,
                    "outcome": outcome,
                    "design": "seed (as printed)",
                    "shock": "COVID-19",
                    "phase": model,
                    "start": start,
                    "end": end,
                    "scale": "growth",
                    # the paper's statsmodels table (coef, std_err, t, p) in the vocabulary
                    "estimate": r["coef"],
                    "std_error": r["std_err"],
                    "statistic": r["t"],
                    "p_value": r["p"],
                    "conf_low": r["coef"] - crit * r["std_err"],
                    "conf_high": r["coef"] + crit * r["std_err"],
                    "se_cluster_region": r["std_err_cluster_state"],
                    "r2_adj": info["adj_r2"],
                    "n_obs": int(info["n"]),
                    "n_clusters": int(info["n_states"]),
                    "se_type": "iid (as printed)",
                    "estimator": "clusteratlas.studies.cho2024.paper.paper_did "
                    f"(growth {info['growth']}, control {info['control']})",
                }
            )
    return pd.DataFrame(rows)


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

    did_cache: dict[str, tuple] = {}

    def did(model: str) -> tuple:
        if not did_cache:  # both models at once, on the first DID table asked for
            did_cache.update(_did_tables(ev, inputs))
        return did_cache[model]

    for table, runner in (
        ("Table 3", lambda: did("shock")),
        ("Table 5", lambda: did("recovery")),
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
