"""The same questions as Cho et al. (2024), answered with a defensible design: the state is the unit.

Owns the replication's corrected designs: a 2x2 DID with state fixed effects, SEs clustered by
state and a wild cluster bootstrap p-value (:func:`proper_did`), an event study with a joint
pre-trend test (:func:`event_study`), both on the states' log outcomes with the 2016 cluster
regions as the treated, and a genuine local-polynomial RD at the strong-cluster cut-off
(:func:`genuine_rd`). Every number comes from the estimators of :mod:`clusteratlas.causal`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusteratlas.causal.did import (
    did_2x2,
    shock_event_study,
    shock_window_years,
    wild_cluster_bootstrap,
)
from clusteratlas.causal.rd import rdrobust
from clusteratlas.errors import (
    EstimationError,
    InputError,
    ParameterError,
)
from clusteratlas.results import TIDY_COLUMNS
from clusteratlas.studies.cho2024.inputs import Cho2024Inputs
from clusteratlas.studies.cho2024.paper import state_growth


def genuine_rd(inputs: Cho2024Inputs, year: int, outcome: str = "gdp") -> pd.DataFrame:
    """Local-polynomial RD at the strong-cluster cut-off (LQ percentile 75), fuzzy in the flag.

    Uses :func:`clusteratlas.causal.rd.rdrobust` with standard errors clustered by state
    (the outcome is a state value shared by the state's clusters).
    """
    growth = state_growth(inputs.outcomes)
    g = growth[growth["year"] == year][["region_id", outcome]].rename(columns={outcome: "y"})
    frame = inputs.rows[inputs.rows["traded"]].merge(g, on="region_id").dropna(subset=["y"])
    state_code = frame["region_id"].astype(int).to_numpy()
    rows = []
    for design, fuzzy in (
        ("sharp (intention: LQ percentile >= 75)", None),
        ("fuzzy (strong flag)", frame["treat_strong"].astype(float).to_numpy()),
    ):
        y, x = frame["y"].to_numpy(), frame["lq_percentile"].to_numpy() - 75.0
        try:
            tidy = rdrobust(y, x, c=0.0, fuzzy=fuzzy, cluster=state_code, vce="cr1").tidy()
            engine = "clusteratlas.causal.rd"
        except EstimationError as error:
            # Say why this design has no estimate instead of dropping the row.
            tidy = pd.DataFrame({"term": ["not estimable"]})
            engine = f"clusteratlas.causal.rd: {error}"
        tidy.insert(0, "rd_design", design)
        tidy["engine"] = engine
        rows.append(tidy)
    return pd.concat(rows, ignore_index=True).assign(outcome=outcome, year=year)


def _state_panel(inputs: Cho2024Inputs, outcome: str) -> pd.DataFrame:
    frame = inputs.outcomes[inputs.outcomes["outcome"] == outcome][["region_id", "year", "value"]]
    frame = frame.merge(
        inputs.states[["region_id", "cluster_region", "cluster_strength"]], on="region_id"
    )
    frame["y"] = np.log(frame["value"])
    frame["treated"] = frame["cluster_region"].astype(int)
    return frame.sort_values(["region_id", "year"]).reset_index(drop=True)


def proper_did(
    inputs: Cho2024Inputs,
    outcome: str,
    pre: int,
    post: int,
    *,
    bootstrap: bool = True,
    seed: int = 20240521,
    reps: int = 9999,
) -> dict:
    """2x2 DID with the state as unit: log y_st = a_s + l_t + delta D_s Post_t, SEs clustered by state.

    Estimated with :func:`clusteratlas.causal.did.did_2x2` (state fixed effects, CRV1 by state,
    fixest small-sample convention) and its restricted wild cluster bootstrap
    (:func:`~clusteratlas.causal.did.wild_cluster_bootstrap`); the ``engine`` entry says so.
    """
    panel = _state_panel(inputs, outcome)
    frame = panel[panel["year"].isin([pre, post])].copy()
    complete = frame.groupby("region_id")["year"].transform("nunique") == 2
    frame = frame[complete]
    if frame.empty:
        raise InputError(f"no states with {outcome} in both {pre} and {post}")
    row = {
        "outcome": outcome,
        "years": f"{pre} vs {post}",
        "n_states": frame["region_id"].nunique(),
        "n_treated": int(frame.groupby("region_id")["treated"].first().sum()),
    }
    # no warning is expected: the frame holds complete state pairs only, 50 clusters
    result = did_2x2(
        frame, "y", "treated", "year", pre=pre, post=post, unit="region_id",
        cluster="region_id", vcov="CRV1", unit_fe=True,
    )  # fmt: skip
    wild = (
        wild_cluster_bootstrap(result, reps=reps, seed=seed, ci=False).pvalue if bootstrap else None
    )
    # the result's own tidy row of the DID term (estimate ... conf_high, t(G-1) inference)
    tidy = pd.DataFrame(result.tidy()).set_index("term").loc[result.term]
    return {
        **row,
        **{column: float(tidy[column]) for column in TIDY_COLUMNS[1:]},
        "p_wild_bootstrap": wild,
        "engine": "clusteratlas.causal.did (" + result.se_type + ")",
    }


def event_study(
    inputs: Cho2024Inputs,
    outcome: str,
    *,
    reference: int = 2019,
) -> tuple[pd.DataFrame, dict]:
    """Event study: log y_st = a_s + l_t + sum_{k != ref} delta_k D_s 1[t = k], SEs by state.

    Every state faces the shock in ``reference + 1`` (2020); the treated are the 2016 cluster
    regions. The years are the shared shock window
    (:func:`clusteratlas.causal.did.shock_window_years`: 2015-2025 as far as the data go, the
    paper's 2015-2022), the same as the ``clusteratlas run`` report's event study. Returns the
    coefficient table (one row per year) and the joint F test that all pre-reference deltas
    are 0, from :func:`clusteratlas.causal.did.shock_event_study`.
    """
    panel = _state_panel(inputs, outcome)
    first, last = shock_window_years(reference + 1)
    panel = panel[panel["year"].between(first, last)].copy()
    years = sorted(int(y) for y in panel["year"].unique())
    if reference not in years:
        raise ParameterError("reference", f"{reference} not in the {outcome} years {years}")
    result = shock_event_study(
        panel, "y", "region_id", "year", treat="treated", shock_year=reference + 1,
        cluster="unit",
    )  # fmt: skip
    # the result's own rows of its event times, already in the tidy vocabulary
    coefs = result.coefs
    table = coefs[list(TIDY_COLUMNS[1:])].assign(
        year=(coefs["event_time"] + reference + 1).astype(int).to_numpy()
    )
    table.insert(0, "outcome", outcome)
    table = table[["outcome", "year", *TIDY_COLUMNS[1:]]].reset_index(drop=True)
    pre_years = [y for y in table["year"] if y < reference]
    test = {
        "outcome": outcome,
        "pre_years": ", ".join(map(str, pre_years)),
        "f_stat": result.info.get("pretrend_F", np.nan),
        "p": result.info.get("pretrend_p", np.nan),
        "df": result.info.get("pretrend_df", ""),
        "engine": "clusteratlas.causal.did (" + result.se_type + ")",
    }
    return table, test
