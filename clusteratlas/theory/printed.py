"""The paper's printed Table 1 formulas, transcribed as printed (for comparison only).

The PDF extraction of the paper garbled several formulas; these are the legible forms, typed
as they appear, with ``k = (1 - t) K`` for every good. They are *not* used to compute any
result; :mod:`clusteratlas.theory.audit` evaluates them beside the derived corner equilibria
and reports where they disagree. Entries the extraction made illegible (CC_A's relative
numbers M1, M2; CC_B's M_x/M_z, whose printed denominator is identically zero) are listed in
:data:`ILLEGIBLE` instead of being guessed.
"""

from __future__ import annotations

import numpy as np

from clusteratlas.theory.model import Params

ILLEGIBLE = {
    ("CC_A", "M_x/M_z"): "printed as 'M1', defined in a garbled line",
    ("CC_A", "M_y/M_z"): "printed as 'M2', defined in a garbled line",
    ("CC_B", "M_x/M_z"): "printed denominator contains (a^(1/(1-a)) - a^(1/(1-a))) = 0",
}


def _cluster_factor(g):
    # (g^{g/(1-g)} - g^{1/(1-g)})^{1-g}, which equals g^g (1-g)^{1-g}
    with np.errstate(invalid="ignore", divide="ignore"):
        return (g ** (g / (1 - g)) - g ** (1 / (1 - g))) ** (1 - g)


def printed_table1(params: Params) -> dict[str, dict[str, np.ndarray]]:
    """``{structure: {quantity: value}}`` from the printed Table 1 (quantities: u, p_*/p_*, M_*/M_*)."""
    K, t = params.value("K"), params.value("t")
    a, b, F = params.value("alpha"), params.value("b"), params.value("F")
    beta = params.beta
    k = (1 - t) * K
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        table = {
            "A": {"u": (1 - b - F) ** 2 / 4},
            "B": {"u": a**a * ((1 - 2 * b - F) / (2 + a)) ** (a + 2)},
            "P_A": {
                "p_x/p_z": (1 - 2 * b) ** (2 - 2 * a)
                / (
                    4 ** (1 - a)
                    * a**a
                    * k ** (2 * a - 1)
                    * (1 - a) ** (2 - 2 * a)
                    * (1 - b - F) ** (2 - a)
                ),
                "u": (1 - 2 * b) ** (2 * a)
                * a**a
                * k ** (2 * a)
                * (1 - a) ** (2 - 2 * a)
                * (1 - b - F) ** (2 - a)
                / 4**a,
                "M_x/M_z": (1 - 2 * b) ** (3 - 2 * a)
                * (2 - a) ** (1 / (1 - a))
                / (
                    2 ** (3 - 2 * a)
                    * a ** ((1 + a - a**2) / (1 - a))
                    * k ** ((4 * a - 2 * a**2 - 1) / (1 - a))
                    * (1 - b - F) ** ((3 - 3 * a + a**2) / (1 - a))
                ),
            },
            "P_B": {
                "p_x/p_y": (1 - b) * (1 + a) ** (1 + a) / (a**a * (1 - b - F) ** (1 + a)),
                "u": (1 - b) * a**a * k * (1 - b - F) ** (1 + a) / (4 * (1 + a) ** (1 + a)),
                "M_x/M_y": np.ones_like(k),
            },
            "P_C": {
                "p_x/p_y": (1 - b) / (1 - F) + 0 * k,
                "u": (1 - b) * (1 - F) * k / 4,
                "M_x/M_y": np.ones_like(k),
            },
            "CC_B": {
                "p_y/p_z": k**0.5,
                "p_x/p_z": (1 - F) * _cluster_factor(a) / ((1 - b) ** (1 - a) * k ** ((1 - a) / 2)),
                "u": (1 - b) ** (3 - a) * k ** ((4 - a) / 2) / (4 * (1 - F) * _cluster_factor(a)),
                "M_y/M_z": (1 - b) ** (2 * (1 - a))
                * k ** ((3 - 2 * a) / 2)
                * (a ** (a / (1 - a)) + a ** (1 / (1 - a)))
                / (a ** (1 / (1 - a)) * (1 - F) ** 2 * _cluster_factor(a) ** 2),
            },
            "CC_A": {
                "p_y/p_z": k**0.5,
                "p_x/p_z": (1 - F) * _cluster_factor(beta) / ((1 - b) ** (1 - beta) * k**0.5),
                "u": (1 - b) ** (3 - beta)
                * k ** ((4 - beta) / 2)
                / (4 * (1 - F) * _cluster_factor(beta)),
            },
        }
    return table
