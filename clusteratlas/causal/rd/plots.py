"""RD plots: binned scatter with IMSE-optimal evenly spaced bins and global polynomial fits.

Owns :func:`rdplot` (Calonico, Cattaneo and Titiunik 2015, rdrobust's ``binselect="es"``: per
side J = ceil((2 B / V * n)^(1/3)) with B = range^2/(12 n) sum mu'(x_i)^2 (mu a global quartic
fit) and V = 1/(2 range) sum (x_(i+1)-x_(i)) (y_(i+1)-y_(i))^2) and the figure of an
:class:`~clusteratlas.causal.rd.RDResult` (:func:`plot_result`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from clusteratlas.causal.rd.inputs import xy_arrays
from clusteratlas.errors import EstimationError, ParameterError
from clusteratlas.results import Result


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
class RDPlot(Result):
    """Binned means, global polynomial fits and the figure."""

    bins: pd.DataFrame
    J: tuple[int, int]
    J_IMSE: tuple[int, int]
    poly_left: np.ndarray
    poly_right: np.ndarray
    figure: Figure

    caption = "RD plot: binned means"

    def tidy(self) -> pd.DataFrame:
        """The bins (one row per bin: its range, mean of x and of y, count)."""
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
    y_arr, x_arr, y_label, x_label = xy_arrays(y, x, data, dropna)
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
