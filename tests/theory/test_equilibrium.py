"""Corner equilibria vs numerical solves, the general-equilibrium rule, and the fast path."""

from __future__ import annotations

import numpy as np
import pytest

from clusteratlas.errors import ParameterError
from clusteratlas.theory import derive
from clusteratlas.theory.audit import sample
from clusteratlas.theory.bruteforce import numerical_corner
from clusteratlas.theory.fast import NAMES, paper_log_utilities, paper_regimes
from clusteratlas.theory.model import (
    Params,
    clear_markets,
    regimes,
    solve_prices,
    utilities,
)
from clusteratlas.theory.solve import corner_equilibrium, solve
from clusteratlas.theory.structures import ALL_STRUCTURES, PAPER_STRUCTURES

TRADING = ["P_A", "P_B", "P_C", "CC_A", "CC_B"]


@pytest.mark.parametrize("name", ["A", "B", *TRADING])
def test_corner_equilibrium_equals_numerical_solve(name, points):
    """Closed forms equal root-finding on brute-force utilities plus SVD market clearing."""
    for params in points[:2]:
        closed = corner_equilibrium(params, name)
        assert closed.exists, closed.reason
        numeric = numerical_corner(name, params)
        assert numeric.equalisation_residual < 1e-7
        assert numeric.utility == pytest.approx(closed.utility, rel=1e-7)
        for good, value in closed.log_prices.items():
            assert numeric.log_prices[good] == pytest.approx(value, abs=1e-6)
        for config, share in closed.shares.items():
            assert numeric.shares[config] == pytest.approx(share, abs=2e-3)


@pytest.mark.parametrize(
    "name", ["A", "B", "P_B", "P_C", pytest.param("CC_A", marks=pytest.mark.slow)]
)
def test_corner_equilibrium_equals_sympy(name, points):
    """The symbolic structure solution (sympy linsolve) equals the vectorised solver."""
    solution = derive.corner_equilibrium(name)
    for params in points[:2]:
        values = derive.substitutions({**params.as_dict(), "z_scale": float(params.z_scale)})
        closed = corner_equilibrium(params, name)
        key = "log u" if "log u" in solution else "u"
        derived_u = float(solution[key].subs(values).evalf())
        derived_u = np.exp(derived_u) if key == "log u" else derived_u
        assert derived_u == pytest.approx(closed.utility, rel=1e-10)
        for label, expr in solution.items():
            if label.startswith("log p_"):
                good = label.split("/")[0][-1]
                assert float(expr.subs(values).evalf()) == pytest.approx(
                    closed.log_prices[good], abs=1e-10
                )


def test_every_structure_clears_markets_and_equalises_utility():
    """At the solver's prices all configurations earn the same utility; Walras' law holds."""
    params = sample(3000, seed=3, z_scale=2.0)
    point = params.point()
    for structure in ALL_STRUCTURES.values():
        corner = solve_prices(structure, point)
        if not structure.traded:
            continue
        clearing = clear_markets(corner, point)
        ok = clearing.exists
        assert ok.any(), structure.name
        for config in structure.configurations:
            from clusteratlas.theory.configs import CONFIGURATIONS

            log_v = CONFIGURATIONS[config].log_utility(point, corner.log_prices)
            np.testing.assert_allclose(log_v[ok], corner.log_utility[ok], atol=1e-9)
            plan_u = np.log(clearing.plans[config].utility)
            np.testing.assert_allclose(plan_u[ok], corner.log_utility[ok], atol=1e-9)
        assert np.nanmax(clearing.walras_residual[ok]) < 1e-9


def test_fast_path_equals_generic_solver():
    params = sample(50_000, seed=11, z_scale=3.0)
    fast = paper_log_utilities(params)
    generic = utilities(params, "paper")
    for name in NAMES:
        exists = np.isfinite(generic[name])
        assert np.array_equal(exists, np.isfinite(fast[name])), name
        np.testing.assert_allclose(np.exp(fast[name][exists]), generic[name][exists], rtol=1e-8)
    index, _ = paper_regimes(params)
    assert np.array_equal(index, regimes(params, "paper").index)


def test_general_equilibrium_passes_total_cost_benefit_check_with_all_structures():
    """With every Lemma-1 structure considered, the winner is never beaten by a deviation."""
    rng = np.random.default_rng(5)
    params = sample(60, seed=17, z_scale=1.0)
    for i in range(60):
        point = Params(
            **{
                k: float(np.ravel(params.value(k))[i])
                for k in ("K", "t", "alpha", "b", "F", "e", "theta")
            },
            z_scale=float(rng.choice([1.0, 2.5, 5.0])),
        )
        result = solve(point, "all")
        if result.winner is None:
            continue
        assert result.check_passed, (point, result.winner, result.cost_benefit.head(3))


def test_paper_winner_check_failure_means_an_unlisted_structure_wins():
    params = sample(40, seed=23, z_scale=4.0)
    for i in range(40):
        point = Params(
            **{
                k: float(np.ravel(params.value(k))[i])
                for k in ("K", "t", "alpha", "b", "F", "e", "theta")
            },
            z_scale=4.0,
        )
        paper = solve(point, "paper")
        if paper.winner is None or paper.check_passed:
            continue
        everything = solve(point, "all")
        assert not everything.corners[everything.winner].in_paper


def test_ties_are_reported():
    # e == theta makes beta == alpha, so CC_A and CC_B coincide; z_scale lets them win
    result = solve(Params(K=0.95, t=0.05, alpha=0.7, b=0.05, F=0.1, e=0.2, theta=0.2, z_scale=4))
    assert {result.winner, *result.ties} == {"CC_A", "CC_B"}
    assert "tied" in result.summary()


def test_model_as_written_never_reaches_complete_division():
    """u_CC / u_PC = [(1-b) sqrt(k_x) k_z]^g g^g (1-g)^(1-g) < 1 when z_scale = 1."""
    params = sample(100_000, seed=29)
    labels = regimes(params, "paper").labels()
    assert not np.isin(labels, ["CC_A", "CC_B"]).any()
    table = utilities(params, ["CC_A", "CC_B", "P_C"])
    for name in ("CC_A", "CC_B"):
        ok = np.isfinite(table[name])
        assert (table[name][ok] < table["P_C"][ok]).all()


def test_nonexistence_has_a_reason_and_bad_input_raises():
    result = solve(Params(alpha=1.2, e=0.3, theta=0.2))
    cc = result.corners["CC_B"]
    assert not cc.exists and cc.utility is None and "0 < exponent < 1" in cc.reason
    assert result.corners["B"].exists  # self-provided z is fine with alpha >= 1
    with pytest.raises(ParameterError, match="k_x"):
        solve(Params(K=1.5, t=0.1))
    with pytest.raises(ParameterError, match="'b'"):
        solve(Params(b=1.2))


def test_separate_trading_efficiencies_enter_where_goods_are_traded():
    base = Params(K=0.8, t=0.1, alpha=0.5)
    higher_kz = base.replace(K_z=1.0, t_z=0.0)
    u0, u1 = utilities(base, "paper"), utilities(higher_kz, "paper")
    assert u0["P_C"] == pytest.approx(u1["P_C"])  # z not traded in P_C
    assert u1["CC_B"] > u0["CC_B"] and u1["P_A"] > u0["P_A"]


def test_enumeration_contains_the_paper_structures():
    assert set(PAPER_STRUCTURES) <= set(ALL_STRUCTURES)
    assert len(ALL_STRUCTURES) == 44


@pytest.mark.parametrize(
    "name", ["S[(x/yz)[c] (y/x) (zxz/y)]", "S[(yx/z)[a] (zx/y)]", "S[(x/yz)[a] (yx/z)[c] (zy/x)]"]
)
def test_unlisted_structures_equal_numerical_solve(name):
    params = Params(K=0.9, t=0.1, alpha=0.4, z_scale=3)
    closed = corner_equilibrium(params, name)
    assert closed.exists, closed.reason
    numeric = numerical_corner(name, params)
    assert numeric.utility == pytest.approx(closed.utility, rel=1e-7)
    for config, share in closed.shares.items():
        assert numeric.shares[config] == pytest.approx(share, abs=2e-3)
