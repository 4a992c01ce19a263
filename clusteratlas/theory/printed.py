"""The paper's printed Table 1 formulas, transcribed as printed (for comparison only).

The PDF extraction of the paper garbled several formulas; these are the legible forms, typed
as they appear (sympy, in the common trading efficiency ``k = (1 - t) K`` the paper uses for
every good). They are *not* used to compute any result: :mod:`clusteratlas.theory.audit` and
:mod:`clusteratlas.theory.paper_tables` evaluate them beside the derived corner equilibria
and name where they disagree. Entries the extraction made illegible (CC_A's relative numbers
M1, M2; CC_B's M_x/M_z, whose printed denominator is identically zero) are listed in
:data:`ILLEGIBLE` instead of being guessed.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from clusteratlas.theory.model import Params
from clusteratlas.theory.symbolic import F, alpha, b, beta, k

ILLEGIBLE = {
    ("CC_A", "M_x/M_z"): "printed as 'M1', defined in a garbled line",
    ("CC_A", "M_y/M_z"): "printed as 'M2', defined in a garbled line",
    ("CC_B", "M_x/M_z"): "printed denominator contains (a^(1/(1-a)) - a^(1/(1-a))) = 0",
}


def _cluster_factor(g: sp.Expr) -> sp.Expr:
    """The printed ``(g^(g/(1-g)) - g^(1/(1-g)))^(1-g)``, which equals ``g^g (1-g)^(1-g)``."""
    return (g ** (g / (1 - g)) - g ** (1 / (1 - g))) ** (1 - g)


def _complete_division(g: sp.Expr, price_k_power: sp.Expr) -> dict[str, sp.Expr]:
    return {
        "p_y/p_z": sp.sqrt(k),
        "p_x/p_z": (1 - F) * _cluster_factor(g) / ((1 - b) ** (1 - g) * k**price_k_power),
        "u": (1 - b) ** (3 - g) * k ** ((4 - g) / 2) / (4 * (1 - F) * _cluster_factor(g)),
    }


#: ``{structure: {quantity: printed expression}}`` (quantities: u, p_g/p_h, M_g/M_h).
PRINTED: dict[str, dict[str, sp.Expr]] = {
    "A": {"u": (1 - b - F) ** 2 / 4},
    "B": {"u": alpha**alpha * ((1 - 2 * b - F) / (2 + alpha)) ** (alpha + 2)},
    "P_A": {
        "p_x/p_z": (1 - 2 * b) ** (2 - 2 * alpha)
        / (
            4 ** (1 - alpha) * alpha**alpha * k ** (2 * alpha - 1)
            * (1 - alpha) ** (2 - 2 * alpha) * (1 - b - F) ** (2 - alpha)
        ),
        "u": (1 - 2 * b) ** (2 * alpha) * alpha**alpha * k ** (2 * alpha)
        * (1 - alpha) ** (2 - 2 * alpha) * (1 - b - F) ** (2 - alpha) / 4**alpha,
        "M_x/M_z": (1 - 2 * b) ** (3 - 2 * alpha) * (2 - alpha) ** (1 / (1 - alpha))
        / (
            2 ** (3 - 2 * alpha) * alpha ** ((1 + alpha - alpha**2) / (1 - alpha))
            * k ** ((4 * alpha - 2 * alpha**2 - 1) / (1 - alpha))
            * (1 - b - F) ** ((3 - 3 * alpha + alpha**2) / (1 - alpha))
        ),
    },
    "P_B": {
        "p_x/p_y": (1 - b) * (1 + alpha) ** (1 + alpha) / (alpha**alpha * (1 - b - F) ** (1 + alpha)),
        "u": (1 - b) * alpha**alpha * k * (1 - b - F) ** (1 + alpha) / (4 * (1 + alpha) ** (1 + alpha)),
        "M_x/M_y": sp.Integer(1),
    },
    "P_C": {
        "p_x/p_y": (1 - b) / (1 - F),
        "u": (1 - b) * (1 - F) * k / 4,
        "M_x/M_y": sp.Integer(1),
    },
    "CC_B": {
        **_complete_division(alpha, (1 - alpha) / 2),
        "M_y/M_z": (1 - b) ** (2 * (1 - alpha)) * k ** ((3 - 2 * alpha) / 2)
        * (alpha ** (alpha / (1 - alpha)) + alpha ** (1 / (1 - alpha)))
        / (alpha ** (1 / (1 - alpha)) * (1 - F) ** 2 * _cluster_factor(alpha) ** 2),
    },
    "CC_A": _complete_division(beta, sp.Rational(1, 2)),  # P1 has k^(1/2), not k^((1-b)/2)
}  # fmt: skip


def printed_table1(params: Params) -> dict[str, dict[str, np.ndarray]]:
    """``{structure: {quantity: value}}`` from the printed Table 1 (quantities: u, p_*/p_*, M_*/M_*)."""
    values = {
        k: (1 - params.value("t")) * params.value("K"),
        alpha: params.value("alpha"),
        beta: params.beta,
        b: params.value("b"),
        F: params.value("F"),
    }
    shape = np.broadcast(*values.values()).shape
    table: dict[str, dict[str, np.ndarray]] = {}
    for structure, quantities in PRINTED.items():
        table[structure] = {}
        for quantity, expr in quantities.items():
            symbols = sorted(expr.free_symbols, key=str)
            function = sp.lambdify(symbols, expr, "numpy")
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                value = function(*[values[symbol] for symbol in symbols])
            table[structure][quantity] = np.broadcast_to(np.asarray(value, dtype=float), shape)
    return table
