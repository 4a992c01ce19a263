"""Numerical kernels of the local-polynomial RD estimator (used by :mod:`clusteratlas.causal.rd`).

This module owns the vectorised building blocks: kernel weights, weighted polynomial fits on one
side of the cutoff, residuals for the variance (nearest-neighbour and HC0-HC3), the sandwich
"meat" (heteroskedastic or cluster-robust CR1) and the pilot quantities of the MSE-optimal
bandwidth selector of Calonico, Cattaneo and Titiunik (2014) / Calonico, Cattaneo and Farrell
(2020). The algorithms follow the rdrobust package (version 2.1.1) step by step so that the
numbers agree; the speed comes from

* sorting once and fitting only the contiguous block of observations inside a bandwidth
  (found with ``searchsorted``), never the whole side;
* the nearest-neighbour residuals computed per *distinct* value of the running variable with
  vectorised window growth and cumulative sums, instead of a loop over observations;
* cluster sums with ``bincount`` instead of a Python loop over clusters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from clusteratlas.errors import EstimationError

KERNELS = {
    "tri": "Triangular",
    "triangular": "Triangular",
    "epa": "Epanechnikov",
    "epanechnikov": "Epanechnikov",
    "uni": "Uniform",
    "uniform": "Uniform",
}
# Constants C_c of the rule-of-thumb pilot bandwidth C_c * BWp * N^(-1/5), per kernel.
PILOT_CONSTANT = {"Triangular": 2.576, "Epanechnikov": 2.34, "Uniform": 1.843}
_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))


def kernel_weights(u: np.ndarray, h: float, kernel: str) -> np.ndarray:
    """K(u)/h for u = (x - c)/h; zero outside the support (|u| < 1, uniform |u| <= 1)."""
    a = np.abs(u)
    if kernel == "Epanechnikov":
        return (0.75 * (1 - u**2) * (a <= 1)) / h
    if kernel == "Uniform":
        return (0.5 * (a <= 1)) / h
    return ((1 - a) * (a <= 1)) / h


def vander(u: np.ndarray, order: int) -> np.ndarray:
    """Columns 1, u, u^2, ..., u^order."""
    out = np.empty((u.shape[0], order + 1))
    out[:, 0] = 1.0
    for j in range(1, order + 1):
        out[:, j] = out[:, j - 1] * u
    return out


def inv_spd(g: np.ndarray, *, fallback: bool, what: str = "local polynomial design") -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (pinv fallback if allowed)."""
    try:
        factor = cho_factor(g, lower=True)
        return cho_solve(factor, np.eye(g.shape[0]))
    except np.linalg.LinAlgError as exc:
        if fallback:
            return np.linalg.pinv(g)
        raise EstimationError(
            f"the {what} is singular: too few distinct running-variable values inside the "
            "bandwidth for the polynomial order; use a larger bandwidth or a lower order p"
        ) from exc


@dataclass
class Window:
    """Observations with positive kernel weight at one bandwidth (sorted by x when asked)."""

    x: np.ndarray
    d: np.ndarray
    cluster: np.ndarray | None
    w: np.ndarray  # kernel weight times user weight
    fw: np.ndarray | None


class NearCutoffOrder:
    """Indices of one side's observations within ``radius`` of the cutoff, sorted by x.

    Grown on demand, generously (later bandwidths are usually wider than the first pilot) and
    incrementally: only the newly covered ring of observations is sorted.
    """

    def __init__(self, dist: np.ndarray, left: bool) -> None:
        self.dist = dist  # distance to the cutoff in the units the radius is given in
        self.left = left
        self.radius = -1.0
        self.idx = np.empty(0, dtype=np.intp)

    def ensure(self, radius: float, x: np.ndarray) -> None:
        if radius <= self.radius:
            return
        radius = radius * (3.0 if self.radius < 0 else 1.5)
        ring = self.dist <= radius
        if self.radius >= 0:
            ring &= self.dist > self.radius
        new = np.flatnonzero(ring)
        new = new[np.argsort(x[new])]
        # The ring lies farther from the cutoff: before the core on the left, after on the right.
        self.idx = np.concatenate((new, self.idx) if self.left else (self.idx, new))
        self.radius = radius


class SideData:
    """The raw observations on one side of the cutoff, shared by all :class:`Side` views.

    ``d`` stacks the outcome, then the treatment (fuzzy), then covariates as columns (the "D"
    matrix of rdrobust); ``cluster`` holds integer codes; ``fw`` user weights. The arrays stay
    in input order; a sorted "core" of the observations nearest the cutoff is gathered on
    demand (and enlarged when a wider bandwidth needs it), so a national-size sample is never
    fully argsorted: only the observations inside the bandwidths are.
    """

    def __init__(self, x, d, cluster, fw, left: bool, c: float) -> None:
        self.x, self.d, self.cluster, self.fw, self.left, self.c = x, d, cluster, fw, left, c
        self.order = NearCutoffOrder(c - x if left else x - c, left)
        self.core_radius = -1.0
        self.core: tuple | None = None

    def ensure_core(self, radius: float) -> None:
        if radius <= self.core_radius:
            return
        self.order.ensure(radius, self.x)
        idx = self.order.idx
        self.core = (
            self.x[idx],
            self.d[idx],
            None if self.cluster is None else self.cluster[idx],
            None if self.fw is None else self.fw[idx],
        )
        self.core_radius = self.order.radius


class Side:
    """One side of the cutoff in given units: x / x_scale, outcome / y_scale, D columns ``cols``.

    The bandwidth selector works on standardised x and y (rdrobust's ``stdvars``) and without
    the treatment column when the first stage is degenerate; estimation uses raw units. Both
    are views of one :class:`SideData`, so the sorting work is shared.
    """

    def __init__(
        self,
        data: SideData,
        cols: np.ndarray | None = None,
        x_scale: float = 1.0,
        y_scale: float = 1.0,
    ) -> None:
        self.data, self.cols, self.x_scale, self.y_scale = data, cols, x_scale, y_scale
        self.left = data.left
        self.cluster = data.cluster
        self.fw = data.fw
        self._core_radius = -1.0
        self._core: tuple | None = None
        self._full: tuple | None = None
        self.nn_cache: dict = {}

    @property
    def n(self) -> int:
        return self.data.x.shape[0]

    def _view_d(self, d: np.ndarray) -> np.ndarray:
        out = d if self.cols is None else d[:, self.cols]
        if self.y_scale != 1.0:
            out = out.copy() if out is d else out
            out[:, 0] = out[:, 0] / self.y_scale
        return out

    def _view_x(self, x: np.ndarray) -> np.ndarray:
        return x if self.x_scale == 1.0 else x / self.x_scale

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """x and D of every observation on this side, in this view's units."""
        if self._full is None:
            self._full = (self._view_x(self.data.x), self._view_d(self.data.d))
        return self._full

    def _ensure_core(self, radius: float) -> None:
        if radius <= self._core_radius:
            return
        self.data.ensure_core(radius * self.x_scale)
        cx, cd, ccl, cfw = self.data.core
        self._core = (self._view_x(cx), self._view_d(cd), ccl, cfw)
        self._core_radius = self.data.core_radius / self.x_scale

    def window(self, c: float, h: float, kernel: str, *, sort: bool = True) -> Window:
        """The observations with positive weight K((x-c)/h)/h (times user weights).

        With ``sort`` the sorted core is used: its support is a contiguous block next to the
        cutoff found with ``searchsorted``; the exact kernel formula decides at the boundary,
        so the selected set equals rdrobust's ``w > 0``.
        """
        margin = h * (1 + 1e-9)
        if not sort and margin > self._core_radius:
            x_all, d_all = self.full()
            w = kernel_weights((x_all - c) / h, h, kernel)
            if self.fw is not None:
                w = self.fw * w
            keep = w > 0
            if keep.all():
                return Window(x_all, d_all, self.cluster, w, self.fw)
            return Window(
                x_all[keep],
                d_all[keep],
                None if self.cluster is None else self.cluster[keep],
                w[keep],
                None if self.fw is None else self.fw[keep],
            )
        self._ensure_core(margin)
        cx, cd, ccl, cfw = self._core
        if self.left:
            sl = slice(int(np.searchsorted(cx, c - margin, side="left")), cx.shape[0])
        else:
            sl = slice(0, int(np.searchsorted(cx, c + margin, side="right")))
        x = cx[sl]
        w = kernel_weights((x - c) / h, h, kernel)
        fw = None if cfw is None else cfw[sl]
        if fw is not None:
            w = fw * w
        keep = w > 0
        win = Window(x, cd[sl], None if ccl is None else ccl[sl], w, fw)
        if not keep.all():
            win = Window(
                win.x[keep],
                win.d[keep],
                None if win.cluster is None else win.cluster[keep],
                w[keep],
                None if fw is None else fw[keep],
            )
        return win


try:  # numba is optional: the numpy path below gives the same numbers.
    from numba import njit as _njit
except ImportError:  # pragma: no cover - exercised only without numba
    _njit = None


def _nn_windows_py(
    values: np.ndarray, sizes: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each group of tied x (sorted ``values``), the first and last group of its match set."""
    n_groups = values.shape[0]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    ends = starts + sizes
    gl = np.arange(n_groups)
    gr = gl.copy()
    active = np.flatnonzero(sizes - 1 < cap)
    while active.size:
        a_l, a_r, v = gl[active], gr[active], values[active]
        has_left = a_l > 0
        has_right = a_r < n_groups - 1
        d_left = v - values[np.maximum(a_l - 1, 0)]
        d_right = values[np.minimum(a_r + 1, n_groups - 1)] - v
        tol = np.maximum(d_left, d_right) * _SQRT_EPS
        both = has_left & has_right
        go_right = ~has_left | (both & (d_left - d_right > tol))
        go_left = ~has_right | (both & (d_right - d_left > tol))
        tie = both & ~go_right & ~go_left
        go_right |= tie
        go_left |= tie
        gr[active] = a_r + go_right
        gl[active] = a_l - go_left
        size = ends[gr[active]] - starts[gl[active]] - 1
        active = active[size < cap]
    return gl, gr


def _nn_residuals_loop(x, d, cap, sqrt_eps):  # pragma: no cover - compiled by numba
    # Fused version of the numpy path: tie groups, window growth, window sums by prefix sums.
    n, k = d.shape
    starts = np.empty(n + 1, np.int64)
    n_groups = 0
    for i in range(n):
        if i == 0 or x[i] != x[i - 1]:
            starts[n_groups] = i
            n_groups += 1
    starts[n_groups] = n
    centre = np.zeros(k)
    for i in range(n):
        for j in range(k):
            centre[j] += d[i, j]
    for j in range(k):
        centre[j] /= n
    csum = np.zeros((n + 1, k))
    for i in range(n):
        for j in range(k):
            csum[i + 1, j] = csum[i, j] + (d[i, j] - centre[j])
    out = np.empty((n, k))
    for g in range(n_groups):
        lo = g
        hi = g
        v = x[starts[g]]
        while starts[hi + 1] - starts[lo] - 1 < cap:
            if lo == 0:
                hi += 1
            elif hi == n_groups - 1:
                lo -= 1
            else:
                d_left = v - x[starts[lo - 1]]
                d_right = x[starts[hi + 1]] - v
                tol = (d_left if d_left > d_right else d_right) * sqrt_eps
                if d_left - d_right > tol:
                    hi += 1
                elif d_right - d_left > tol:
                    lo -= 1
                else:
                    hi += 1
                    lo -= 1
        a = starts[lo]
        b = starts[hi + 1]
        m = b - a - 1.0
        sf = (m / (m + 1.0)) ** 0.5
        for i in range(starts[g], starts[g + 1]):
            for j in range(k):
                dc = d[i, j] - centre[j]
                out[i, j] = sf * (dc - (csum[b, j] - csum[a, j] - dc) / m)
    return out


_nn_residuals_jit = _njit(cache=True, nogil=True)(_nn_residuals_loop) if _njit is not None else None


def nn_residuals(x: np.ndarray, d: np.ndarray, matches: int, *, engine: str = "auto") -> np.ndarray:
    """Nearest-neighbour residuals of rdrobust's ``vce="nn"`` (Abadie-Imbens style).

    For observation i with value x_i, the match set J(i) contains all other observations tied
    at x_i and then grows by whole groups of ties towards the nearer neighbouring value (both
    sides when equidistant) until it holds at least ``matches`` observations. The residual is
    sqrt(J/(J+1)) * (D_i - mean of D over J(i)). Everything depends on i only through its tie
    group, so the window is grown for all distinct values at once and the window sums come
    from cumulative sums.
    """
    n = x.shape[0]
    cap = min(int(matches), n - 1)
    if engine != "numpy" and _nn_residuals_jit is not None:
        return _nn_residuals_jit(
            np.ascontiguousarray(x, dtype=np.float64),
            np.ascontiguousarray(d, dtype=np.float64),
            cap,
            _SQRT_EPS,
        )
    starts = np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))
    ends = np.append(starts[1:], n)
    gl, gr = _nn_windows_py(x[starts], ends - starts, cap)
    lo = np.repeat(starts[gl], ends - starts)
    hi = np.repeat(ends[gr], ends - starts)
    n_match = (hi - lo - 1).astype(float)
    # Centre the columns first so the cumulative sums stay small (precision of differences).
    centre = d.mean(axis=0)
    dc = d - centre
    csum = np.vstack((np.zeros((1, d.shape[1])), np.cumsum(dc, axis=0)))
    window_sum = csum[hi] - csum[lo] - dc
    scale = np.sqrt(n_match / (n_match + 1))[:, None]
    return scale * (dc - window_sum / n_match[:, None])


def hc_residuals(
    d: np.ndarray,
    fitted: np.ndarray,
    vce: str,
    hii: np.ndarray | None,
    n_coef: int,
    clustered: bool,
) -> np.ndarray:
    """Plug-in residuals scaled as HC0 (1), HC1 (sqrt(n/(n-k))), HC2 (1/sqrt(1-h_ii)), HC3 (1/(1-h_ii))."""
    n = d.shape[0]
    if vce == "hc0" or (vce == "hc1" and clustered):
        w = 1.0
    elif vce == "hc1":
        w = math.sqrt(n / (n - n_coef))
    elif vce == "hc2":
        w = np.sqrt(1 / np.maximum(1 - hii, 1e-8))[:, None]
    else:
        w = (1 / np.maximum(1 - hii, 1e-8))[:, None]
    return w * (d - fitted)


def meat(
    rx: np.ndarray,
    res: np.ndarray,
    s: np.ndarray,
    cluster: np.ndarray | None = None,
    k_df: int | None = None,
) -> np.ndarray:
    """Sandwich meat sum_i (s'r_i)^2 rx_i rx_i' or, with clusters, CR1
    (n-1)/(n-k) * G/(G-1) * sum_g (sum_{i in g} s'r_i rx_i)(...)'."""
    r = res @ s
    scores = rx * r[:, None]
    if cluster is None:
        return scores.T @ scores
    _, codes = np.unique(cluster, return_inverse=True)
    n_cl = int(codes.max()) + 1 if codes.size else 0
    k = rx.shape[1]
    summed = np.column_stack(
        [np.bincount(codes, weights=scores[:, j], minlength=n_cl) for j in range(k)]
    )
    n = rx.shape[0]
    k_df = k if k_df is None else k_df
    factor = ((n - 1) / (n - k_df)) * (n_cl / (n_cl - 1)) if n_cl > 1 else np.nan
    return factor * (summed.T @ summed)


def has_distinct(x: np.ndarray, k: int, *, is_sorted: bool) -> bool:
    """Whether x holds at least k distinct values (cheap for long arrays)."""
    if x.shape[0] < k:
        return False
    if is_sorted:
        return int(np.count_nonzero(x[1:] != x[:-1])) + 1 >= k
    if np.unique(x[: 64 * k]).shape[0] >= k:
        return True
    return np.unique(x).shape[0] >= k


@dataclass
class Fit:
    """Weighted polynomial fit of the D columns on one side inside one bandwidth."""

    win: Window
    xc: np.ndarray  # x - c
    w: np.ndarray
    r: np.ndarray  # design (1, xc, ..., xc^order)
    inv_g: np.ndarray
    beta: np.ndarray  # (order+1, ncol(D))


def _poly_moments_loop(
    x, d, cols, x_scale, y_scale, fw, c, h, kernel_code, order
):  # pragma: no cover - numba
    # One pass: G = sum w r r', U = sum w r d' with r = (1, u, ..., u^order), u = x/x_scale - c
    # and D = d[:, cols] with its first (outcome) column divided by y_scale.
    n = x.shape[0]
    k = cols.shape[0]
    p2 = 2 * order + 1
    pw = np.zeros(p2)
    u_mom = np.zeros((order + 1, k))
    powers = np.empty(p2)
    for i in range(n):
        xs = x[i] / x_scale if x_scale != 1.0 else x[i]
        t = (xs - c) / h
        a = abs(t)
        if kernel_code == 0:
            w = (1.0 - a) / h if a <= 1.0 else 0.0
        elif kernel_code == 1:
            w = 0.75 * (1.0 - t * t) / h if a <= 1.0 else 0.0
        else:
            w = 0.5 / h if a <= 1.0 else 0.0
        if fw.shape[0] > 0:
            w *= fw[i]
        if w <= 0.0:
            continue
        xc = xs - c
        powers[0] = w
        for j in range(1, p2):
            powers[j] = powers[j - 1] * xc
        for j in range(p2):
            pw[j] += powers[j]
        for m in range(k):
            val = d[i, cols[m]]
            if m == 0 and y_scale != 1.0:
                val = val / y_scale
            for j in range(order + 1):
                u_mom[j, m] += powers[j] * val
    g = np.empty((order + 1, order + 1))
    for a_ in range(order + 1):
        for b_ in range(order + 1):
            g[a_, b_] = pw[a_ + b_]
    return g, u_mom


_poly_moments_jit = _njit(cache=True, nogil=True)(_poly_moments_loop) if _njit is not None else None
_KERNEL_CODE = {"Triangular": 0, "Epanechnikov": 1, "Uniform": 2}


def fit_side(
    side: Side, c: float, h: float, order: int, kernel: str, *, fallback: bool, sort: bool = True
) -> Fit:
    if not sort and _poly_moments_jit is not None and h * (1 + 1e-9) > side._core_radius:
        # Whole-side pilot fit that needs only the coefficients: a fused one-pass moment sum.
        if not has_distinct(side.data.x, order + 1, is_sorted=False):
            raise _NotIdentified
        data = side.data
        fw = data.fw if data.fw is not None else np.empty(0)
        cols = side.cols if side.cols is not None else np.arange(data.d.shape[1])
        g, u = _poly_moments_jit(
            data.x, data.d, np.asarray(cols, dtype=np.int64), float(side.x_scale), float(side.y_scale),
            fw, c, h, _KERNEL_CODE[kernel], order,
        )  # fmt: skip
        inv_g = inv_spd(g, fallback=fallback)
        return Fit(None, None, None, None, inv_g, inv_g @ u)
    win = side.window(c, h, kernel, sort=sort)
    w = win.w
    xc = win.x - c
    if not has_distinct(xc, order + 1, is_sorted=sort):
        raise _NotIdentified
    r = vander(xc, order)
    sqrt_wr = r * np.sqrt(w)[:, None]
    inv_g = inv_spd(sqrt_wr.T @ sqrt_wr, fallback=fallback)
    beta = inv_g @ ((r * w[:, None]).T @ win.d)
    return Fit(win, xc, w, r, inv_g, beta)


class _NotIdentified(Exception):
    """A pilot fit has fewer distinct x than coefficients (rdrobust returns NaN there)."""


def residuals(
    side: Side, fit: Fit, vce: str, nnmatch: int, n_coef: int, clustered: bool
) -> np.ndarray:
    """Residual matrix for the variance of ``fit`` (columns follow D)."""
    d = fit.win.d
    if vce == "nn":
        # NN residuals depend on the window only (not on the polynomial order): reuse them.
        key = (fit.win.x.shape[0], float(fit.win.x[0]), float(fit.win.x[-1]), nnmatch)
        if key not in side.nn_cache:
            side.nn_cache[key] = nn_residuals(fit.win.x, d, nnmatch)
        return side.nn_cache[key]
    fitted = fit.r @ fit.beta
    hii = None
    if vce in ("hc2", "hc3"):
        hii = np.sum((fit.r @ fit.inv_g) * (fit.r * fit.w[:, None]), axis=1)
    return hc_residuals(d, fitted, vce, hii, n_coef, clustered)


def partial_gamma(fit: Fit, d: np.ndarray, n_yt: int, drop: bool) -> np.ndarray:
    """Coefficients of the covariates after partialling out the polynomial (one side).

    gamma = (Z'WZ - U_Z' G^-1 U)^-1 (Z'WD_yt - U_Z' G^-1 U_yt) with U = R'WD.
    """
    z_w = d[:, n_yt:] * fit.w[:, None]
    u = (fit.r * fit.w[:, None]).T @ d
    zwd = z_w.T @ d
    uigu = u[:, n_yt:].T @ (fit.inv_g @ u)
    zwz = zwd[:, n_yt:] - uigu[:, n_yt:]
    zwy = zwd[:, :n_yt] - uigu[:, :n_yt]
    inv = np.linalg.pinv(zwz) if drop else inv_spd(zwz, fallback=False, what="covariate design")
    return inv @ zwy


@dataclass
class BwPieces:
    """V (variance), B (bias), R (regularisation) and the rate of one pilot step."""

    v: float
    b: float
    reg: float
    rate: float


def bw_pieces(
    side: Side,
    c: float,
    o: int,
    nu: int,
    o_b: int,
    h_v: float,
    h_b: float,
    scale: float,
    vce: str,
    nnmatch: int,
    kernel: str,
    n_yt: int,
    covs_drop: bool,
    cache: dict,
) -> BwPieces:
    """One pilot step of the bandwidth selector (rdrobust's ``rdrobust_bw``).

    V-fit of order o at h_v gives the variance constant V and the bias constant
    BConst = e_nu' H G^-1 R'W ((x-c)/h_v)^(o+1); a fit of order o_b at h_b gives the
    derivative estimate for the bias B = sqrt(2(o+1-nu)) BConst s'beta_{o_b}, and (scale>0)
    its variance for the regularisation R = scale 2(o+1-nu) 3 BConst^2 V_B.
    """
    nan = BwPieces(np.nan, np.nan, np.nan, 1 / (2 * o + 3))
    clustered = side.cluster is not None
    key = (o, nu)
    if key not in cache:
        try:
            cache[key] = _bw_vfit(side, c, o, nu, h_v, vce, nnmatch, kernel, n_yt, covs_drop)
        except _NotIdentified:
            cache[key] = None
    if cache[key] is None:
        return nan
    v_v, b_const, s = cache[key]
    if not (np.isfinite(h_b) and h_b > 0):
        return nan
    try:
        # The first pilot (scale 0) spans the whole side and needs no residuals: no sorting.
        fb = fit_side(side, c, h_b, o_b, kernel, fallback=True, sort=scale > 0)
    except _NotIdentified:
        return nan
    reg = 0.0
    if scale > 0:
        res = residuals(side, fb, vce, nnmatch, o_b + 1, clustered)
        m = meat(fb.r * fb.w[:, None], res, s, fb.win.cluster)
        v_b = (fb.inv_g @ m @ fb.inv_g)[-1, -1]
        reg = 3 * b_const**2 * v_b
    bias = math.sqrt(2 * (o + 1 - nu)) * b_const * float(np.dot(s, fb.beta[-1, :]))
    v = (2 * nu + 1) * h_v ** (2 * nu + 1) * v_v
    return BwPieces(v, bias, scale * (2 * (o + 1 - nu)) * reg, 1 / (2 * o + 3))


def _bw_vfit(side, c, o, nu, h_v, vce, nnmatch, kernel, n_yt, covs_drop):
    fv = fit_side(side, c, h_v, o, kernel, fallback=True)
    d = fv.win.d
    n_z = d.shape[1] - n_yt
    beta = fv.beta
    s = np.ones(1)
    if n_z > 0:
        gamma = partial_gamma(fv, d, n_yt, covs_drop)
        s = np.append(1.0, -gamma[:, 0])
    if n_yt == 2:
        fac = math.factorial(nu)
        if n_z == 0:
            tau_y, tau_t = fac * beta[nu, 0], fac * beta[nu, 1]
            s = np.array([1 / tau_t, -(tau_y / tau_t**2)])
        else:
            s_y = np.append(1.0, -gamma[:, 0])
            s_t = np.append(1.0, -gamma[:, 1])
            tau_y = fac * float(s_y @ np.append(beta[nu, 0], beta[nu, 2:]))
            tau_t = fac * float(s_t @ np.append(beta[nu, 1], beta[nu, 2:]))
            s = np.hstack(
                [
                    1 / tau_t,
                    -(tau_y / tau_t**2),
                    -(1 / tau_t) * gamma[:, 0] + (tau_y / tau_t**2) * gamma[:, 1],
                ]
            )
    res = residuals(side, fv, vce, nnmatch, o + 1, side.cluster is not None)
    rw = fv.r * fv.w[:, None]
    m = meat(rw, res, s, fv.win.cluster)
    v_v = (fv.inv_g @ m @ fv.inv_g)[nu, nu]
    v = rw.T @ ((fv.xc / h_v) ** (o + 1))
    hp = h_v ** np.arange(o + 1)
    b_const = (hp * (fv.inv_g @ v))[nu]
    return v_v, b_const, s
