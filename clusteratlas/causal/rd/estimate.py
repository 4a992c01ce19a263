"""Local-polynomial RD estimation with robust bias-corrected inference.

Owns :func:`rdrobust` (sharp, fuzzy and kink designs; conventional, bias-corrected and robust
bias-corrected inference of Calonico, Cattaneo and Titiunik 2014) and :class:`RDResult`.
Option names and meanings are those of the rdrobust package (2.1.1), whose numbers this
implementation reproduces (``docs/rd.md``, ``tests/causal/test_rd_reference.py``).
Conventions: observations with x >= c are "right" (treated in a sharp design); bandwidths are
reported in units of x; ``N_h`` counts observations with positive kernel weight at h.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas.causal.rd.bandwidth import guard_bandwidths, masspoint_check, select_bandwidths
from clusteratlas.causal.rd.core import (
    Side,
    cr_meat,
    has_distinct,
    hc_residuals,
    inv_spd,
    kernel_weights,
    meat,
    nn_residuals,
    vander,
)
from clusteratlas.causal.rd.inputs import (
    ROWS,
    SQRT_EPS,
    ArrayLike,
    check_options,
    prepare,
    sides,
    split_sides,
    vce_label,
)
from clusteratlas.errors import EstimationError, ParameterError, SmallSampleWarning
from clusteratlas.results import EstimatorResult, resolve_alpha, warn_renamed, with_aliases


@dataclass
class _SideFit:
    n: int
    n_h: int
    n_b: int
    m: int
    beta_p: np.ndarray
    beta_bc: np.ndarray
    v_cl: Any = None
    v_rb: Any = None
    extras: dict = field(default_factory=dict)


def _fit_main(side: Side, c, h, b, p, q, kernel, vce, nnmatch):
    """Local polynomial fits of order p (bandwidth h) and q (bandwidth b) on one side.

    Returns the p-fit, the bias-corrected coefficients beta_bc = G_p^-1 Q_q'D where
    Q_q = R_p'W_h - h^(p+1) (L e_{p+1}' G_q^-1 R_q' W_b)', and the residual ingredients.
    """
    win = side.window(c, max(h, b), kernel)
    x, d, fw = win.x, win.d, win.fw
    xc = x - c
    w_h = kernel_weights(xc / h, h, kernel)
    w_b = kernel_weights(xc / b, b, kernel)
    if fw is not None:
        w_h, w_b = w_h * fw, w_b * fw
    pos_h, pos_b = w_h > 0, w_b > 0
    if not has_distinct(xc[pos_h], p + 1, is_sorted=True) or not has_distinct(
        xc[pos_b], q + 1, is_sorted=True
    ):
        where = "left" if side.left else "right"
        raise EstimationError(
            f"empty or too small bandwidth on the {where} side of the cutoff: "
            f"{int(pos_h.sum())} observations inside h={h:.6g} and {int(pos_b.sum())} inside "
            f"b={b:.6g}, fewer distinct x values than the polynomial needs (p={p}, q={q}); "
            "use a larger bandwidth or lower orders"
        )
    r_q = vander(xc, q)
    r_p = r_q[:, : p + 1]
    rw_p = r_p * w_h[:, None]
    rw_q = r_q * w_b[:, None]
    sq = r_q * np.sqrt(w_b)[:, None]
    inv_gq = inv_spd(sq.T @ sq, fallback=False)
    sp = r_p * np.sqrt(w_h)[:, None]
    inv_gp = inv_spd(sp.T @ sp, fallback=False)
    big_l = rw_p.T @ ((xc / h) ** (p + 1))
    mvec = (r_q @ inv_gq[p + 1, :]) * w_b
    q_q = rw_p - h ** (p + 1) * mvec[:, None] * big_l[None, :]
    beta_p = inv_gp @ (rw_p.T @ d)
    beta_q = inv_gq @ (rw_q.T @ d)
    beta_bc = inv_gp @ (q_q.T @ d)
    return dict(
        cluster=win.cluster, x=x, d=d, xc=xc, w_h=w_h, w_b=w_b, r_p=r_p, r_q=r_q, rw_p=rw_p, rw_q=rw_q,
        inv_gp=inv_gp, inv_gq=inv_gq, q_q=q_q, beta_p=beta_p, beta_q=beta_q, beta_bc=beta_bc,
        n_h=int(pos_h.sum()), n_b=int(pos_b.sum()),
    )  # fmt: skip


def _warn_few_clusters(fl: dict, fr: dict, p: int) -> None:
    """rdrobust's warning when few clusters have positive weight inside h on a side."""
    g_l, g_r = (len(np.unique(f["cluster"][f["w_h"] > 0])) for f in (fl, fr))
    if min(g_l, g_r) <= p + 1:
        warnings.warn(
            f"Only {g_l} (left) and {g_r} (right) clusters within the bandwidth. With p+1 = "
            f"{p + 1} or fewer clusters on a side, cluster-robust inference may be unreliable "
            "and the estimated variance may be degenerate.",
            category=SmallSampleWarning,
            stacklevel=3,
        )
    elif min(g_l, g_r) < 10:
        warnings.warn(
            f"Only {g_l} (left) and {g_r} (right) clusters within the bandwidth. "
            "Cluster-robust standard errors are unreliable with fewer than 10 clusters on a side.",
            category=SmallSampleWarning,
            stacklevel=3,
        )


def _cr_variances(f: dict, res_h, res_b, s, vce: str, hb_match: bool):
    """Conventional and robust CR2/CR3 variances of one side's coefficients (rdrobust 2.1.1).

    Conventional: the order-p fit at h with its own cluster leverage,
    V_cl = G_p^-1 M_p G_p^-1. Robust, h = b: the order-q fit at h (its own leverage),
    V_rb = G_q^-1 M_q G_q^-1. Robust, h != b: the bias-corrected sandwich
    V_rb = G_p^-1 M_Q G_p^-1 whose scores use Q_q, with the residual correction taken from the
    cluster leverage of the order-q fit at b (the matrix analogue of HC2/HC3's h_ii from the
    q-fit); there rdrobust drops the CR3 correction of a cluster whose G_q - L_g is singular.
    """
    cl = f["cluster"]
    m_cl = cr_meat(None, f["r_p"], f["w_h"], f["inv_gp"], res_h, s, cl, vce)
    v_cl = f["inv_gp"] @ m_cl @ f["inv_gp"]
    if hb_match:
        m_rb = cr_meat(None, f["r_q"], f["w_h"], f["inv_gq"], res_b, s, cl, vce)
        return v_cl, f["inv_gq"] @ m_rb @ f["inv_gq"]
    m_rb = cr_meat(f["q_q"], f["r_q"], f["w_b"], f["inv_gq"], res_b, s, cl, vce, singular="zero")
    return v_cl, f["inv_gp"] @ m_rb @ f["inv_gp"]


def _side_residuals(f: dict, vce: str, nnmatch: int, p: int, q: int, clustered: bool):
    if vce == "nn":
        res = nn_residuals(f["x"], f["d"], nnmatch)
        return res, res
    hii_p = hii_q = None
    if vce in ("hc2", "hc3"):
        hii_p = np.sum((f["r_p"] @ f["inv_gp"]) * f["rw_p"], axis=1)
        hii_q = np.sum((f["r_q"] @ f["inv_gq"]) * f["rw_q"], axis=1)
    res_h = hc_residuals(f["d"], f["r_p"] @ f["beta_p"], vce, hii_p, p + 1, clustered)
    res_b = hc_residuals(f["d"], f["r_q"] @ f["beta_q"], vce, hii_q, q + 1, clustered)
    return res_h, res_b


@dataclass
class RDResult(EstimatorResult):
    """Result of :func:`rdrobust`.

    ``coef``, ``se``, ``z``, ``pv`` are Series indexed Conventional / Bias-Corrected / Robust
    (rdrobust's three rows: the conventional estimate with conventional s.e.; the bias-corrected
    estimate with conventional s.e.; the bias-corrected estimate with robust s.e.); ``ci`` is a
    DataFrame with the matching lower/upper bounds. ``h``, ``b``, ``N``, ``N_h``, ``N_b``, ``M``
    are (left, right) pairs. With a cluster variable, ``n_clusters`` counts the clusters in the
    estimation window and ``n_clusters_sides`` per side (rdrobust's n_clust, n_clust_l/_r).
    For fuzzy designs ``first_stage`` holds the same table for the jump in the treatment (index
    Conventional / Bias-Corrected / Robust, columns estimate, std_error, statistic, p_value,
    conf_low, conf_high). Intervals are :math:`100(1-\\alpha)\\%` (``alpha``).
    """

    tidy_extras = (
        "h_left", "h_right", "b_left", "b_right", "n_h_left", "n_h_right",
        "n_clusters_left", "n_clusters_right", "design",
    )  # fmt: skip
    #: the column names of rdrobust-style tables before the common vocabulary
    tidy_renamed = {
        "method": "term",
        "z": "statistic",
        "ci_lower": "conf_low",
        "ci_upper": "conf_high",
    }

    coef: pd.Series
    se: pd.Series
    z: pd.Series
    pv: pd.Series
    ci: pd.DataFrame
    h: tuple[float, float]
    b: tuple[float, float]
    N: tuple[int, int]
    N_h: tuple[int, int]
    N_b: tuple[int, int]
    M: tuple[int, int]
    c: float
    p: int
    q: int
    deriv: int
    kernel: str
    bwselect: str
    vce: str
    alpha: float
    fuzzy: bool
    n_clusters: int | None = None
    n_clusters_sides: tuple[int, int] | None = None
    tau_cl_sides: tuple[float, float] = (np.nan, np.nan)
    tau_bc_sides: tuple[float, float] = (np.nan, np.nan)
    beta_p_l: np.ndarray | None = None
    beta_p_r: np.ndarray | None = None
    coef_covs: np.ndarray | None = None
    first_stage: pd.DataFrame | None = None
    covariates: list[str] = field(default_factory=list)
    all: bool = False
    labels: dict = field(default_factory=dict)

    @property
    def estimate(self) -> float:
        """Conventional point estimate (tau_cl)."""
        return float(self.coef["Conventional"])

    @property
    def robust_ci(self) -> tuple[float, float]:
        return tuple(self.ci.loc["Robust"])  # type: ignore[return-value]

    @property
    def level(self) -> float:
        """Deprecated: the confidence level in percent, ``100 (1 - alpha)``."""
        warn_renamed("level", "alpha", "RDResult")
        return 100 * (1 - self.alpha)

    @property
    def caption(self) -> str:
        design = "fuzzy" if self.fuzzy else "sharp"
        return f"RD estimate ({design}, p = {self.p}, {self.kernel} kernel, vce {self.vce})"

    def _tidy(self) -> pd.DataFrame:
        """Three rows (term = Conventional, Bias-Corrected, Robust), then h, b, N_h per side."""
        out = pd.DataFrame(
            {
                "term": ROWS,
                "estimate": self.coef.to_numpy(),
                "std_error": self.se.to_numpy(),
                "statistic": self.z.to_numpy(),
                "p_value": self.pv.to_numpy(),
                "conf_low": self.ci["lower"].to_numpy(),
                "conf_high": self.ci["upper"].to_numpy(),
            }
        )
        out["h_left"], out["h_right"] = self.h
        out["b_left"], out["b_right"] = self.b
        out["n_h_left"], out["n_h_right"] = self.N_h
        if self.n_clusters_sides is not None:
            out["n_clusters_left"], out["n_clusters_right"] = self.n_clusters_sides
        out["design"] = "fuzzy" if self.fuzzy else "sharp"
        return out

    def summary(self) -> str:
        """rdrobust-like text table."""
        design = "Fuzzy" if self.fuzzy else "Sharp"
        kind = {0: "RD", 1: "Kink RD"}.get(self.deriv, f"RD (derivative {self.deriv})")
        cov = "Covariate-adjusted " if self.covariates else ""
        lines = [
            f"{cov}{design} {kind} estimates using local polynomial regression.",
            "",
            f"{'Number of Observations:':30}{self.N[0] + self.N[1]:>14}",
            f"{'Polynomial Order Est. (p):':30}{self.p:>14}",
            f"{'Polynomial Order Bias (q):':30}{self.q:>14}",
            f"{'Kernel:':30}{self.kernel:>14}",
            f"{'Bandwidth Selection:':30}{self.bwselect:>14}",
            f"{'Var-Cov Estimator:':30}{self.vce:>14}",
            "",
            f"{'':25}{'Left':>10}{'Right':>10}",
            "-" * 48,
            f"{'Number of Observations':25}{self.N[0]:>10}{self.N[1]:>10}",
            f"{'Number of Unique Obs.':25}{self.M[0]:>10}{self.M[1]:>10}",
            f"{'Number of Effective Obs.':25}{self.N_h[0]:>10}{self.N_h[1]:>10}",
            f"{'Bandwidth Estimation':25}{self.h[0]:>10.3f}{self.h[1]:>10.3f}",
            f"{'Bandwidth Bias':25}{self.b[0]:>10.3f}{self.b[1]:>10.3f}",
            f"{'rho (h/b)':25}{self.h[0] / self.b[0]:>10.3f}{self.h[1] / self.b[1]:>10.3f}",
        ]
        if self.n_clusters is not None:
            left, right = self.n_clusters_sides or ("", "")
            lines.append(
                f"{'Number of Clusters':25}{left:>10}{right:>10}   ({self.n_clusters} in all)"
            )
        lines += [
            "",
            f"{'Method':15}{'Coef.':>9}{'S.E.':>9}{'z-stat':>9}{'P>|z|':>11}{f'{100 * (1 - self.alpha):g}% CI':>24}",
            "-" * 77,
        ]
        for row in ROWS if self.all else ["Conventional", "Robust"]:
            coef = f"{self.coef[row]:.3f}" if (self.all or row == "Conventional") else "-"
            se = f"{self.se[row]:.3f}" if (self.all or row == "Conventional") else "-"
            ci = f"[{self.ci.loc[row, 'lower']:.3f}, {self.ci.loc[row, 'upper']:.3f}]"
            lines.append(
                f"{row:15}{coef:>9}{se:>9}{self.z[row]:>9.3f}{self.pv[row]:>11.3e}{ci:>24}"
            )
        if self.first_stage is not None:
            fs = self.first_stage
            lines += ["", "First stage (jump in treatment):"]
            for row in ROWS:
                lines.append(
                    f"{row:15}{fs.loc[row, 'estimate']:>9.3f}{fs.loc[row, 'std_error']:>9.3f}"
                    f"{fs.loc[row, 'statistic']:>9.3f}{fs.loc[row, 'p_value']:>11.3e}"
                    f"{'[' + format(fs.loc[row, 'conf_low'], '.3f') + ', ' + format(fs.loc[row, 'conf_high'], '.3f') + ']':>24}"
                )
        return "\n".join(lines)

    def plot(self, data_x=None, data_y=None, ax=None, nbins=None):
        """Binned scatter with the local polynomial fits inside the bandwidth (needs the data)."""
        from clusteratlas.causal.rd.plots import plot_result

        return plot_result(self, data_x, data_y, ax=ax, nbins=nbins)


def _inference(tau: np.ndarray, se: np.ndarray, alpha: float):
    """z, two-sided normal p-values and the :math:`100(1-\\alpha)\\%` interval."""
    quant = -stats.norm.ppf(alpha / 2)
    z = tau / se
    pv = 2 * stats.norm.cdf(-np.abs(z))
    return z, pv, tau - quant * se, tau + quant * se


def rdrobust(
    y: ArrayLike,
    x: ArrayLike,
    c: float = 0.0,
    fuzzy: ArrayLike | None = None,
    deriv: int | None = None,
    p: int | None = None,
    q: int | None = None,
    h: float | tuple[float, float] | None = None,
    b: float | tuple[float, float] | None = None,
    rho: float | None = None,
    covs: ArrayLike | None = None,
    covs_drop: bool = True,
    kernel: str = "tri",
    weights: ArrayLike | None = None,
    bwselect: str = "mserd",
    vce: str = "nn",
    cluster: ArrayLike | None = None,
    nnmatch: int = 3,
    alpha: float = 0.05,
    scalepar: float = 1.0,
    scaleregul: float = 1.0,
    sharpbw: bool = False,
    all: bool = False,  # noqa: A002 - rdrobust's option name
    subset: ArrayLike | None = None,
    masspoints: str = "adjust",
    bwcheck: int | None = None,
    bwrestrict: bool = True,
    stdvars: bool = True,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
    level: float | None = None,
) -> RDResult:
    r"""Local polynomial RD estimate with robust bias-corrected inference (CCT 2014).

    On each side a weighted polynomial of order p in (x - c) is fitted with kernel weights
    K((x-c)/h)/h; the sharp RD effect is :math:`\tau = \nu!(\beta_{+,\nu} - \beta_{-,\nu})`.
    The bias-corrected estimate subtracts the leading bias estimated with a polynomial of order q
    and bandwidth b; its robust variance accounts for the variability of that correction.
    Fuzzy RD divides the outcome jump by the treatment jump (delta method for the variance).
    Covariates enter linearly with common coefficients on both sides (CCFT 2019).

    ``vce``: "nn" (default), "hc0"-"hc3"; with ``cluster`` "cr1" (default), "cr2"
    (Bell-McCaffrey) or "cr3" (Pustejovsky-Tipton), see :func:`cluster_vce` for the switching
    rules. Option names follow the rdrobust package. ``data=`` lets y, x, fuzzy, covs, cluster and
    weights be column names. Missing values raise :class:`InputError` unless ``dropna=True``.
    Intervals are :math:`100(1-\alpha)\%`; rdrobust's percent ``level`` (95) is still accepted
    with a :class:`~clusteratlas.results.DeprecatedNameWarning`.
    """
    alpha = resolve_alpha(alpha, level, "rdrobust")
    p, q, deriv, kernel, bwselect, vce, masspoints = check_options(
        p, q, deriv, kernel, bwselect, vce, masspoints, 100 * (1 - alpha), nnmatch, cluster
    )
    if rho is not None and not (np.isfinite(rho) and rho > 0):
        raise ParameterError("rho", f"must be a positive number, got {rho}")
    prep = prepare(y, x, c, fuzzy, covs, covs_drop, cluster, weights, data, dropna, subset)
    c = prep.c
    n = prep.x.shape[0]
    n_l = prep.n_left
    n_r = n - n_l
    xl, xr = prep.xs[:n_l], prep.xs[n_l:]
    m0_l = np.count_nonzero(np.diff(xl)) + 1
    m0_r = np.count_nonzero(np.diff(xr)) + 1
    if min(m0_l, m0_r) < q + 1:
        raise EstimationError(
            f"only {min(m0_l, m0_r)} distinct values of {prep.x_label} on the "
            f"{'left' if m0_l < q + 1 else 'right'} side of the cutoff; a polynomial of order "
            f"q={q} needs {q + 1}"
        )
    if np.ptp(prep.y) == 0:
        raise EstimationError(f"the outcome {prep.y_label!r} has no variation")
    if prep.t is not None:
        t_l, t_r = split_sides(prep)["t"]
        if np.var(t_l) == 0 and np.var(t_r) == 0 and abs(t_l.mean() - t_r.mean()) < SQRT_EPS:
            raise EstimationError(
                f"fuzzy RD: the treatment {prep.t_label!r} neither varies nor jumps at the cutoff; "
                "the fuzzy estimand is not identified"
            )
    bwcheck = masspoint_check(prep, masspoints, bwcheck)
    if masspoints in ("check", "adjust") or bwcheck is not None:
        m_l, m_r = int(m0_l), int(m0_r)
    else:
        m_l, m_r = n_l, n_r

    if h is not None:
        bwselect_used = "Manual"
        h_l, h_r = _pair(h, "h")
        if rho is None:
            b_l, b_r = _pair(b, "b") if b is not None else (h_l, h_r)
        else:
            b_l, b_r = h_l / rho, h_r / rho
    elif n < 20:
        warnings.warn(
            "fewer than 20 observations: using the maximum distance from the cutoff as h",
            category=SmallSampleWarning,
            stacklevel=2,
        )
        h_l = h_r = max(abs(c - prep.xs[0]), abs(prep.xs[-1] - c))
        b_l, b_r = (h_l / rho, h_r / rho) if rho is not None else (h_l, h_r)
        bwselect_used = "Manual"
    else:
        bwselect_used = bwselect
        table = select_bandwidths(
            prep, p=p, q=q, deriv=deriv, kernel=kernel, bwselect=bwselect, vce=vce,
            nnmatch=nnmatch, scaleregul=scaleregul, sharpbw=sharpbw, masspoints=masspoints,
            bwcheck=bwcheck, bwrestrict=bwrestrict, stdvars=stdvars, covs_drop=covs_drop,
        )  # fmt: skip
        guard_bandwidths(table.iloc[0].to_numpy())
        h_l, h_r, b_l, b_r = (float(v) for v in table.iloc[0])
        if rho is not None:
            b_l, b_r = h_l / rho, h_r / rho

    left, right = sides(prep, 1.0, 1.0, c, use_t=True)
    clustered = prep.cluster is not None
    fl = _fit_main(left, c, h_l, b_l, p, q, kernel, vce, nnmatch)
    fr = _fit_main(right, c, h_r, b_r, p, q, kernel, vce, nnmatch)
    if clustered:
        _warn_few_clusters(fl, fr, p)
    d_t = 1 if prep.t is not None else 0
    n_z = 0 if prep.z is None else prep.z.shape[1]
    fac = math.factorial(deriv)
    beta_p = fr["beta_p"] - fl["beta_p"]
    beta_bc = fr["beta_bc"] - fl["beta_bc"]
    cols_z = np.arange(1 + d_t, 1 + d_t + n_z)
    gamma = None
    first = None
    if n_z == 0:
        s_y = np.ones(1)
        tau_y_cl = scalepar * fac * beta_p[deriv, 0]
        tau_y_bc = scalepar * fac * beta_bc[deriv, 0]
        sides_cl = [scalepar * fac * f["beta_p"][deriv, 0] for f in (fl, fr)]
        sides_bc = [scalepar * fac * f["beta_bc"][deriv, 0] for f in (fl, fr)]
        if d_t:
            tau_t_cl = fac * beta_p[deriv, 1]
            tau_t_bc = fac * beta_bc[deriv, 1]
            t_sides_cl = [fac * f["beta_p"][deriv, 1] for f in (fl, fr)]
            t_sides_bc = [fac * f["beta_bc"][deriv, 1] for f in (fl, fr)]
            sv_t = np.array([0.0, 1.0])
    else:
        zwz = np.zeros((n_z, n_z))
        zwy = np.zeros((n_z, 1 + d_t))
        for f in (fl, fr):
            u = f["rw_p"].T @ f["d"]
            zwd = (f["d"][:, cols_z] * f["w_h"][:, None]).T @ f["d"]
            uigu = u[:, cols_z].T @ (f["inv_gp"] @ u)
            zwz += zwd[:, cols_z] - uigu[:, cols_z]
            zwy += zwd[:, : 1 + d_t] - uigu[:, : 1 + d_t]
        zinv = (
            np.linalg.pinv(zwz)
            if covs_drop
            else inv_spd(zwz, fallback=False, what="covariate design")
        )
        gamma = zinv @ zwy
        s_y = np.append(1.0, -gamma[:, 0])

        def comb(beta, s, col):
            return float(s @ np.append(beta[deriv, col], beta[deriv, cols_z]))

        tau_y_cl = scalepar * fac * comb(beta_p, s_y, 0)
        tau_y_bc = scalepar * fac * comb(beta_bc, s_y, 0)
        sides_cl = [scalepar * fac * comb(f["beta_p"], s_y, 0) for f in (fl, fr)]
        sides_bc = [scalepar * fac * comb(f["beta_bc"], s_y, 0) for f in (fl, fr)]
        if d_t:
            s_t = np.append(1.0, -gamma[:, 1])
            sv_t = np.concatenate(([0.0, 1.0], -gamma[:, 1]))
            tau_t_cl = fac * comb(beta_p, s_t, 1)
            tau_t_bc = fac * comb(beta_bc, s_t, 1)
            t_sides_cl = [fac * comb(f["beta_p"], s_t, 1) for f in (fl, fr)]
            t_sides_bc = [fac * comb(f["beta_bc"], s_t, 1) for f in (fl, fr)]
    if d_t:
        if tau_t_cl == 0:
            raise EstimationError(
                "fuzzy RD: the estimated first stage (jump in treatment) is exactly zero"
            )
        tau_cl = tau_y_cl / tau_t_cl
        grad = np.array([1 / tau_t_cl, -(tau_y_cl / tau_t_cl**2)])
        tau_bc = tau_cl - grad @ np.array([tau_y_cl - tau_y_bc, tau_t_cl - tau_t_bc])
        bias_sides = [
            grad @ np.array([sides_cl[i] - sides_bc[i], t_sides_cl[i] - t_sides_bc[i]])
            for i in (0, 1)
        ]
        s_y = (
            grad
            if n_z == 0
            else np.hstack(
                [grad, -(1 / tau_t_cl) * gamma[:, 0] + (tau_y_cl / tau_t_cl**2) * gamma[:, 1]]
            )
        )
    else:
        tau_cl, tau_bc = tau_y_cl, tau_y_bc
        bias_sides = [sides_cl[i] - sides_bc[i] for i in (0, 1)]

    hb_match = h_l == b_l and h_r == b_r
    variances: dict[str, list[float]] = {"y_cl": [], "y_rb": [], "t_cl": [], "t_rb": []}
    selectors = [("y", s_y)] + ([("t", sv_t)] if d_t else [])
    for f in (fl, fr):
        res_h, res_b = _side_residuals(f, vce, nnmatch, p, q, clustered)
        cl = f["cluster"]
        for name, s in selectors:
            if vce in ("cr2", "cr3"):
                v_cl, v_rb = _cr_variances(f, res_h, res_b, s, vce, hb_match)
            else:
                v_cl = f["inv_gp"] @ meat(f["rw_p"], res_h, s, cl) @ f["inv_gp"]
                if hb_match and clustered:
                    m_rb = meat(f["r_q"] * f["w_h"][:, None], res_b, s, cl)
                    v_rb = f["inv_gq"] @ m_rb @ f["inv_gq"]
                else:
                    v_rb = f["inv_gp"] @ meat(f["q_q"], res_b, s, cl, k_df=q + 1) @ f["inv_gp"]
            variances[f"{name}_cl"].append(v_cl[deriv, deriv])
            variances[f"{name}_rb"].append(v_rb[deriv, deriv])
    se_cl = math.sqrt(scalepar**2 * fac**2 * sum(variances["y_cl"]))
    se_rb = math.sqrt(scalepar**2 * fac**2 * sum(variances["y_rb"]))
    tau = np.array([tau_cl, tau_bc, tau_bc], dtype=float)
    se = np.array([se_cl, se_cl, se_rb])
    if not np.all(np.isfinite(se)) or np.any(se <= 0):
        raise EstimationError(
            "the standard error is not a positive finite number (degenerate variance: too few "
            "observations or clusters inside the bandwidth)"
        )
    z, pv, lo, hi = _inference(tau, se, alpha)
    if d_t:
        se_t_cl = math.sqrt(fac**2 * sum(variances["t_cl"]))
        se_t_rb = math.sqrt(fac**2 * sum(variances["t_rb"]))
        tau_t = np.array([tau_t_cl, tau_t_bc, tau_t_bc], dtype=float)
        se_t = np.array([se_t_cl, se_t_cl, se_t_rb])
        zt, pvt, lot, hit = _inference(tau_t, se_t, alpha)
        first = with_aliases(
            pd.DataFrame(
                {
                    "estimate": tau_t,
                    "std_error": se_t,
                    "statistic": zt,
                    "p_value": pvt,
                    "conf_low": lot,
                    "conf_high": hit,
                },
                index=pd.Index(ROWS),
            ),
            RDResult.tidy_renamed,
            "RDResult.first_stage",
        )
    idx = pd.Index(ROWS)
    n_clusters = n_clusters_sides = None
    if clustered:  # in the estimation window (rdrobust's n_clust, n_clust_l, n_clust_r)
        n_clusters = len(np.unique(np.concatenate([fl["cluster"], fr["cluster"]])))
        n_clusters_sides = (len(np.unique(fl["cluster"])), len(np.unique(fr["cluster"])))
    kernel_label = kernel
    return RDResult(
        coef=pd.Series(tau, index=idx, name="coef"),
        se=pd.Series(se, index=idx, name="se"),
        z=pd.Series(z, index=idx, name="z"),
        pv=pd.Series(pv, index=idx, name="pv"),
        ci=pd.DataFrame({"lower": lo, "upper": hi}, index=idx),
        h=(float(h_l), float(h_r)),
        b=(float(b_l), float(b_r)),
        N=(n_l, n_r),
        N_h=(fl["n_h"], fr["n_h"]),
        N_b=(fl["n_b"], fr["n_b"]),
        M=(m_l, m_r),
        c=c,
        p=p,
        q=q,
        deriv=deriv,
        kernel=kernel_label,
        bwselect=bwselect_used,
        vce=vce_label(vce, prep.cluster),
        alpha=alpha,
        fuzzy=bool(d_t),
        n_clusters=n_clusters,
        n_clusters_sides=n_clusters_sides,
        tau_cl_sides=(float(sides_cl[0]), float(sides_cl[1])),
        tau_bc_sides=(float(sides_bc[0]), float(sides_bc[1])),
        beta_p_l=fl["beta_p"],
        beta_p_r=fr["beta_p"],
        coef_covs=gamma,
        first_stage=first,
        covariates=list(prep.z_names),
        all=bool(all),
        labels={"y": prep.y_label, "x": prep.x_label, "fuzzy": prep.t_label, "bias": bias_sides},
    )


def _pair(value, name: str) -> tuple[float, float]:
    arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if arr.size not in (1, 2) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(name, f"must be one or two positive numbers, got {value!r}")
    return (float(arr[0]), float(arr[-1]))
