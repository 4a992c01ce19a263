"""The staggered design of the evidence section: regions turn into cluster regions in
different years; heterogeneity-robust DID estimators (issue #14) on the multi-year panel.

Owns which estimators the staggered design runs and how their results become the run's
tables (:func:`staggered_rows`, one entry of :data:`.causal.ESTIMATORS`). The design
(:meth:`.evidence.Evidence.staggered_designs`): per outcome, the balanced region panel of log
outcomes from the first cluster-panel year on; a region's cohort :math:`G_i` is the first panel
year it counts as a cluster region under the ``[treatment]`` rule
(:func:`clusteratlas.panel.design.cohort_from_panel`), absorbing from then on; never = 0. And
the traded region x cluster units (y = log(E_rc / E_US,c), cohort = the first panel year the
cluster is strong in the region), with the same estimators, clustered by region.

Estimators (all clustered by region; every number comes from :mod:`clusteratlas.causal.did`):

* **headline**: the imputation estimator (Borusyak, Jaravel and Spiess 2024,
  :func:`~clusteratlas.causal.did.did_imputation`): the overall ATT
  :math:`\\hat\\tau = \\sum_{it: t \\ge G_i} w_{it}(Y_{it} - \\hat Y_{it}(0))` with equal
  weights, and the event study by horizon with :data:`PRETRENDS` pre-trend leads (their Test 1);
* **robustness**: two-stage DID (Gardner 2021, :func:`~clusteratlas.causal.did.did2s`),
  static and event study; Sun and Abraham (2021) interaction-weighted event study
  (:func:`~clusteratlas.causal.did.sun_abraham`, never-treated controls where there are any,
  else the last-treated cohort); Callaway and Sant'Anna (2021)
  (:func:`~clusteratlas.causal.did.att_gt`, universal base period, never-treated controls where
  there are any, else not-yet-treated) aggregated overall and by event time on the cohorts
  seen :data:`BALANCE_E` years after treatment (R ``aggte(balance_e=)``);
* **sensitivity**: HonestDiD (Rambachan and Roth 2023, :func:`~clusteratlas.causal.did.honest_from`)
  on the imputation event study, for the effect in the first treated year: smoothness
  (:math:`\\Delta^{SD}(M)`, FLCI) and relative magnitudes (:math:`\\Delta^{RM}(\\bar M)`,
  where there are two pre-periods), with the breakdown value;
* **diagnostic**: the Goodman-Bacon (2021) decomposition of the plain TWFE coefficient
  (:func:`~clusteratlas.causal.did.bacon_decomposition`): how much weight it puts on
  "later vs earlier treated" comparisons that heterogeneous effects bias.

Tables: ``run_staggered_design`` (per outcome: what the design holds, or why it is not
possible), ``run_staggered_did`` (every ATT), ``run_staggered_event`` (every event-time
coefficient), ``run_staggered_honest`` (robust sets by M and the breakdown value),
``run_staggered_bacon`` (weight and mean 2x2 DID of each comparison type).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clusteratlas.causal.did import (
    att_gt,
    bacon_decomposition,
    did2s,
    did_imputation,
    honest_from,
    sun_abraham,
)
from clusteratlas.data.acquire import year_span
from clusteratlas.errors import (
    ClusterAtlasError,
    DroppedObservationsWarning,
    EstimationError,
    EstimationWarning,
    ParameterError,
    expected_warnings,
)
from clusteratlas.results import TIDY_COLUMNS
from clusteratlas.studies.cluster_resilience import provenance

if TYPE_CHECKING:
    from clusteratlas.studies.cluster_resilience.evidence import Evidence, StaggeredDesign

#: pre-trend leads of the imputation event study (BJS Test 1), at most
PRETRENDS = 3
#: Callaway-Sant'Anna event-time aggregation on cohorts seen this many years after treatment
BALANCE_E = 1
#: HonestDiD: M grid points where the default smoothness grid cannot be used (R's count)
HONEST_POINTS = 10

#: HonestDiD sees the event study's horizons 0..HONEST_LAST_HORIZON only. The target is the
#: first year's effect; later horizons only add restrictions, and the relative-magnitudes
#: confidence set's cost grows steeply with them (a 2007-2022 state panel has 15). Dropping
#: restrictions can only widen the robust set, so the truncation is conservative.
HONEST_LAST_HORIZON = 4
HEADLINE = "Imputation (Borusyak, Jaravel and Spiess 2024)"
#: estimator names as the tables and the report print them
NAMES = {
    "imputation": HEADLINE,
    "did2s": "Two-stage DID (Gardner 2021)",
    "sun_abraham": "Sun and Abraham (2021)",
    "cs": "Callaway and Sant'Anna (2021)",
    "twfe": "Plain TWFE (for comparison)",
}


def staggered_calls(design: StaggeredDesign) -> dict[str, Any]:
    """The estimator calls of one design, by key: each a zero-argument function returning
    the :mod:`clusteratlas.causal.did` result. The imputation event study has up to
    :data:`PRETRENDS` pre-trend leads (as many as the last cohort's pre-years allow)."""
    data = design.data
    assert data is not None
    years = sorted(data["year"].unique())
    cohorts = sorted(g for g in data["cohort"].unique() if g > 0)
    never = bool((data["cohort"] == 0).any())
    leads = max(0, min(PRETRENDS, int(cohorts[-1] - years[0]) - 1)) if cohorts else 0
    common = {"y": "y", "unit": "unit", "time": "year", "cohort": "cohort"}
    clustered = {**common, "cluster": "region_id"}
    calls: dict[str, Any] = {
        "imputation": lambda: did_imputation(data, **clustered),
        "imputation_event": lambda: did_imputation(
            data, **clustered, horizons=True, pretrends=leads
        ),
        "did2s": lambda: did2s(data, **clustered),
        "did2s_event": lambda: did2s(data, **clustered, event_study=True),
        "sun_abraham": lambda: sun_abraham(data, **clustered, control="never" if never else "last"),
        "cs": lambda: (
            _equally_spaced(years)
            and att_gt(
                data,
                "y",
                "unit",
                "year",
                "cohort",
                control_group="nevertreated" if never else "notyettreated",
                base_period="universal",
            )
        ),
        "bacon": lambda: bacon_decomposition(data, **common),
    }
    return calls


def _equally_spaced(years: list) -> bool:
    """Callaway-Sant'Anna counts periods, not years: it needs one year between periods."""
    if len(set(np.diff(years))) > 1:
        raise EstimationError(
            f"needs equally spaced years, the panel has {year_span(years)}: not estimated"
        )
    return True


def _quiet(call: Any) -> Any:
    # always-treated units and their rows are dropped by the estimators: counted in the design
    # (run_staggered_design.dropped_at_start). Sun and Abraham's regression echoes pyfixest's
    # "variables dropped due to multicollinearity" for the formula of its cohort x event-time
    # cells; sun_abraham itself then names the cells dropped (that warning goes to the notes).
    with (
        expected_warnings(DroppedObservationsWarning),
        expected_warnings(EstimationWarning, message=r"y ~ i\(_sa_cell"),
    ):
        return call()


def _att_row(labels: dict, key: str, role: str, kind: str, result: Any) -> dict:
    # the result's own tidy row of its headline term (estimate ... conf_high)
    row = pd.DataFrame(result.tidy()).set_index("term").loc[result.term]
    return {
        **labels,
        "estimator": NAMES[key.split("_event")[0]],
        "role": role,
        "kind": kind,
        **{column: float(row[column]) for column in TIDY_COLUMNS[1:]},
        "n_obs": int(result.nobs),
        "n_clusters": int(result.info.get("n_clusters") or result.info.get("n_units") or 0),
        "se_type": result.se_type,
        "method": result.method,
    }


def _event_rows(labels: dict, estimator: str, coefs: pd.DataFrame) -> pd.DataFrame:
    """The event-time rows of an event study's table, already in the tidy vocabulary (the
    Callaway-Sant'Anna ``by`` table has no statistic or p-value: its bands may be uniform)."""
    vocabulary = [c for c in TIDY_COLUMNS[1:] if c in coefs.columns]
    return coefs[vocabulary].assign(
        **labels, estimator=estimator, event_time=coefs["event_time"].astype(int).to_numpy()
    )[[*labels, "estimator", "event_time", *vocabulary]]


def _event_part(labels: dict, key: str, result: Any) -> pd.DataFrame:
    return _event_rows(labels, NAMES[key.split("_event")[0]], result.coefs)


def staggered_rows(ev: Evidence) -> pd.DataFrame:
    """Every estimator of the staggered design, per outcome (see the module docstring); the
    other tables go to ``ev.extra``; a design that is not possible is a row of
    ``run_staggered_design`` with its reason, and a provenance row."""
    rt = ev.p.config.region_type
    designs, rows, events, honest, bacon = [], [], [], [], []
    for design in ev.staggered_designs():
        designs.append(design.summary())
        label = f"staggered DID (year a region turns into a cluster region), {design.outcome}"
        if design.data is None:
            ev.prov.append(
                provenance.row(
                    label, "cluster_panel, run_outcomes", design.years, rt, "not possible",
                    design.reason,
                )
            )  # fmt: skip
            continue
        labels = {
            "level": design.level,
            "outcome": design.outcome,
            "start": int(design.years[0]),
            "end": int(design.years[-1]),
        }
        calls = staggered_calls(design)
        results: dict[str, Any] = {}
        for key, call in calls.items():
            try:
                results[key] = _quiet(call)
            except ClusterAtlasError as error:
                ev.notes.append(f"staggered DID {design.outcome}, {NAMES.get(key, key)}: {error}")
        ev.prov.append(provenance.row(label, "cluster_panel, run_outcomes", design.years, rt))
        for key, role in (("imputation", "headline"), ("did2s", "robustness")):
            if key in results:
                rows.append(_att_row(labels, key, role, "static ATT", results[key]))
        for key in ("imputation_event", "did2s_event", "sun_abraham"):
            if key in results:
                events.append(_event_part(labels, key, results[key]))
        if "sun_abraham" in results:
            rows.append(
                _att_row(
                    labels, "sun_abraham", "robustness", "ATT (post cells)", results["sun_abraham"]
                )
            )
        if "cs" in results:
            rows += _cs_rows(ev, labels, results["cs"], events)
        if "imputation_event" in results:
            honest += _honest_rows(ev, labels, results["imputation_event"])
        if "bacon" in results:
            bacon.append(_bacon_part(labels, results["bacon"]))
            rows.append(
                {
                    **labels,
                    "estimator": NAMES["twfe"],
                    "role": "diagnostic",
                    "kind": "TWFE coefficient",
                    "estimate": results["bacon"].twfe_estimate,
                    "method": "TWFE on 1{t >= G_i} (Goodman-Bacon decomposition below)",
                }
            )
    ev.extra["run_staggered_design"] = pd.DataFrame(designs)
    for name, parts in (
        ("run_staggered_event", events),
        ("run_staggered_honest", honest),
        ("run_staggered_bacon", bacon),
    ):
        if parts:
            ev.extra[name] = pd.concat(parts, ignore_index=True)
    out = pd.DataFrame(rows)
    if out.empty:  # the stage writes the reasons (run_staggered_design) all the same
        return out
    return out.assign(shock="staggered (no shock)")


def _cs_rows(ev: Evidence, labels: dict, result: Any, events: list) -> list[dict]:
    """Callaway-Sant'Anna: the simple overall ATT, and the dynamic aggregation on the cohorts
    seen BALANCE_E years after treatment (its event-time coefficients join run_staggered_event)."""
    out = []
    for kind, call in (
        ("ATT (simple)", lambda: result.aggregate("simple")),
        (
            f"event-study average, cohorts seen {BALANCE_E} year(s) after",
            lambda: result.aggregate("dynamic", balance_e=BALANCE_E),
        ),
    ):
        try:
            agg = _quiet(call)
        except ClusterAtlasError as error:
            ev.notes.append(
                f"staggered DID {labels['outcome']}, Callaway and Sant'Anna {kind}: {error}"
            )
            continue
        out.append(_att_row(labels, "cs", "robustness", kind, agg))
        if agg.kind == "dynamic":
            events.append(_event_rows(labels, NAMES["cs"] + f", balance_e={BALANCE_E}", agg.by))
    return out


def honest_window(event: Any) -> Any:
    """``event`` with its horizons after :data:`HONEST_LAST_HORIZON` dropped (the leads kept)."""
    coefs = event.coefs
    return dataclasses.replace(
        event, coefs=coefs.loc[coefs["event_time"] <= HONEST_LAST_HORIZON].reset_index(drop=True)
    )


def _honest_rows(ev: Evidence, labels: dict, event: Any) -> list[pd.DataFrame]:
    """HonestDiD on the imputation event study: the effect in the first treated year, on R
    HonestDiD's default M grids. Where the default smoothness grid ends below zero (the pre-
    period second differences are all negative), the grid runs from 0 to the standard error
    of that effect instead, and the row says so."""
    out = []
    event = honest_window(event)
    for method, restriction in (
        ("smoothness", "smoothness (Delta SD, M per year squared)"),
        ("relative_magnitude", "relative magnitudes (Delta RM, Mbar)"),
    ):
        grid = "default"
        try:
            try:
                res = _quiet(lambda m=method: honest_from(event, method=m))
            except ParameterError as error:
                if method != "smoothness" or error.name != "m_grid":
                    raise
                coefs = event.coefs.set_index("event_time")
                upper = float(coefs.loc[0, "std_error"])
                grid = "0 to the standard error of the effect (the default grid ended below 0)"
                m_grid = list(np.linspace(0, upper, HONEST_POINTS))
                res = _quiet(lambda g=m_grid: honest_from(event, method="smoothness", m_grid=g))
        except ClusterAtlasError as error:
            ev.notes.append(f"HonestDiD {labels['outcome']}, {restriction}: {error}")
            continue
        out.append(
            # the result's own tidy rows (term M=..., conf_low/high = the robust set)
            pd.DataFrame(res.tidy())
            .rename(columns={"method": "ci_method"})
            .drop(columns="restriction")
            .assign(
                **labels,
                restriction=restriction,
                target="effect in the first year as a cluster region",
                original_low=res.original[0],
                original_high=res.original[1],
                breakdown=res.breakdown,
                n_pre=int(res.info["n_pre"]),
                m_grid=grid,
            )
        )
    return out


def _bacon_part(labels: dict, result: Any) -> pd.DataFrame:
    by = result.by_type
    counts = result.comparisons["type"].value_counts()
    return by.assign(
        **labels,
        n_comparisons=[int(counts.get(t, 0)) for t in by["type"]],
        twfe_estimate=result.twfe_estimate,
    ).rename(columns={"type": "comparison"})


__all__ = ["BALANCE_E", "HEADLINE", "NAMES", "PRETRENDS", "staggered_calls", "staggered_rows"]
