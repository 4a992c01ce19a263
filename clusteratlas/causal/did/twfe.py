"""Two-way fixed effects regression on a unit x period panel.

Owns :func:`twfe` and the panel checks shared with the event study
(:func:`check_panel_variation`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas.causal.frames import check_frame
from clusteratlas.causal.inference.vcov import (
    FitSpec,
    count_clusters,
    feols,
    require_term,
    tidy_from_fit,
    vcov_spec,
)
from clusteratlas.causal.results import EffectResult
from clusteratlas.errors import DesignWarning, EstimationError, InputError


def twfe(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treat: str,
    *,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    vcov: str = "CRV1",
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> EffectResult:
    """Two-way fixed effects regression.

    .. math::

        y_{it} = \\alpha_i + \\lambda_t + \\beta D_{it} + X_{it}'\\gamma + \\varepsilon_{it}

    ``treat`` is :math:`D_{it}` (0/1 or a continuous dose). ``cluster="unit"`` (default)
    clusters by ``unit``; pass another column, or ``None`` with ``vcov="HC1"``/``"iid"``.
    SEs are fixest CRV1 (unit FE nested in the cluster are not counted as parameters).
    With staggered adoption and heterogeneous effects :math:`\\beta` is a weighted average that
    can have negative weights: use :func:`callaway_santanna` there.
    """
    cluster = unit if cluster == "unit" else cluster
    numeric = [y, treat, *covariates] + ([weights] if weights else [])
    keys = [unit, time] + ([cluster] if cluster and cluster not in (unit, time) else [])
    frame = check_frame(data, numeric, keys, missing=missing, what="twfe data")
    check_panel_variation(frame, unit, time, treat)
    rhs = " + ".join([treat, *covariates])
    formula = f"{y} ~ {rhs} | {unit} + {time}"
    vc, se_type = vcov_spec(vcov, cluster)
    fit = feols(formula, frame, vc, weights)
    require_term(fit, treat, "treatment varies only by unit or only by time")
    info: dict[str, Any] = {
        "n_units": int(frame[unit].nunique()),
        "n_periods": int(frame[time].nunique()),
        "r2_within": float(getattr(fit, "_r2_within", np.nan)),
    }
    if cluster:
        info["n_clusters"] = count_clusters(frame, cluster)
    result = EffectResult(
        method="Two-way fixed effects (unit and time FE)",
        term=treat,
        table=tidy_from_fit(fit, alpha),
        nobs=int(fit._N),
        se_type=se_type,
        alpha=alpha,
        info=info,
    )
    result._spec = FitSpec(formula, frame, y, cluster, weights)  # type: ignore[attr-defined]
    return result


def check_panel_variation(frame: pd.DataFrame, unit: str, time: str, treat: str) -> None:
    if frame[time].nunique() < 2:
        raise EstimationError(f"{time!r} has a single period: no time variation")
    if frame[unit].nunique() < 2:
        raise EstimationError(f"{unit!r} has a single unit: no cross-sectional variation")
    if frame[treat].nunique() < 2:
        raise EstimationError(f"treatment {treat!r} never varies ({frame[treat].iloc[0]})")
    duplicated = frame.duplicated([unit, time])
    if duplicated.any():
        row = duplicated.idxmax()
        raise InputError(
            f"unit {frame.loc[row, unit]!r} appears twice in period {frame.loc[row, time]!r}",
            line=int(row) if isinstance(row, (int, np.integer)) else None,
            hint="a panel needs one row per unit and period",
        )
    ever = frame.groupby(unit)[treat].max()
    if (ever > 0).all() and (frame.groupby(time)[treat].nunique() == 1).all():
        raise EstimationError("every unit is treated at the same time: no control units")
    if (ever > 0).all():
        warnings.warn(
            "every unit is eventually treated: identification rests on not-yet-treated units",
            category=DesignWarning,
            stacklevel=3,
        )
