"""Two-group, two-period difference in differences (Cho et al. 2024, Equation 1).

Owns :func:`did_2x2`.
"""

from __future__ import annotations

import warnings
from typing import Any

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
from clusteratlas.errors import DesignWarning, EstimationError, InputError, ParameterError


def did_2x2(
    data: pd.DataFrame,
    y: str,
    treat: str,
    time: str,
    *,
    pre: Any = None,
    post: Any = None,
    unit: str | None = None,
    cluster: str | None = None,
    vcov: str = "iid",
    unit_fe: bool = False,
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
    outcome_source: str | None = None,
) -> EffectResult:
    """Two-group, two-period difference in differences (Cho et al. 2024, Equation 1).

    .. math::

        y_{it} = \\gamma_{s(i)} + \\lambda_t + \\delta\\,(\\text{Cluster}_i \\times
        \\text{Post}_t) + \\varepsilon_{it}

    estimated by OLS as ``y ~ Intercept + Period + Treatment + Interaction`` (the rows of
    Cho et al.'s Table 3); :math:`\\delta` is the ``Interaction`` coefficient. With
    ``unit_fe=True`` the group intercept is replaced by unit fixed effects (same
    :math:`\\delta` in a balanced panel).

    ``time`` may hold more than two periods if ``pre`` and ``post`` pick two of them (Model 1
    of the paper: 2018 vs 2020; Model 2: 2020 vs 2022). ``treat`` is 0/1 and fixed per unit.
    Standard errors: ``vcov="iid"`` (the paper's OLS table), ``"HC1"``, or CRV1 with
    ``cluster=``.
    """
    numeric = [y, treat] + ([weights] if weights else [])
    keys = [time] + [c for c in (unit, cluster) if c and c not in (time,)]
    frame = check_frame(data, numeric, keys, missing=missing, what="did_2x2 data")
    periods = sorted(frame[time].unique().tolist())
    if pre is None and post is None:
        if len(periods) != 2:
            raise ParameterError(
                "pre/post",
                f"{time!r} has {len(periods)} periods; a 2x2 DID needs exactly two, "
                "or choose them with pre= and post=",
                allowed=", ".join(map(str, periods[:30])),
            )
        pre, post = periods
    if pre is None or post is None:
        raise ParameterError("pre/post", "give both pre= and post= (or neither)")
    for name, value in (("pre", pre), ("post", post)):
        if value not in periods:
            raise ParameterError(name, f"period {value!r} not in {time!r}", allowed=str(periods))
    if pre == post:
        raise ParameterError("post", "pre and post are the same period")
    if outcome_source and outcome_source.lower() == "cbp" and post == 2020:
        warnings.warn(
            "CBP employment is measured in the pay period including March 12, so CBP 2020 is "
            "essentially pre-lockdown: a 2018 vs 2020 CBP comparison measures almost nothing of "
            "COVID-19. Use CBP 2019 vs 2021, QCEW 2020Q2 or BEA GDP instead.",
            category=DesignWarning,
            stacklevel=2,
        )
    frame = frame.loc[frame[time].isin([pre, post])].copy()
    values = set(frame[treat].unique().tolist())
    if not values <= {0.0, 1.0}:
        raise InputError(
            f"treatment must be 0/1, found {sorted(values)[:5]}",
            column=treat,
            hint="use twfe() for a continuous treatment",
        )
    if values == {1.0}:
        raise EstimationError("all units are treated: no control group to difference against")
    if values == {0.0}:
        raise EstimationError("no unit is treated: there is no treatment variation")
    if unit is not None:
        varying = frame.groupby(unit)[treat].nunique()
        if (varying > 1).any():
            raise InputError(
                f"treatment group changes over time for unit {varying.idxmax()!r}",
                column=treat,
                hint="the 2x2 design needs a fixed treated/control group per unit",
            )
    cells = frame.groupby([treat, time]).size()
    if len(cells) < 4:
        raise EstimationError(
            f"each group needs observations in both periods; cells present: {dict(cells)}"
        )
    frame["Treatment"] = frame[treat]
    frame["Period"] = (frame[time] == post).astype(float)
    frame["Interaction"] = frame["Treatment"] * frame["Period"]
    if unit_fe:
        if unit is None:
            raise ParameterError("unit", "unit_fe=True needs the unit column")
        formula = f"{y} ~ Interaction | {unit} + Period"
    else:
        formula = f"{y} ~ Treatment + Period + Interaction"
    vc, se_type = vcov_spec(vcov, cluster)
    fit = feols(formula, frame, vc, weights)
    require_term(fit, "Interaction", "no treated-group change between the periods")
    table = tidy_from_fit(fit, alpha)
    info: dict[str, Any] = {
        "pre": pre,
        "post": post,
        "r2": float(fit._r2),
        "adj_r2": float(fit._adj_r2),
        "n_treated_obs": int(frame["Treatment"].sum()),
    }
    if cluster:
        info["n_clusters"] = count_clusters(frame, cluster)
    result = EffectResult(
        method="2x2 DID (Cho et al. 2024, Eq. 1)",
        term="Interaction",
        table=table,
        nobs=int(fit._N),
        se_type=se_type,
        alpha=alpha,
        info=info,
    )
    result._spec = FitSpec(formula, frame, y, cluster, weights)  # type: ignore[attr-defined]
    return result
