"""Result objects at one parameter point: every corner equilibrium and the general equilibrium.

``solve(Params(...))`` returns an :class:`Equilibrium` holding one :class:`CornerEquilibrium`
per structure (relative prices, per-capita real income, relative numbers of specialists,
labour allocation; or ``None`` values plus the reason it does not exist), the winning
structure (Yang's theorem: highest per-capita real income), ties, and the total cost-benefit
check of every configuration at the winner's prices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from clusteratlas.theory.configs import CONFIGURATIONS
from clusteratlas.theory.model import (
    Params,
    clear_markets,
    select_structures,
    solve_prices,
)

TIE_RTOL = 1e-9
CHECK_RTOL = 1e-9


@dataclass
class CornerEquilibrium:
    """The corner equilibrium of one structure at one parameter point."""

    structure: str
    in_paper: bool
    configurations: tuple[str, ...]
    exists: bool
    reason: str | None
    utility: float | None = None
    prices: dict[str, float] = field(default_factory=dict)  # "p_x/p_z" -> value
    log_prices: dict[str, float] = field(default_factory=dict)  # relative to the numeraire
    relative_numbers: dict[str, float] = field(default_factory=dict)  # "M_x/M_z" -> value
    shares: dict[str, float] = field(default_factory=dict)  # configuration -> population share
    labour: dict[str, dict[str, float]] = field(default_factory=dict)
    trades: dict[str, dict[str, float]] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        """One row per configuration: share, labour allocation, sales, purchases, utility."""
        rows = []
        for config in self.configurations:
            row = {"structure": self.structure, "configuration": config, "exists": self.exists}
            if self.exists:
                row["share"] = self.shares.get(config)
                row.update(self.labour.get(config, {}))
                row.update(self.trades.get(config, {}))
                row["utility"] = self.utility
            else:
                row["reason"] = self.reason
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        if not self.exists:
            return f"{self.structure}: no corner equilibrium ({self.reason})"
        prices = ", ".join(f"{k} = {v:.6g}" for k, v in self.prices.items()) or "none traded"
        numbers = ", ".join(f"{k} = {v:.6g}" for k, v in self.relative_numbers.items())
        text = f"{self.structure}: per-capita real income {self.utility:.6g}; prices {prices}"
        return text + (f"; {numbers}" if numbers else "")


@dataclass
class Equilibrium:
    """All corner equilibria at one point and the general equilibrium among them."""

    params: Params
    corners: dict[str, CornerEquilibrium]
    winner: str | None
    ties: list[str]
    cost_benefit: pd.DataFrame
    check_passed: bool | None

    @property
    def utility(self) -> float | None:
        return self.corners[self.winner].utility if self.winner else None

    def tidy(self) -> pd.DataFrame:
        """One row per structure: existence, reason, income, prices, relative numbers."""
        rows = []
        for name, corner in self.corners.items():
            row = {
                "structure": name,
                "in_paper": corner.in_paper,
                "exists": corner.exists,
                "per_capita_real_income": corner.utility,
                "general_equilibrium": name == self.winner or name in self.ties,
                "reason": corner.reason,
            }
            row.update(corner.prices)
            row.update(corner.relative_numbers)
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [
            "Parameters: " + ", ".join(f"{k}={v:.6g}" for k, v in self.params.as_dict().items())
        ]
        lines += ["  " + c.summary() for c in self.corners.values()]
        if self.winner is None:
            lines.append("General equilibrium: no structure has a corner equilibrium here.")
            return "\n".join(lines)
        tie = f" (tied with {', '.join(self.ties)})" if self.ties else ""
        lines.append(
            f"General equilibrium: {self.winner}{tie}, per-capita real income {self.utility:.6g}"
        )
        winner = self.corners[self.winner]
        for config in winner.configurations:
            labour = ", ".join(f"{k}={v:.4g}" for k, v in winner.labour.get(config, {}).items())
            lines.append(
                f"  {config}: population share {winner.shares[config]:.4g}; labour {labour}"
            )
        best = self.cost_benefit.iloc[0]
        verdict = "passed" if self.check_passed else "FAILED"
        lines.append(
            f"Total cost-benefit check {verdict}: best configuration at the winner's prices is "
            f"{best['configuration']} with utility {best['utility']:.6g}"
        )
        if not self.check_passed:
            lines.append(
                "  -> a configuration outside the considered structures does better: re-run "
                "with structures='all' to find the structure that wins."
            )
        return "\n".join(lines)


def _scalar(value) -> float:
    return float(np.asarray(value).reshape(-1)[0])


def corner_equilibrium(params: Params, structure_name: str) -> CornerEquilibrium:
    """Solve one structure's corner equilibrium at a scalar parameter point."""
    structure = select_structures([structure_name])[structure_name]
    point = params.point()
    corner = solve_prices(structure, point)
    base = dict(
        structure=structure.name,
        in_paper=structure.in_paper,
        configurations=structure.configurations,
    )
    if not bool(corner.exists):
        reasons = [why for mask, why in corner.reasons if bool(np.asarray(mask).reshape(-1)[0])]
        return CornerEquilibrium(**base, exists=False, reason="; ".join(reasons) or "no solution")
    clearing = clear_markets(corner, point)
    if not bool(clearing.exists):
        return CornerEquilibrium(
            **base,
            exists=False,
            reason="market clearing needs a non-positive number of some specialist",
        )
    log_prices = {g: _scalar(v) for g, v in corner.log_prices.items()}
    prices = {
        f"p_{g}/p_{h}": float(np.exp(log_prices[g] - log_prices[h]))
        for g, h in combinations(sorted(log_prices), 2)
    }
    shares = {c: _scalar(s) for c, s in clearing.shares.items()}
    seller = {CONFIGURATIONS[c].sells: c for c in structure.configurations}
    relative = {
        f"M_{g}/M_{h}": shares[seller[g]] / shares[seller[h]]
        for g, h in combinations(sorted(seller), 2)
        if g and h
    }
    labour, trades = {}, {}
    for config, plan in clearing.plans.items():
        labour[config] = {k: _scalar(v) for k, v in plan.labour.items()}
        trade = {f"sells_{g}": _scalar(v) for g, v in plan.sells.items()}
        trade.update({f"buys_{g}": _scalar(v) for g, v in plan.buys.items()})
        trade.update({f"consumes_{g}": _scalar(v) for g, v in plan.consumption.items()})
        trades[config] = trade
    return CornerEquilibrium(
        **base,
        exists=True,
        reason=None,
        utility=float(np.exp(_scalar(corner.log_utility))),
        prices=prices,
        log_prices=log_prices,
        relative_numbers=relative,
        shares=shares,
        labour=labour,
        trades=trades,
    )


def cost_benefit(params: Params, corner: CornerEquilibrium) -> pd.DataFrame:
    """Utility of every configuration at ``corner``'s prices (those whose goods are traded).

    A configuration that buys or sells a good with no market in the structure has no price
    to face and is listed as unavailable (Yang's total cost-benefit analysis).
    """
    point = params.point()
    traded = set(corner.log_prices)
    rows = []
    for name, config in CONFIGURATIONS.items():
        available = set(config.trades) <= traded
        row = {"configuration": name, "available": available, "utility": np.nan}
        if available:
            log_coef, exps, ok, why = config.form(point)
            if bool(np.asarray(ok).reshape(-1)[0]):
                log_u = _scalar(log_coef) + sum(
                    _scalar(power) * corner.log_prices[g] for g, power in exps.items()
                )
                row["utility"] = float(np.exp(log_u))
            else:
                row["note"] = why
        row["in_structure"] = name in corner.configurations
        rows.append(row)
    table = pd.DataFrame(rows)
    table["gain_over_equilibrium"] = table["utility"] / corner.utility - 1
    return table.sort_values("utility", ascending=False, na_position="last").reset_index(drop=True)


def solve(
    params: Params,
    structures: str | Iterable[str] = "paper",
    *,
    validate: bool = True,
) -> Equilibrium:
    """Every corner equilibrium at ``params`` and the general equilibrium among them."""
    if validate:
        params.validate()
    names = list(select_structures(structures))
    corners = {n: corner_equilibrium(params, n) for n in names}
    existing = {n: c.utility for n, c in corners.items() if c.exists}
    if not existing:
        return Equilibrium(params, corners, None, [], pd.DataFrame(), None)
    winner = max(existing, key=existing.get)
    best = existing[winner]
    ties = [n for n, u in existing.items() if n != winner and u >= best * (1 - TIE_RTOL)]
    table = cost_benefit(params, corners[winner])
    top = table["utility"].max()
    passed = bool(top <= best * (1 + CHECK_RTOL))
    return Equilibrium(params, corners, winner, ties, table, passed)
