"""Theory: the infra-marginal general-equilibrium model of industrial clusters (Yang-style).

Public API: :class:`Params`, :func:`solve` (all corner equilibria and the general equilibrium
at a point), :func:`regimes` / :func:`paper_regimes` (vectorised over grids),
:func:`regime_map` / :func:`sweep` (phase diagrams, closed-form boundaries drawn as lines),
:func:`audit_claims` and :func:`table1_comparison` (the paper's claims and printed formulas
vs the derivation), :func:`corrected_table1` and :func:`table2_columns` (the paper's tables
corrected and checked column by column), :func:`boundary` / :func:`boundary_table` /
:func:`ge_thresholds` (closed-form regime boundaries) and :func:`comparative_statics`
(income and division of labour along a parameter, with figure). See docs/theory.md.
"""

from clusteratlas.theory.audit import audit_claims, table1_comparison
from clusteratlas.theory.boundaries import boundary, boundary_table, ge_thresholds
from clusteratlas.theory.fast import paper_regimes
from clusteratlas.theory.maps import regime_map, sweep
from clusteratlas.theory.model import Params, regimes, utilities
from clusteratlas.theory.paper_tables import corrected_table1, table2_columns
from clusteratlas.theory.solve import Equilibrium, solve
from clusteratlas.theory.statics import comparative_statics, statics_figure
from clusteratlas.theory.structures import ALL_STRUCTURES, PAPER_STRUCTURES

__all__ = [
    "ALL_STRUCTURES", "PAPER_STRUCTURES", "Equilibrium", "Params", "audit_claims", "boundary",
    "boundary_table", "comparative_statics", "corrected_table1", "ge_thresholds",
    "paper_regimes", "regime_map", "regimes", "solve", "statics_figure", "sweep",
    "table1_comparison", "table2_columns", "utilities",
]  # fmt: skip
