"""``clusteratlas did --design`` for the heterogeneity-robust estimators (self-contained).

Owns :data:`ROBUST_DESIGNS` and :func:`run_robust_design` (did2s, imputation, sunab, bacon,
and ``cs`` dynamic aggregates with ``balance_e``) and :func:`run_honest` (HonestDiD on the
event study just estimated). ``clusteratlas.cli.did`` only parses options and
calls these two functions, so moving the CLI elsewhere moves two calls.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from clusteratlas.errors import ParameterError

#: designs handled here (``--design`` values)
ROBUST_DESIGNS = ("did2s", "imputation", "sunab", "bacon")


def run_robust_design(
    design: str,
    frame: pd.DataFrame,
    *,
    y: str,
    unit: str | None,
    time: str,
    cohort: str | None,
    event_study: bool,
    leads: int | None,
    lags: int | None,
    covariates: list[str],
    cluster: str | None,
    weights: str | None,
    pretrends: int,
    control_cohort: str,
) -> tuple[Any, list[tuple[pd.DataFrame, str]]]:
    """Run one robust design; returns the result and extra tables (DataFrame, title)."""
    from clusteratlas.causal import did as did_module

    if not (unit and cohort):
        raise ParameterError("--cohort", f"--design {design} needs --unit and --cohort")
    common = {"cluster": cluster or "unit", "weights": weights}
    extra: list[tuple[pd.DataFrame, str]] = []
    if design == "did2s":
        result = did_module.did2s(
            frame,
            y,
            unit,
            time,
            cohort,
            event_study=event_study,
            leads=leads,
            lags=lags,
            covariates=covariates,
            **common,
        )
    elif design == "imputation":
        result = did_module.did_imputation(
            frame,
            y,
            unit,
            time,
            cohort,
            horizons=(list(range(0, lags + 1)) if lags is not None else True)
            if event_study
            else None,
            pretrends=pretrends,
            covariates=covariates,
            **common,
        )
    elif design == "sunab":
        result = did_module.sun_abraham(
            frame,
            y,
            unit,
            time,
            cohort,
            control=control_cohort,
            leads=leads,
            lags=lags,
            covariates=covariates,
            **common,
        )
        extra.append((result.cohort_effects, "cohort x event-time effects"))
    elif design == "bacon":
        result = did_module.bacon_decomposition(frame, y, unit, time, cohort)
        extra.append((result.by_type, "TWFE weight by comparison type"))
        weights_result = did_module.twfe_weights(frame, y, unit, time, cohort)
        info = pd.DataFrame([weights_result.info])
        extra.append((info, "de Chaisemartin-D'Haultfoeuille weights"))
    else:
        raise ParameterError("--design", f"unknown {design!r}", allowed=", ".join(ROBUST_DESIGNS))
    return result, extra


def run_honest(
    result: Any, method: str, m_grid: list[float] | None, l_vec: list[float] | None
) -> Any:
    """HonestDiD sensitivity of an event study (``--honest rm|sd``)."""
    from clusteratlas.causal.did import honest_from

    names = {"rm": "relative_magnitude", "sd": "smoothness"}
    if method not in names:
        raise ParameterError("--honest", f"unknown {method!r}", allowed="rm, sd")
    return honest_from(result, method=names[method], m_grid=m_grid or None, l_vec=l_vec or None)
