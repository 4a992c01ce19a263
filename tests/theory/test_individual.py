"""Closed-form individual optima vs sympy derivation and vs brute-force optimisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clusteratlas.theory import derive
from clusteratlas.theory.bruteforce import individual_optimum
from clusteratlas.theory.configs import CONFIGURATIONS

PRICES = [{"x": 1.7, "y": 0.8, "z": 1.3}, {"x": 0.6, "y": 1.1, "z": 0.35}]


SLOW_SYMBOLIC = {"(xy/z)[a]", "(xy/z)[c]", "(x/yz)[a]", "(x/yz)[c]"}  # ~10 s of sympy each


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_SYMBOLIC else n for n in CONFIGURATIONS],
)
def test_closed_form_equals_sympy_derivation(name, points):
    """V_c from the fast closed form equals the sympy FOC solution, to 1e-12 relative."""
    symbolic = derive.indirect_utility(name)
    for params in points[:2]:
        for prices in PRICES:
            values = derive.substitutions({**params.as_dict(), "z_scale": float(params.z_scale)})
            values.update({derive.px: prices["x"], derive.py: prices["y"], derive.pz: prices["z"]})
            expected = complex(symbolic.subs(values).evalf())
            log_prices = {g: np.log(v) for g, v in prices.items()}
            _, _, exists, _ = CONFIGURATIONS[name].form(params.point())
            if not bool(exists):
                continue
            fast = float(np.exp(CONFIGURATIONS[name].log_utility(params.point(), log_prices)))
            assert abs(expected.imag) < 1e-12
            assert fast == pytest.approx(expected.real, rel=1e-12)


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_closed_form_equals_brute_force(name, points):
    """The brute-force optimum equals the closed form: utility to 1e-7, trades to 1e-3."""
    config = CONFIGURATIONS[name]
    for params in points[:2]:
        prices = PRICES[0]
        point = params.point()
        _, _, exists, _ = config.form(point)
        if not bool(exists):
            continue
        plan = config.plan(point, prices)
        brute = individual_optimum(name, params, prices)
        closed = float(plan.utility)
        log_prices = {g: math.log(v) for g, v in prices.items()}
        assert float(np.exp(config.log_utility(point, log_prices))) == pytest.approx(
            closed, rel=1e-12
        )
        assert brute.utility == pytest.approx(closed, rel=1e-7)
        # the closed form is an optimum: brute force never beats it by more than rounding
        assert brute.utility <= closed * (1 + 1e-9)
        for good, amount in brute.buys.items():
            assert amount == pytest.approx(float(plan.buys[good]), rel=2e-3)
        for key, amount in brute.labour.items():
            assert amount == pytest.approx(float(plan.labour[key]), abs=2e-3)
