"""Two-stage difference in differences (Gardner 2021; R ``did2s``, pyfixest ``did2s``).

Owns :func:`did2s`: static and event-study effects with the GMM standard errors that carry
the first stage's estimation error.

**Estimator.** Stage 1 fits unit and period effects (and covariates) on the untreated
observations :math:`\\Omega_0` only (:mod:`.untreated_model`):
:math:`Y_{it} = \\alpha_i + \\lambda_t + X_{it}'\\beta + \\varepsilon_{it}`. Stage 2 regresses
the residualised outcome :math:`\\tilde Y_{it} = Y_{it} - \\hat\\alpha_i - \\hat\\lambda_t -
X_{it}'\\hat\\beta` on the treatment variables :math:`Z_{it}` without an intercept: the
treated indicator :math:`D_{it}` (static ATT) or event-time dummies
:math:`1\\{t-G_i=k\\}` (event study; leads pick up pre-trends in the untreated cells).

**Standard errors** (Gardner 2021, Section 3; Butts and Gardner 2022, the did2s package).
Both stages are one GMM system; with :math:`X_1` = [covariates, unit and period dummies],
:math:`X_{10}` its untreated rows (zeros elsewhere), first-stage residuals
:math:`\\hat u_1` (on :math:`\\Omega_0`) and second-stage residuals :math:`\\hat u_2`,

.. math::

    \\hat V = (Z'WZ)^{-1} \\Big(\\sum_c \\hat s_c \\hat s_c'\\Big) (Z'WZ)^{-1},\\qquad
    \\hat s_c = \\sum_{(i,t)\\in c} w_{it} Z_{it}\\hat u_{2,it}
    - \\Gamma' \\sum_{(i,t)\\in c} w_{it} X_{10,it}\\hat u_{1,it},

with :math:`\\Gamma = (X_{10}'WX_{10})^{-1}X_1'WZ` and clusters :math:`c` (units by default).
No small-sample factor, as ``did2s``/pyfixest; inference is normal. :math:`\\Gamma` is never
formed: :math:`X_{10}\\Gamma` is computed by the two-way solver, so a 100,000-unit panel
costs a few passes over the data.

Reference implementation: pyfixest ``did2s`` (a translation of Kyle Butts' R package) -- the
tests reproduce its estimates and standard errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clusteratlas.causal.did.event_study import EventStudyResult, event_result
from clusteratlas.causal.did.untreated_model import (
    StaggeredPanel,
    code_sums,
    event_window,
    fit_untreated,
    prepare_staggered,
    projected_cluster_sums,
    projection,
)
from clusteratlas.causal.results import EffectResult, normal_table
from clusteratlas.errors import EstimationError, ParameterError


def did2s(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    event_study: bool = False,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> EffectResult | EventStudyResult:
    """Gardner (2021) two-stage DID: static ATT, or event-time effects with ``event_study``.

    ``cohort`` is the first treated period (0/NaN/inf = never treated); treatment is
    absorbing. With ``event_study=True`` the second stage has a dummy for every event time in
    ``[-leads, lags]`` (default: all observed) except ``reference``; returns an
    :class:`EventStudyResult` (``.plot()``, ``.vcov`` for :mod:`.honest`). Standard errors:
    GMM sandwich clustered by ``cluster`` (default the unit), as R ``did2s``.
    """
    panel = prepare_staggered(
        data,
        y,
        unit,
        time,
        cohort,
        covariates=covariates,
        cluster=cluster,
        weights=weights,
        missing=missing,
        what="did2s data",
    )
    if event_study:
        low, high = event_window(panel.event_time, leads, lags)
        if not low <= reference <= high:
            raise ParameterError("reference", f"{reference} outside the window [{low}, {high}]")
        times = [
            k for k in range(low, high + 1) if k != reference and (panel.event_time == k).any()
        ]
        if not times:
            raise EstimationError("no event time besides the reference period")
        position = {k: j for j, k in enumerate(times)}
        event = np.nan_to_num(panel.event_time, nan=-(10**9)).astype(np.int64)
        code = np.array([position.get(int(e), -1) for e in np.unique(event)])[
            np.searchsorted(np.unique(event), event)
        ]
    else:
        times = []
        code = np.where(panel.treated, 0, -1)
    coef, vcov = _two_stage(panel, code, max(len(times), 1))
    method = "Two-stage DID (Gardner 2021)"
    se_type = f"GMM sandwich clustered by {panel.cluster_name} (did2s, no small-sample factor)"
    info = {
        "n_units": panel.n_units,
        "n_clusters": panel.n_clusters,
        "n_treated_obs": int(panel.treated.sum()),
    }
    if event_study:
        return event_result(
            method=method + ", event study",
            event_times=times,
            estimates=coef,
            vcov=vcov,
            nobs=len(panel.y),
            se_type=se_type,
            alpha=alpha,
            reference=reference,
            info=info,
        )
    table = normal_table(["ATT"], coef, np.sqrt(np.diag(vcov)), alpha)
    return EffectResult(method, "ATT", table, len(panel.y), se_type, alpha, info)


def _two_stage(panel: StaggeredPanel, code: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Second-stage coefficients and their GMM covariance.

    The second-stage regressors are mutually exclusive dummies (``code`` = column, -1 none),
    so :math:`Z'WZ` is diagonal and every sum is a grouped sum.
    """
    first = fit_untreated(panel)
    w = panel.weights
    mass = np.bincount(code[code >= 0], w[code >= 0], minlength=k)
    if (mass <= 0).any():
        raise EstimationError("a second-stage treatment variable has no observation with weight")
    coef = np.bincount(code[code >= 0], (w * first.residual)[code >= 0], minlength=k) / mass
    resid2 = first.residual - np.where(code >= 0, coef[np.maximum(code, 0)], 0.0)
    scores = code_sums(panel.cluster, code, panel.n_clusters, k, w * resid2)
    proj = projection(first, panel, code, k, w)
    untreated_u1 = np.where(panel.treated, 0.0, w * first.residual)
    scores -= projected_cluster_sums(first, panel, proj, untreated_u1)
    scores /= mass  # (Z'WZ)^{-1} is diagonal
    return coef, scores.T @ scores
