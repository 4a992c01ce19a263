"""RD falsification: estimates at placebo cutoffs and over a grid of bandwidths.

* :func:`rd_placebo` -- RD estimates at placebo cutoffs, each using only the observations on
  the same side of the true cutoff (so the true jump cannot contaminate it);
* :func:`rd_bandwidth_sensitivity` -- the estimate and robust CI over a grid of bandwidths.

Each returns a tidy table and a matplotlib figure (:class:`RDTable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from clusteratlas.causal.rd.estimate import rdrobust
from clusteratlas.causal.rd.inputs import per_observation_options, take_rows, xy_rows
from clusteratlas.errors import EstimationError, ParameterError
from clusteratlas.results import EstimatorResult


@dataclass
class RDTable(EstimatorResult):
    """RD estimates over placebo cutoffs or bandwidths (:attr:`table`) and the matching figure.

    In :meth:`tidy` the estimate and std_error are rdrobust's conventional ones, p_value and
    conf_low/high the robust bias-corrected ones (rdrobust's own display), one row per cutoff
    (``term`` = ``c=<cutoff>``) or bandwidth (``h=<h>``); rows that could not be estimated
    keep empty estimates and say why in ``status``.
    """

    table: pd.DataFrame
    figure: Figure

    tidy_extras = (
        "cutoff", "true_cutoff", "sample", "h", "mse_optimal", "h_left", "h_right",
        "n_h_left", "n_h_right", "status",
    )  # fmt: skip
    tidy_renamed = {
        "robust_ci_lower": "conf_low",
        "robust_ci_upper": "conf_high",
        "robust_p_value": "p_value",
        "se": "std_error",
    }

    @property
    def caption(self) -> str:
        kind = "placebo cutoffs" if "cutoff" in self.table.columns else "bandwidth sensitivity"
        return f"RD estimates: {kind} (robust bias-corrected CI and p)"

    def _tidy(self) -> pd.DataFrame:
        out = self.table.rename(columns=self.tidy_renamed)
        if "cutoff" in out.columns:
            out.insert(0, "term", [f"c={v:g}" for v in out["cutoff"]])
        else:
            out.insert(0, "term", [f"h={v:g}" for v in out["h"]])
        return out


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
    y_arr, x_arr, _, x_label, keep = xy_rows(y, x, data, dropna)
    options = per_observation_options(rdrobust_options, data, x_arr.shape[0])
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
            res = rdrobust(y_arr[mask], x_arr[mask], c=cc, **take_rows(options, mask))
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
    y_arr, x_arr, _, x_label, keep = xy_rows(y, x, data, dropna)
    rdrobust_options = per_observation_options(rdrobust_options, data, x_arr.shape[0])
    if dropna:
        rdrobust_options["dropna"] = True
    y_arr, x_arr = y_arr[keep], x_arr[keep]
    rdrobust_options = take_rows(rdrobust_options, keep)
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
