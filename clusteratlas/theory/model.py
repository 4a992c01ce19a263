"""Corner equilibria and the general equilibrium of the infra-marginal cluster model.

This module owns the *structure* level: for each market structure it solves

1. utility equalisation across the structure's configurations. Because every indirect
   utility is a monomial in prices (:mod:`clusteratlas.theory.configs`),
   ``log A_c + a_c . log p = log A_c' + a_c' . log p`` is a *linear* system in log prices,
   solved in closed form (Cramer's rule) for whole parameter grids at once;
2. market clearing ``M_s q_s = sum_c M_c z^d_{c,g}`` for the relative numbers of specialists
   (the null vector of the clearing matrix; the redundant row is Walras' law and is checked).

The general equilibrium is the existing corner equilibrium with the highest per-capita real
income (Yang 2001, Theorem 1), confirmed by a total cost-benefit check that no configuration
does better at the winner's prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from clusteratlas.errors import ParameterError
from clusteratlas.theory.configs import CONFIGURATIONS, Point
from clusteratlas.theory.structures import ALL_STRUCTURES, PAPER_STRUCTURES, Structure

NUMERAIRE_ORDER = ("z", "y", "x")
DETERMINANT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Params:
    """Parameters of the model (scalars, or numpy arrays that broadcast, for grids).

    ``k_g = (1 - t_g) K_g``; the per-good ``K_x .. t_z`` default to the common ``K`` and ``t``.
    ``beta = alpha + e - theta`` is the cluster technology's exponent.
    """

    K: float | np.ndarray = 0.8
    t: float | np.ndarray = 0.1
    alpha: float | np.ndarray = 0.5
    b: float | np.ndarray = 0.1
    F: float | np.ndarray = 0.2
    e: float | np.ndarray = 0.3
    theta: float | np.ndarray = 0.2
    K_x: float | np.ndarray | None = None
    K_y: float | np.ndarray | None = None
    K_z: float | np.ndarray | None = None
    t_x: float | np.ndarray | None = None
    t_y: float | np.ndarray | None = None
    t_z: float | np.ndarray | None = None
    z_scale: float | np.ndarray = 1.0

    NAMES = ("K", "t", "alpha", "b", "F", "e", "theta", "K_x", "K_y", "K_z", "t_x", "t_y", "t_z",
             "z_scale")  # fmt: skip

    def value(self, name: str) -> np.ndarray:
        raw = getattr(self, name)
        if raw is None:  # per-good override falls back to the common value
            raw = getattr(self, name.split("_")[0])
        return np.asarray(raw, dtype=float)

    def k(self, good: str) -> np.ndarray:
        return (1 - self.value(f"t_{good}")) * self.value(f"K_{good}")

    @property
    def beta(self) -> np.ndarray:
        return self.value("alpha") + self.value("e") - self.value("theta")

    def point(self) -> Point:
        return Point(
            alpha=self.value("alpha"),
            beta=self.beta,
            b=self.value("b"),
            F=self.value("F"),
            kx=self.k("x"),
            ky=self.k("y"),
            kz=self.k("z"),
            z_scale=self.value("z_scale"),
        )

    def replace(self, **changes) -> Params:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Params(**values)

    def admissible(self) -> np.ndarray:
        """Mask of points inside the model's stated domain (see :meth:`validate`)."""
        p = self.point()
        ok = (p.alpha > 0) & (p.b > 0) & (p.b < 1) & (p.F >= 0) & (p.F < 1)
        for k in (p.kx, p.ky, p.kz):
            ok = ok & (k > 0) & (k <= 1)
        ok = ok & (self.value("e") > 0) & (self.value("e") < 1)
        ok = ok & (self.value("theta") > 0) & (self.value("theta") < 1)
        return ok

    def validate(self) -> Params:
        """Raise :class:`ParameterError` naming the first parameter outside the domain."""
        checks = [
            ("alpha", lambda v: v > 0, "> 0"),
            ("b", lambda v: (v > 0) & (v < 1), "in (0, 1)"),
            ("F", lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
            ("e", lambda v: (v > 0) & (v < 1), "in (0, 1)"),
            ("theta", lambda v: (v > 0) & (v < 1), "in (0, 1)"),
            ("K", lambda v: v > 0, "> 0"),
            ("t", lambda v: (v >= 0) & (v < 1), "in [0, 1)"),
            ("z_scale", lambda v: v > 0, "> 0 (1 is the paper's model)"),
        ]
        for name, test, allowed in checks:
            if not np.all(test(self.value(name))):
                raise ParameterError(
                    name, f"value {getattr(self, name)!r} is outside the model", allowed
                )
        for good in "xyz":
            k = self.k(good)
            if not np.all((k > 0) & (k <= 1)):
                raise ParameterError(
                    f"k_{good}",
                    f"trading efficiency (1 - t_{good}) K_{good} = {k} must be in (0, 1]",
                    "choose K_g and t_g so that 0 < (1 - t_g) K_g <= 1",
                )
        return self

    def as_dict(self) -> dict[str, float]:
        out = {n: float(getattr(self, n)) for n in self.NAMES if getattr(self, n) is not None}
        out["beta"] = float(self.beta)
        for g in "xyz":
            out[f"k_{g}"] = float(self.k(g))
        return out


@dataclass
class CornerSolution:
    """Vectorised corner equilibrium of one structure (arrays over the parameter grid)."""

    structure: Structure
    exists: np.ndarray
    log_utility: np.ndarray
    log_prices: dict[str, np.ndarray]  # relative to the numeraire (log p_numeraire = 0)
    reasons: list[tuple[np.ndarray, str]] = field(default_factory=list)

    @property
    def numeraire(self) -> str | None:
        return next((g for g in NUMERAIRE_ORDER if g in self.structure.traded), None)

    @property
    def utility(self) -> np.ndarray:
        return np.where(self.exists, np.exp(self.log_utility), np.nan)


def _cramer(matrix: list[list[np.ndarray]], rhs: list[np.ndarray]):
    """Solve a 1x1 or 2x2 linear system elementwise; return solution list and determinant."""
    if len(rhs) == 1:
        det = matrix[0][0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return [rhs[0] / det], det
    (a, b), (c, d) = matrix
    det = a * d - b * c
    with np.errstate(divide="ignore", invalid="ignore"):
        return [(rhs[0] * d - b * rhs[1]) / det, (a * rhs[1] - c * rhs[0]) / det], det


def solve_prices(structure: Structure, point: Point) -> CornerSolution:
    """Utility equalisation for ``structure``: relative prices and per-capita real income."""
    forms = [CONFIGURATIONS[c].form(point) for c in structure.configurations]
    shape = np.broadcast(
        point.alpha, point.beta, point.b, point.F, point.kx, point.ky, point.kz
    ).shape
    exists = np.ones(shape, dtype=bool)
    reasons: list[tuple[np.ndarray, str]] = []
    for name, (_, _, ok, why) in zip(structure.configurations, forms, strict=True):
        bad = ~np.broadcast_to(ok, shape)
        if np.any(bad):
            reasons.append((bad, f"configuration {name}: {why}"))
        exists &= ~bad
    if not structure.traded:
        log_u = np.broadcast_to(forms[0][0], shape).astype(float)
        return CornerSolution(structure, exists, log_u, {}, reasons)
    numeraire = next(g for g in NUMERAIRE_ORDER if g in structure.traded)
    unknown = [g for g in structure.traded if g != numeraire]
    log_coef0, exp0, _, _ = forms[0]
    matrix, rhs = [], []
    for log_coef, exps, _, _ in forms[1:]:
        matrix.append([exps.get(g, 0.0) - exp0.get(g, 0.0) for g in unknown])
        rhs.append(log_coef0 - log_coef)
    solution, det = _cramer(matrix, rhs)
    singular = np.broadcast_to(np.abs(det) < DETERMINANT_TOLERANCE, shape)
    if np.any(singular):
        reasons.append((singular, "utility equalisation does not determine relative prices"))
    exists &= ~singular
    log_prices = {g: np.broadcast_to(v, shape) for g, v in zip(unknown, solution, strict=True)}
    log_prices[numeraire] = np.zeros(shape)
    log_u = np.broadcast_to(log_coef0, shape).astype(float)
    for g, power in exp0.items():
        log_u = log_u + power * log_prices[g]
    finite = np.isfinite(log_u)
    if np.any(exists & ~finite):
        reasons.append((exists & ~finite, "corner equilibrium utility is not finite"))
    exists &= finite
    return CornerSolution(structure, exists, log_u, log_prices, reasons)


@dataclass
class MarketClearing:
    """Population shares of each configuration and the plans behind them (arrays)."""

    shares: dict[str, np.ndarray]
    plans: dict[str, object]
    exists: np.ndarray
    walras_residual: np.ndarray


def clear_markets(corner: CornerSolution, point: Point) -> MarketClearing:
    """Relative numbers of specialists from market clearing at the corner-equilibrium prices."""
    structure = corner.structure
    shape = corner.exists.shape
    if not structure.traded:
        with np.errstate(invalid="ignore", divide="ignore"):
            plan = CONFIGURATIONS[structure.configurations[0]].plan(point, {})
        return MarketClearing(
            {structure.configurations[0]: np.ones(shape)}, {structure.configurations[0]: plan},
            corner.exists, np.zeros(shape),
        )  # fmt: skip
    prices = {g: np.exp(v) for g, v in corner.log_prices.items()}
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        plans = {c: CONFIGURATIONS[c].plan(point, prices) for c in structure.configurations}
    rows = []
    for g in structure.traded:
        row = []
        for c in structure.configurations:
            plan = plans[c]
            net = plan.sells.get(g, 0.0) - plan.buys.get(g, 0.0)
            row.append(np.broadcast_to(np.asarray(net, dtype=float), shape))
        rows.append(row)
    if len(rows) == 2:
        raw = [-rows[0][1], rows[0][0]]
        residual = rows[1][0] * raw[0] + rows[1][1] * raw[1]
    else:
        (a1, a2, a3), (b1, b2, b3) = rows[0], rows[1]
        raw = [a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1]
        residual = sum(rows[2][i] * raw[i] for i in range(3))
    total = sum(raw)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = [r / total for r in raw]
        scale = sum(np.abs(r) for r in raw)
        residual = np.abs(residual) / np.where(scale > 0, scale, np.nan)
    positive = np.all([s > 0 for s in shares], axis=0)
    return MarketClearing(
        dict(zip(structure.configurations, shares, strict=True)), plans,
        corner.exists & positive, residual,
    )  # fmt: skip


def select_structures(structures: str | Iterable[str]) -> dict[str, Structure]:
    """``"paper"`` (the seven), ``"all"`` (every Lemma-1 structure) or an iterable of names."""
    if structures == "paper":
        return dict(PAPER_STRUCTURES)
    if structures == "all":
        return dict(ALL_STRUCTURES)
    chosen = {}
    for name in structures:
        if name not in ALL_STRUCTURES:
            raise ParameterError(
                "structures",
                f"unknown structure {name!r}",
                "paper, all, or names from ALL_STRUCTURES",
            )
        chosen[name] = ALL_STRUCTURES[name]
    return chosen


def utilities(
    params: Params, structures: str | Iterable[str] = "paper", *, clearing: bool = True
) -> dict[str, np.ndarray]:
    """Per-capita real income of every structure over a grid (NaN where it does not exist).

    With ``clearing=False`` market clearing (positivity of the numbers of specialists) is not
    checked, which is faster; for the seven paper structures it never binds when prices exist.
    """
    point = params.point()
    out = {}
    for name, structure in select_structures(structures).items():
        corner = solve_prices(structure, point)
        exists = corner.exists
        if clearing and structure.traded:
            exists = clear_markets(corner, point).exists
        out[name] = np.where(exists, np.exp(corner.log_utility), np.nan)
    return out


@dataclass
class Regimes:
    """Winning structure per grid point: ``index`` into ``names`` (-1 where none exists)."""

    names: list[str]
    index: np.ndarray
    utility: np.ndarray
    ties: np.ndarray  # True where the runner-up is within ``rtol`` of the winner
    utilities: Mapping[str, np.ndarray]

    def labels(self) -> np.ndarray:
        lookup = np.array(self.names + ["none"], dtype=object)
        return lookup[self.index]


def regimes(
    params: Params,
    structures: str | Iterable[str] = "paper",
    *,
    rtol: float = 1e-9,
    clearing: bool = True,
) -> Regimes:
    """The general-equilibrium structure at every grid point (highest per-capita real income)."""
    table = utilities(params, structures, clearing=clearing)
    names = list(table)
    stack = np.stack(
        [np.broadcast_to(table[n], np.broadcast(*table.values()).shape) for n in names]
    )
    filled = np.where(np.isnan(stack), -np.inf, stack)
    index = np.argmax(filled, axis=0)
    best = np.take_along_axis(filled, index[None], axis=0)[0]
    none = ~np.isfinite(best)
    index = np.where(none, -1, index)
    close = (filled >= best * (1 - rtol)) & np.isfinite(filled)
    ties = close.sum(axis=0) > 1
    return Regimes(names, index, np.where(none, np.nan, best), ties, table)


def relative_numbers(params: Params, structure_name: str) -> dict[str, np.ndarray]:
    """``M_g / M_h`` (numbers of sellers of g over sellers of h) over a grid; NaN where absent."""
    structure = select_structures([structure_name])[structure_name]
    point = params.point()
    corner = solve_prices(structure, point)
    clearing = clear_markets(corner, point)
    seller = {
        CONFIGURATIONS[c].sells: c for c in structure.configurations if CONFIGURATIONS[c].sells
    }
    out = {}
    goods = sorted(seller)
    for i, g in enumerate(goods):
        for h in goods[i + 1 :]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = clearing.shares[seller[g]] / clearing.shares[seller[h]]
            out[f"M_{g}/M_{h}"] = np.where(clearing.exists, ratio, np.nan)
            out[f"M_{h}/M_{g}"] = np.where(clearing.exists, 1 / ratio, np.nan)
    return out


def relative_prices(params: Params, structure_name: str) -> dict[str, np.ndarray]:
    """``p_g / p_h`` for every traded pair over a grid; NaN where the structure is absent."""
    structure = select_structures([structure_name])[structure_name]
    corner = solve_prices(structure, params.point())
    out = {}
    goods = sorted(corner.log_prices)
    for i, g in enumerate(goods):
        for h in goods[i + 1 :]:
            ratio = np.exp(corner.log_prices[g] - corner.log_prices[h])
            out[f"p_{g}/p_{h}"] = np.where(corner.exists, ratio, np.nan)
    return out
