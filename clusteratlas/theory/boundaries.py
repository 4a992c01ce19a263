"""Regime boundaries in closed form: where two structures' per-capita real incomes are equal.

This module owns the *boundaries* of the general equilibrium. The income ratio of two paper
structures is a log-monomial (:mod:`clusteratlas.theory.symbolic`),
``log(u_2/u_1) = sum_i c_i log a_i``, so along one parameter ``p``:

* if one atom depends on ``p`` (``K``, ``1-t``, ``1-F-b`` ...) and its exponent does not,
  ``a(p) = prod_{j != i} a_j^(-c_j/c_i)`` has an explicit solution (kind ``explicit``);
* if several atoms depend on ``p`` with exponents in rational ratios, raising to the common
  denominator gives a polynomial in ``p``; degree <= 2 is solved (kind ``quadratic``). With a
  common k, A and P_C switch where ``(1-F-b)^2 = k (1-b)(1-F)``, quadratic in ``b`` and in
  ``F``, explicit in ``K`` and ``t``;
* otherwise (``p`` in an exponent, e.g. ``alpha``) there is no closed form (kind ``none``) and
  :func:`ge_thresholds` finds the switch numerically (Brent's method on the log ratio).

``gain`` is ``d log(u_2/u_1)/dp`` in closed form; ``gain_sign`` is its sign where
:func:`~clusteratlas.theory.symbolic.proved_sign` proves it on the whole domain (then the
structure ``2`` always takes over as ``p`` rises: the direction of every switch is known).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache, reduce
from itertools import combinations

import numpy as np
import pandas as pd
import sympy as sp
from scipy import optimize

from clusteratlas.errors import ParameterError
from clusteratlas.theory import symbolic
from clusteratlas.theory.model import Params, regimes, select_structures
from clusteratlas.theory.sampling import sample
from clusteratlas.theory.structures import PAPER_STRUCTURES

PAPER = list(PAPER_STRUCTURES)
#: Parameters a boundary can be solved for (Params names).
PARAMETERS = ("K", "t", "b", "F", "alpha", "e", "theta", "z_scale", "K_x", "K_y", "K_z",
              "t_x", "t_y", "t_z")  # fmt: skip
MAX_DEGREE = 2


W = sp.Symbol("W", positive=True)  # the parameter-free part of an income ratio


@dataclass(frozen=True)
class Boundary:
    """Where ``u_first = u_second`` along ``parameter``, in closed form when there is one.

    Each root is an expression in ``W``, a log-monomial free of the parameter (``weight``).
    """

    first: str
    second: str
    parameter: str
    per_good: tuple[str, ...]
    kind: str  # "explicit", "quadratic", "independent" (ratio free of the parameter), "none"
    roots: tuple[sp.Expr, ...]  # in the symbol W
    weight: symbolic.LogMonomial | None
    gain: sp.Expr  # d log(u_second / u_first) / d parameter
    gain_sign: int | None  # proved sign of gain on the domain of both structures

    @property
    def closed_form(self) -> bool:
        return self.kind in ("explicit", "quadratic")

    def expressions(self) -> list[sp.Expr]:
        """The roots with ``W`` substituted (expressions in the model's parameters)."""
        return [root.subs(W, self.weight.expr()) for root in self.roots]

    def text(self, latex: bool = False) -> str:
        """``parameter^* = root`` (``W`` inlined when it is the whole root) or why there is none."""
        if self.kind == "independent":
            return f"u_{self.second}/u_{self.first} does not depend on {self.parameter}"
        if not self.closed_form:
            return "no closed form (the parameter enters an exponent)"
        name = sp.latex(symbolic.SYMBOLS[self.parameter]) if latex else self.parameter
        weight = self.weight.text(latex)
        parts = []
        for root in self.roots:
            if root == W:
                parts.append(f"{name}^* = {weight}")
            else:
                parts.append(f"{name}^* = {symbolic.show(symbolic.tidy(root), latex)}")
        text = (r" \quad\text{or}\quad " if latex else "  or  ").join(parts)
        if any(root != W for root in self.roots):
            text += (r", \quad W = " if latex else ",  W = ") + weight
        return text

    def values(self, params: Params) -> list[np.ndarray]:
        """Each root evaluated at ``params`` (the value of ``parameter`` itself is ignored)."""
        values = symbolic.values_of(params)
        return [symbolic.evaluate(root, values) for root in self.expressions()]


def _requires(*structures: str) -> set[str]:
    return set().union(*(symbolic.REQUIRES[s] for s in structures))


@cache
def boundary(first: str, second: str, parameter: str, per_good: tuple[str, ...] = ()) -> Boundary:
    """The boundary between two paper structures along ``parameter`` (cached)."""
    for name in (first, second):
        if name not in PAPER_STRUCTURES:
            raise ParameterError("structure", f"{name!r} has no closed form", ", ".join(PAPER))
    if parameter not in PARAMETERS:
        raise ParameterError("parameter", f"unknown parameter {parameter!r}", ", ".join(PARAMETERS))
    ratio = symbolic.income(second, per_good) / symbolic.income(first, per_good)
    raw_ratio = symbolic.corner(second).utility / symbolic.corner(first).utility
    symbol = symbolic.SYMBOLS[parameter]
    gain = sp.factor(sp.together(symbolic.log_derivative(ratio, parameter)))
    sign = symbolic.proved_sign(raw_ratio, parameter, _requires(first, second))
    kind, roots, weight = _solve(ratio, symbol)
    found = Boundary(first, second, parameter, per_good, kind, roots, weight, gain, sign)
    return _admissible(found)


def _solve(ratio: symbolic.LogMonomial, symbol: sp.Symbol):
    """``(kind, roots in W, W)`` of ``ratio = 1`` in ``symbol``."""
    dependent = {a: c for a, c in ratio.terms.items() if symbol in sp.sympify(a).free_symbols}
    if any(symbol in sp.sympify(c).free_symbols for c in ratio.terms.values()):
        return "none", (), None
    if not dependent:
        return "independent", (), None
    rest = ratio.without(dependent)
    atoms = list(dependent)
    lead = dependent[atoms[0]]
    ratios = [sp.nsimplify(sp.cancel(dependent[a] / lead)) for a in atoms]
    if not all(r.is_Rational for r in ratios):
        return "none", (), None
    common = reduce(sp.ilcm, [r.q for r in ratios], 1)
    powers = [int(r * common) for r in ratios]
    # prod a_i^(n_i) = W with W = rest^(-common/lead): a polynomial equation in the parameter
    upper = sp.Mul(*[a**n for a, n in zip(atoms, powers, strict=True) if n > 0])
    lower = sp.Mul(*[a**-n for a, n in zip(atoms, powers, strict=True) if n < 0])
    weight = rest ** (-common / lead)
    best = None
    # W on either side of the equation: keep the form whose roots read shorter
    for polynomial, value in ((upper - W * lower, weight), (W * upper - lower, weight**-1)):
        polynomial = sp.expand(polynomial)
        degree = sp.degree(polynomial, symbol)
        if degree > MAX_DEGREE:
            return "none", (), None
        roots = tuple(sp.factor(r) for r in sp.solve(polynomial, symbol))
        size = sum(len(str(r)) for r in roots)
        if roots and (best is None or size < best[0]):
            kind = "explicit" if degree == 1 else "quadratic"
            best = (size, kind, roots, value)
    if best is None:
        return "none", (), None
    return best[1], best[2], best[3]


def _admissible(found: Boundary, samples: int = 4000, seed: int = 5) -> Boundary:
    """Keep the roots at which both structures exist somewhere in the admissible domain.

    A quadratic has two roots; typically one lies outside the domain (e.g. ``b^* > 1-F``,
    where autarky A has no labour left). The roots are evaluated at random admissible points
    (z_scale 1 and larger) and kept if at some point the two structures exist and tie there.
    """
    if not found.closed_form or len(found.roots) == 1:
        return found
    params = sample(samples, seed, design="per-good" if found.per_good else "common")
    rng = np.random.default_rng(seed)
    params = params.replace(
        z_scale=np.where(rng.random(samples) < 0.5, 1.0, rng.uniform(1, 6, samples))
    )
    keep = []
    for root, value in zip(found.roots, found.values(params), strict=True):
        at = params.replace(**{found.parameter: np.where(np.isfinite(value), value, 0.5)})
        table = regimes(at, [found.first, found.second]).utilities
        with np.errstate(divide="ignore", invalid="ignore"):
            tie = np.abs(np.log(table[found.second]) - np.log(table[found.first])) < 1e-8
        if np.any(tie & np.isfinite(value) & at.admissible()):
            keep.append(root)
    return replace(found, roots=tuple(keep)) if keep else found


def boundary_table(
    structures: Iterable[str] = PAPER,
    parameters: Iterable[str] = ("K", "t", "b", "F", "alpha", "e", "z_scale"),
    per_good: tuple[str, ...] = (),
    closed_only: bool = True,
) -> pd.DataFrame:
    """Every pairwise boundary as a tidy table: pair, parameter, kind, closed form (text, LaTeX),
    ``d log(u_2/u_1)/dp`` and its proved sign."""
    rows = []
    for first, second in combinations(list(structures), 2):
        for parameter in parameters:
            found = boundary(first, second, parameter, per_good)
            if closed_only and not found.closed_form:
                continue
            rows.append(
                {
                    "first": first,
                    "second": second,
                    "parameter": parameter,
                    "kind": found.kind,
                    "boundary": found.text(),
                    "boundary_latex": found.text(latex=True),
                    "gain": symbolic.show(found.gain),
                    "gain_sign": {1: "+", -1: "-", 0: "0", None: "not proved"}[found.gain_sign],
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# General-equilibrium switches along one parameter, and boundary lines for regime maps
# ---------------------------------------------------------------------------------------------


def _design(fixed: Params, *names: str) -> tuple[str, ...]:
    per_good = set(symbolic.per_good_names(fixed))
    per_good |= {n for n in names if n[:2] in ("K_", "t_")}
    return tuple(sorted(per_good))


def _log_ratio(first: str, second: str, parameter: str, fixed: Params, structures):
    def f(value: float) -> float:
        table = regimes(fixed.replace(**{parameter: value}), structures).utilities
        return float(np.log(table[second]) - np.log(table[first]))

    return f


def ge_thresholds(
    parameter: str,
    value_range: tuple[float, float],
    fixed: Params | None = None,
    structures: str | Iterable[str] = "paper",
    points: int = 2001,
) -> pd.DataFrame:
    """Every switch of the general equilibrium along ``parameter``, located exactly.

    The equilibrium is sampled on ``points`` values to find which structures meet; each
    switch is then located by the closed-form boundary of the pair (``method`` "closed
    form"), or by Brent's method on ``log(u_2/u_1)`` where there is none ("numeric"), or is
    an existence limit (one structure stops existing, e.g. ``beta = 1`` for CC_A: "existence
    limit", in closed form). Columns: value, below, above, method, boundary (the closed
    form or the existence condition, if any).
    """
    if parameter not in PARAMETERS:
        raise ParameterError("parameter", f"unknown parameter {parameter!r}", ", ".join(PARAMETERS))
    if not value_range[0] < value_range[1]:
        raise ParameterError("value_range", f"{value_range} is empty", "LOW < HIGH")
    fixed = fixed or Params()
    values = np.linspace(*value_range, points)
    result = regimes(fixed.replace(**{parameter: values}), structures)
    labels = result.labels()
    per_good = _design(fixed, parameter)
    rows = []
    for i in np.flatnonzero(labels[1:] != labels[:-1]):
        lo, hi, below, above = values[i], values[i + 1], labels[i], labels[i + 1]
        row = {"value": np.nan, "below": below, "above": above, "method": "", "boundary": ""}
        if below in PAPER_STRUCTURES and above in PAPER_STRUCTURES:
            found = boundary(below, above, parameter, per_good)
            if found.closed_form:
                for root in found.values(fixed):
                    value = float(np.asarray(root).reshape(-1)[0])
                    if lo - 1e-12 <= value <= hi + 1e-12:
                        row.update(value=value, method="closed form", boundary=found.text())
        if np.isnan(row["value"]):
            f = _log_ratio(below, above, parameter, fixed, structures)
            try:
                fa, fb = f(lo), f(hi)
            except (KeyError, ValueError):
                fa = fb = np.nan
            if np.isfinite(fa) and np.isfinite(fb) and fa * fb <= 0:
                row.update(value=optimize.brentq(f, lo, hi, xtol=1e-14), method="numeric")
            else:
                row.update(_existence_limit(below, above, parameter, per_good, fixed, lo, hi))
        rows.append(row)
    return pd.DataFrame(rows, columns=["value", "below", "above", "method", "boundary"])


def _existence_limit(below, above, parameter, per_good, fixed, lo, hi) -> dict:
    """Where one of the two structures stops existing inside ``[lo, hi]`` (closed form)."""
    values = symbolic.values_of(fixed)
    for name in (below, above):
        if name not in PAPER_STRUCTURES:
            continue
        for condition, root in symbolic.existence_limits(name, parameter, per_good):
            value = float(np.asarray(symbolic.evaluate(root, values)).reshape(-1)[0])
            if lo - 1e-12 <= value <= hi + 1e-12:
                return {
                    "value": value,
                    "method": "existence limit",
                    "boundary": f"{name} exists only where {symbolic.show(condition)} > 0",
                }
    return {"value": 0.5 * (lo + hi), "method": "existence limit (to the grid)"}


def boundary_curves(
    x_name: str,
    x_range: tuple[float, float],
    y_name: str,
    y_range: tuple[float, float],
    fixed: Params,
    present: Iterable[str],
    structures: str | Iterable[str] = "paper",
    points: int = 400,
) -> list[dict]:
    """Closed-form general-equilibrium boundaries on a map, as line segments.

    For each pair of paper structures present on the map, the boundary is solved for the x
    parameter as a function of y (or for y as a function of x) and kept only where the two
    are the best structures (a boundary between two losing structures is no regime boundary).
    Returns ``[{"pair": (a, b), "x": array, "y": array, "text": closed form}]`` with NaN
    breaks between segments.
    """
    present = [n for n in present if n in PAPER_STRUCTURES]
    per_good = _design(fixed, x_name, y_name)
    considered = list(select_structures(structures))
    curves = []
    for first, second in combinations(present, 2):
        for solve_for, along, along_range in ((x_name, y_name, y_range), (y_name, x_name, x_range)):
            found = boundary(first, second, solve_for, per_good)
            if not found.closed_form:
                continue
            grid = np.linspace(*along_range, points)
            base = fixed.replace(**{along: grid})
            for root in found.values(base):
                root = np.broadcast_to(root, grid.shape).astype(float)
                lo, hi = x_range if solve_for == x_name else y_range
                inside = np.isfinite(root) & (root >= lo) & (root <= hi)
                at = base.replace(**{solve_for: np.where(inside, root, lo)})
                table = regimes(at, considered).utilities
                top = np.fmax(table[first], table[second])
                others = [table[n] for n in considered if n not in (first, second)]
                best_other = np.nanmax(np.stack(others), axis=0) if others else -np.inf
                with np.errstate(invalid="ignore"):
                    keep = inside & ~(np.nan_to_num(best_other, nan=-np.inf) > top * (1 + 1e-9))
                    keep &= np.isfinite(table[first]) & np.isfinite(table[second])
                if not keep.any():
                    continue
                xs, ys = (root, grid) if solve_for == x_name else (grid, root)
                curves.append(
                    {
                        "pair": (first, second),
                        "x": np.where(keep, xs, np.nan),
                        "y": np.where(keep, ys, np.nan),
                        "text": found.text(),
                        "kind": "income tie",
                    }
                )
            break  # one orientation per pair is enough
    ranges = {x_name: x_range, y_name: y_range}
    for name in present:
        for solve_for, along in ((x_name, y_name), (y_name, x_name)):
            for condition, root in symbolic.existence_limits(name, solve_for, per_good):
                curve = _existence_curve(name, condition, root, solve_for, along, ranges, fixed,
                                         considered, points)  # fmt: skip
                if curve is not None:
                    curve["x"], curve["y"] = (
                        (curve["value"], curve["grid"]) if solve_for == x_name
                        else (curve["grid"], curve["value"])
                    )  # fmt: skip
                    curves.append(curve)
    return curves


def _existence_curve(name, condition, root, solve_for, along, ranges, fixed, considered, points):
    """Where ``name`` stops existing and the equilibrium changes across that line."""
    grid = np.linspace(*ranges[along], points)
    base = fixed.replace(**{along: grid})
    value = np.broadcast_to(symbolic.evaluate(root, symbolic.values_of(base)), grid.shape)
    lo, hi = ranges[solve_for]
    inside = np.isfinite(value) & (value > lo) & (value < hi)
    if not inside.any():
        return None
    step = 1e-6 * (hi - lo)
    safe = np.where(inside, value, 0.5 * (lo + hi))
    sides = [
        regimes(base.replace(**{solve_for: safe + offset}), considered).labels()
        for offset in (-step, step)
    ]
    keep = inside & (sides[0] != sides[1]) & ((sides[0] == name) | (sides[1] == name))
    if not keep.any():
        return None
    return {
        "pair": (name, "exists only where " + symbolic.show(condition) + " > 0"),
        "value": np.where(keep, value, np.nan),
        "grid": np.where(keep, grid, np.nan),
        "text": f"{name} exists only where {symbolic.show(condition)} > 0",
        "kind": "existence limit",
    }
