"""Numerical kernels of the local-polynomial RD estimator (used by :mod:`clusteratlas.causal.rd`).

This module owns the vectorised building blocks: kernel weights, weighted polynomial fits on one
side of the cutoff, residuals for the variance (nearest-neighbour and HC0-HC3), the sandwich
"meat" (heteroskedastic or cluster-robust CR1) and the pilot quantities of the MSE-optimal
bandwidth selector of Calonico, Cattaneo and Titiunik (2014) / Calonico, Cattaneo and Farrell
(2020). The algorithms follow the rdrobust package (version 2.1.1) step by step so that the
numbers agree; the speed comes from

* sorting only the observations near the cutoff (a core grown on demand) and fitting only the
  contiguous block of them inside a bandwidth (found with ``searchsorted``);
* the nearest-neighbour residuals computed once per *distinct* value of the running variable
  (numba; a numpy path with vectorised window growth and cumulative sums gives the same numbers);
* the pilot steps of the default bandwidth selector (vce="nn") as one compiled pass of weighted
  moment sums per window, without materialising design matrices (:func:`fit_side_moments`);
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
    """Grows, on demand, the set of one side's observations within ``radius`` of the cutoff.

    Generously (later bandwidths are usually wider than the first pilot) and incrementally:
    each call returns only the newly covered ring of observations, sorted by x.
    """

    def __init__(self, dist: np.ndarray, left: bool) -> None:
        self.dist = dist  # distance to the cutoff in the units the radius is given in
        self.left = left
        self.radius = -1.0

    def ensure(self, radius: float, x: np.ndarray) -> np.ndarray:
        """Grow to cover ``radius``; returns the indices added (sorted by x), maybe none."""
        if radius <= self.radius:
            return np.empty(0, dtype=np.intp)
        radius = radius * (3.0 if self.radius < 0 else 1.5)
        ring = self.dist <= radius
        if self.radius >= 0:
            ring &= self.dist > self.radius
        new = np.flatnonzero(ring)
        self.radius = radius
        return new[np.argsort(x[new])]


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
        new = self.order.ensure(radius, self.x)
        ring = [None if a is None else a[new] for a in (self.x, self.d, self.cluster, self.fw)]
        if self.core is None:
            self.core = tuple(ring)
        else:
            # Only the new ring is gathered. It lies farther from the cutoff than the old core:
            # before it on the left, after it on the right.
            self.core = tuple(
                None if old is None else np.concatenate((add, old) if self.left else (old, add))
                for old, add in zip(self.core, ring, strict=True)
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


def _tie_group_end(x, i):  # pragma: no cover - compiled by numba
    """One past the last row tied with row i (x sorted)."""
    j = i + 1
    while j < x.shape[0] and x[j] == x[i]:
        j += 1
    return j


def _tie_group_start(x, i):  # pragma: no cover - compiled by numba
    """First row of the tie group that ends just before row i (x sorted)."""
    j = i - 1
    while j > 0 and x[j - 1] == x[i - 1]:
        j -= 1
    return j


def _nn_residuals_loop(x, d, cap, sqrt_eps):  # pragma: no cover - compiled by numba
    # One pass over tie groups: grow the match block [a, b) by whole tie groups towards the
    # nearer side (both when equidistant up to a relative tolerance), then sum D over it
    # directly (the block holds about ``cap`` rows, so no prefix sums are needed).
    n, k = d.shape
    out = np.empty((n, k))
    sums = np.empty(k)
    i0 = 0
    while i0 < n:
        i1 = _tie_group_end(x, i0)
        a, b = i0, i1
        v = x[i0]
        while b - a - 1 < cap:
            if a == 0:
                b = _tie_group_end(x, b)
            elif b == n:
                a = _tie_group_start(x, a)
            else:
                d_left = v - x[a - 1]
                d_right = x[b] - v
                tol = (d_left if d_left > d_right else d_right) * sqrt_eps
                if d_left - d_right > tol:
                    b = _tie_group_end(x, b)
                elif d_right - d_left > tol:
                    a = _tie_group_start(x, a)
                else:
                    b = _tie_group_end(x, b)
                    a = _tie_group_start(x, a)
        m = b - a - 1.0
        scale = (m / (m + 1.0)) ** 0.5
        for j in range(k):
            sums[j] = 0.0
        for r in range(a, b):
            for j in range(k):
                sums[j] += d[r, j]
        for i in range(i0, i1):
            for j in range(k):
                out[i, j] = scale * (d[i, j] - (sums[j] - d[i, j]) / m)
        i0 = i1
    return out


if _njit is not None:
    _tie_group_end = _njit(cache=True, nogil=True, inline="always")(_tie_group_end)
    _tie_group_start = _njit(cache=True, nogil=True, inline="always")(_tie_group_start)
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
    """Plug-in residuals scaled as HC0 (1), HC1 (sqrt(n/(n-k))), HC2 (1/sqrt(1-h_ii)), HC3 (1/(1-h_ii)).

    CR1 (hc1 with clusters), CR2 and CR3 use raw residuals: their corrections act on cluster
    sums (:func:`meat`, :func:`cr_meat`)."""
    n = d.shape[0]
    if vce in ("hc0", "cr2", "cr3") or (vce == "hc1" and clustered):
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
    codes, n_cl = cluster_codes(cluster)
    k = rx.shape[1]
    summed = np.column_stack(
        [np.bincount(codes, weights=scores[:, j], minlength=n_cl) for j in range(k)]
    )
    n = rx.shape[0]
    k_df = k if k_df is None else k_df
    factor = ((n - 1) / (n - k_df)) * (n_cl / (n_cl - 1)) if n_cl > 1 else np.nan
    return factor * (summed.T @ summed)


# --- Cluster-robust variance with leverage corrections (CR2 / CR3) -----------------------------
#
# For a weighted least-squares fit beta = G^-1 R'W D with G = R'WR, the cluster-robust meat is
# sum_g score_g score_g' with the plain (CR0/CR1) cluster score A_g' e_g. CR2 (Bell and McCaffrey
# 2002) and CR3 (Pustejovsky and Tipton 2018, the cluster jackknife) first undo the shrinkage of
# the residuals by the cluster block of the hat matrix, H_gg = W_g^1/2 R_g G^-1 R_g' W_g^1/2:
#   CR2: e_g -> W_g^-1/2 (I - H_gg)^-1/2 W_g^1/2 e_g,   CR3: e_g -> W_g^-1/2 (I - H_gg)^-1 W_g^1/2 e_g.
# Neither needs an n_g x n_g matrix. With L_g = R_g'W_g R_g (k x k) and u_g = R_g'W_g e_g:
#   (I - H_gg)^-1 = I + W^1/2 R_g (G - L_g)^-1 R_g' W^1/2                       (Woodbury), and,
#   with G^-1 = C C' (Cholesky) and B = W^1/2 R_g C, so that H_gg = B B',
#   (I - H_gg)^-1/2 = I + B f(B'B) B',  f(s) = ((1 - s)^-1/2 - 1) / s  on the eigenvalues of
#   F_g = B'B = C' L_g C. Hence score_g = A_g'e_g + P_g Lambda_g u_g with P_g = A_g'R_g and
#   Lambda_g = C f(F_g) C' (CR2) or (G - L_g)^-1 (CR3).
# A is the matrix whose sandwich is wanted: RW for an ordinary fit (then P_g = L_g), or the
# bias-corrected Q_q of the RD estimator with the leverage of the order-q fit at bandwidth b.
# All clusters are handled at once: the per-cluster sums come from bincount and the k x k
# problems are solved as one stacked batch.


def cluster_codes(cluster: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 of the cluster labels and the number of clusters G."""
    _, codes = np.unique(cluster, return_inverse=True)
    return codes, (int(codes.max()) + 1 if codes.size else 0)


def cluster_cross(codes: np.ndarray, n_cl: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-cluster cross products sum_{i in g} a_i b_i' as an (G, k_a, k_b) array."""
    out = np.empty((n_cl, a.shape[1], b.shape[1]))
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            out[:, i, j] = np.bincount(codes, weights=a[:, i] * b[:, j], minlength=n_cl)
    return out


# 1 - eigenvalue of F_g below this: the cluster has leverage one along that direction (removing
# it leaves the fit unidentified there; in floating point 1 - eigenvalue is then ~1e-12).
_UNIT_LEVERAGE = 1e-8


def _leverage_eigen(inv_g: np.ndarray, lev: np.ndarray):
    """C (G^-1 = C C') and the eigenvalues/vectors of F_g = C' L_g C (None without C)."""
    try:
        chol = np.linalg.cholesky(inv_g)
    except np.linalg.LinAlgError:
        return None
    sigma2, vecs = np.linalg.eigh(np.einsum("ai,gab,bj->gij", chol, lev, chol))
    return chol, np.maximum(sigma2, 0.0), vecs


def _cr2_lambda(inv_g: np.ndarray, lev: np.ndarray) -> np.ndarray | None:
    """Lambda_g = C f(F_g) C' for every cluster (None if G^-1 has no Cholesky factor: rdrobust
    then uses the unadjusted scores, CR0 without a degrees-of-freedom factor)."""
    eig = _leverage_eigen(inv_g, lev)
    if eig is None:
        return None
    chol, sigma2, vecs = eig
    # f(s) -> 1/2 as s -> 0; rdrobust sets it to 0 below 1e-14 (no difference: f(s) s -> 0).
    # At unit leverage f is infinite (rdrobust floors 1 - s) but the residuals have no
    # component along that direction (the fit matches the cluster there exactly), so the
    # correction is 0 in exact arithmetic; rounding would otherwise be amplified ~1e4 times.
    keep = (sigma2 >= 1e-14) & (sigma2 <= 1 - _UNIT_LEVERAGE)
    safe = np.where(keep, sigma2, 0.5)
    coef = np.where(keep, (1 / np.sqrt(1 - safe) - 1) / safe, 0.0)
    cv = chol @ vecs  # (G, k, k): C V_g
    return np.einsum("gik,gk,gjk->gij", cv, coef, cv)


def _cr3_lambda(inv_g: np.ndarray, gram: np.ndarray, lev: np.ndarray, singular: str) -> np.ndarray:
    """Lambda_g = (G - L_g)^-1 for every cluster.

    A cluster with leverage one makes G - L_g singular. rdrobust then uses its pseudo-inverse
    (ordinary fits) or no correction (the Q_q sandwich) -- but only when the LU factorisation
    happens to hit an exact zero pivot; otherwise it inverts the rounding error. The singular
    blocks are found here from the eigenvalues of F_g (G - L_g = C^-T (I - F_g) C^-1), and
    the pseudo-inverse uses the known null space N: A^+ = (A + c N N')^-1 - N N' / c.
    """
    blocks = gram[None, :, :] - lev
    eig = _leverage_eigen(inv_g, lev)
    unit = (
        np.zeros(lev.shape[0], dtype=bool)
        if eig is None
        else eig[1].max(axis=1) > 1 - _UNIT_LEVERAGE
    )
    out = np.empty_like(blocks)
    ok = np.flatnonzero(~unit)
    try:
        out[ok] = np.linalg.inv(blocks[ok])
    except np.linalg.LinAlgError:
        for g in ok:
            try:
                out[g] = np.linalg.inv(blocks[g])
            except np.linalg.LinAlgError:
                out[g] = np.linalg.pinv(blocks[g]) if singular == "pinv" else 0.0
    for g in np.flatnonzero(unit):
        if singular != "pinv":
            out[g] = 0.0
            continue
        chol, sigma2, vecs = eig
        null, _ = np.linalg.qr(chol @ vecs[g][:, sigma2[g] > 1 - _UNIT_LEVERAGE])
        scale = float(np.trace(gram))  # the scale of G (G - L_g may vanish: one cluster)
        proj = null @ null.T
        out[g] = np.linalg.inv(blocks[g] + scale * proj) - proj / scale
    return out


def cr_meat(
    a: np.ndarray | None,
    r: np.ndarray,
    w: np.ndarray,
    inv_g: np.ndarray,
    res: np.ndarray,
    s: np.ndarray,
    cluster: np.ndarray,
    vce: str,
    *,
    singular: str = "pinv",
) -> np.ndarray:
    r"""CR2/CR3 meat :math:`\sum_g (A_g'e_g + P_g \Lambda_g u_g)(\ldots)'` with e = res s.

    ``r``, ``w`` and ``inv_g`` = (R'WR)^-1 describe the fit whose
    cluster leverage corrects the residuals ``res`` (raw, unscaled); ``a`` is the score matrix
    of the sandwich (None: the fit's own R W, then P_g = L_g). No degrees-of-freedom factor:
    the leverage correction replaces it, as in rdrobust. ``singular`` says what a cluster with
    leverage one (G - L_g singular) gives for CR3: "pinv" (rdrobust's choice for ordinary
    fits) or "zero" correction (its choice for the bias-corrected Q_q sandwich).
    """
    codes, n_cl = cluster_codes(cluster)
    e = res @ s
    rw = r * w[:, None]
    u_r = cluster_cross(codes, n_cl, rw, e[:, None])[:, :, 0]
    lev = cluster_cross(codes, n_cl, rw, r)
    if a is None:
        u_a, p_mat = u_r, lev
    else:
        u_a = cluster_cross(codes, n_cl, a, e[:, None])[:, :, 0]
        p_mat = cluster_cross(codes, n_cl, a, r)
    cr2 = vce == "cr2"
    lam = _cr2_lambda(inv_g, lev) if cr2 else _cr3_lambda(inv_g, rw.T @ r, lev, singular)
    scores = u_a
    if lam is not None:
        scores = u_a + np.einsum("gij,gjk,gk->gi", p_mat, lam, u_r)
    return scores.T @ scores


def fit_meat(fit: Fit, res: np.ndarray, s: np.ndarray, vce: str) -> np.ndarray:
    """The sandwich meat of one pilot fit: CR2/CR3 with clusters, else :func:`meat`."""
    if vce in ("cr2", "cr3") and fit.win.cluster is not None:
        return cr_meat(None, fit.r, fit.w, fit.inv_g, res, s, fit.win.cluster, vce)
    return meat(fit.r * fit.w[:, None], res, s, fit.win.cluster)


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


def _kernel_weight(t, h, kernel_code):  # pragma: no cover - numba
    # Same floating-point expression as kernel_weights (so the support matches rdrobust's w > 0).
    a = abs(t)
    if kernel_code == 0:
        return (1.0 - a) / h if a <= 1.0 else 0.0
    if kernel_code == 1:
        return 0.75 * (1.0 - t * t) / h if a <= 1.0 else 0.0
    return 0.5 / h if a <= 1.0 else 0.0


if _njit is not None:
    _kernel_weight = _njit(cache=True, nogil=True, inline="always")(_kernel_weight)


def _add_powers(pw, powers, w, u):  # pragma: no cover - compiled by numba
    """powers[j] = w u^j; pw += powers (the running power moments of a weighted fit)."""
    powers[0] = w
    for j in range(1, powers.shape[0]):
        powers[j] = powers[j - 1] * u
    for j in range(powers.shape[0]):
        pw[j] += powers[j]


if _njit is not None:
    _add_powers = _njit(cache=True, nogil=True, inline="always")(_add_powers)


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
        w = _kernel_weight((xs - c) / h, h, kernel_code)
        if fw.shape[0] > 0:
            w *= fw[i]
        if w <= 0.0:
            continue
        _add_powers(pw, powers, w, xs - c)
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
    u = (fit.r * fit.w[:, None]).T @ d
    zwd = (d[:, n_yt:] * fit.w[:, None]).T @ d
    return partial_gamma_from_moments(fit.inv_g, u, zwd, n_yt, drop)


def partial_gamma_from_moments(
    inv_g: np.ndarray, u: np.ndarray, zwd: np.ndarray, n_yt: int, drop: bool
) -> np.ndarray:
    """:func:`partial_gamma` from U = R'WD and Z'WD."""
    uigu = u[:, n_yt:].T @ (inv_g @ u)
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
    if scale > 0 and fused_available(side, vce):
        try:
            fm = fit_side_moments(side, c, h_b, o_b, kernel, nnmatch, with_variance=True)
        except _NotIdentified:
            return nan
        v_b = (fm.inv_g @ fm.meat(s) @ fm.inv_g)[-1, -1]
        bias = math.sqrt(2 * (o + 1 - nu)) * b_const * float(np.dot(s, fm.beta[-1, :]))
        v = (2 * nu + 1) * h_v ** (2 * nu + 1) * v_v
        reg = scale * (2 * (o + 1 - nu)) * 3 * b_const**2 * v_b
        return BwPieces(v, bias, reg, 1 / (2 * o + 3))
    try:
        # The first pilot (scale 0) spans the whole side and needs no residuals: no sorting.
        fb = fit_side(side, c, h_b, o_b, kernel, fallback=True, sort=scale > 0)
    except _NotIdentified:
        return nan
    reg = 0.0
    if scale > 0:
        res = residuals(side, fb, vce, nnmatch, o_b + 1, clustered)
        m = fit_meat(fb, res, s, vce)
        v_b = (fb.inv_g @ m @ fb.inv_g)[-1, -1]
        reg = 3 * b_const**2 * v_b
    bias = math.sqrt(2 * (o + 1 - nu)) * b_const * float(np.dot(s, fb.beta[-1, :]))
    v = (2 * nu + 1) * h_v ** (2 * nu + 1) * v_v
    return BwPieces(v, bias, scale * (2 * (o + 1 - nu)) * reg, 1 / (2 * o + 3))


def _bw_vfit(side, c, o, nu, h_v, vce, nnmatch, kernel, n_yt, covs_drop):
    if fused_available(side, vce):
        fm = fit_side_moments(side, c, h_v, o, kernel, nnmatch, with_variance=True)
        gamma = None
        if fm.wd.shape[1] > n_yt:
            gamma = partial_gamma_from_moments(fm.inv_g, fm.wd, fm.dd[n_yt:, :], n_yt, covs_drop)
        s = _pilot_score(fm.beta, gamma, nu, n_yt)
        v_v = (fm.inv_g @ fm.meat(s) @ fm.inv_g)[nu, nu]
        # R'W ((x-c)/h)^(o+1) from the power moments.
        v = fm.pw[o + 1 : 2 * o + 2] / h_v ** (o + 1)
        hp = h_v ** np.arange(o + 1)
        return v_v, (hp * (fm.inv_g @ v))[nu], s
    fv = fit_side(side, c, h_v, o, kernel, fallback=True)
    d = fv.win.d
    gamma = partial_gamma(fv, d, n_yt, covs_drop) if d.shape[1] > n_yt else None
    s = _pilot_score(fv.beta, gamma, nu, n_yt)
    res = residuals(side, fv, vce, nnmatch, o + 1, side.cluster is not None)
    rw = fv.r * fv.w[:, None]
    m = fit_meat(fv, res, s, vce)
    v_v = (fv.inv_g @ m @ fv.inv_g)[nu, nu]
    v = rw.T @ ((fv.xc / h_v) ** (o + 1))
    hp = h_v ** np.arange(o + 1)
    b_const = (hp * (fv.inv_g @ v))[nu]
    return v_v, b_const, s


def _pilot_score(beta, gamma, nu, n_yt):
    """The linear combination s of the D columns whose variance the pilot step needs."""
    n_z = 0 if gamma is None else gamma.shape[0]
    s = np.ones(1)
    if n_z > 0:
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
    return s


# --- Fused bandwidth-selection path (vce="nn", no clusters, no user weights) -------------------
#
# A pilot step needs, per side and bandwidth, only a handful of weighted sums over the
# observations inside the bandwidth: power moments sum w u^j (the Gram matrix G and the bias
# constant), sum w u^j D (coefficients), sum w D D' (covariate partialling) and, for the
# variance, sum w^2 u^j res res'. With the observations sorted, the window is a contiguous block,
# so one compiled pass computes all of them without materialising the design matrix, the
# weights or their products (the numpy path allocates a dozen window-sized arrays per fit).


def _view_block(cx, cd, cols, x_scale, y_scale, a, b):  # pragma: no cover - numba
    """x and D of core rows [a, b) in the view's units (x / x_scale, outcome / y_scale)."""
    n = b - a
    k = cols.shape[0]
    xs = np.empty(n)
    dv = np.empty((n, k))
    for i in range(n):
        xs[i] = cx[a + i] / x_scale if x_scale != 1.0 else cx[a + i]
        for m in range(k):
            val = cd[a + i, cols[m]]
            if m == 0 and y_scale != 1.0:
                val = val / y_scale
            dv[i, m] = val
    return xs, dv


def _positive_block(cx, x_scale, c, h, kernel_code, a, b):  # pragma: no cover - numba
    """Shrink [a, b) of sorted core x to the rows with positive kernel weight (a block)."""
    while a < b:
        xs = cx[a] / x_scale if x_scale != 1.0 else cx[a]
        if _kernel_weight((xs - c) / h, h, kernel_code) > 0.0:
            break
        a += 1
    while b > a:
        xs = cx[b - 1] / x_scale if x_scale != 1.0 else cx[b - 1]
        if _kernel_weight((xs - c) / h, h, kernel_code) > 0.0:
            break
        b -= 1
    return a, b


def _window_moments_loop(xs, dv, res, c, h, kernel_code, n_pow):  # pragma: no cover - numba
    # pw[j] = sum w u^j (j < n_pow), wd[j, m] = sum w u^j D_m (j < n_pow // 2 + 1),
    # dd = sum w D D', mres[j, m1, m2] = sum w^2 u^j res_m1 res_m2 (j < n_pow - 1), u = x - c.
    n, k = dv.shape
    n_coef = n_pow // 2
    use_res = res.shape[0] > 0
    pw = np.zeros(n_pow)
    wd = np.zeros((n_coef, k))
    dd = np.zeros((k, k))
    mres = np.zeros((n_pow - 1 if use_res else 0, k, k))
    powers = np.empty(n_pow)
    for i in range(n):
        u = xs[i] - c
        w = _kernel_weight(u / h, h, kernel_code)
        _add_powers(pw, powers, w, u)
        for m in range(k):
            val = dv[i, m]
            for j in range(n_coef):
                wd[j, m] += powers[j] * val
            for m2 in range(k):
                dd[m, m2] += w * val * dv[i, m2]
        if use_res:
            for m in range(k):
                for m2 in range(k):
                    rr = w * res[i, m] * res[i, m2]
                    for j in range(n_pow - 1):
                        mres[j, m, m2] += rr * powers[j]
    return pw, wd, dd, mres


if _njit is not None:
    _view_block_jit = _njit(cache=True, nogil=True)(_view_block)
    _positive_block_jit = _njit(cache=True, nogil=True)(_positive_block)
    _window_moments_jit = _njit(cache=True, nogil=True)(_window_moments_loop)
else:  # pragma: no cover
    _view_block_jit = _positive_block_jit = _window_moments_jit = None


@dataclass
class MomentFit:
    """A weighted polynomial fit known through its moments (the fused pilot path).

    ``inv_g`` and ``beta`` as in :class:`Fit`; ``pw`` the power moments sum w u^j (up to
    2 order + 1), ``wd`` = R'W D, ``dd`` = D'W D and ``mres`` the variance moments.
    """

    order: int
    inv_g: np.ndarray
    beta: np.ndarray
    pw: np.ndarray
    wd: np.ndarray
    dd: np.ndarray
    mres: np.ndarray
    n: int

    def meat(self, s: np.ndarray) -> np.ndarray:
        """sum_i (s'res_i)^2 w_i^2 r_i r_i' from the moments (r_i r_i' depends on j+l only)."""
        by_power = np.einsum("jab,a,b->j", self.mres, s, s)
        idx = np.add.outer(np.arange(self.order + 1), np.arange(self.order + 1))
        return by_power[idx]


def fused_available(side: Side, vce: str) -> bool:
    """The fused path covers the default case: nn variance, no clusters, no user weights."""
    return (
        _window_moments_jit is not None and vce == "nn" and side.cluster is None and side.fw is None
    )


def fit_side_moments(
    side: Side, c: float, h: float, order: int, kernel: str, nnmatch: int, *, with_variance: bool
) -> MomentFit:
    """Fit of ``order`` at bandwidth h on one side from one compiled pass over the window."""
    margin = h * (1 + 1e-9)
    side._ensure_core(margin)
    data = side.data
    cx, cd = data.core[0], data.core[1]
    # The core is in raw units; the window edge is searched in raw units with the same margin.
    raw_margin, raw_c = margin * side.x_scale, c * side.x_scale
    if side.left:
        a, b = int(np.searchsorted(cx, raw_c - raw_margin, side="left")), cx.shape[0]
    else:
        a, b = 0, int(np.searchsorted(cx, raw_c + raw_margin, side="right"))
    code = _KERNEL_CODE[kernel]
    a, b = _positive_block_jit(cx, float(side.x_scale), c, h, code, a, b)
    cols = side.cols if side.cols is not None else np.arange(cd.shape[1])
    cols = np.asarray(cols, dtype=np.int64)
    xs, dv = _view_block_jit(cx, cd, cols, float(side.x_scale), float(side.y_scale), a, b)
    if b - a < order + 1 or not has_distinct(xs, order + 1, is_sorted=True):
        raise _NotIdentified
    res = np.empty((0, dv.shape[1]))
    if with_variance:
        key = ("fused", a, b, nnmatch)
        if key not in side.nn_cache:
            side.nn_cache[key] = nn_residuals(xs, dv, nnmatch)
        res = side.nn_cache[key]
    pw, wd, dd, mres = _window_moments_jit(xs, dv, res, c, h, code, 2 * order + 2)
    idx = np.add.outer(np.arange(order + 1), np.arange(order + 1))
    inv_g = inv_spd(pw[idx], fallback=True)
    return MomentFit(order, inv_g, inv_g @ wd, pw, wd, dd, mres, b - a)
