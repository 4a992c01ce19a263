"""Comparative statics of per-capita real income and of the degree of division of labour.

Along one parameter ``p`` the general equilibrium (GE) is piecewise one structure, so

* per-capita real income ``u(p)`` is continuous (structures tie at every switch) and, inside
  each piece, ``d log u/dp`` is the closed-form derivative of that structure's income
  (:mod:`clusteratlas.theory.symbolic`; ``method = "analytic"``). For structures without
  a closed form (``structures="all"``) it is a central finite difference (``"numeric"``);
  the column ``dlog_income_numeric`` gives the finite difference everywhere, as a check;
* the degree of division of labour jumps at the switches and is constant or smooth inside
  the pieces: ``traded_goods`` (0, 2 or 3), ``division_level`` (0 autarky, 1 partial,
  2 complete) and ``specialised_share``, the share of the population in configurations that
  produce only the good they sell (closed form from market clearing for the paper
  structures, with its analytic derivative ``dspecialised_share``).

The switches themselves come from :func:`clusteratlas.theory.boundaries.ge_thresholds`
(closed form where one exists). :meth:`ComparativeStatics.figure` draws all of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

from clusteratlas import atomic
from clusteratlas.errors import ParameterError
from clusteratlas.theory import symbolic
from clusteratlas.theory.boundaries import PARAMETERS, ge_thresholds
from clusteratlas.theory.configs import CONFIGURATIONS
from clusteratlas.theory.model import (
    Params,
    clear_markets,
    regimes,
    select_structures,
    solve_prices,
)
from clusteratlas.theory.structures import ALL_STRUCTURES, PAPER_STRUCTURES

STEP = 1e-6  # relative step of the central finite differences


def specialised(config: str) -> bool:
    """A configuration is specialised when it produces only the good it sells."""
    spec = CONFIGURATIONS[config]
    return spec.sells is not None and spec.produces == (spec.sells,)


@cache
def specialised_share_expression(structure: str, per_good: tuple[str, ...] = ()) -> sp.Expr:
    """Closed-form share of the population in specialised configurations of a paper structure."""
    spec = PAPER_STRUCTURES[structure]
    if not spec.traded:
        return sp.Integer(0)
    numbers = symbolic.corner(structure).numbers
    seller = {CONFIGURATIONS[c].sells: c for c in spec.configurations}
    reference = sorted(seller)[-1]  # numbers relative to the seller of the last good
    relative = {}
    for good, config in seller.items():
        key = f"M_{good}/M_{reference}"
        relative[config] = numbers[key].expr() if key in numbers else sp.Integer(1)
    total = sp.Add(*relative.values())
    share = sp.Add(*[v for c, v in relative.items() if specialised(c)]) / total
    return sp.simplify(share.subs(symbolic.design_substitution(per_good)))


@dataclass
class ComparativeStatics:
    """Income and division of labour of the general equilibrium along one parameter."""

    parameter: str
    table: pd.DataFrame
    thresholds: pd.DataFrame
    derivatives: dict[str, str]  # structure -> closed-form d log u / d parameter
    fixed: Params

    def tidy(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        first = self.table.iloc[0]
        lines = [f"Comparative statics along {self.parameter}: GE starts as {first.equilibrium}"]
        for row in self.thresholds.itertuples():
            lines.append(
                f"  {self.parameter} = {row.value:.6g}: {row.below} -> {row.above} ({row.method})"
                + (f"  [{row.boundary}]" if row.boundary else "")
            )
        lines.append(f"d log u / d {self.parameter} inside each structure (closed form):")
        shown = self.table["equilibrium"].unique()
        lines += [f"  {s}: {d}" for s, d in self.derivatives.items() if s in shown]
        return "\n".join(lines)

    def figure(self):
        """Three panels: income, d log u / dp (analytic and numeric), division of labour."""
        return statics_figure(self)

    def save(self, path: str | Path) -> Path:
        """Write the table (``.csv``) or the figure (``.png``, ``.svg``), atomically."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return atomic.write_text(path, self.table.to_csv(index=False))
        if suffix not in (".png", ".svg"):
            raise ParameterError("out", f"unsupported extension {suffix!r}", ".png, .svg, .csv")
        figure = self.figure()
        with atomic.atomic_path(path) as tmp:
            figure.savefig(tmp, format=suffix[1:], dpi=120)
        return path


def _check(parameter: str) -> None:
    if parameter not in PARAMETERS:
        raise ParameterError("parameter", f"unknown parameter {parameter!r}", ", ".join(PARAMETERS))


def comparative_statics(
    parameter: str,
    value_range: tuple[float, float],
    fixed: Params | None = None,
    points: int = 401,
    structures: str | Iterable[str] = "paper",
) -> ComparativeStatics:
    """Per-capita real income, its derivative and the degree of division of labour along
    ``parameter``; see the module docstring for the columns."""
    _check(parameter)
    fixed = fixed or Params()
    values = np.linspace(*value_range, points)
    grid = fixed.replace(**{parameter: values})
    result = regimes(grid, structures)
    labels = result.labels()
    admissible = np.broadcast_to(grid.admissible(), values.shape)
    per_good = tuple(sorted(set(symbolic.per_good_names(fixed)) | (
        {parameter} if parameter[:2] in ("K_", "t_") else set())))  # fmt: skip
    point_values = symbolic.values_of(grid)
    step = STEP * np.maximum(1.0, np.abs(values))
    up = regimes(fixed.replace(**{parameter: values + step}), structures).utilities
    down = regimes(fixed.replace(**{parameter: values - step}), structures).utilities
    table = pd.DataFrame({parameter: values, "equilibrium": np.where(admissible, labels, "none")})
    income = np.where(admissible, result.utility, np.nan)
    table["per_capita_real_income"] = income
    analytic = np.full(points, np.nan)
    numeric = np.full(points, np.nan)
    share = np.full(points, np.nan)
    dshare = np.full(points, np.nan)
    derivatives = {}
    symbol = symbolic.SYMBOLS[parameter]
    for name in select_structures(structures):
        at = labels == name
        if not at.any():
            if name in PAPER_STRUCTURES:
                derivatives[name] = _derivative_text(name, parameter, per_good)
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            numeric[at] = ((np.log(up[name]) - np.log(down[name])) / (2 * step))[at]
        share[at] = _numeric_share(name, grid)[at]
        if name in PAPER_STRUCTURES:
            derivative = symbolic.log_derivative(symbolic.income(name, per_good), parameter)
            analytic[at] = np.broadcast_to(
                symbolic.evaluate(derivative, point_values), values.shape
            )[at]
            expression = specialised_share_expression(name, per_good)
            dshare[at] = np.broadcast_to(
                symbolic.evaluate(sp.diff(expression, symbol), point_values), values.shape
            )[at]
            derivatives[name] = _derivative_text(name, parameter, per_good)
    paper = np.isin(labels, list(PAPER_STRUCTURES))
    table["dlog_income"] = np.where(paper, analytic, numeric)
    table["derivative_method"] = np.where(paper, "analytic", "numeric")
    table["dlog_income_numeric"] = numeric
    traded = {n: len(ALL_STRUCTURES[n].traded) for n in result.names}
    table["traded_goods"] = [traded.get(n, np.nan) for n in labels]
    table["division_level"] = [
        ALL_STRUCTURES[n].division_level if n in ALL_STRUCTURES else np.nan for n in labels
    ]
    table["specialised_share"] = share
    table["dspecialised_share"] = np.where(paper, dshare, np.nan)
    table.loc[~admissible, table.columns[2:]] = np.nan
    thresholds = ge_thresholds(parameter, value_range, fixed, structures, points=max(points, 2001))
    return ComparativeStatics(parameter, table, thresholds, derivatives, fixed)


def _derivative_text(name: str, parameter: str, per_good: tuple[str, ...]) -> str:
    derivative = symbolic.log_derivative(symbolic.income(name, per_good), parameter)
    return symbolic.show(sp.factor(sp.together(derivative)))


def _numeric_share(name: str, grid: Params) -> np.ndarray:
    """Share of the population in specialised configurations, from the vectorised solver."""
    structure = ALL_STRUCTURES[name]
    shape = np.broadcast(*[np.asarray(v) for v in symbolic.values_of(grid).values()]).shape
    if not structure.traded:
        return np.zeros(shape)
    point = grid.point()
    clearing = clear_markets(solve_prices(structure, point), point)
    total = np.zeros(shape)
    for config, value in clearing.shares.items():
        if specialised(config):
            total = total + np.broadcast_to(value, shape)
    return total


def statics_figure(statics: ComparativeStatics):
    """Matplotlib Figure of :class:`ComparativeStatics` (returned, not saved)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    table, name = statics.table, statics.parameter
    x = table[name]
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7.5, 8.5), sharex=True)
    top.plot(x, table["per_capita_real_income"], color="black", lw=2, label="general equilibrium")
    for structure in table["equilibrium"].unique():
        if structure == "none":
            continue
        at = table["equilibrium"] == structure
        top.plot(x[at], table["per_capita_real_income"][at], lw=5, alpha=0.35, label=structure)
    top.set_ylabel("per-capita real income")
    top.legend(fontsize=7, loc="best")
    middle.plot(x, table["dlog_income"], color="tab:blue", lw=1.5, label="closed form / numeric")
    middle.plot(x[::8], table["dlog_income_numeric"][::8], "o", ms=2.5, color="tab:orange",
                label="finite difference")  # fmt: skip
    middle.axhline(0, color="grey", lw=0.6)
    middle.set_ylabel(f"d log u / d {name}")
    middle.legend(fontsize=7, loc="best")
    bottom.step(x, table["traded_goods"], where="mid", color="tab:green", label="traded goods")
    bottom.set_ylabel("traded goods")
    bottom.set_ylim(-0.2, 3.2)
    twin = bottom.twinx()
    twin.plot(x, table["specialised_share"], color="tab:purple", lw=1.5,
              label="share in specialised configurations")  # fmt: skip
    twin.set_ylim(-0.05, 1.05)
    twin.set_ylabel("specialised share")
    lines = bottom.get_legend_handles_labels()
    extra = twin.get_legend_handles_labels()
    bottom.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=7, loc="best")
    bottom.set_xlabel(name)
    for row in statics.thresholds.itertuples():
        for ax in (top, middle, bottom):
            ax.axvline(row.value, color="grey", ls="--" if row.method == "closed form" else ":",
                       lw=1)  # fmt: skip
        top.annotate(f"{row.below}->{row.above}", (row.value, top.get_ylim()[1]), fontsize=7,
                     rotation=90, va="top", ha="right")  # fmt: skip
    fixed = ", ".join(
        f"{k}={float(v):.3g}"
        for k, v in statics.fixed.as_dict().items()
        if k != name and k in ("K", "t", "alpha", "b", "F", "e", "theta", "z_scale")
    )
    top.set_title(f"Comparative statics along {name}\n{fixed}", fontsize=9)
    fig.tight_layout()
    return fig
