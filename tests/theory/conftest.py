"""Shared helpers for the theory tests: reproducible random admissible parameter points."""

from __future__ import annotations

import numpy as np
import pytest

from clusteratlas.theory.model import Params


def random_points(n: int, seed: int, z_scales=(1.0, 3.0)) -> list[Params]:
    """Admissible points where every paper structure with bought z can exist (alpha, beta < 1)."""
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        p = Params(
            K=rng.uniform(0.3, 1.0), t=rng.uniform(0, 0.6), alpha=rng.uniform(0.1, 0.85),
            b=rng.uniform(0.02, 0.3), F=rng.uniform(0.02, 0.4), e=rng.uniform(0.05, 0.6),
            theta=rng.uniform(0.05, 0.6), t_z=rng.uniform(0, 0.6), K_x=rng.uniform(0.5, 1.0),
            z_scale=float(rng.choice(z_scales)),
        )  # fmt: skip
        if 0.05 < float(p.beta) < 0.95 and float(1 - p.F - 2 * p.b) > 0.05:
            points.append(p)
    return points


@pytest.fixture(scope="session")
def points() -> list[Params]:
    return random_points(4, seed=7)
