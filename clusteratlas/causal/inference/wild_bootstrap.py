"""Restricted wild cluster bootstrap (WCR11) for one regression coefficient.

Owns :func:`wild_cluster_bootstrap` and its result: p-values and test-inversion confidence
intervals for the coefficients of :func:`clusteratlas.causal.did.did_2x2`,
:func:`~clusteratlas.causal.did.twfe` and :func:`~clusteratlas.causal.did.event_study`
(Roodman, MacKinnon, Nielsen and Webb 2019), with ties made explicit so results do not
depend on rounding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas.causal.inference.vcov import FitSpec, feols, tidy_from_fit
from clusteratlas.causal.results import EffectResult
from clusteratlas.errors import EstimationError, ParameterError, SmallSampleWarning
from clusteratlas.results import EstimatorResult


@dataclass
class WildBootstrapResult(EstimatorResult):
    """Wild cluster bootstrap test of one coefficient (WCR11: restricted, Roodman et al. 2019).

    ``pvalue`` is the symmetric bootstrap p-value of H0: coefficient = 0; ``ci`` inverts the
    test over the null value (the set of values not rejected at level ``alpha``).
    :meth:`tidy`: term, estimate, statistic (the original t), p_value and conf_low/high
    from the bootstrap (no standard error), then reps, weights, n_clusters.
    """

    tidy_extras = ("reps", "weights", "n_clusters")
    tidy_renamed = {
        "t_stat": "statistic",
        "boot_p_value": "p_value",
        "boot_conf_low": "conf_low",
        "boot_conf_high": "conf_high",
    }
    caption = "Wild cluster bootstrap (restricted WCR11)"

    term: str
    estimate: float
    pvalue: float
    ci: tuple[float, float]
    reps: int
    weights_type: str
    n_clusters: int
    alpha: float = 0.05
    t_stat: float = np.nan

    def _tidy(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "term": self.term,
                    "estimate": self.estimate,
                    "statistic": self.t_stat,
                    "p_value": self.pvalue,
                    "conf_low": self.ci[0],
                    "conf_high": self.ci[1],
                    "reps": self.reps,
                    "weights": self.weights_type,
                    "n_clusters": self.n_clusters,
                }
            ]
        )

    def summary(self) -> str:
        return (
            f"Wild cluster bootstrap (restricted WCR11, {self.weights_type} weights, "
            f"{self.reps} reps, {self.n_clusters} clusters)\n"
            f"{self.term}: {self.estimate:.6g}  bootstrap p = {self.pvalue:.4g}  "
            f"{100 * (1 - self.alpha):.0f}% CI [{self.ci[0]:.6g}, {self.ci[1]:.6g}]"
        )


def wild_cluster_bootstrap(
    result: EffectResult | str,
    *,
    param: str | None = None,
    reps: int = 9999,
    weights_type: str = "rademacher",
    cluster: str | None = None,
    seed: int = 20240101,
    ci: bool = True,
    alpha: float = 0.05,
    data: pd.DataFrame | None = None,
    B: int | None = None,  # noqa: N803 - boottest's name, accepted as an alias of reps
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap (WCR11) p-value and CI for one DID coefficient.

    Works on results of :func:`did_2x2`, :func:`twfe` and :func:`event_study` (``param``
    defaults to the headline term; for an event study pick one event time such as
    ``"rel_p0"``). Fixed effects are partialled out first (Frisch-Waugh-Lovell, valid when
    they are nested in the clusters or the regressors are already demeaned, as boottest does).

    For the null :math:`\beta_k = r`: fit the restricted model, draw
    :math:`y^*_{g} = \\hat y^{R}_g + v_g \\hat u^{R}_g` with cluster weights :math:`v_g`
    (Rademacher, or Webb's six-point weights for fewer than ~12 clusters), and compare the
    bootstrap CRV1 t statistics :math:`|t^*|` with the sample :math:`|t|`; the p-value is
    the share with :math:`|t^*| \\ge |t|`. When :math:`2^G \\le` ``reps`` Rademacher draws are
    enumerated exactly. The CI is the set of :math:`r` not rejected at ``alpha`` (test
    inversion by bisection). The computation is closed-form in the weights (one
    reps x G matrix product per null value), so thousands of draws take milliseconds.
    """
    reps = B if B is not None else reps
    if isinstance(result, str):
        # a formula (pyfixest syntax, "y ~ x + C(state) | fe") with data= and cluster=
        if data is None or cluster is None or param is None:
            raise ParameterError("data", "a formula needs data=, cluster= and param=")
        fit = feols(result, data, {"CRV1": cluster})
        table = tidy_from_fit(fit, alpha)
        formula = result
        result = EffectResult("formula", param, table, int(fit._N), "CRV1", alpha)
        lhs = formula.split("~")[0].strip()
        result._spec = FitSpec(formula, data, lhs, cluster)  # type: ignore[attr-defined]
    spec: FitSpec | None = getattr(result, "_spec", None)
    if spec is None:
        raise ParameterError("result", "needs a result of did_2x2, twfe or event_study")
    param = param or result.term
    if param == "avg_post":
        raise ParameterError("param", "avg_post is a combination; choose one event time")
    if weights_type not in ("rademacher", "webb"):
        raise ParameterError(
            "weights_type", f"unknown {weights_type!r}", allowed="rademacher, webb"
        )
    cluster = cluster or spec.cluster
    if cluster is None:
        raise ParameterError("cluster", "the wild cluster bootstrap needs a cluster column")
    if reps < 99:
        raise ParameterError("reps", f"{reps} is too few", allowed=">= 99 (9999 recommended)")
    fit = feols(spec.formula, spec.data, "iid", spec.weights)
    names = [str(c) for c in fit._coefnames]
    if param not in names:
        raise ParameterError("param", f"{param!r} is not a coefficient", allowed=", ".join(names))
    x = np.asarray(fit._X, dtype=float)
    yv = np.asarray(fit._Y, dtype=float).ravel()
    if len(yv) != len(spec.data):
        raise EstimationError("the regression dropped rows (singletons?); cannot align clusters")
    groups = pd.factorize(spec.data[cluster])[0]
    n_clusters = int(groups.max() + 1)
    if n_clusters < 12 and weights_type == "rademacher":
        warnings.warn(
            f"only {n_clusters} clusters: Rademacher weights allow just 2^{n_clusters} distinct "
            "draws; consider weights_type='webb'",
            category=SmallSampleWarning,
            stacklevel=2,
        )
    k = names.index(param)
    draws = _wild_weights(n_clusters, reps, weights_type, seed)
    estimate = float(np.linalg.lstsq(x, yv, rcond=None)[0][k])

    def pvalue_at(null_value: float) -> tuple[float, float]:
        return _wcr_pvalue(x, yv, groups, n_clusters, k, null_value, draws)

    pvalue, t_stat = pvalue_at(0.0)
    interval = (np.nan, np.nan)
    if ci:
        se = float(result.table.set_index("term").loc[param, "std_error"])
        interval = (
            _invert(pvalue_at, estimate, -se, alpha),
            _invert(pvalue_at, estimate, se, alpha),
        )
    return WildBootstrapResult(
        term=param,
        estimate=estimate,
        pvalue=pvalue,
        ci=interval,
        reps=int(draws.shape[0]),
        weights_type=weights_type,
        n_clusters=n_clusters,
        alpha=alpha,
        t_stat=t_stat,
    )


def _wild_weights(n_clusters: int, reps: int, weights_type: str, seed: int) -> np.ndarray:
    """reps x G weight matrix; full enumeration of Rademacher signs when 2^G <= reps."""
    if weights_type == "rademacher" and 2**n_clusters <= reps:
        codes = np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :] & 1
        return 2.0 * codes - 1.0
    rng = np.random.default_rng(seed)
    if weights_type == "rademacher":
        return rng.choice([-1.0, 1.0], size=(reps, n_clusters))
    webb = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return rng.choice(webb, size=(reps, n_clusters))


def _wcr_pvalue(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_clusters: int,
    k: int,
    null_value: float,
    draws: np.ndarray,
) -> tuple[float, float]:
    r"""WCR11 bootstrap p-value of H0: beta_k = null_value (closed form in the weights).

    With :math:`R=(X'X)^{-1}` and cluster scores, the bootstrap score of cluster g for
    coefficient k is linear in the weights: :math:`s^*_g = c_g + v_g b_g - \sum_h v_h M_{gh}`,
    and :math:`\hat\beta^*_k = r + \sum_h v_h b_h`.
    """
    xtx_inv = np.linalg.inv(x.T @ x)
    r_k = xtx_inv[k]
    others = [j for j in range(x.shape[1]) if j != k]

    def cluster_sum(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_clusters,) + values.shape[1:])
        np.add.at(out, groups, values)
        return out

    # sample t statistic (CRV1 without small-sample factor: it cancels in |t*| >= |t|)
    beta = xtx_inv @ (x.T @ y)
    resid = y - x @ beta
    scores = cluster_sum(x * resid[:, None]) @ r_k
    t_stat = (beta[k] - null_value) / np.sqrt(np.sum(scores**2))

    # restricted fit under the null
    y_null = y - null_value * x[:, k]
    if others:
        coef = np.linalg.lstsq(x[:, others], y_null, rcond=None)[0]
        fitted = x[:, others] @ coef + null_value * x[:, k]
    else:
        fitted = null_value * x[:, k]
    u = y - fitted
    xu = cluster_sum(x * u[:, None])  # G x K: X_g' u_g
    xf = cluster_sum(x * fitted[:, None])  # G x K: X_g' yhat_g
    xgxg = np.zeros((n_clusters, x.shape[1], x.shape[1]))
    np.add.at(xgxg, groups, x[:, :, None] * x[:, None, :])
    h = np.einsum("k,gkl,lm->gm", r_k, xgxg, xtx_inv)  # G x K: R_k X_g'X_g R
    q = xf.sum(axis=0)
    b = xu @ r_k
    c = xf @ r_k - h @ q
    m = h @ xu.T  # G x G
    s_star = c[None, :] + draws * b[None, :] - draws @ m.T
    beta_star = null_value + draws @ b
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = (beta_star - null_value) / np.sqrt(np.sum(s_star**2, axis=1))
    return _exceedance_pvalue(t_star, float(t_stat), draws), float(t_stat)


#: Relative distance below which a bootstrap |t*| is a tie with the sample |t|. Genuine
#: draws differ from |t| by far more; rounding (CPU, BLAS build, summation order) moves
#: the identity draw by ~1e-15 relative.
TIE_RTOL = 1e-9


def _exceedance_pvalue(t_star: np.ndarray, t_stat: float, draws: np.ndarray) -> float:
    r"""Symmetric p-value :math:`\frac1B\#\{b: |t^*_b| > |t|\}` with ties made explicit.

    Convention (boottest, fwildclusterboot ``mean(abs(t) < abs(t_boot))``, wildboottest
    ``np.mean(np.abs(t_stat) < abs(t_boot))``): strict exceedance, so a draw that only
    reproduces the sample statistic does not count. The constant weight vectors
    :math:`v = \pm 1` reproduce :math:`|t|` by construction (with :math:`v = 1`,
    :math:`y^* = y`); whether floating-point rounding puts their computed :math:`|t^*|` a hair
    above or below :math:`|t|` depends on the machine, so they are set to ties structurally,
    and any other draw within ``TIE_RTOL`` of :math:`|t|` is treated the same way. The
    p-value therefore does not depend on rounding.
    """
    magnitude = np.abs(t_star)
    threshold = abs(t_stat)
    constant = np.all(draws == draws[:, :1], axis=1) & (np.abs(draws[:, 0]) == 1.0)
    tie = constant | (np.abs(magnitude - threshold) <= TIE_RTOL * threshold)
    exceeds = (magnitude > threshold) & ~tie
    return float(np.count_nonzero(exceeds) / len(t_star))


def _invert(pvalue_at: Any, estimate: float, step: float, alpha: float) -> float:
    """Find the null value on one side of ``estimate`` where the bootstrap p-value hits alpha."""
    inside, outside = estimate, estimate + 2 * step
    expansions = 0
    while pvalue_at(outside)[0] > alpha:
        inside, outside = outside, outside + 2 * step
        expansions += 1
        if expansions > 20:
            return float(np.sign(step) * np.inf)
    for _ in range(30):
        middle = 0.5 * (inside + outside)
        if pvalue_at(middle)[0] > alpha:
            inside = middle
        else:
            outside = middle
    return 0.5 * (inside + outside)
