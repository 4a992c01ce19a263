"""HonestDiD smoothness restriction: the optimal fixed-length CI (Armstrong and Kolesar 2018).

Owns :func:`flci` and its weights: the affine estimator :math:`a + v'\\hat\\beta` of
:math:`\\theta` with the shortest fixed-length interval under :math:`\\Delta^{SD}(M)` (see the
package docstring for the setup).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def flci(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    n_post: int,
    lv: np.ndarray,
    m: float,
    alpha: float,
) -> tuple[float, float]:
    r"""FLCI under :math:`\Delta^{SD}(M)`.

    Estimators :math:`l'\hat\beta_{post} + \sum_j w^\Delta_j\hat\beta_{pre,j}` must remove a
    linear pre-trend: with pre weights written as differences of :math:`w` (levels),
    :math:`\sum_j w_j = \sum_s s\,l_s`. Their worst-case bias is :math:`M(c_0 + \sum_k
    |\sum_{j\le k} w_j|)`; their variance is quadratic in :math:`w`.
    """
    target = float(np.arange(1, n_post + 1) @ lv)
    const = (
        sum(abs(float(np.arange(1, s + 1) @ lv[n_post - s :])) for s in range(1, n_post + 1))
        - target
    )
    diff = np.eye(n_pre) - np.eye(n_pre, k=-1)  # levels -> pre weights (first differences)
    s_pre = sigma[:n_pre, :n_pre]
    s_cross = sigma[:n_pre, n_pre:] @ lv
    s_post = float(lv @ sigma[n_pre:, n_pre:] @ lv)
    quad = diff.T @ s_pre @ diff
    lin = 2 * diff.T @ s_cross

    def variance(w: np.ndarray) -> float:
        return float(w @ quad @ w + lin @ w + s_post)

    # minimum variance subject to sum(w) = target (KKT system)
    ones = np.ones(n_pre)
    kkt = np.block([[2 * quad, ones[:, None]], [ones[None, :], np.zeros((1, 1))]])
    w_min_var = np.linalg.lstsq(kkt, np.concatenate([-lin, [target]]), rcond=None)[0][:n_pre]
    h_min = np.sqrt(max(variance(w_min_var), 0.0))
    w_min_bias = np.zeros(n_pre)
    w_min_bias[-1] = target
    h_max = np.sqrt(variance(w_min_bias))
    lower_tri = np.tril(np.ones((n_pre, n_pre)))
    z = stats.norm.ppf(1 - alpha / 2)
    if m == 0:  # no bias allowed: the minimum-variance estimator
        w_best, length = w_min_var, z * h_min
    elif h_max - h_min <= 1e-12 * h_max:  # one admissible standard deviation
        w_best = w_min_bias
        bias = const + float(np.abs(lower_tri @ w_best).sum())
        length = _folded_normal_quantile(1 - alpha, m * bias / h_max) * h_max
    else:
        w_best, length = _flci_weights(
            quad, lin, s_post, lower_tri, target, const, m, alpha, w_min_var, w_min_bias
        )
    pre_weights = diff @ w_best
    center = float(lv @ beta[n_pre:] + pre_weights @ beta[:n_pre])
    return center - length, center + length


def _flci_weights(
    quad: np.ndarray,
    lin: np.ndarray,
    s_post: float,
    lower_tri: np.ndarray,
    target: float,
    const: float,
    m: float,
    alpha: float,
    w_min_var: np.ndarray,
    w_min_bias: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Minimise the half-length :math:`s(w)\\,cv_\\alpha(M b(w)/s(w))` over the level weights.

    :math:`s` (standard deviation) and :math:`b` (worst-case bias per unit M) are convex in
    :math:`w` and the half-length, the perspective of the convex :math:`cv_\\alpha`, is
    convex and increasing in both, so this is one smooth convex programme once
    :math:`|Lw|` is split into :math:`u \\ge \\pm Lw` (R and moderndid instead search over
    :math:`s` with an inner SOCP; the optimum is the same, found here without the search
    tolerance).
    """
    n_pre = len(w_min_var)

    def parts(x: np.ndarray) -> tuple[float, float, float, float, np.ndarray]:
        w, u = x[:n_pre], x[n_pre:]
        var = float(w @ quad @ w + lin @ w + s_post)
        sd = np.sqrt(max(var, 1e-300))
        t = m * (const + u.sum()) / sd
        q = _folded_normal_quantile(1 - alpha, t)
        dens_minus, dens_plus = stats.norm.pdf(q - t), stats.norm.pdf(q + t)
        slope = (dens_minus - dens_plus) / (dens_minus + dens_plus)  # dq/dt
        dsd_dw = (2 * quad @ w + lin) / (2 * sd)
        return sd, t, q, slope, dsd_dw

    def objective(x: np.ndarray) -> float:
        sd, _, q, _, _ = parts(x)
        return sd * q

    def gradient(x: np.ndarray) -> np.ndarray:
        sd, t, q, slope, dsd_dw = parts(x)
        return np.concatenate([dsd_dw * (q - t * slope), np.full(n_pre, m * slope)])

    constraints = [
        {
            "type": "eq",
            "fun": lambda x: np.array([x[:n_pre].sum() - target]),
            "jac": lambda x: np.concatenate([np.ones(n_pre), np.zeros(n_pre)])[None, :],
        },
        {
            "type": "ineq",
            "fun": lambda x: x[n_pre:] - lower_tri @ x[:n_pre],
            "jac": lambda x: np.hstack([-lower_tri, np.eye(n_pre)]),
        },
        {
            "type": "ineq",
            "fun": lambda x: x[n_pre:] + lower_tri @ x[:n_pre],
            "jac": lambda x: np.hstack([lower_tri, np.eye(n_pre)]),
        },
    ]
    best: tuple[float, np.ndarray] | None = None
    for start in (w_min_bias, w_min_var, 0.5 * (w_min_bias + w_min_var)):
        x0 = np.concatenate([start, np.abs(lower_tri @ start) + 1e-9])
        sol = optimize.minimize(
            objective,
            x0,
            jac=gradient,
            constraints=constraints,
            method="SLSQP",
            options={"ftol": 1e-16, "maxiter": 2000},
        )
        w = sol.x[:n_pre]
        u = np.abs(lower_tri @ w)  # tighten u to |Lw| (exact bias of w)
        value = objective(np.concatenate([w, u]))
        if best is None or value < best[0]:
            best = (value, w)
    assert best is not None
    return best[1], best[0]


def _folded_normal_quantile(p: float, mu: float) -> float:
    """Quantile of :math:`|N(\\mu, 1)|`."""
    mu = abs(mu)
    if mu == 0:
        return float(stats.norm.ppf((1 + p) / 2))

    def cdf(x: float) -> float:
        return float(stats.norm.cdf(x - mu) - stats.norm.cdf(-x - mu) - p)

    upper = mu + 8.0
    while cdf(upper) < 0:
        upper *= 2
    return float(optimize.brentq(cdf, 0.0, upper, xtol=1e-14, rtol=1e-15))
