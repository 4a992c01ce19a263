"""Data-driven bandwidths for local-polynomial RD: MSE- and CER-optimal selectors.

Owns :func:`rdbwselect` (rdrobust's ``mserd``, ``msetwo``, ``msesum``, ``msecomb1/2`` and the CER
variants, Calonico, Cattaneo and Titiunik 2014; Calonico, Cattaneo and Farrell 2020) and the
selection routine the estimator calls.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clusteratlas.causal.rd.core import PILOT_CONSTANT, bw_pieces
from clusteratlas.causal.rd.inputs import (
    BWSELECTS,
    SQRT_EPS,
    ArrayLike,
    Prepared,
    check_options,
    prepare,
    quantile_type2,
    sides,
    split_sides,
    vce_label,
)
from clusteratlas.errors import EstimationError, EstimationWarning
from clusteratlas.results import Result


@dataclass
class RDBandwidths(Result):
    """Selected bandwidths: a table with one row per selector and columns h/b left/right."""

    table: pd.DataFrame
    kernel: str
    p: int
    q: int
    c: float
    N: tuple[int, int]
    vce: str

    def summary(self) -> str:
        head = (
            f"Bandwidth selection (rdbwselect)\nN = {self.N[0]} left, {self.N[1]} right; "
            f"p = {self.p}, q = {self.q}; kernel {self.kernel}; vce {self.vce}\n"
        )
        return head + self.table.round(4).to_string()

    caption = "Selected RD bandwidths (rdbwselect)"

    def tidy(self) -> pd.DataFrame:
        """One row per selector (``bwselect``) with h and b on each side."""
        return self.table.rename_axis("bwselect").reset_index()


def select_bandwidths(
    prep: Prepared,
    *,
    p: int,
    q: int,
    deriv: int,
    kernel: str,
    bwselect: str,
    vce: str,
    nnmatch: int,
    scaleregul: float,
    sharpbw: bool,
    masspoints: str,
    bwcheck: int | None,
    bwrestrict: bool,
    stdvars: bool,
    covs_drop: bool,
    all_selectors: bool = False,
) -> pd.DataFrame:
    """Bandwidths (rdrobust's ``_rdbwselect_compute``) as a table of h/b left/right."""
    x, y, c = prep.x, prep.y, prep.c
    n = x.shape[0]
    sorted_x = prep.xs
    n_l = prep.n_left
    n_r = n - n_l
    iqr = quantile_type2(sorted_x, 0.75) - quantile_type2(sorted_x, 0.25)
    x_sd = y_sd = 1.0
    bwp = min(float(np.std(x, ddof=1)), iqr / 1.349)
    if stdvars:
        x_sd = float(np.std(x, ddof=1))
        y_sd = float(np.std(y, ddof=1))
        bwp = min(1.0, (iqr / x_sd) / 1.349)
    cs = c / x_sd
    use_t = False
    if prep.t is not None and not sharpbw:
        t_l, t_r = split_sides(prep)["t"]
        use_t = bool(np.var(t_l) > 0 and np.var(t_r) > 0)
    left, right = sides(prep, x_sd, y_sd, cs, use_t)
    n_yt = 2 if use_t else 1
    sorted_l, sorted_r = sorted_x[:n_l] / x_sd, sorted_x[n_l:] / x_sd
    x_min, x_max = sorted_l[0], sorted_r[-1]
    range_l, range_r = abs(cs - x_min), abs(cs - x_max)

    m_l, m_r = n_l, n_r
    if masspoints in ("check", "adjust") or bwcheck is not None:
        m_l = int(np.count_nonzero(np.diff(sorted_l)) + 1)
        m_r = int(np.count_nonzero(np.diff(sorted_r)) + 1)
    m_total = m_l + m_r if masspoints in ("check", "adjust") else n

    c_bw = PILOT_CONSTANT[kernel] * bwp * (m_total if masspoints == "adjust" else n) ** (-1 / 5)
    bw_max_l, bw_max_r = range_l, range_r
    bw_max = max(bw_max_l, bw_max_r)
    if bwrestrict:
        c_bw = min(c_bw, bw_max)
    bw_min_l = bw_min_r = 0.0
    if bwcheck is not None:
        uniq_l = np.unique(sorted_l)[::-1]
        uniq_r = np.unique(sorted_r)
        bw_min_l = abs(uniq_l - cs)[min(bwcheck, m_l) - 1] * (1 + SQRT_EPS)
        bw_min_r = abs(uniq_r - cs)[min(bwcheck, m_r) - 1] * (1 + SQRT_EPS)
        c_bw = max(c_bw, bw_min_l, bw_min_r)

    cache_l: dict = {}
    cache_r: dict = {}

    def pieces(side, cache, o, nu, o_b, h_b, scale):
        return bw_pieces(
            side, cs, o, nu, o_b, c_bw, h_b, scale, vce, nnmatch, kernel, n_yt, covs_drop, cache
        )

    def restrict(val, hi, lo=None):
        if bwrestrict:
            val = min(val, hi)
        if lo is not None and bwcheck is not None:
            val = max(val, lo)
        return val

    cd_l = pieces(left, cache_l, q + 1, q + 1, q + 2, range_l * (1 + SQRT_EPS), 0)
    cd_r = pieces(right, cache_r, q + 1, q + 1, q + 2, range_r * (1 + SQRT_EPS), 0)
    need_two = all_selectors or bwselect in ("msetwo", "certwo", "msecomb2", "cercomb2")
    need_sum = all_selectors or bwselect in (
        "msesum",
        "cersum",
        "msecomb1",
        "msecomb2",
        "cercomb1",
        "cercomb2",
    )
    need_rd = all_selectors or bwselect in (
        "mserd",
        "cerrd",
        "msecomb1",
        "msecomb2",
        "cercomb1",
        "cercomb2",
    )
    out: dict[str, tuple[float, float, float, float]] = {}
    reg = scaleregul

    def ratio(num, bias_sq, r):
        return num / (bias_sq + reg * r)

    if need_two:
        d_l = restrict((cd_l.v / cd_l.b**2) ** cd_l.rate, bw_max_l, bw_min_l)
        d_r = restrict((cd_r.v / cd_r.b**2) ** cd_r.rate, bw_max_r, bw_min_r)
        cb_l = pieces(left, cache_l, q, p + 1, q + 1, d_l, scaleregul)
        cb_r = pieces(right, cache_r, q, p + 1, q + 1, d_r, scaleregul)
        b_l = restrict(ratio(cb_l.v, cb_l.b**2, cb_l.reg) ** cb_l.rate, bw_max_l)
        b_r = restrict(ratio(cb_r.v, cb_r.b**2, cb_r.reg) ** cb_r.rate, bw_max_r)
        ch_l = pieces(left, cache_l, p, deriv, q, b_l, scaleregul)
        ch_r = pieces(right, cache_r, p, deriv, q, b_r, scaleregul)
        h_l = restrict(ratio(ch_l.v, ch_l.b**2, ch_l.reg) ** ch_l.rate, bw_max_l)
        h_r = restrict(ratio(ch_r.v, ch_r.b**2, ch_r.reg) ** ch_r.rate, bw_max_r)
        out["msetwo"] = (x_sd * h_l, x_sd * h_r, x_sd * b_l, x_sd * b_r)
    for name, sign, needed in (("msesum", 1.0, need_sum), ("mserd", -1.0, need_rd)):
        if not needed:
            continue
        d_s = restrict(
            ((cd_l.v + cd_r.v) / (cd_r.b + sign * cd_l.b) ** 2) ** cd_l.rate,
            bw_max,
            max(bw_min_l, bw_min_r),
        )
        cb_l = pieces(left, cache_l, q, p + 1, q + 1, d_s, scaleregul)
        cb_r = pieces(right, cache_r, q, p + 1, q + 1, d_s, scaleregul)
        b_s = restrict(
            ratio(cb_l.v + cb_r.v, (cb_r.b + sign * cb_l.b) ** 2, cb_r.reg + cb_l.reg) ** cb_l.rate,
            bw_max,
        )
        ch_l = pieces(left, cache_l, p, deriv, q, b_s, scaleregul)
        ch_r = pieces(right, cache_r, p, deriv, q, b_s, scaleregul)
        h_s = restrict(
            ratio(ch_l.v + ch_r.v, (ch_r.b + sign * ch_l.b) ** 2, ch_r.reg + ch_l.reg) ** ch_l.rate,
            bw_max,
        )
        out[name] = (x_sd * h_s, x_sd * h_s, x_sd * b_s, x_sd * b_s)
    if "mserd" in out and "msesum" in out:
        h1 = float(np.min([out["mserd"][0], out["msesum"][0]]))
        b1 = float(np.min([out["mserd"][2], out["msesum"][2]]))
        out["msecomb1"] = (h1, h1, b1, b1)
    if "msetwo" in out and "msesum" in out and "mserd" in out:
        out["msecomb2"] = tuple(
            float(np.median([out["mserd"][i], out["msesum"][i], out["msetwo"][i]]))
            for i in range(4)
        )
    if prep.cluster is not None:
        g_total = len(np.unique(left.cluster)) + len(np.unique(right.cluster))
        cer_h = g_total ** (-(p / ((3 + p) * (3 + 2 * p))))
    else:
        cer_h = n ** (-(p / ((3 + p) * (3 + 2 * p))))
    for mse, cer in (
        ("mserd", "cerrd"),
        ("msetwo", "certwo"),
        ("msesum", "cersum"),
        ("msecomb1", "cercomb1"),
        ("msecomb2", "cercomb2"),
    ):
        if mse in out:
            hl, hr, bl, br = out[mse]
            out[cer] = (hl * cer_h, hr * cer_h, bl, br)
    names = list(BWSELECTS) if all_selectors else [bwselect]
    return pd.DataFrame(
        [out[nm] for nm in names],
        index=pd.Index(names, name="bwselect"),
        columns=["h_left", "h_right", "b_left", "b_right"],
    )


def rdbwselect(
    y: ArrayLike,
    x: ArrayLike,
    c: float = 0.0,
    fuzzy: ArrayLike | None = None,
    deriv: int | None = None,
    p: int | None = None,
    q: int | None = None,
    covs: ArrayLike | None = None,
    covs_drop: bool = True,
    kernel: str = "tri",
    weights: ArrayLike | None = None,
    bwselect: str = "mserd",
    vce: str = "nn",
    cluster: ArrayLike | None = None,
    nnmatch: int = 3,
    scaleregul: float = 1.0,
    sharpbw: bool = False,
    all: bool = False,  # noqa: A002 - rdrobust's option name
    masspoints: str = "adjust",
    bwcheck: int | None = None,
    bwrestrict: bool = True,
    stdvars: bool = True,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
) -> RDBandwidths:
    """MSE/CER-optimal bandwidths h (estimation) and b (bias) for :func:`rdrobust`.

    With ``all=True`` every selector is reported (one row each), as rdrobust's rdbwselect.
    """
    p, q, deriv, kernel, bwselect, vce, masspoints = check_options(
        p, q, deriv, kernel, bwselect, vce, masspoints, 95, nnmatch, cluster
    )
    prep = prepare(y, x, c, fuzzy, covs, covs_drop, cluster, weights, data, dropna)
    bwcheck = masspoint_check(prep, masspoints, bwcheck)
    table = select_bandwidths(
        prep, p=p, q=q, deriv=deriv, kernel=kernel, bwselect=bwselect, vce=vce, nnmatch=nnmatch,
        scaleregul=scaleregul, sharpbw=sharpbw, masspoints=masspoints, bwcheck=bwcheck,
        bwrestrict=bwrestrict, stdvars=stdvars, covs_drop=covs_drop, all_selectors=all,
    )  # fmt: skip
    guard_bandwidths(table.iloc[0].to_numpy())
    n_l = prep.n_left
    n_obs = (n_l, prep.xs.shape[0] - n_l)
    return RDBandwidths(table, kernel, p, q, prep.c, n_obs, vce_label(vce, prep.cluster))


def guard_bandwidths(bws: np.ndarray) -> None:
    if not (np.all(np.isfinite(bws)) and np.all(bws > 0)):
        raise EstimationError(
            "not enough variability in the running variable to select a bandwidth (a pilot "
            "fit is not identified); check for mass points (masspoints='check') or give h= "
            "by hand"
        )


def masspoint_check(prep: Prepared, masspoints: str, bwcheck: int | None) -> int | None:
    if masspoints in ("check", "adjust"):
        n_l = prep.n_left
        xl, xr = prep.xs[:n_l], prep.xs[n_l:]
        m_l = np.count_nonzero(np.diff(xl)) + 1
        m_r = np.count_nonzero(np.diff(xr)) + 1
        if 1 - m_l / n_l >= 0.2 or 1 - m_r / xr.shape[0] >= 0.2:
            warnings.warn(
                "Mass points detected in the running variable"
                + ("; try masspoints='adjust'" if masspoints == "check" else ""),
                category=EstimationWarning,
                stacklevel=3,
            )
            if masspoints == "adjust" and bwcheck is None:
                bwcheck = 10
    return bwcheck


# ----------------------------------------------------------------------------- estimation --
