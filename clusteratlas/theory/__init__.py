"""Theory: the infra-marginal general-equilibrium model of industrial clusters (Yang-style).

Public API: :class:`Params`, :func:`solve` (all corner equilibria and the general equilibrium
at a point), :func:`regimes` / :func:`paper_regimes` (vectorised over grids),
:func:`regime_map` / :func:`sweep` (phase diagrams), :func:`audit_claims` and
:func:`table1_comparison` (the paper's claims and printed formulas vs the derivation).
See docs/theory.md.
"""

from clusteratlas.theory.audit import audit_claims, table1_comparison
from clusteratlas.theory.fast import paper_regimes
from clusteratlas.theory.maps import regime_map, sweep
from clusteratlas.theory.model import Params, regimes, utilities
from clusteratlas.theory.solve import Equilibrium, solve
from clusteratlas.theory.structures import ALL_STRUCTURES, PAPER_STRUCTURES

__all__ = [
    "ALL_STRUCTURES", "PAPER_STRUCTURES", "Equilibrium", "Params", "audit_claims",
    "paper_regimes", "regime_map", "regimes", "solve", "sweep", "table1_comparison", "utilities",
]  # fmt: skip
