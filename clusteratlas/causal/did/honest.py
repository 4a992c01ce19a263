"""Sensitivity of event-study conclusions to violations of parallel trends (Rambachan and Roth
2023; R ``HonestDiD``).

Owns :func:`honest_did` (robust confidence sets for :math:`\\theta = l'\\tau_{post}` over a
grid of :math:`M`, and the breakdown value) working on any ``(betahat, sigma, n_pre, n_post)``,
and :func:`honest_from` that takes them from an event study of this package (TWFE
:func:`~clusteratlas.causal.did.event_study`, :func:`~.two_stage.did2s`,
:func:`~.imputation.did_imputation`, :func:`~.sun_abraham.sun_abraham`, or a
Callaway-Sant'Anna dynamic aggregate).

**Setup.** :math:`\\hat\\beta = (\\hat\\beta_{pre}, \\hat\\beta_{post}) \\approx
N(\\tau + \\delta, \\Sigma)` with :math:`\\tau_{pre}=0` and the bias :math:`\\delta` (the
violation of parallel trends; :math:`\\delta_0 = 0` at the reference period). Restrictions:

* relative magnitudes :math:`\\Delta^{RM}(\\bar M)`: every post-period change
  :math:`|\\delta_{t+1}-\\delta_t|` is at most :math:`\\bar M` times the largest pre-period
  change. It is a union of polyhedra (which pre-period change is largest, and its sign); the
  confidence set is the union of the conditional-least-favourable hybrid ("C-LF") confidence
  sets of Andrews, Roth and Pakes (2023) for each polyhedron, found by test inversion on a
  grid of ``grid_points`` values of :math:`\\theta` (R's default method for RM);
* smoothness :math:`\\Delta^{SD}(M)`: :math:`|(\\delta_{t+1}-\\delta_t)-(\\delta_t-\\delta_{t-1})|
  \\le M` for all t; the confidence interval is the optimal fixed-length CI of Armstrong and
  Kolesár (2018) over affine estimators :math:`a + v'\\hat\\beta` (R's default method for
  SD): the half-length :math:`s\\,cv_\\alpha(M\\bar b/s)` (standard deviation :math:`s`,
  worst-case bias :math:`M\\bar b`, :math:`cv_\\alpha(t)` the :math:`1-\\alpha` quantile of
  :math:`|N(t,1)|`) is convex in the estimator's weights and minimised directly (R searches
  over :math:`s` with an inner cone programme; same optimum).

**C-LF test of** :math:`H_0:\\theta=\\bar\\theta` **on a polyhedron** :math:`A\\delta\\le d`:
with :math:`Y = A\\hat\\beta - d - \\tilde A_1\\bar\\theta` and nuisance directions
:math:`\\tilde X` (the post coefficients re-parametrised so that :math:`\\theta` is the first),
:math:`\\hat\\eta = \\min_{\\eta,\\xi}\\eta` s.t. :math:`Y - \\tilde X\\xi \\le \\eta\\,
\\sigma_Y`. Reject when :math:`\\hat\\eta` exceeds the least-favourable critical value (size
:math:`\\kappa = \\alpha/10`, 1,000 simulated draws, seed 0); otherwise compare it with the
quantile of the normal truncated to :math:`[v^{lo}, v^{up}]` implied by the binding
constraints of the dual (size :math:`(\\alpha-\\kappa)/(1-\\kappa)`). The LPs of the
least-favourable draws and the degenerate-vertex truncation points are computed by enumerating
the vertices (exact, vectorised over draws) instead of 1,000 LPs and bisections.

Reference: R ``HonestDiD`` README (Medicaid example, ``ehec``) to its printed digits and
moderndid ``didhonest`` (a port of the R package) on the same inputs, same grid.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from clusteratlas import tables
from clusteratlas.causal.results import figure_axes
from clusteratlas.errors import EstimationError, ParameterError

METHODS = ("relative_magnitude", "smoothness")


@dataclass
class HonestResult:
    """Robust confidence sets over a grid of M and the breakdown value.

    :attr:`table` has one row per M: ``M``, ``lb``, ``ub``, ``method`` (C-LF or FLCI),
    ``restriction`` (DeltaRM, DeltaSD). :attr:`original` is the usual CI for
    :math:`\\theta` (no violation allowed). :attr:`breakdown` is the largest M on the grid at
    which the robust set excludes zero (NaN when none does; the grid's end when all do).
    """

    table: pd.DataFrame
    original: tuple[float, float]
    estimate: float
    breakdown: float
    method: str
    l_vec: np.ndarray
    alpha: float = 0.05
    info: dict[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        name = "relative magnitudes (Mbar)" if self.method == METHODS[0] else "smoothness (M)"
        lines = [
            f"HonestDiD sensitivity (Rambachan and Roth 2023): {name}",
            f"theta = l'tau_post, l = {np.round(self.l_vec, 4).tolist()}: "
            f"estimate {self.estimate:.6g}, original {100 * (1 - self.alpha):.0f}% CI "
            f"[{self.original[0]:.6g}, {self.original[1]:.6g}]",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}"),
            f"breakdown value (largest M whose robust set excludes 0): {self.breakdown:.6g}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def export(self, stem: str | Path, formats: Iterable[str] = tables.FORMATS) -> list[Path]:
        return tables.export(self.tidy(), stem, formats=formats, caption="HonestDiD sensitivity")

    def plot(self, ax: Any = None) -> Any:
        """Robust sets against M beside the original CI; returns the Figure."""
        fig, ax = figure_axes(ax)
        m = self.table["M"].to_numpy()
        step = (m[1] - m[0]) if len(m) > 1 else 1.0
        ax.errorbar(
            [m[0] - step],
            [self.estimate],
            yerr=[[self.estimate - self.original[0]], [self.original[1] - self.estimate]],
            fmt="o",
            color="C1",
            capsize=3,
            label="original",
        )
        mid = (self.table["lb"] + self.table["ub"]) / 2
        ax.errorbar(
            m,
            mid,
            yerr=[mid - self.table["lb"], self.table["ub"] - mid],
            fmt="none",
            color="C0",
            capsize=3,
            label="robust",
        )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("Mbar" if self.method == METHODS[0] else "M")
        ax.set_ylabel("theta")
        ax.legend()
        fig.tight_layout()
        return fig


def honest_did(
    betahat: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    n_post: int,
    *,
    method: str = "relative_magnitude",
    m_grid: Sequence[float] | None = None,
    l_vec: Sequence[float] | None = None,
    alpha: float = 0.05,
    grid_points: int = 1000,
    seed: int = 0,
) -> HonestResult:
    """Robust confidence sets for :math:`\\theta = l'\\tau_{post}` (R ``HonestDiD``).

    ``betahat`` stacks ``n_pre`` pre-period then ``n_post`` post-period coefficients (the
    reference period, normalised to zero, excluded), ``sigma`` their covariance. ``l_vec``
    defaults to the first post period (R's default). ``m_grid`` defaults to R's: ten values
    from 0 to 2 (RM), or from 0 to the upper one-sided ``1-alpha`` bound of the largest
    pre-period second difference (SD). See the module docstring for the methods.
    """
    if method not in METHODS:
        raise ParameterError("method", f"unknown {method!r}", allowed=", ".join(METHODS))
    beta = np.asarray(betahat, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    if beta.size != n_pre + n_post or sigma.shape != (beta.size, beta.size):
        raise ParameterError(
            "betahat/sigma",
            f"need {n_pre} + {n_post} coefficients and a square covariance of that size, got "
            f"{beta.size} and {sigma.shape}",
        )
    if n_post < 1:
        raise ParameterError("n_post", "needs at least one post-period coefficient")
    if method == "relative_magnitude" and n_pre < 2:
        raise ParameterError("n_pre", "relative magnitudes need at least 2 pre-periods")
    if method == "smoothness" and n_pre < 1:
        raise ParameterError("n_pre", "smoothness needs at least 1 pre-period")
    if not np.all(np.isfinite(sigma)) or np.min(np.linalg.eigvalsh(sigma)) < -1e-12 * np.max(
        np.abs(sigma)
    ):
        raise ParameterError("sigma", "the covariance must be finite and positive semidefinite")
    lv = np.zeros(n_post) if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if l_vec is None:
        lv[0] = 1.0
    if lv.size != n_post:
        raise ParameterError("l_vec", f"needs {n_post} weights (one per post period)")
    post = slice(n_pre, n_pre + n_post)
    estimate = float(lv @ beta[post])
    sd_theta = float(np.sqrt(lv @ sigma[post, post] @ lv))
    z = stats.norm.ppf(1 - alpha / 2)
    original = (estimate - z * sd_theta, estimate + z * sd_theta)
    if m_grid is None:  # R HonestDiD's defaults
        if method == "relative_magnitude":
            m_grid = list(np.linspace(0, 2, 10))
        else:
            m_grid = list(np.linspace(0, _sd_upper_bound(beta, sigma, n_pre, alpha), 10))
    rows = []
    for m in m_grid:
        if m < 0:
            raise ParameterError("m_grid", f"M must be >= 0, got {m}")
        if method == "relative_magnitude":
            lb, ub = _rm_conditional_cs(beta, sigma, n_pre, n_post, lv, m, alpha, grid_points, seed)
            rows.append((float(m), lb, ub, "C-LF", "DeltaRM"))
        else:
            lb, ub = _flci(beta, sigma, n_pre, n_post, lv, m, alpha)
            rows.append((float(m), lb, ub, "FLCI", "DeltaSD"))
    table = pd.DataFrame(rows, columns=["M", "lb", "ub", "method", "restriction"])
    significant = ~((table["lb"] <= 0) & (table["ub"] >= 0))
    significant &= table["lb"].notna()
    breakdown = np.nan
    if significant.iloc[0]:
        # largest M before the first grid point whose set covers zero
        first_cover = np.flatnonzero(~significant.to_numpy())
        last = first_cover[0] - 1 if first_cover.size else len(table) - 1
        breakdown = float(table["M"].iloc[last])
    return HonestResult(
        table=table,
        original=original,
        estimate=estimate,
        breakdown=breakdown,
        method=method,
        l_vec=lv,
        alpha=alpha,
        info={"n_pre": n_pre, "n_post": n_post, "grid_points": grid_points},
    )


def _sd_upper_bound(beta: np.ndarray, sigma: np.ndarray, n_pre: int, alpha: float) -> float:
    """Largest pre-period second difference plus its one-sided critical value times SE."""
    if n_pre < 2:
        return float(np.sqrt(sigma[0, 0]) * stats.norm.ppf(1 - alpha))
    # second differences of (beta_pre, 0): rows over pre coefficients
    second = np.zeros((n_pre - 1, n_pre + 1))
    for r in range(n_pre - 1):
        second[r, r : r + 3] = [1.0, -2.0, 1.0]
    second = second[:, :n_pre]  # the reference coefficient is zero
    values = second @ beta[:n_pre]
    ses = np.sqrt(np.diag(second @ sigma[:n_pre, :n_pre] @ second.T))
    return float(np.max(values + stats.norm.ppf(1 - alpha) * ses))


def honest_from(result: Any, **kwargs: Any) -> HonestResult:
    """:func:`honest_did` on an event study of this package.

    Accepts an :class:`~clusteratlas.causal.did.event_study.EventStudyResult` (TWFE event
    study, did2s, imputation with ``pretrends``, Sun-Abraham: coefficients and ``.vcov``) or a
    Callaway-Sant'Anna dynamic :class:`~clusteratlas.causal.did.cs.AggregateResult` (the
    covariance from the event-time influence functions, as R ``honest_did.AGGTEobj``; use
    ``base_period="universal"`` there). Event times must be consecutive around the omitted
    reference period -1. An event study without an omitted period (the imputation estimator
    with ``pretrends``: its leads compare with all earlier untreated periods) is first
    re-expressed relative to event time -1 (every coefficient minus the -1 coefficient,
    covariance transformed alike), the normalisation HonestDiD assumes.
    """
    betas, sigma, times = _event_inputs(result)
    if -1 in times:
        # no omitted period (imputation with pretrends): express every coefficient relative
        # to event time -1, the normalisation HonestDiD's delta_{-1} = 0 assumes
        base = times.index(-1)
        shift = np.eye(len(times))
        shift[:, base] -= 1.0
        keep = [i for i in range(len(times)) if i != base]
        betas = (shift @ betas)[keep]
        sigma = (shift @ sigma @ shift.T)[np.ix_(keep, keep)]
        times = [times[i] for i in keep]
    pre = [k for k in times if k < 0]
    post = [k for k in times if k >= 0]
    expected = list(range(min(pre), -1)) if pre else []
    if pre != expected or post != list(range(0, len(post))):
        raise EstimationError(
            f"HonestDiD needs consecutive event times ..., -2 | 0, 1, ... around the reference "
            f"-1, got {times}"
        )
    return honest_did(betas, sigma, len(pre), len(post), **kwargs)


def _event_inputs(result: Any) -> tuple[np.ndarray, np.ndarray, list[int]]:
    from clusteratlas.causal.did.cs import AggregateResult
    from clusteratlas.causal.did.event_study import EventStudyResult

    if isinstance(result, EventStudyResult):
        if result.vcov is None:
            raise EstimationError("this event study carries no covariance matrix")
        coefs = result.coefs.sort_values("event_time")
        names = list(coefs["term"])
        return (
            coefs["estimate"].to_numpy(float),
            result.vcov.loc[names, names].to_numpy(float),
            [int(k) for k in coefs["event_time"]],
        )
    if isinstance(result, AggregateResult) and result.kind == "dynamic":
        influence = getattr(result, "by_influence", None)
        if influence is None:
            raise EstimationError("the dynamic aggregate carries no influence functions")
        by = result.by
        times = by["event_time"].astype(int).tolist()
        n = influence.shape[0]
        sigma = influence.T @ influence / n**2
        keep = [i for i, k in enumerate(times) if k != -1]
        reference = [i for i, k in enumerate(times) if k == -1]
        if reference and abs(by["estimate"].iloc[reference[0]]) > 1e-12:
            warnings.warn(
                "the CS event study was not estimated with base_period='universal': its "
                "pre-period coefficients are short differences, not comparable with HonestDiD's",
                stacklevel=3,
            )
        return (
            by["estimate"].to_numpy(float)[keep],
            sigma[np.ix_(keep, keep)],
            [times[i] for i in keep],
        )
    raise ParameterError("result", "needs an event study or a CS dynamic aggregate")


# --------------------------------------------------------------------------------------------
# smoothness: optimal fixed-length confidence interval (Armstrong and Kolesar 2018)
# --------------------------------------------------------------------------------------------


def _flci(
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


# --------------------------------------------------------------------------------------------
# relative magnitudes: conditional / least-favourable hybrid test (Andrews, Roth, Pakes)
# --------------------------------------------------------------------------------------------


def _rm_polyhedron(n_pre: int, n_post: int, m: float, s: int, positive: bool) -> np.ndarray:
    """Rows of :math:`A` with :math:`A\\delta \\le 0` for :math:`\\Delta^{RM}_{s,\\pm}(\\bar M)`
    (the change between pre periods s and s+1 is the largest, with the given sign)."""
    total = n_pre + n_post + 1  # delta including the reference period (0)
    first_diff = np.zeros((total - 1, total))
    for r in range(total - 1):
        first_diff[r, r], first_diff[r, r + 1] = -1.0, 1.0
    largest = np.zeros(total)
    largest[n_pre + s : n_pre + s + 2] = [-1.0, 1.0]
    if not positive:
        largest = -largest
    bound = np.vstack([np.tile(largest, (n_pre, 1)), np.tile(m * largest, (n_post, 1))])
    a = np.vstack([first_diff - bound, -first_diff - bound])
    a = a[~np.all(np.abs(a) <= 1e-10, axis=1)]
    return np.delete(a, n_pre, axis=1)


def _rm_conditional_cs(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    n_post: int,
    lv: np.ndarray,
    m: float,
    alpha: float,
    grid_points: int,
    seed: int,
) -> tuple[float, float]:
    """Union over the RM polyhedra of the C-LF confidence sets on the theta grid."""
    post = slice(n_pre, n_pre + n_post)
    sd_theta = float(np.sqrt(lv @ sigma[post, post] @ lv))
    polyhedra = [
        _rm_polyhedron(n_pre, n_post, m, s, positive)
        for s in range(-(n_pre - 1), 0)
        for positive in (True, False)
    ]
    # grid: the identified set at beta-hat widened by 20 SDs (R's createSensitivityResults_
    # relativeMagnitudes default)
    id_lb, id_ub = _identified_set(beta, polyhedra, n_pre, n_post, lv)
    grid = np.linspace(id_lb - 20 * sd_theta, id_ub + 20 * sd_theta, grid_points)
    accept = np.zeros(grid_points, dtype=bool)
    for a in polyhedra:
        accept |= _arp_accept(beta, sigma, a, n_pre, n_post, lv, grid, alpha, seed)
    if not accept.any():
        return np.nan, np.nan
    if accept[0] or accept[-1]:
        warnings.warn("the robust set reaches the end of the theta grid", stacklevel=3)
    return float(grid[accept].min()), float(grid[accept].max())


def _identified_set(
    beta: np.ndarray, polyhedra: list[np.ndarray], n_pre: int, n_post: int, lv: np.ndarray
) -> tuple[float, float]:
    """Identified set of :math:`\\theta` if :math:`\\hat\\beta` were the truth: the union over
    the polyhedra of :math:`l'(\\beta_{post} - \\delta_{post})` with :math:`\\delta_{pre} =
    \\beta_{pre}`, each end an LP (only used to place the grid)."""
    center = float(lv @ beta[n_pre:])
    lows, highs = [], []
    for a in polyhedra:
        rhs = -a[:, :n_pre] @ beta[:n_pre]
        ends = []
        for sign in (1.0, -1.0):  # min and max of l'delta_post
            sol = optimize.linprog(
                sign * lv,
                A_ub=a[:, n_pre:],
                b_ub=rhs,
                bounds=[(None, None)] * n_post,
                method="highs",
            )
            ends.append(sign * sol.fun if sol.status == 0 else np.nan)
        if np.all(np.isfinite(ends)):
            lows.append(center - ends[1])
            highs.append(center - ends[0])
        else:  # a polyhedron that cannot hold at betahat adds the point estimate (as R)
            lows.append(center)
            highs.append(center)
    return float(min(lows)), float(max(highs))


def _gamma_matrix(lv: np.ndarray) -> np.ndarray:
    """Invertible map whose first row is l (the other rows pick post coefficients)."""
    n = lv.size
    drop = int(np.argmax(np.abs(lv)))
    gamma = np.zeros((n, n))
    gamma[0] = lv
    rows = [i for i in range(n) if i != drop]
    for r, i in enumerate(rows, start=1):
        gamma[r, i] = 1.0
    return gamma


def _arp_accept(
    beta: np.ndarray,
    sigma: np.ndarray,
    a: np.ndarray,
    n_pre: int,
    n_post: int,
    lv: np.ndarray,
    grid: np.ndarray,
    alpha: float,
    seed: int,
) -> np.ndarray:
    """Accept flags of the C-LF test of :math:`\\theta = \\bar\\theta` on ``grid``.

    The accepted set of one polyhedron is an interval: it is located by bisection from an
    accepted point (as moderndid; R evaluates every grid point).
    """
    kappa = alpha / 10
    transformed = a[:, n_pre : n_pre + n_post] @ np.linalg.inv(_gamma_matrix(lv))
    theta_dir, nuisance = transformed[:, 0], transformed[:, 1:]
    y0 = a @ beta
    sigma_y = a @ sigma @ a.T
    rows = np.arange(a.shape[0])
    if n_post > 1:
        rows = np.flatnonzero(np.any(a[:, n_pre : n_pre + n_post] != 0, axis=1))
    sigma_rows = sigma_y[np.ix_(rows, rows)]
    x_rows = nuisance[rows]
    sd = np.sqrt(np.diag(sigma_rows))
    lf_cv = _least_favourable_cv(x_rows, sigma_rows, sd, kappa, seed)
    size = (alpha - kappa) / (1 - kappa)

    def accepted(i: int) -> bool:
        y = (y0 - theta_dir * grid[i])[rows]
        return not _conditional_reject(y, x_rows, sigma_rows, sd, lf_cv, size)

    n = len(grid)
    flags = np.zeros(n, dtype=bool)
    mid = n // 2
    start = None
    for offset in range(n):
        for i in (mid - offset, mid + offset) if offset else (mid,):
            if 0 <= i < n and accepted(i):
                start = i
                break
        if start is not None or (mid - offset < 0 and mid + offset >= n):
            break
    if start is None:
        return flags
    lo, hi = 0, start  # first accepted index
    if not accepted(0):
        while lo < hi:
            j = (lo + hi) // 2
            if accepted(j):
                hi = j
            else:
                lo = j + 1
    lower = lo if not accepted(0) else 0
    lo, hi = start, n - 1
    if not accepted(n - 1):
        while lo < hi:
            j = (lo + hi + 1) // 2
            if accepted(j):
                lo = j
            else:
                hi = j - 1
        upper = lo
    else:
        upper = n - 1
    flags[lower : upper + 1] = True
    return flags


def _eta_lp(y: np.ndarray, x: np.ndarray, sd: np.ndarray) -> optimize.OptimizeResult:
    """:math:`\\min \\eta` s.t. :math:`y - x\\xi \\le \\eta\\,sd` (variables eta, xi)."""
    k = x.shape[1]
    return optimize.linprog(
        c=np.concatenate([[1.0], np.zeros(k)]),
        A_ub=-np.column_stack([sd, x]),
        b_ub=-y,
        bounds=[(None, None)] * (k + 1),
        method="highs-ds",
    )


def _least_favourable_cv(
    x: np.ndarray, sigma: np.ndarray, sd: np.ndarray, kappa: float, seed: int
) -> float:
    """1 - kappa quantile of eta under y ~ N(0, sigma) (1,000 draws, numpy default_rng(seed))."""
    draws = np.random.default_rng(seed).multivariate_normal(
        np.zeros(sigma.shape[0]), sigma, size=1000
    )
    if x.shape[1] == 0:
        return float(np.quantile(np.max(draws / sd, axis=1), 1 - kappa))
    if _eta_lp(draws[0], x, sd).success:  # bounded LP (it is for every draw or none)
        etas = _eta_vertices(draws, x, sd)
        if etas is not None:
            return float(np.quantile(etas, 1 - kappa))
    etas = [sol.x[0] for sol in (_eta_lp(d, x, sd) for d in draws) if sol.success]
    if not etas:
        raise EstimationError("the least-favourable critical value could not be simulated")
    return float(np.quantile(etas, 1 - kappa))


def _eta_vertices(draws: np.ndarray, x: np.ndarray, sd: np.ndarray) -> np.ndarray | None:
    """:math:`\\min_{\\eta,\\xi} \\eta` s.t. :math:`y - x\\xi \\le \\eta\\,sd` for every row
    :math:`y` of ``draws`` at once, by enumerating the vertices.

    A bounded LP attains its optimum at a vertex where k+1 constraints bind; for each such
    basis the vertex is linear in :math:`y`, so all draws are solved with one small solve per
    basis and the optimum is the smallest feasible :math:`\\eta`. Same values as 1,000 LPs,
    ~100x faster. None when there are too many bases (the caller solves LPs instead).
    """
    from itertools import combinations

    w = np.column_stack([sd, x])
    n_rows, dim = w.shape
    bases = list(combinations(range(n_rows), dim))
    if len(bases) > 5000:
        return None
    tolerance = 1e-10 * max(1.0, float(np.abs(draws).max()))
    best = np.full(len(draws), np.inf)
    for basis in bases:
        w_b = w[list(basis)]
        if np.linalg.cond(w_b) > 1e12:
            continue
        vertex = np.linalg.solve(w_b, draws[:, list(basis)].T)  # dim x draws
        eta, xi = vertex[0], vertex[1:]
        slack = draws - (x @ xi).T - eta[:, None] * sd[None, :]
        feasible = np.all(slack <= tolerance, axis=1)
        best = np.where(feasible & (eta < best), eta, best)
    return best


def _truncated_normal_quantile(p: float, lower: float, upper: float) -> float:
    if np.isinf(lower) and np.isinf(upper):
        return float(stats.norm.ppf(p))
    p_lo = stats.norm.cdf(lower) if np.isfinite(lower) else 0.0
    p_hi = stats.norm.cdf(upper) if np.isfinite(upper) else 1.0
    target = p_lo + p * (p_hi - p_lo)
    if target <= p_lo:
        return lower
    if target >= p_hi:
        return upper
    return float(stats.norm.ppf(target))


def _conditional_reject(
    y: np.ndarray,
    x: np.ndarray,
    sigma: np.ndarray,
    sd: np.ndarray,
    lf_cv: float,
    size: float,
) -> bool:
    """Hybrid test: least-favourable first stage, then the conditional (truncated normal) test."""
    k = x.shape[1]
    sol = _eta_lp(y, x, sd)
    if not sol.success:
        return False
    eta = float(sol.x[0])
    if eta > lf_cv:
        return True
    dual = -sol.ineqlin.marginals
    binding = dual > 1e-6
    x_b = x[binding]
    full_rank = x_b.shape[0] > 0 and np.linalg.matrix_rank(x_b) == min(x_b.shape) if k else True
    if int(binding.sum()) == k + 1 and full_rank:
        # non-degenerate vertex: the binding rows identify the conditioning event
        w_b = np.column_stack([sd[binding], x_b])
        w_bc = np.column_stack([sd[~binding], x[~binding]])
        s_b = np.eye(len(y))[binding]
        s_bc = np.eye(len(y))[~binding]
        w_b_inv = np.linalg.inv(w_b)
        gamma_b = w_bc @ w_b_inv @ s_b - s_bc
        v_b = s_b.T @ w_b_inv.T[:, 0]
        sigma_b = float(np.sqrt(v_b @ sigma @ v_b))
        rho = gamma_b @ sigma @ v_b / sigma_b**2
        bounds = -(gamma_b @ y) / rho + v_b @ y
        vlo = np.max(bounds[rho > 0]) if np.any(rho > 0) else -np.inf
        vup = np.min(bounds[rho < 0]) if np.any(rho < 0) else np.inf
        stat = eta / sigma_b
        lo, up = vlo / sigma_b, min(vup, lf_cv) / sigma_b
    else:
        gamma = dual
        var_b = float(gamma @ sigma @ gamma)
        if var_b < np.finfo(float).eps:
            return eta > 0
        sigma_b = np.sqrt(var_b)
        vlo, vup = _dual_truncation(y, x, sd, sigma, gamma, eta)
        if not vlo <= eta <= vup + 1e-9 * max(1.0, abs(eta)):
            vlo, vup = eta, np.inf  # gamma is not optimal at eta itself (R's convention)
        stat = eta / sigma_b
        lo, up = vlo / sigma_b, min(vup, lf_cv) / sigma_b
    if not lo <= stat <= up:
        return False
    return stat > max(0.0, _truncated_normal_quantile(1 - size, lo, up))


def _dual_truncation(
    y: np.ndarray, x: np.ndarray, sd: np.ndarray, sigma: np.ndarray, gamma: np.ndarray, eta: float
) -> tuple[float, float]:
    """Truncation points for a degenerate vertex (ARP's dual approach), in closed form.

    Along :math:`y(c) = s + b\\,c`, with :math:`b = \\Sigma\\gamma/\\gamma'\\Sigma\\gamma` and
    :math:`s = y - b\\,\\gamma'y`, the LP value is :math:`\\max_v v'y(c)` over the vertices
    :math:`v` of the dual polytope :math:`\\{\\lambda \\ge 0, W'\\lambda = e_1\\}`, and
    :math:`\\gamma` stays optimal while that maximum equals :math:`c`, i.e. while
    :math:`v's + (v'b - 1)c \\le 0` for every vertex. The vertices are enumerated (bases of
    size k+1), so the interval is exact; R and moderndid find its ends by bisection to 1e-6.
    """
    from itertools import combinations

    var_b = float(gamma @ sigma @ gamma)
    b = sigma @ gamma / var_b
    s = y - b * float(gamma @ y)
    w = np.column_stack([sd, x])
    n_rows, dim = w.shape
    e1 = np.zeros(dim)
    e1[0] = 1.0
    lower, upper = -np.inf, np.inf
    for basis in combinations(range(n_rows), dim):
        w_b = w[list(basis)]
        if np.linalg.cond(w_b) > 1e12:  # not a basis (scale-free test)
            continue
        lam = np.linalg.solve(w_b.T, e1)
        if np.any(lam < -1e-12):
            continue
        alpha_v = float(lam @ s[list(basis)])
        slope = float(lam @ b[list(basis)]) - 1.0
        if slope > 1e-12:
            upper = min(upper, -alpha_v / slope)
        elif slope < -1e-12:
            lower = max(lower, -alpha_v / slope)
    return lower, upper
