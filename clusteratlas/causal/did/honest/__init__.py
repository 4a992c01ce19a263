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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas.causal.did.honest.relative_magnitudes import rm_conditional_cs
from clusteratlas.causal.did.honest.smoothness import flci
from clusteratlas.causal.results import figure_axes
from clusteratlas.errors import DesignWarning, EstimationError, ParameterError
from clusteratlas.results import EstimatorResult

METHODS = ("relative_magnitude", "smoothness")


@dataclass
class HonestResult(EstimatorResult):
    """Robust confidence sets over a grid of M and the breakdown value.

    :attr:`table` has one row per M: ``M``, ``lb``, ``ub``, ``method`` (C-LF or FLCI),
    ``restriction`` (DeltaRM, DeltaSD). :meth:`tidy` has the same rows in the common vocabulary
    (``term`` = ``M=<M>``, estimate = :math:`\\hat\\theta`, conf_low/high = the robust set,
    no standard error or test), then M, method and restriction. :attr:`original` is the usual CI for
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

    tidy_extras = ("M", "method", "restriction")
    tidy_renamed = {"lb": "conf_low", "ub": "conf_high"}
    caption = "HonestDiD sensitivity (Rambachan and Roth 2023)"

    def _tidy(self) -> pd.DataFrame:
        out = self.table.rename(columns=self.tidy_renamed)
        out["term"] = [f"M={m:g}" for m in out["M"]]
        out["estimate"] = self.estimate
        return out

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
            lb, ub = rm_conditional_cs(beta, sigma, n_pre, n_post, lv, m, alpha, grid_points, seed)
            rows.append((float(m), lb, ub, "C-LF", "DeltaRM"))
        else:
            lb, ub = flci(beta, sigma, n_pre, n_post, lv, m, alpha)
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
                category=DesignWarning,
                stacklevel=3,
            )
        return (
            by["estimate"].to_numpy(float)[keep],
            sigma[np.ix_(keep, keep)],
            [times[i] for i in keep],
        )
    raise ParameterError("result", "needs an event study or a CS dynamic aggregate")
