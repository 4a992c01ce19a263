"""Fast path: the seven paper structures' per-capita real incomes in closed form (log space).

These are the corner equilibria of :mod:`clusteratlas.theory.model` simplified by hand
(docs/theory.md gives the algebra); the tests check them against the generic solver, the
sympy derivation and the brute-force optimum. Used for regime maps and the benchmark, where
they evaluate several million parameter points per second.

With ``E_1 = 1-F-b``, ``E_2 = 1-F-2b``, ``s`` = z_scale (1 in the paper) and ``g`` the
technology exponent (alpha, or beta for CC_A):

* A:   ``u = (E_1/2)^2``
* B:   ``u = (a s)^a (E_2/(2+a))^(2+a)``
* P_A: ``log u = C_2 - (C_2 - C_1)(1-a)`` with ``C_1`` the price-free log utility of (xy/z)
  and ``C_2 = log(k_x (1-2b)^2/4)`` that of (zy/x)
* P_B: ``u = sqrt(k_x k_y) (1-b) (a s)^a E_1^(1+a) / (4 (1+a)^(1+a))``
* P_C: ``u = sqrt(k_x k_y) (1-b)(1-F) / 4``
* CC:  ``u = (1-b)^(1+g) (1-F) g^g (1-g)^(1-g) k_x^((1+g)/2) k_y^(1/2) (s k_z)^g / 4``
"""

from __future__ import annotations

import numpy as np

from clusteratlas.theory.model import Params
from clusteratlas.theory.structures import PAPER_STRUCTURES

NAMES = list(PAPER_STRUCTURES)


def paper_log_utilities(params: Params) -> dict[str, np.ndarray]:
    """``log u`` of each paper structure; ``-inf`` where its corner equilibrium does not exist."""
    a, b, F = params.value("alpha"), params.value("b"), params.value("F")
    beta = params.beta
    kx, ky, kz = params.k("x"), params.k("y"), params.k("z")
    s = params.value("z_scale")
    with np.errstate(divide="ignore", invalid="ignore"):
        E1, E2 = 1 - F - b, 1 - F - 2 * b
        log_E1, log_E2 = np.log(E1), np.log(E2)
        log_1b, log_1F = np.log1p(-b), np.log1p(-F)
        log_kx, log_ky, log_kzs = np.log(kx), np.log(ky), np.log(kz * s)
        log_a, log_s = np.log(a), np.log(s)
        half_kxky = 0.5 * (log_kx + log_ky)
        log4 = np.log(4.0)
        out = {}
        out["A"] = 2 * (log_E1 - np.log(2.0))
        out["B"] = a * (log_a + log_s) + (2 + a) * (log_E2 - np.log(2 + a))
        # P_A: (xy/z) sells x, buys z; (zy/x) sells z, buys x
        one_a = 1 - a
        inv = 1 / one_a
        log_ex = log_E1 - np.log(2 - a)
        c1 = 2 * np.log(one_a) + a * inv * (log_a + log_kzs) + (inv + 1) * log_ex
        c2 = log_kx + 2 * np.log1p(-2 * b) - log4
        out["P_A"] = c2 - (c2 - c1) * one_a
        out["P_B"] = (
            half_kxky
            + log_1b
            + a * (log_a + log_s)
            + (1 + a) * log_E1
            - (1 + a) * np.log1p(a)
            - log4
        )
        out["P_C"] = half_kxky + log_1b + log_1F - log4
        for name, g in (("CC_A", beta), ("CC_B", a)):
            gg = g * np.log(g) + (1 - g) * np.log(1 - g)
            out[name] = (
                (1 + g) * log_1b + log_1F + gg + 0.5 * (1 + g) * log_kx + 0.5 * log_ky
                + g * log_kzs - log4
            )  # fmt: skip
        conditions = {
            "A": E1 > 0,
            "B": E2 > 0,
            "P_A": (E1 > 0) & (b < 0.5) & (a < 1),
            "P_B": E1 > 0,
            "P_C": np.ones_like(E1, dtype=bool),
            "CC_A": (beta > 0) & (beta < 1),
            "CC_B": a < 1,
        }
    return {n: np.where(conditions[n] & np.isfinite(out[n]), out[n], -np.inf) for n in NAMES}


CHUNK = 1 << 15  # points per block: keeps the ~40 temporaries in cache


def paper_regimes(params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Index into :data:`NAMES` of the winning paper structure (-1 if none) and its income.

    Large grids are processed in cache-sized blocks, which is about twice as fast.
    """
    values = {n: getattr(params, n) for n in Params.NAMES}
    arrays = {n: np.asarray(v, dtype=float) for n, v in values.items() if v is not None}
    shape = np.broadcast(*arrays.values()).shape
    size = int(np.prod(shape))
    if size <= CHUNK:
        return _paper_regimes_block(params)
    flat = {n: np.broadcast_to(v, shape).reshape(-1) for n, v in arrays.items()}
    index = np.empty(size, dtype=np.int64)
    income = np.empty(size)
    for start in range(0, size, CHUNK):
        block = Params(**{n: v[start : start + CHUNK] for n, v in flat.items()})
        index[start : start + CHUNK], income[start : start + CHUNK] = _paper_regimes_block(block)
    return index.reshape(shape), income.reshape(shape)


def _paper_regimes_block(params: Params) -> tuple[np.ndarray, np.ndarray]:
    logs = paper_log_utilities(params)
    shape = np.broadcast(*logs.values()).shape
    stack = np.stack([np.broadcast_to(logs[n], shape) for n in NAMES])
    index = np.argmax(stack, axis=0)
    best = np.take_along_axis(stack, index[None], axis=0)[0]
    index = np.where(np.isfinite(best), index, -1)
    return index, np.exp(best)
