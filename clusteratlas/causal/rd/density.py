"""Manipulation test of the running variable (Cattaneo, Jansson and Ma 2020, "CJM").

This module owns :func:`rddensity` and :func:`rdbwdensity`. The density of x on each side of
the cutoff is estimated by a local polynomial regression of the empirical distribution function
F_n(x_i) = (i-1)/(n-1) on (x_i - c)/h; the slope at the cutoff estimates f(c-) and f(c+). The
test statistic is T = (f(c+) - f(c-)) / se with the jackknife (default) or plug-in variance. It
reproduces the rddensity package (3.0): same bandwidth selector (rdbwdensity), same
regularisation, same mass-point handling (ties share the largest empirical cdf value of their
group). The binomial tests of rddensity are not implemented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas.errors import EstimationError, InputError, ParameterError
from clusteratlas.results import EstimatorResult

KERNELS = ("triangular", "uniform", "epanechnikov")
ROWS = ["l", "r", "diff", "sum"]
# Constants of the rule-of-thumb pilot bandwidths of rdbwdensity (Gaussian reference), p = 1..7.
_CB = [25884.444444494150957, 3430865.4551236177795, 845007948.04262602329, 330631733667.03808594,
       187774809656037.3125, 145729502641999264, 146013502974449876992]  # fmt: skip
_CC = [4.8000000000000246914, 548.57142857155463389, 100800.00000020420703, 29558225.458100609481,
       12896196859.612621307, 7890871468221.609375, 6467911284037581]  # fmt: skip


def _kernel(u: np.ndarray, kernel: str) -> np.ndarray:
    if kernel == "uniform":
        return np.full_like(u, 0.5)
    if kernel == "epanechnikov":
        return 0.75 * (1 - u**2)
    return 1 - np.abs(u)


def _gl(low: float, up: float, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return low + (up - low) * (t + 1) / 2, w * (up - low) / 2


def kernel_s(p: int, low: float, up: float, kernel: str) -> np.ndarray:
    """S_ij = int_low^up K(l) l^(i+j) dl, i, j = 0..p (exact: Gauss-Legendre on a polynomial)."""
    x, w = _gl(low, up)
    k = _kernel(x, kernel) * w
    powers = x[None, :] ** np.arange(2 * p + 1)[:, None]
    m = powers @ k
    return np.array([[m[i + j] for j in range(p + 1)] for i in range(p + 1)])


def kernel_c(k: int, p: int, low: float, up: float, kernel: str) -> np.ndarray:
    """C_i = int K(l) l^(i+k) dl, i = 0..p."""
    x, w = _gl(low, up)
    kw = _kernel(x, kernel) * w
    return np.array([[np.sum(kw * x ** (i + k))] for i in range(p + 1)])


def kernel_g(p: int, low: float, up: float, kernel: str) -> np.ndarray:
    """G_ij = iint_{x<y} x^(i+1) y^j K(x)K(y) + iint_{x>y} x^i y^(j+1) K(x)K(y), i, j = 0..p."""
    y, wy = _gl(low, up)
    t, wt = np.polynomial.legendre.leggauss(40)
    g = np.zeros((p + 1, p + 1))
    ky = _kernel(y, kernel)
    for a in range(y.shape[0]):
        x1 = low + (y[a] - low) * (t + 1) / 2  # x in [low, y]
        w1 = wt * (y[a] - low) / 2 * _kernel(x1, kernel)
        x2 = y[a] + (up - y[a]) * (t + 1) / 2  # x in [y, up]
        w2 = wt * (up - y[a]) / 2 * _kernel(x2, kernel)
        for i in range(p + 1):
            inner1 = np.sum(w1 * x1 ** (i + 1))
            inner2 = np.sum(w2 * x2**i)
            for j in range(p + 1):
                g[i, j] += wy[a] * ky[a] * (inner1 * y[a] ** j + inner2 * y[a] ** (j + 1))
    return g


def _insert_zero(m: np.ndarray, at: int) -> np.ndarray:
    m = np.insert(m, at, 0.0, axis=0)
    return np.insert(m, at, 0.0, axis=1) if m.shape[1] > 1 else m


def _psi(p: int) -> np.ndarray:
    diag = (
        np.append([1.0, 0.0, 0.0], (-1.0) ** np.arange(2, p + 1))
        if p > 1
        else np.array([1.0, 0.0, 0.0])
    )
    out = np.diag(diag)
    out[1, 2] = out[2, 1] = -1
    return out


def _groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique values of sorted x, their frequencies and the index of each group's last element."""
    last = np.flatnonzero(np.r_[x[1:] != x[:-1], True])
    freq = np.diff(np.r_[-1, last])
    return x[last], freq, last


def _fit(y, x, n, nlh, hl, hr, p, s, kernel, fitselect, vce, mass_points) -> pd.DataFrame:
    """Local polynomial density fit (rddensity's ``__rddensity_fv``): columns hat, jackknife,
    plugin, s for rows l, r, diff, sum."""
    nh = x.shape[0]
    xl, xr = x[:nlh], x[nlh:]
    if kernel == "uniform":
        w = np.r_[np.full(nlh, 1 / (2 * hl)), np.full(nh - nlh, 1 / (2 * hr))]
    elif kernel == "triangular":
        w = np.r_[(1 + xl / hl) / hl, (1 - xr / hr) / hr]
    else:
        w = np.r_[0.75 * (1 - (xl / hl) ** 2) / hl, 0.75 * (1 - (xr / hr) ** 2) / hr]
    if fitselect == "restricted":
        xp = np.zeros((nh, p + 2))
        xp[:, 0] = 1
        xp[:nlh, 1] = xl / hl
        xp[nlh:, 2] = xr / hr
        for j in range(3, p + 2):
            xp[:nlh, j] = (xl / hl) ** (j - 1)
            xp[nlh:, j] = (xr / hr) ** (j - 1)
        v = np.append([0, 1, 1], np.arange(2, p + 1)) if p > 1 else np.array([0, 1, 1])
        hp_inv = np.diag(1 / hl**v)
    else:
        xp = np.zeros((nh, 2 * p + 2))
        hp = np.zeros(2 * p + 2)
        for power in range(p + 1):
            xp[:nlh, 2 * power] = (xl / hl) ** power
            xp[nlh:, 2 * power + 1] = (xr / hr) ** power
            hp[2 * power], hp[2 * power + 1] = hl**power, hr**power
        hp_inv = np.diag(1 / hp)
    out = np.full((4, 4), np.nan)
    xpw = xp * w[:, None]
    try:
        s_inv = np.linalg.inv(xpw.T @ xp)
    except np.linalg.LinAlgError:
        return pd.DataFrame(out, index=ROWS, columns=["hat", "jackknife", "plugin", "s"])
    b = (xpw.T @ y) @ s_inv @ hp_inv
    if fitselect == "restricted":
        out[:, 0] = [b[1], b[2], b[2] - b[1], b[2] + b[1]]
        out[:, 3] = [b[s + 1], b[s + 1], 0.0, 2 * b[s + 1]]
        i_l, i_r = 1, 2
    else:
        out[:, 0] = [b[2], b[3], b[3] - b[2], b[3] + b[2]]
        out[:, 3] = [b[2 * s], b[2 * s + 1], b[2 * s + 1] - b[2 * s], b[2 * s + 1] + b[2 * s]]
        i_l, i_r = 2, 3
    if vce == "jackknife":
        # Leave-one-out influence of each observation on the empirical cdf: tail sums of X'W.
        tail = np.cumsum(np.vstack((np.zeros((1, xp.shape[1])), xpw[::-1])), axis=0) / (n - 1)
        lmat = tail[nh - 1 :: -1] if nh > 0 else tail[:0]
        if mass_points:
            _, freq, last = _groups(x)
            first = last - freq + 1
            lmat = np.repeat(lmat[first], freq, axis=0)
        v = hp_inv @ s_inv @ (lmat.T @ lmat) @ s_inv @ hp_inv
        out[:, 1] = [
            v[i_l, i_l],
            v[i_r, i_r],
            v[i_l, i_l] + v[i_r, i_r] - 2 * v[i_l, i_r],
            v[i_l, i_l] + v[i_r, i_r] + 2 * v[i_l, i_r],
        ]
    else:
        if fitselect == "unrestricted":
            s_k = kernel_s(p, 0.0, 1.0, kernel)
            g_k = kernel_g(p, 0.0, 1.0, kernel)
            sk_inv = np.linalg.inv(s_k)
            vk = sk_inv @ g_k @ sk_inv
            out[0, 2] = out[0, 0] * vk[1, 1] / (n * hl)
            out[1, 2] = out[1, 0] * vk[1, 1] / (n * hr)
            out[2, 2] = out[3, 2] = out[0, 2] + out[1, 2]
        else:
            s_p = _insert_zero(kernel_s(p, 0.0, 1.0, kernel), 1)
            g_p = _insert_zero(kernel_g(p, 0.0, 1.0, kernel), 1)
            psi = _psi(p)
            s_m, g_m = psi @ s_p @ psi, psi @ g_p @ psi
            a_inv = np.linalg.inv(out[0, 0] * s_m + out[1, 0] * s_p)
            vv = a_inv @ (out[0, 0] ** 3 * g_m + out[1, 0] ** 3 * g_p) @ a_inv
            out[0, 2] = vv[1, 1] / (n * hl)
            out[1, 2] = vv[2, 2] / (n * hl)
            out[2, 2] = (vv[1, 1] + vv[2, 2] - 2 * vv[1, 2]) / (n * hl)
            out[3, 2] = (vv[1, 1] + vv[2, 2] + 2 * vv[1, 2]) / (n * hl)
    var = out[:, 1:3]
    var[var < 0] = np.nan
    return pd.DataFrame(out, index=ROWS, columns=["hat", "jackknife", "plugin", "s"])


@dataclass
class _Sample:
    x: np.ndarray  # sorted, centred at c
    y: np.ndarray  # empirical cdf (ties share their group's last value)
    n: int
    nl: int
    uniq: np.ndarray
    nl_unique: int
    mass_points: bool


def _sample(
    x: Any, c: float, mass_points: bool, dropna: bool, data: pd.DataFrame | None
) -> _Sample:
    if isinstance(x, str):
        if data is None or x not in data.columns:
            raise InputError("running variable column not found", column=x)
        label, x = x, data[x].to_numpy()
    else:
        label = getattr(x, "name", None) or "x"
    try:
        arr = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError("is not numeric", column=str(label)) from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        if not dropna:
            raise InputError(
                f"{int(bad.sum())} missing or infinite value(s)",
                column=str(label),
                hint="clean the data or pass dropna=True",
            )
        arr = arr[~bad]
    arr = np.sort(arr)
    n = arr.shape[0]
    if n < 2 or c < arr[0] or c > arr[-1]:
        raise EstimationError(
            f"cutoff c={c} is not inside the range of the running variable; the density test needs data on both sides"
        )
    nl = int(np.searchsorted(arr, c, side="left"))
    if nl == 0 or nl == n:
        raise EstimationError(
            "all observations are on one side of the cutoff: no density test is possible"
        )
    uniq, freq, last = _groups(arr)
    flag = uniq.shape[0] != n and mass_points
    y = np.arange(n) / (n - 1)
    if flag:
        y = np.repeat(y[last], freq)
    return _Sample(arr - c, y, n, nl, uniq - c, int(np.searchsorted(uniq, c, side="left")), flag)


def _hermite(x: float, p: int) -> float:
    coef = np.zeros(p + 1)
    coef[p] = 1
    return float(np.polynomial.hermite_e.hermeval(x, coef))


def _bandwidths(
    sm: _Sample, p, kernel, fitselect, vce, regularize, n_local_min, n_unique_min
) -> pd.DataFrame:
    """rdbwdensity: MSE-optimal bandwidths for rows l, r, diff, sum."""
    x, n, nl = sm.x, sm.n, sm.nl
    nr = n - nl
    mu, sd = float(np.mean(x)), float(np.std(x, ddof=1))
    fhatb = 1 / (_hermite(mu / sd, p + 2) ** 2 * stats.norm.pdf(mu / sd))
    fhatc = 1 / (_hermite(mu / sd, p) ** 2 * stats.norm.pdf(mu / sd))
    bn = ((2 * p + 1) / 4 * fhatb * _CB[p - 1] / n) ** (1 / (2 * p + 5)) * sd
    cn = (1 / (2 * p) * fhatc * _CC[p - 1] / n) ** (1 / (2 * p + 1)) * sd
    uniq = sm.uniq
    left_abs = np.abs(x[:nl])[::-1]  # ascending distance from the cutoff
    right = x[nl:]
    uniq_left_abs = np.abs(uniq[: sm.nl_unique])[::-1]
    uniq_right = uniq[sm.nl_unique :]
    nlu, nru = uniq_left_abs.shape[0], uniq_right.shape[0]
    if regularize:
        bn = min(bn, float(np.max(np.abs(uniq))))
        cn = min(cn, float(np.max(np.abs(uniq))))
        if n_local_min > 0:
            bn = max(bn, left_abs[min(20 + p + 3, nl) - 1], right[min(20 + p + 3, nr) - 1])
            cn = max(cn, left_abs[min(20 + p + 1, nl) - 1], right[min(20 + p + 1, nr) - 1])
        if n_unique_min > 0:
            bn = max(
                bn, uniq_left_abs[min(20 + p + 3, nlu) - 1], uniq_right[min(20 + p + 3, nru) - 1]
            )
            cn = max(
                cn, uniq_left_abs[min(20 + p + 1, nlu) - 1], uniq_right[min(20 + p + 1, nru) - 1]
            )

    def window(h):
        m = np.abs(x) <= h
        xs = x[m]
        return xs, sm.y[m], int(np.sum(xs < 0))

    xb, yb, nlb = window(bn)
    xc, yc, nlc = window(cn)
    fb = _fit(
        yb, xb, n, nlb, bn, bn, p + 2, p + 1, kernel, fitselect, vce, sm.mass_points
    ).to_numpy()
    fc = _fit(yc, xc, n, nlc, cn, cn, p, 1, kernel, fitselect, vce, sm.mass_points).to_numpy()
    hn = np.zeros((4, 3))
    hn[:, 1] = n * cn * fc[:, 2 if vce == "plugin" else 1]
    if fitselect == "unrestricted":
        bias_constant = (
            np.linalg.inv(kernel_s(p, 0.0, 1.0, kernel)) @ kernel_c(p + 1, p, 0.0, 1.0, kernel)
        )[1, 0]
        hn[0, 2] = fb[0, 3] * bias_constant * (-1) ** p
        hn[1, 2] = fb[1, 3] * bias_constant
    else:
        s_p = _insert_zero(kernel_s(p, 0.0, 1.0, kernel), 1)
        c_p = np.insert(kernel_c(p + 1, p, 0.0, 1.0, kernel), 1, 0.0, axis=0)
        psi = _psi(p)
        s_inv = np.linalg.inv(fc[1, 0] * s_p + fc[0, 0] * psi @ s_p @ psi)
        temp = s_inv @ (fb[0, 3] * (fc[1, 0] * c_p + (-1) ** (p + 1) * fc[0, 0] * psi @ c_p))
        hn[0, 2], hn[1, 2] = temp[1, 0], temp[2, 0]
    hn[2, 2] = hn[1, 2] - hn[0, 2]
    hn[3, 2] = hn[1, 2] + hn[0, 2]
    hn[:, 2] = hn[:, 2] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        hn[:, 0] = (1 / (2 * p) * hn[:, 1] / hn[:, 2] / n) ** (1 / (2 * p + 1))
    for i in range(4):
        if hn[i, 1] < 0:
            hn[i, 0], hn[i, 1] = 0.0, np.nan
        if np.isnan(hn[i, 0]):
            hn[i, 0] = 0.0
    if regularize:
        left_range, right_range = abs(uniq[0]), uniq[-1]
        hn[0, 0] = min(hn[0, 0], left_range)
        hn[1, 0] = min(hn[1, 0], right_range)
        hn[2, 0] = min(hn[2, 0], max(left_range, right_range))
        hn[3, 0] = min(hn[3, 0], max(left_range, right_range))
        for limit, la, ra, nla, nra in (
            (n_local_min, left_abs, right, nl, nr),
            (n_unique_min, uniq_left_abs, uniq_right, nlu, nru),
        ):
            if limit > 0:
                hlmin, hrmin = la[min(nla, limit) - 1], ra[min(nra, limit) - 1]
                hn[0, 0] = max(hn[0, 0], hlmin)
                hn[1, 0] = max(hn[1, 0], hrmin)
                hn[2, 0] = max(hn[2, 0], hlmin, hrmin)
                hn[3, 0] = max(hn[3, 0], hlmin, hrmin)
    return pd.DataFrame(hn, index=ROWS, columns=["bw", "variance", "biassq"])


def _check(p, q, kernel, fitselect, vce, bwselect):
    if not (isinstance(p, (int, np.integer)) and 1 <= p <= 7):
        raise ParameterError("p", f"must be an integer 1..7, got {p!r}")
    q = p + 1 if q in (None, 0) else q
    if q < p:
        raise ParameterError("q", f"cannot be smaller than p={p}")
    kernel = str(kernel).lower()
    kernel = {"tri": "triangular", "uni": "uniform", "epa": "epanechnikov"}.get(kernel, kernel)
    if kernel not in KERNELS:
        raise ParameterError("kernel", f"{kernel!r}", allowed=", ".join(KERNELS))
    if fitselect not in ("unrestricted", "restricted"):
        raise ParameterError("fitselect", f"{fitselect!r}", allowed="unrestricted, restricted")
    if vce not in ("jackknife", "plugin"):
        raise ParameterError("vce", f"{vce!r}", allowed="jackknife, plugin")
    allowed = (
        ("each", "diff", "sum", "comb") if fitselect == "unrestricted" else ("diff", "sum", "comb")
    )
    if bwselect not in allowed:
        raise ParameterError(
            "bwselect", f"{bwselect!r} with fitselect={fitselect}", allowed=", ".join(allowed)
        )
    return q, kernel


def rdbwdensity(
    x: Any,
    c: float = 0.0,
    p: int = 2,
    fitselect: str = "unrestricted",
    kernel: str = "triangular",
    vce: str = "jackknife",
    masspoints: bool = True,
    regularize: bool = True,
    n_local_min: int | None = None,
    n_unique_min: int | None = None,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
) -> pd.DataFrame:
    """Bandwidths of the density test: rows l, r, diff, sum; columns bw, variance, biassq."""
    _, kernel = _check(p, None, kernel, fitselect, vce, "comb")
    sm = _sample(x, c, masspoints, dropna, data)
    n_local_min = 20 + p + 1 if n_local_min is None else math.ceil(n_local_min)
    n_unique_min = 20 + p + 1 if n_unique_min is None else math.ceil(n_unique_min)
    return _bandwidths(sm, p, kernel, fitselect, vce, regularize, n_local_min, n_unique_min)


@dataclass
class DensityResult(EstimatorResult):
    """Result of :func:`rddensity`: densities left/right of the cutoff and the CJM test.

    :meth:`tidy` has one row (``term`` = ``density jump``): the estimate is
    :math:`\\hat f_+ - \\hat f_-`, std_error its standard error, statistic the CJM T and
    p_value its p-value (no interval: conf_low/high are NaN); the two densities, bandwidths and
    effective sample sizes follow.
    """

    tidy_extras = (
        "f_left", "f_right", "h_left", "h_right", "n_h_left", "n_h_right", "vce", "fitselect",
    )  # fmt: skip
    tidy_renamed = {"difference": "estimate", "se_difference": "std_error", "t": "statistic"}

    f_left: float
    f_right: float
    se_left: float
    se_right: float
    se_diff: float
    t: float
    p_value: float
    h: tuple[float, float]
    N: tuple[int, int]
    N_h: tuple[int, int]
    c: float
    p: int
    q: int
    kernel: str
    vce: str
    fitselect: str
    bwselect: str

    caption = "Manipulation test (Cattaneo, Jansson and Ma 2020)"

    def _tidy(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "term": "density jump", "estimate": self.f_right - self.f_left,
                    "std_error": self.se_diff, "statistic": self.t, "p_value": self.p_value,
                    "f_left": self.f_left, "f_right": self.f_right,
                    "h_left": self.h[0], "h_right": self.h[1], "n_h_left": self.N_h[0], "n_h_right": self.N_h[1],
                    "vce": self.vce, "fitselect": self.fitselect,
                }
            ]
        )  # fmt: skip

    def summary(self) -> str:
        return "\n".join(
            [
                "Manipulation test using local polynomial density estimation (Cattaneo, Jansson and Ma 2020).",
                f"c = {self.c:g}; p = {self.p}, q = {self.q}; kernel {self.kernel}; vce {self.vce}; "
                f"{self.fitselect}; bandwidths by {self.bwselect}",
                f"{'':25}{'Left':>12}{'Right':>12}",
                f"{'Number of obs':25}{self.N[0]:>12}{self.N[1]:>12}",
                f"{'Eff. number of obs':25}{self.N_h[0]:>12}{self.N_h[1]:>12}",
                f"{'Bandwidth':25}{self.h[0]:>12.4f}{self.h[1]:>12.4f}",
                f"{'Density at cutoff':25}{self.f_left:>12.4f}{self.f_right:>12.4f}",
                "",
                f"T = {self.t:.4f}, p-value = {self.p_value:.4f} (H0: no discontinuity in the density at c)",
            ]
        )

    def __str__(self) -> str:
        return self.summary()


def rddensity(
    x: Any,
    c: float = 0.0,
    p: int = 2,
    q: int | None = None,
    fitselect: str = "unrestricted",
    kernel: str = "triangular",
    vce: str = "jackknife",
    h: float | tuple[float, float] | None = None,
    bwselect: str = "comb",
    masspoints: bool = True,
    regularize: bool = True,
    n_local_min: int | None = None,
    n_unique_min: int | None = None,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
) -> DensityResult:
    r"""CJM density discontinuity (manipulation) test at the cutoff c.

    The densities are the slopes at c of local polynomials of order q (default p+1, i.e. the
    robust bias-corrected version) fitted to the empirical cdf; :math:`T = (\hat f_+ - \hat f_-)
    / \hat\sigma` is asymptotically N(0,1) without manipulation. Bandwidths from
    :func:`rdbwdensity` (order p) unless ``h`` is given.
    """
    q, kernel = _check(p, q, kernel, fitselect, vce, bwselect)
    sm = _sample(x, c, masspoints, dropna, data)
    n_local_min = 20 + p + 1 if n_local_min is None else math.ceil(n_local_min)
    n_unique_min = 20 + p + 1 if n_unique_min is None else math.ceil(n_unique_min)
    if h is not None:
        hh = np.atleast_1d(np.asarray(h, dtype=float))
        if hh.size not in (1, 2) or np.any(hh <= 0):
            raise ParameterError("h", "must be one or two positive numbers")
        hl, hr = float(hh[0]), float(hh[-1])
        bw_label = "manual"
    else:
        bw = _bandwidths(sm, p, kernel, fitselect, vce, regularize, n_local_min, n_unique_min)["bw"]
        if bwselect == "each":
            hl, hr = bw["l"], bw["r"]
        elif bwselect == "diff":
            hl = hr = bw["diff"]
        elif bwselect == "sum":
            hl = hr = bw["sum"]
        elif fitselect == "unrestricted":
            hl = median([bw["l"], bw["diff"], bw["sum"]])
            hr = median([bw["r"], bw["diff"], bw["sum"]])
        else:
            hl = hr = min(bw["diff"], bw["sum"])
        bw_label = bwselect
    mask = (sm.x >= -hl) & (sm.x <= hr)
    xh, yh = sm.x[mask], sm.y[mask]
    nlh = int(np.sum(xh < 0))
    nrh = xh.shape[0] - nlh
    if nlh < q + 1 or nrh < q + 1:
        raise EstimationError(
            f"too few observations inside the bandwidth ({nlh} left, {nrh} right) for a density "
            f"polynomial of order q={q}; use a larger h"
        )
    fv = _fit(yh, xh, sm.n, nlh, hl, hr, q, 1, kernel, fitselect, vce, sm.mass_points)
    col = "jackknife" if vce == "jackknife" else "plugin"
    var_diff = fv.loc["diff", col]
    if not np.isfinite(var_diff) or var_diff <= 0:
        raise EstimationError(
            "the variance of the density difference is not positive; use a larger bandwidth"
        )
    t = fv.loc["diff", "hat"] / math.sqrt(var_diff)
    return DensityResult(
        f_left=float(fv.loc["l", "hat"]),
        f_right=float(fv.loc["r", "hat"]),
        se_left=float(np.sqrt(fv.loc["l", col])),
        se_right=float(np.sqrt(fv.loc["r", col])),
        se_diff=math.sqrt(var_diff),
        t=float(t),
        p_value=float(2 * (1 - stats.norm.cdf(abs(t)))),
        h=(float(hl), float(hr)),
        N=(sm.nl, sm.n - sm.nl),
        N_h=(nlh, nrh),
        c=float(c),
        p=p,
        q=q,
        kernel=kernel,
        vce=vce,
        fitselect=fitselect,
        bwselect=bw_label,
    )
