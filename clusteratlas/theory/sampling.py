"""Reproducible random points of the model's admissible parameter space.

Owns the sampling ranges used by the claims audit, the Table 2 check and the boundary
admissibility test. Three designs: ``"common"`` (one K and one t for every good, as the paper
writes its tables), ``"per-good"`` (``K_x, K_y, K_z`` and ``t_x, t_y, t_z`` drawn
independently over the whole range) and ``"low-k_y"`` (per good, with ``k_y`` much smaller
than ``k_x`` and ``k_z``: :data:`LOW_KY`).
"""

from __future__ import annotations

import numpy as np

from clusteratlas.errors import ParameterError
from clusteratlas.theory.model import Params

SAMPLE_RANGES = {
    "K": (0.05, 1.0),
    "t": (0.0, 0.9),
    "alpha": (0.02, 0.98),
    "b": (0.01, 0.45),
    "F": (0.01, 0.8),
    "e": (0.01, 0.99),
    "theta": (0.01, 0.99),
}
PER_GOOD_RANGE = (0.05, 1.0)  # sweeps of one good's K_g (e.g. K_z) with the others fixed
DESIGNS = ("common", "per-good", "low-k_y")
#: "low-k_y": y is hard to trade, x and z easy (k_y much smaller than k_x and k_z), the region
#: where structures that trade z but not y can win.
LOW_KY = {"K_x": (0.75, 1.0), "K_y": (0.05, 0.25), "K_z": (0.75, 1.0), "t": (0.0, 0.3)}


def sample(
    n: int = 20000, seed: int = 20260401, z_scale: float = 1.0, design: str = "common"
) -> Params:
    """Uniform random points of the admissible parameter space (vectorised Params)."""
    if design not in DESIGNS:
        raise ParameterError("design", f"unknown design {design!r}", ", ".join(DESIGNS))
    rng = np.random.default_rng(seed)
    values = {name: rng.uniform(lo, hi, n) for name, (lo, hi) in SAMPLE_RANGES.items()}
    if design == "per-good":
        for good in "xyz":
            values[f"K_{good}"] = rng.uniform(*SAMPLE_RANGES["K"], n)
            values[f"t_{good}"] = rng.uniform(*SAMPLE_RANGES["t"], n)
    if design == "low-k_y":
        for good in "xyz":
            values[f"K_{good}"] = rng.uniform(*LOW_KY[f"K_{good}"], n)
            values[f"t_{good}"] = rng.uniform(*LOW_KY["t"], n)
    return Params(**values, z_scale=z_scale)
