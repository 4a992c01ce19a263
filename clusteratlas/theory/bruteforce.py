"""Independent numerical check of the closed forms: brute-force optimisation, numerical solves.

Nothing here uses the closed forms of :mod:`clusteratlas.theory.configs`. The individual's
problem of a configuration is written directly from the primitives (eqs. 1a-1d): labour
allocation, self-provided z, purchases; the sale follows from the budget. It is maximised by
Nelder-Mead from several starts in an unconstrained reparametrisation (softmax labour shares
over the effective endowment, log purchases). A corner equilibrium is then solved numerically:
utility equalisation by a root finder on log prices, market clearing by the null space (SVD)
of the clearing matrix built from the brute-force trades.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from clusteratlas.errors import EstimationError
from clusteratlas.theory.configs import CONFIGURATIONS, Configuration
from clusteratlas.theory.model import NUMERAIRE_ORDER, Params
from clusteratlas.theory.structures import ALL_STRUCTURES

FIXED_COST_GOOD = {"x": "F", "y": "b", "z": "b"}


@dataclass
class BruteForcePlan:
    utility: float
    sells: dict[str, float]
    buys: dict[str, float]
    labour: dict[str, float]


def _scalars(params: Params) -> dict[str, float]:
    values = params.as_dict()
    values["z_scale"] = float(params.value("z_scale"))
    return values


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1 / (1 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1 + exp)


def _evaluate(config: Configuration, v: dict[str, float], prices: dict[str, float], raw):
    """Utility and trades of ``config`` at decision vector ``raw`` (-inf if infeasible)."""
    produced = list(config.produces)
    fixed = {g: v[FIXED_COST_GOOD[g]] for g in produced}
    effective = 1 - sum(fixed.values())
    if effective <= 0:
        return -math.inf, None
    pos = 0
    weights = [0.0] + list(raw[pos : pos + len(produced) - 1])
    pos += len(produced) - 1
    top = max(weights)
    expw = [math.exp(w - top) for w in weights]
    total = sum(expw)
    e = {g: effective * w / total for g, w in zip(produced, expw, strict=True)}
    labour = {f"l_{g}": (fixed[g] + e[g]) if g in e else 0.0 for g in "xyz"}
    output = {g: e[g] for g in produced if g != "x"}
    z_for_x = 0.0
    buys: dict[str, float] = {}
    if config.sells == "z":
        # a z seller chooses the share of z kept for her own x (if any), the share of the
        # rest she sells, and how to split the proceeds between the goods she buys
        if config.z_use == "self":
            z_for_x = output["z"] * _sigmoid(raw[pos])
            pos += 1
        sold = (output["z"] - z_for_x) * _sigmoid(raw[pos])
        pos += 1
        income = prices["z"] * sold
        split = [1.0]
        if len(config.buys) == 2:
            first = _sigmoid(raw[pos])
            pos += 1
            split = [first, 1 - first]
        for g, share in zip(config.buys, split, strict=True):
            buys[g] = share * income / prices[g]
    else:
        for g in config.buys:
            buys[g] = math.exp(min(raw[pos], 50.0))
            pos += 1
        spend = sum(prices[g] * d for g, d in buys.items())
        sold = spend / prices[config.sells] if config.sells else 0.0
        if config.z_use == "self":
            z_for_x = output["z"]
    if config.z_use == "bought":
        z_for_x = v["k_z"] * buys["z"]
    gamma = {"none": 0.0, "alpha": v["alpha"], "beta": v["beta"]}[config.tech]
    if "x" in produced:
        output["x"] = (v["z_scale"] * z_for_x) ** gamma * e["x"] if gamma else e["x"]
    consumption = {}
    for g in "xy":
        if g in config.buys:
            consumption[g] = v[f"k_{g}"] * buys[g]
        else:
            consumption[g] = output.get(g, 0.0) - (sold if config.sells == g else 0.0)
    if consumption["x"] <= 0 or consumption["y"] <= 0:
        return -math.inf, None
    utility = consumption["x"] * consumption["y"]
    trades = {"sells": {config.sells: sold} if config.sells else {}, "buys": buys, "labour": labour}
    return utility, trades


def _dimension(config: Configuration) -> int:
    labour = len(config.produces) - 1
    if config.sells == "z":
        return labour + (config.z_use == "self") + 1 + (len(config.buys) == 2)
    return labour + len(config.buys)


def individual_optimum(
    config_name: str, params: Params, prices: dict[str, float], starts: int = 2, seed: int = 0
) -> BruteForcePlan:
    """Maximise utility in one configuration at given prices by multi-start Nelder-Mead."""
    config = CONFIGURATIONS[config_name]
    v = _scalars(params)
    dim = _dimension(config)

    def objective(raw):
        utility, _ = _evaluate(config, v, prices, raw)
        return -math.log(utility) if utility > 0 else 1e6

    if dim == 0:
        utility, trades = _evaluate(config, v, prices, [])
        if trades is None:
            raise EstimationError(f"{config_name}: no feasible plan")
        return BruteForcePlan(utility, trades["sells"], trades["buys"], trades["labour"])
    rng = np.random.default_rng(seed)
    # purchases start small so the first simplex is feasible (x^c, y^c > 0)
    base = np.zeros(dim)
    if config.sells != "z":
        n_labour = len(config.produces) - 1
        base[n_labour : n_labour + len(config.buys)] = -4.0
    best = None
    for start in range(starts):
        x0 = base + (rng.normal(0, 1.0, dim) if start else 0.0)
        if objective(x0) >= 1e6:
            continue
        result = optimize.minimize(
            objective, x0, method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000, "maxfev": 4000},
        )  # fmt: skip
        # polish: the log-objective is smooth inside the feasible region
        polished = optimize.minimize(objective, result.x, method="BFGS", options={"gtol": 1e-11})
        if polished.fun <= result.fun:
            result = polished
        if best is None or result.fun < best.fun:
            best = result
    if best is None:
        raise EstimationError(f"{config_name}: brute force found no feasible start")
    utility, trades = _evaluate(config, v, prices, best.x)
    if trades is None or not np.isfinite(utility):
        raise EstimationError(f"{config_name}: brute force found no feasible plan")
    return BruteForcePlan(utility, trades["sells"], trades["buys"], trades["labour"])


@dataclass
class NumericalCorner:
    structure: str
    utility: float
    log_prices: dict[str, float]
    shares: dict[str, float]
    equalisation_residual: float


def numerical_corner(structure_name: str, params: Params, guess: dict[str, float] | None = None):
    """Corner equilibrium by root-finding on brute-force utilities, then SVD market clearing."""
    structure = ALL_STRUCTURES[structure_name]
    configs = structure.configurations
    if not structure.traded:
        plan = individual_optimum(configs[0], params, {})
        return NumericalCorner(structure_name, plan.utility, {}, {configs[0]: 1.0}, 0.0)
    numeraire = next(g for g in NUMERAIRE_ORDER if g in structure.traded)
    unknown = [g for g in structure.traded if g != numeraire]

    def prices_of(logs):
        prices = {numeraire: 1.0}
        prices.update({g: math.exp(value) for g, value in zip(unknown, logs, strict=True)})
        return prices

    def gaps(logs):
        prices = prices_of(logs)
        logs_u = [math.log(individual_optimum(c, params, prices).utility) for c in configs]
        return [logs_u[i] - logs_u[0] for i in range(1, len(configs))]

    x0 = [guess.get(g, 0.0) if guess else 0.0 for g in unknown]
    result = optimize.root(gaps, x0, method="hybr", options={"xtol": 1e-11})
    if not result.success:
        result = optimize.least_squares(gaps, x0, xtol=1e-13, ftol=1e-13)
    prices = prices_of(result.x)
    plans = {c: individual_optimum(c, params, prices) for c in configs}
    matrix = np.array(
        [
            [plans[c].sells.get(g, 0.0) - plans[c].buys.get(g, 0.0) for c in configs]
            for g in structure.traded
        ]
    )
    _, _, vt = np.linalg.svd(matrix)
    null = vt[-1] / vt[-1].sum()
    return NumericalCorner(
        structure_name,
        plans[configs[0]].utility,
        {g: math.log(p) for g, p in prices.items()},
        dict(zip(configs, null.tolist(), strict=True)),
        float(np.max(np.abs(gaps(result.x)))),
    )
