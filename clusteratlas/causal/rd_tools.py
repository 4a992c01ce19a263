"""RD diagnostics built on :func:`clusteratlas.causal.rd.rdrobust`: binned plots, placebo
cutoffs and bandwidth sensitivity, each returning a tidy table and a matplotlib figure.

* :func:`rdplot` -- evenly spaced bins with the IMSE-optimal number of bins of Calonico,
  Cattaneo and Titiunik (2015, JASA), rdrobust's ``binselect="es"``: per side
  J = ceil((2 B / V * n)^(1/3)) with B = range^2/(12 n) sum mu'(x_i)^2 (mu a global quartic
  fit) and V = 1/(2 range) sum (x_(i+1)-x_(i)) (y_(i+1)-y_(i))^2; plus global polynomial fits
  of order p (default 4) on each side;
* :func:`rd_placebo` -- RD estimates at placebo cutoffs, each using only the observations on
  the same side of the true cutoff (so the true jump cannot contaminate it);
* :func:`rd_bandwidth_sensitivity` -- the estimate and robust CI over a grid of bandwidths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from clusteratlas.causal.rd import _column, _covariates, _numeric, rdrobust
from clusteratlas.errors import EstimationError, InputError, ParameterError


@dataclass
class RDTable:
    """A tidy table and the matching figure."""

    table: pd.DataFrame
    figure: Figure

    def tidy(self) -> pd.DataFrame:
        return self.table


def _xy(y, x, data, dropna: bool) -> tuple[np.ndarray, np.ndarray, str, str]:
    y_arr, x_arr, y_label, x_label, keep = _xy_rows(y, x, data, dropna)
    if not keep.all():
        y_arr, x_arr = y_arr[keep], x_arr[keep]
    return y_arr, x_arr, y_label, x_label


def _xy_rows(y, x, data, dropna: bool) -> tuple[np.ndarray, np.ndarray, str, str, np.ndarray]:
    """y and x as float arrays (all rows) and the mask of rows with both finite."""
    y_arr, y_label = _column(y, data, "y")
    x_arr, x_label = _column(x, data, "x")
    y_arr, x_arr = _numeric(y_arr, y_label), _numeric(x_arr, x_label)
    if y_arr.shape[0] != x_arr.shape[0]:
        raise InputError(
            f"y has {y_arr.shape[0]} values but x has {x_arr.shape[0]}", column=y_label
        )
    keep = np.isfinite(y_arr) & np.isfinite(x_arr)
    if not keep.all() and not dropna:
        raise InputError(
            f"{int((~keep).sum())} rows with missing y or x",
            column=f"{y_label}/{x_label}",
            hint="pass dropna=True to drop them",
        )
    return y_arr, x_arr, y_label, x_label, keep


# rdrobust options holding one value per observation: they must follow every row selection.
_PER_OBSERVATION = ("fuzzy", "covs", "cluster", "weights", "subset")


def _per_observation_options(options: dict, data: pd.DataFrame | None, n: int) -> dict:
    """Resolve the per-observation options (column names with ``data=``) to Series/frames.

    Names survive (a Series keeps its label, covariates stay a DataFrame: rdrobust orders them
    by name), so a fit on a subset reports what a fit on the full data would. Each option must
    have one value per row of x.
    """
    out = dict(options)
    for name in _PER_OBSERVATION:
        value = options.get(name)
        if value is None:
            continue
        if name == "covs":
            values, names = _covariates(value, data)
            value = pd.DataFrame(values, columns=names)
        else:
            arr, label = _column(value, data, name)
            value = pd.Series(arr, name=label)
        if len(value) != n:
            raise InputError(f"has {len(value)} values but x has {n}", column=name)
        out[name] = value
    return out


def _take_rows(options: dict, rows: np.ndarray) -> dict:
    """The per-observation options restricted to the rows selected by the boolean ``rows``."""
    if rows.all():
        return options
    out = dict(options)
    for name in _PER_OBSERVATION:
        value = options.get(name)
        if value is not None:
            out[name] = value.iloc[rows]
    return out


# ----------------------------------------------------------------------------- rdplot --


def _imse_bins(x: np.ndarray, y: np.ndarray, lo: float, hi: float, n_total: int) -> int:
    """IMSE-optimal number of evenly spaced bins on one side (rdrobust's J_es_hat_dw)."""
    k = 4
    for k in range(4, 1, -1):
        r = x[:, None] ** np.arange(k + 1)
        g = r.T @ r
        try:
            np.linalg.cholesky(g)
            break
        except np.linalg.LinAlgError:
            continue
    gamma = np.linalg.solve(g, r.T @ y)
    dr = np.column_stack([(j + 1) * x**j for j in range(k)])
    mu1 = dr @ gamma[1:]
    # Same (default) sort as rdrobust: with ties the order among equal x changes the y differences.
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    bias = ((hi - lo) ** 2 / (12 * n_total)) * np.sum(mu1**2)
    var = (0.5 / (hi - lo)) * np.sum(np.diff(xs) * np.diff(ys) ** 2)
    if not (np.isfinite(bias) and np.isfinite(var) and var > 0):
        raise EstimationError(
            "cannot select the number of bins: the outcome does not vary on one side"
        )
    return int(np.ceil(((2 * bias / var) * n_total) ** (1 / 3)))


@dataclass
class RDPlot:
    """Binned means, global polynomial fits and the figure."""

    bins: pd.DataFrame
    J: tuple[int, int]
    J_IMSE: tuple[int, int]
    poly_left: np.ndarray
    poly_right: np.ndarray
    figure: Figure

    def tidy(self) -> pd.DataFrame:
        return self.bins


def rdplot(
    y: Any,
    x: Any,
    c: float = 0.0,
    p: int = 4,
    nbins: int | tuple[int, int] | None = None,
    scale: float = 1.0,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
    title: str | None = None,
) -> RDPlot:
    """Binned scatter (IMSE-optimal evenly spaced bins unless ``nbins``) with polynomial fits."""
    y_arr, x_arr, y_label, x_label = _xy(y, x, data, dropna)
    left = x_arr < c
    if left.sum() < p + 2 or (~left).sum() < p + 2:
        raise EstimationError(
            f"rdplot needs at least p+2={p + 2} observations on each side of c={c}"
        )
    x_min, x_max = float(x_arr.min()), float(x_arr.max())
    n = x_arr.shape[0]
    j_imse = (
        _imse_bins(x_arr[left], y_arr[left], x_min, c, n),
        _imse_bins(x_arr[~left], y_arr[~left], c, x_max, n),
    )
    if nbins is None:
        j = (max(1, int(np.ceil(scale * j_imse[0]))), max(1, int(np.ceil(scale * j_imse[1]))))
    else:
        nb = np.atleast_1d(nbins).astype(int)
        j = (int(nb[0]), int(nb[-1]))
        if min(j) < 1:
            raise ParameterError("nbins", "must be positive")
    rows = []
    for side, mask, lo, hi, jj in (
        ("left", left, x_min, c, j[0]),
        ("right", ~left, c, x_max, j[1]),
    ):
        edges = np.linspace(lo, hi, jj + 1)
        xs, ys = x_arr[mask], y_arr[mask]
        idx = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, jj - 1)
        counts = np.bincount(idx, minlength=jj)
        sums_y = np.bincount(idx, weights=ys, minlength=jj)
        sums_x = np.bincount(idx, weights=xs, minlength=jj)
        for b in np.flatnonzero(counts):
            rows.append(
                {"side": side, "bin": int(b), "bin_left": edges[b], "bin_right": edges[b + 1],
                 "x_mean": sums_x[b] / counts[b], "y_mean": sums_y[b] / counts[b], "n": int(counts[b])}
            )  # fmt: skip
    bins = pd.DataFrame(rows)
    polys = []
    for mask in (left, ~left):
        xc = x_arr[mask] - c
        polys.append(np.polynomial.polynomial.polyfit(xc, y_arr[mask], p))
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.scatter(bins["x_mean"], bins["y_mean"], s=14, color="#1f4e79", label="bin means")
    for coef, lo, hi in ((polys[0], x_min, c), (polys[1], c, x_max)):
        grid = np.linspace(lo, hi, 200)
        ax.plot(grid, np.polynomial.polynomial.polyval(grid - c, coef), color="#c0392b", lw=1.8)
    ax.axvline(c, color="black", lw=0.8, ls="--")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(
        title
        or f"RD plot: {j[0]} + {j[1]} evenly spaced bins (IMSE {j_imse[0]} + {j_imse[1]}), order-{p} fits"
    )
    return RDPlot(bins, j, j_imse, polys[0], polys[1], fig)


# ----------------------------------------------------------------------------- placebo --


def rd_placebo(
    y: Any,
    x: Any,
    c: float = 0.0,
    cutoffs: list[float] | np.ndarray | None = None,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
    **rdrobust_options: Any,
) -> RDTable:
    """RD estimates at placebo cutoffs (default: the 20/40/60/80th percentiles of x on each side).

    A placebo cutoff below c uses only observations with x < c, one above c only x >= c, so the
    true discontinuity never enters a placebo fit. Cutoffs where estimation is impossible are
    reported with ``status`` giving the reason (their estimate columns are empty on purpose).
    """
    y_arr, x_arr, _, x_label, keep = _xy_rows(y, x, data, dropna)
    options = _per_observation_options(rdrobust_options, data, x_arr.shape[0])
    if dropna:
        options["dropna"] = True  # rows with a missing covariate, cluster, ... drop in rdrobust
    if cutoffs is None:
        left, right = x_arr[keep & (x_arr < c)], x_arr[keep & (x_arr >= c)]
        cutoffs = np.r_[
            np.quantile(left, [0.2, 0.4, 0.6, 0.8]), np.quantile(right, [0.2, 0.4, 0.6, 0.8])
        ]
    rows = []
    for cc in [c, *[float(v) for v in cutoffs if float(v) != c]]:
        # A placebo cutoff only sees its own side of the true cutoff; y, x and every
        # per-observation option (fuzzy, covs, cluster, weights, subset) are cut the same way.
        mask = keep if cc == c else keep & (x_arr < c if cc < c else x_arr >= c)
        row = {
            "cutoff": cc,
            "true_cutoff": cc == c,
            "sample": "all" if cc == c else ("below c" if cc < c else "above c"),
        }
        try:
            res = rdrobust(y_arr[mask], x_arr[mask], c=cc, **_take_rows(options, mask))
            row.update(
                estimate=res.coef["Conventional"], robust_ci_lower=res.ci.loc["Robust", "lower"],
                robust_ci_upper=res.ci.loc["Robust", "upper"], robust_p_value=res.pv["Robust"],
                h_left=res.h[0], h_right=res.h[1], n_h_left=res.N_h[0], n_h_right=res.N_h[1], status="ok",
            )  # fmt: skip
        except EstimationError as exc:
            row.update(status=f"not estimable: {exc}")
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("cutoff").reset_index(drop=True)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ok = table[table["status"] == "ok"]
    colors = np.where(ok["true_cutoff"], "#c0392b", "#1f4e79")
    ax.errorbar(
        ok["cutoff"], ok["estimate"],
        yerr=[ok["estimate"] - ok["robust_ci_lower"], ok["robust_ci_upper"] - ok["estimate"]],
        fmt="none", ecolor="grey", capsize=3,
    )  # fmt: skip
    ax.scatter(ok["cutoff"], ok["estimate"], c=colors, zorder=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(f"cutoff in {x_label} (red: true cutoff)")
    ax.set_ylabel("RD estimate (robust 95% CI)")
    ax.set_title("Placebo cutoffs")
    return RDTable(table, fig)


# ----------------------------------------------------------------------------- sensitivity --


def rd_bandwidth_sensitivity(
    y: Any,
    x: Any,
    h_grid: list[float] | np.ndarray | None = None,
    c: float = 0.0,
    data: pd.DataFrame | None = None,
    dropna: bool = False,
    **rdrobust_options: Any,
) -> RDTable:
    """The RD estimate over a grid of bandwidths (default 0.5 to 2 times the MSE-optimal h).

    Each fit uses b = h (rdrobust's convention when only h is given) unless ``rho`` is passed.
    The MSE-optimal fit is included and flagged.
    """
    y_arr, x_arr, _, x_label, keep = _xy_rows(y, x, data, dropna)
    rdrobust_options = _per_observation_options(rdrobust_options, data, x_arr.shape[0])
    if dropna:
        rdrobust_options["dropna"] = True
    y_arr, x_arr = y_arr[keep], x_arr[keep]
    rdrobust_options = _take_rows(rdrobust_options, keep)
    optimal = rdrobust(y_arr, x_arr, c=c, **rdrobust_options)
    if h_grid is None:
        h_grid = optimal.h[0] * np.array([0.5, 0.75, 1.0, 1.25, 1.5, 2.0])
    h_grid = np.asarray(h_grid, dtype=float)
    if h_grid.size == 0 or np.any(h_grid <= 0) or not np.all(np.isfinite(h_grid)):
        raise ParameterError("h_grid", "must hold positive bandwidths")
    manual = {k: v for k, v in rdrobust_options.items() if k not in ("bwselect", "h", "b")}
    rows = []
    for h in h_grid:
        row = {"h": float(h), "mse_optimal": False}
        try:
            res = rdrobust(y_arr, x_arr, c=c, h=float(h), **manual)
            row.update(
                estimate=res.coef["Conventional"], se=res.se["Conventional"],
                robust_ci_lower=res.ci.loc["Robust", "lower"], robust_ci_upper=res.ci.loc["Robust", "upper"],
                n_h_left=res.N_h[0], n_h_right=res.N_h[1], status="ok",
            )  # fmt: skip
        except EstimationError as exc:
            row.update(status=f"not estimable: {exc}")
        rows.append(row)
    rows.append(
        {"h": optimal.h[0], "mse_optimal": True, "estimate": optimal.coef["Conventional"], "se": optimal.se["Conventional"],
         "robust_ci_lower": optimal.ci.loc["Robust", "lower"], "robust_ci_upper": optimal.ci.loc["Robust", "upper"],
         "n_h_left": optimal.N_h[0], "n_h_right": optimal.N_h[1], "status": "ok"}
    )  # fmt: skip
    table = pd.DataFrame(rows).sort_values("h").reset_index(drop=True)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ok = table[table["status"] == "ok"]
    ax.fill_between(
        ok["h"],
        ok["robust_ci_lower"],
        ok["robust_ci_upper"],
        color="#1f4e79",
        alpha=0.15,
        label="robust 95% CI",
    )
    ax.plot(ok["h"], ok["estimate"], marker="o", color="#1f4e79", label="estimate")
    ax.axvline(optimal.h[0], color="#c0392b", ls="--", lw=1, label="MSE-optimal h")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(f"bandwidth h (units of {x_label})")
    ax.set_ylabel("RD estimate")
    ax.legend(frameon=False)
    ax.set_title("Bandwidth sensitivity")
    return RDTable(table, fig)


def plot_result(result, x=None, y=None, ax=None, nbins=None):
    """Figure for an :class:`RDResult`: binned data inside max(h) and local linear fits."""
    if x is None or y is None:
        raise ParameterError("x/y", "RDResult.plot needs the data: result.plot(x, y)")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    c = result.c
    hmax = max(result.h)
    keep = np.isfinite(x) & np.isfinite(y) & (np.abs(x - c) <= hmax)
    plot = rdplot(y[keep], x[keep], c=c, p=result.p, nbins=nbins)
    fig = plot.figure
    fig.axes[0].set_title(
        f"RD estimate {result.estimate:.3f} (robust CI {result.robust_ci[0]:.3f}, {result.robust_ci[1]:.3f}); data within h"
    )
    return fig
