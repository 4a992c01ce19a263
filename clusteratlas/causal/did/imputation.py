"""Imputation DID estimator (Borusyak, Jaravel and Spiess 2024; R ``didimputation``, Stata
``did_imputation``).

Owns :func:`did_imputation`: the efficient estimator of any weighted sum of treated
observations' effects under parallel trends and no anticipation, its conservative standard
errors and the pre-trend test the authors recommend.

**Estimator** (BJS Theorem 2). Fit :math:`Y_{it} = \\alpha_i + \\lambda_t + X_{it}'\\beta +
\\varepsilon_{it}` on the untreated observations :math:`\\Omega_0` (:mod:`.untreated_model`),
impute :math:`\\hat Y_{it}(0)` for every treated observation, set
:math:`\\hat\\tau_{it} = Y_{it} - \\hat Y_{it}(0)` and report
:math:`\\hat\\tau_w = \\sum_{it\\in\\Omega_1} w_{it}\\hat\\tau_{it}` for weights
:math:`w` summing to one: all treated observations (``horizons=None``), or each event time
:math:`h` separately (``horizons``). Weights are proportional to the regression weights, or
to any non-negative column given as ``target_weights``.

**Conservative variance** (BJS Theorem 3). :math:`\\hat\\tau_w = \\sum_{it} v_{it} Y_{it}`
with :math:`v_{it} = w_{it}` on treated rows and
:math:`v_{it} = -w^{reg}_{it} X_{10,it}(X_{10}'W X_{10})^{-1}\\sum_{\\Omega_1}w X_{1}` on
untreated rows. Then

.. math::

    \\hat\\sigma^2_w = \\sum_c \\Big(\\sum_{it\\in c} v_{it}\\tilde\\varepsilon_{it}\\Big)^2,

with :math:`\\tilde\\varepsilon_{it}` the first-stage residual on untreated rows and
:math:`\\hat\\tau_{it} - \\tilde\\tau_{g,h}` on treated rows, where
:math:`\\tilde\\tau_{g,h} = \\sum v^2\\hat\\tau / \\sum v^2` within each cohort x event-time
cell (the auxiliary model of R ``didimputation``). Inference is normal.

**Pre-trend test** (BJS Test 1, Section 4.4). On the untreated observations only, regress
:math:`Y_{it}` on unit and period effects, covariates and dummies
:math:`1\\{t - G_i = -k\\}`, :math:`k = 1..K` (``pretrends=K``), and test the lead
coefficients jointly (Wald F, CRV1 by cluster as fixest). Because the test uses untreated
rows only it is not contaminated by treatment-effect heterogeneity.

Reference implementation: diff-diff ``ImputationDiD`` (which states parity with R
``didimputation``); the two-stage estimator gives the same static point estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas.causal.did.event_study import EventStudyResult, event_result
from clusteratlas.causal.did.untreated_model import (
    StaggeredPanel,
    UntreatedFit,
    cluster_sums,
    code_sums,
    event_window,
    fit_untreated,
    prepare_staggered,
    projected_cluster_sums,
    projection,
)
from clusteratlas.causal.results import EffectResult, normal_table
from clusteratlas.errors import EstimationError, InputError


def did_imputation(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    horizons: Sequence[int] | bool | None = None,
    pretrends: int = 0,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    weights: str | None = None,
    target_weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> EffectResult | EventStudyResult:
    """Borusyak-Jaravel-Spiess imputation estimator.

    ``horizons=None`` gives the overall ATT (a weighted mean over all treated observations);
    ``horizons=True`` every observed event time :math:`h \\ge 0`; a list picks them. With
    ``pretrends=K`` the BJS pre-trend test (leads 1..K on untreated observations) is run and
    its coefficients join the event study (as event times -1..-K) with their joint
    covariance. ``weights`` are regression weights (they also weight the effects, as
    ``didimputation``'s ``wname``); ``target_weights`` gives other non-negative effect weights.
    Standard errors: BJS conservative, clustered by ``cluster`` (default the unit).
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
        what="did_imputation data",
    )
    base = panel.weights.copy()
    if target_weights is not None:
        if target_weights not in data.columns:
            raise InputError(f"no column {target_weights!r}", column=target_weights)
        base = pd.to_numeric(data.loc[panel.frame.index, target_weights], errors="coerce")
        base = base.to_numpy(dtype=float)
        if np.isnan(base[panel.treated]).any() or (base[panel.treated] < 0).any():
            raise InputError("target weights must be non-negative numbers", column=target_weights)
    treated = panel.treated
    if horizons is None:
        code = np.where(treated, 0, -1)
        labels: list[int] = []
    else:
        event = panel.event_time
        if horizons is True:
            _, high = event_window(np.where(treated, event, np.nan), None, None)
            wanted = list(range(0, high + 1))
        else:
            wanted = [int(h) for h in horizons]  # type: ignore[union-attr]
        labels = [h for h in wanted if (treated & (event == h)).any()]
        if not labels:
            raise EstimationError(f"no treated observation at event times {wanted}")
        code = np.full(len(panel.y), -1)
        for j, h in enumerate(labels):
            code[treated & (event == h)] = j
    k = max(len(labels), 1)
    on = code >= 0
    mass = np.bincount(code[on], base[on], minlength=k)
    if (mass <= 0).any():
        raise EstimationError("the effect weights sum to zero")
    target = np.where(on, base / mass[np.maximum(code, 0)], 0.0)  # w_it, summing to 1 by code
    first = fit_untreated(panel)
    estimates = np.bincount(code[on], (target * first.residual)[on], minlength=k)
    scores = _conservative_scores(panel, first, code, k, target)
    info: dict[str, Any] = {
        "n_units": panel.n_units,
        "n_clusters": panel.n_clusters,
        "n_treated_obs": int(treated.sum()),
    }
    method = "Imputation DID (Borusyak, Jaravel and Spiess 2024)"
    se_type = f"BJS conservative, clustered by {panel.cluster_name}"
    times = list(labels)
    if pretrends:
        lead_coef, lead_scores, test = _pretrend_test(panel, first, pretrends, alpha)
        info.update(test)
        if labels:
            estimates = np.concatenate([lead_coef[::-1], estimates])
            scores = np.column_stack([lead_scores[:, ::-1], scores])
            times = list(range(-pretrends, 0)) + times
    vcov = scores.T @ scores
    if horizons is None:
        table = normal_table(["ATT"], estimates[-1:], np.sqrt(np.diag(vcov))[-1:], alpha)
        return EffectResult(method, "ATT", table, len(panel.y), se_type, alpha, info)
    post = np.array([t >= 0 for t in times], dtype=float)
    # headline: the overall ATT is the treated-weight mean of the horizons
    headline = post.copy()
    headline[post > 0] = mass / mass.sum()
    return event_result(
        method=method + ", event study",
        event_times=times,
        estimates=estimates,
        vcov=vcov,
        nobs=len(panel.y),
        se_type=se_type,
        alpha=alpha,
        reference=-(pretrends + 1),
        headline=("ATT", headline),
        info=info,
    )


def _conservative_scores(
    panel: StaggeredPanel, first: UntreatedFit, code: np.ndarray, k: int, target: np.ndarray
) -> np.ndarray:
    """Cluster sums of :math:`v_{it}\\tilde\\varepsilon_{it}` for each estimand (C x k).

    Treated rows: :math:`v = w_{it}` (``target``, estimand ``code``) and
    :math:`\\tilde\\varepsilon = \\hat\\tau_{it} - \\tilde\\tau_{g,h}`. Untreated rows:
    :math:`v = -w^{reg} X_{10}\\gamma` and :math:`\\tilde\\varepsilon` the first-stage residual,
    summed through :func:`projected_cluster_sums` without forming :math:`v`.
    """
    treated = panel.treated
    tau_hat = np.where(treated, first.residual, 0.0)
    # auxiliary cohort x event-time means with weights v^2 (R didimputation)
    cell = pd.factorize(
        pd.Series(panel.cohort * 10_000.0 + np.nan_to_num(panel.event_time)).where(treated)
    )[0]
    cell = np.where(treated, cell, cell.max() + 1)
    n_cells = int(cell.max() + 1)
    v2 = target**2
    num = np.bincount(cell, v2 * tau_hat, minlength=n_cells)
    den = np.bincount(cell, v2, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_tilde = np.where(den > 0, num / den, 0.0)
    treated_part = code_sums(
        panel.cluster, code, panel.n_clusters, k, target * (tau_hat - tau_tilde[cell])
    )
    proj = projection(first, panel, code, k, target)
    untreated_eps = np.where(treated, 0.0, panel.weights * first.residual)
    return treated_part - projected_cluster_sums(first, panel, proj, untreated_eps)


def _pretrend_test(
    panel: StaggeredPanel, first: UntreatedFit, k_leads: int, alpha: float
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """BJS Test 1 on untreated rows: lead coefficients, their cluster scores, the Wald test.

    Returns the coefficients of leads 1..K (event times -1..-K), cluster scores
    :math:`\\sum_c w\\tilde L e\\,(\\tilde L'W\\tilde L)^{-1}` (for joint covariances with the
    post estimates) and the test: F statistic with the fixest CRV1 small-sample factor
    :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` and :math:`(K, G-1)` degrees of freedom.
    """
    untreated = ~panel.treated
    leads = np.column_stack(
        [((panel.event_time == -k) & untreated).astype(float) for k in range(1, k_leads + 1)]
    )
    if not leads.any(axis=0).all():
        missing_leads = [k + 1 for k in np.flatnonzero(~leads.any(axis=0))]
        raise EstimationError(f"no untreated observation at event times -{missing_leads}")
    regressors = np.column_stack([leads, panel.covariates])
    solver = first.solver
    w0 = solver.mask_weights
    within = regressors - solver.project(regressors)
    y_within = panel.y - solver.project(panel.y)[:, 0]
    gram = (within * w0[:, None]).T @ within
    gram_inv = np.linalg.inv(gram)
    coef = gram_inv @ ((within * w0[:, None]).T @ y_within)
    resid = np.where(untreated, y_within - within @ coef, 0.0)
    scores = cluster_sums(within * (w0 * resid)[:, None], panel.cluster, panel.n_clusters)
    scores = scores @ gram_inv
    lead_scores = scores[:, :k_leads]
    g = panel.n_clusters
    n = int(untreated.sum())
    # fixest CRV1 counts the regressors and the period effects, and the unit effects unless
    # every unit sits inside one cluster (nested: they drop out of K); checked against it
    nested = bool((pd.Series(panel.cluster).groupby(panel.unit).nunique() == 1).all())
    n_periods = len(np.unique(panel.time[untreated]))
    k_params = regressors.shape[1] + n_periods + (0 if nested else panel.n_units - 1)
    factor = g / (g - 1) * (n - 1) / (n - k_params)
    v_leads = factor * lead_scores.T @ lead_scores
    b = coef[:k_leads]
    wald = float(b @ np.linalg.solve(v_leads, b))
    test = {
        "pretrend_F": wald / k_leads,
        "pretrend_df": f"({k_leads}, {g - 1})",
        "pretrend_p": float(stats.f.sf(wald / k_leads, k_leads, g - 1)),
        "pretrend_test": "BJS Test 1 (leads on untreated observations)",
    }
    return b, lead_scores, test
