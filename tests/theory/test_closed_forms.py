"""Simplified closed forms, corrected Table 1 and closed-form regime boundaries.

References: the vectorised generic solver (itself checked against sympy's first-order
conditions and brute-force optimisation in test_individual / test_equilibrium), dense
sampled regime maps, and the brute-force numerical corner equilibria (scipy) at points
straddling each threshold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from clusteratlas.errors import ParameterError
from clusteratlas.theory import symbolic
from clusteratlas.theory.boundaries import boundary, boundary_table, ge_thresholds
from clusteratlas.theory.bruteforce import numerical_corner
from clusteratlas.theory.configs import CONFIGURATIONS
from clusteratlas.theory.fast import paper_log_utilities
from clusteratlas.theory.maps import regime_map
from clusteratlas.theory.model import Params, regimes, relative_numbers, relative_prices, utilities
from clusteratlas.theory.paper_tables import corrected_table1
from clusteratlas.theory.printed import PRINTED, printed_table1
from clusteratlas.theory.sampling import sample
from clusteratlas.theory.structures import PAPER_STRUCTURES


def _mixed_sample(n: int, seed: int) -> Params:
    """Per-good trading efficiencies and z_scale in [0.5, 4]: the general closed forms."""
    rng = np.random.default_rng(seed)
    base = sample(n, seed, design="per-good")
    return base.replace(z_scale=rng.uniform(0.5, 4.0, n))


def test_simplified_corner_equilibria_equal_the_generic_solver():
    """Income, every relative price and every relative number, log scale, to 1e-9."""
    params = _mixed_sample(4000, seed=41)
    values = symbolic.values_of(params)
    per_good = symbolic.per_good_names(params)
    generic = utilities(params, "paper")
    fast = paper_log_utilities(params)
    for name in PAPER_STRUCTURES:
        exists = np.isfinite(generic[name])
        assert exists.sum() > 1000, name
        corner = symbolic.corner(name)
        for form in (corner.utility, symbolic.income(name, per_good)):
            np.testing.assert_allclose(
                form.numeric(values)[exists], np.log(generic[name][exists]), atol=1e-9
            )
        np.testing.assert_allclose(corner.utility.numeric(values)[exists], fast[name][exists],
                                   atol=1e-9)  # fmt: skip
        prices, numbers = relative_prices(params, name), relative_numbers(params, name)
        for key, form in corner.prices.items():
            np.testing.assert_allclose(
                form.numeric(values)[exists], np.log(prices[key][exists]), atol=1e-9
            )
        for key, form in corner.numbers.items():
            np.testing.assert_allclose(
                form.numeric(values)[exists], np.log(numbers[key][exists]), atol=1e-9
            )


@pytest.mark.parametrize("name", ["A", "B", "(x/y)", "(y/x)", "(xz/y)", "(xy/z)[a]",
                                  "(xy/z)[c]", "(zy/x)", "(x/yz)[a]", "(x/yz)[c]", "(z/xy)"])  # fmt: skip
def test_configuration_monomials_equal_the_configuration_closed_forms(name, points):
    """V_c, sales and purchases (sympy) = configs.py (which equals the sympy FOC solution)."""
    utility, sells, buys = symbolic.configuration(name)
    for params in points:
        point = params.point()
        for prices in ({"x": 1.7, "y": 0.8, "z": 1.3}, {"x": 0.6, "y": 1.1, "z": 0.35}):
            values = {**symbolic.values_of(params), "p_x": prices["x"], "p_y": prices["y"],
                      "p_z": prices["z"]}  # fmt: skip
            subs = {symbolic.SYMBOLS.get(k, sp.Symbol(k, positive=True)): v for k, v in
                    values.items() if np.ndim(v) == 0}  # fmt: skip
            subs.update({symbolic.PRICES[g]: v for g, v in prices.items()})
            log_prices = {g: math.log(v) for g, v in prices.items()}
            expected = float(CONFIGURATIONS[name].log_utility(point, log_prices))
            assert float(utility.log().subs(subs)) == pytest.approx(expected, abs=1e-12)
            plan = CONFIGURATIONS[name].plan(point, prices)
            for good, amount in sells.items():
                assert float(amount.expr().subs(subs)) == pytest.approx(
                    float(plan.sells[good]), rel=1e-12
                )
            for good, amount in buys.items():
                assert float(amount.expr().subs(subs)) == pytest.approx(
                    float(plan.buys[good]), rel=1e-12
                )


def test_printed_forms_reduce_to_monomials_without_changing_their_value():
    """The printed factor (g^(g/(1-g)) - g^(1/(1-g)))^(1-g) is read as g^g (1-g)^(1-g)."""
    params = sample(500, seed=3)
    printed = printed_table1(params)
    k = (1 - params.value("t")) * params.value("K")
    values = {**symbolic.values_of(params), "k": k}
    for structure, quantities in PRINTED.items():
        for quantity, expr in quantities.items():
            reduced = symbolic.LogMonomial.of(expr)
            subs = dict(values)
            names = sorted(str(s) for s in reduced.free_symbols)
            function = sp.lambdify([sp.Symbol(n, positive=True) for n in names], reduced.log())
            with np.errstate(all="ignore"):
                ours = np.broadcast_to(function(*[subs[n] for n in names]), k.shape)
            ok = np.isfinite(printed[structure][quantity]) & np.isfinite(ours)
            assert ok.sum() > 100, (structure, quantity)
            np.testing.assert_allclose(ours[ok], np.log(printed[structure][quantity][ok]),
                                       atol=1e-9)  # fmt: skip


@pytest.fixture(scope="module")
def table1():
    return corrected_table1().set_index(["structure", "quantity"])


def test_corrected_table1_names_each_difference(table1):
    assert table1.loc[("P_C", "u"), "difference"] == "agrees"
    assert table1.loc[("P_B", "u"), "difference"] == "agrees"
    assert table1.loc[("CC_B", "p_y/p_z"), "difference"] == "agrees"
    assert table1.loc[("P_A", "u"), "difference"].startswith(
        "printed / derived = (2 - alpha)^(2 - alpha)"
    )
    assert table1.loc[("P_A", "p_x/p_z"), "difference"] == (
        "printed / derived = 1 / (2 - alpha)^(2 - alpha)"
    )
    cc = table1.loc[("CC_B", "u"), "difference"]
    assert "printed = (k^(3 + alpha) * (1 - b)^4 / 16) / derived" in cc
    assert "(y/x) earn at the printed prices" in cc
    assert table1.loc[("CC_B", "p_x/p_z"), "difference"].startswith(
        "printed = (1 / k^alpha) / derived"
    )
    assert table1.loc[("CC_B", "M_x/M_z"), "difference"].startswith("printed form illegible")
    assert table1.loc[("CC_A", "u"), "derived"] == (
        "beta^beta * k_x^((1 + beta)/2) * k_y^(1/2) * k_z^beta * s^beta * (1 - F) * "
        "(1 - b)^(1 + beta) * (1 - beta)^(1 - beta) / 4"
    )


def test_named_differences_hold_numerically():
    """The named factors, checked with numbers from the solver and the printed formulas."""
    params = Params(K=0.9, t=0.1, alpha=0.4, b=0.1, F=0.2, e=0.3, theta=0.2)
    a, b, F = 0.4, 0.1, 0.2
    k = 0.9 * 0.9
    printed = printed_table1(params)
    derived = utilities(params, "paper")
    assert float(printed["P_A"]["u"] / derived["P_A"]) == pytest.approx(
        (2 - a) ** (2 - a), rel=1e-12
    )
    product = float(printed["CC_B"]["u"] * derived["CC_B"])
    assert product == pytest.approx(k ** (3 + a) * (1 - b) ** 4 / 16, rel=1e-12)
    # the printed CC_B income is what a (y/x) specialist earns at the printed prices
    p_x = float(printed["CC_B"]["p_x/p_z"])
    p_y = float(printed["CC_B"]["p_y/p_z"])
    log_u = CONFIGURATIONS["(y/x)"].log_utility(
        params.point(), {"x": math.log(p_x), "y": math.log(p_y), "z": 0.0}
    )
    assert float(np.exp(log_u)) == pytest.approx(float(printed["CC_B"]["u"]), rel=1e-12)
    assert F == 0.2  # (F enters both and cancels in the product)


# ---------------------------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------------------------


def test_a_pc_boundary_has_one_closed_form_per_parameter():
    assert boundary("A", "P_C", "K").text() == "K^* = (1 - F - b)^2 / ((1 - F) * (1 - b) * (1 - t))"
    b_form = boundary("A", "P_C", "b")
    assert b_form.kind == "quadratic" and len(b_form.roots) == 1  # the other root has b > 1-F
    assert b_form.gain_sign == 1  # larger b favours P_C over A everywhere (proved)
    assert boundary("A", "P_C", "F").gain_sign == 1
    assert boundary("A", "P_C", "alpha").kind == "independent"
    assert boundary("A", "B", "alpha").kind == "none"
    table = boundary_table()
    assert {"explicit", "quadratic"} == set(table["kind"])
    assert len(table) > 40
    with pytest.raises(ParameterError, match="'parameter'"):
        boundary("A", "P_C", "kappa")
    with pytest.raises(ParameterError, match="'structure'"):
        boundary("A", "S[(yx/z)[a] (zx/y)]", "K")
    with pytest.raises(ParameterError, match="'value_range'"):
        ge_thresholds("K", (1.0, 0.5))


def _switches(values: np.ndarray, labels: np.ndarray) -> list[tuple[float, float, str, str]]:
    jumps = np.flatnonzero(labels[1:] != labels[:-1])
    return [(values[i], values[i + 1], labels[i], labels[i + 1]) for i in jumps]


@pytest.mark.parametrize(
    ("parameter", "low", "high"), [("K", 0.05, 1.0), ("t", 0.0, 0.9), ("b", 0.01, 0.6),
                                   ("F", 0.0, 0.9)],
)  # fmt: skip
def test_closed_form_threshold_equals_the_sampled_boundary(parameter, low, high):
    """A <-> P_C on a 20,001-point grid: the closed-form root lies in the switching cell."""
    base = sample(40, seed=61)
    grid = np.linspace(low, high, 20_001)
    checked = 0
    for i in range(40):
        fixed = Params(**{n: float(np.ravel(base.value(n))[i]) for n in
                          ("K", "t", "alpha", "b", "F", "e", "theta")})  # fmt: skip
        labels = regimes(fixed.replace(**{parameter: grid}), "paper").labels()
        switches = _switches(grid, labels)
        (root,) = boundary("A", "P_C", parameter).values(fixed)
        root = float(root)
        inside = low < root < high
        if not switches:  # then no tie inside the range where both structures exist
            at = fixed.replace(**{parameter: root})
            both = all(np.isfinite(u) for u in utilities(at, ["A", "P_C"]).values())
            assert not (inside and both and at.admissible()), (parameter, root)
            continue
        assert len(switches) == 1
        lo, hi, below, above = switches[0]
        assert {below, above} == {"A", "P_C"}
        assert lo - 1e-12 <= root <= hi + 1e-12, (parameter, root, lo, hi)
        checked += 1
    assert checked >= 10


def test_closed_form_boundary_equals_a_dense_regime_map():
    """A 400 x 400 (b, F) map: in every row the switch is the cell holding b*(F)."""
    fixed = Params(K=0.85, t=0.05)
    result = regime_map("b", (0.01, 0.45), "F", (0.01, 0.45), fixed, resolution=400)
    curve = boundary("A", "P_C", "b")
    labels = result.labels()
    rows = 0
    for j, F in enumerate(result.y):
        switches = _switches(result.x, labels[j])
        (root,) = curve.values(fixed.replace(F=F))
        if not switches:  # the closed form then puts the tie outside the row
            assert not result.x[0] < float(root) < result.x[-1], (F, float(root))
            continue
        ((lo, hi, _, _),) = switches
        assert lo - 1e-12 <= float(root) <= hi + 1e-12
        rows += 1
    assert rows > 100
    # the lines drawn on the map are these closed forms
    drawn = result.boundaries()
    assert [c["pair"] for c in drawn] == [("A", "P_C")]


def test_per_good_and_variant_boundaries_equal_the_sampled_switch():
    """k_y alone (per good) and A <-> CC_A under the scaled-z variant, to grid resolution."""
    cases = [
        (Params(K=0.9, t=0.1, K_y=0.5, alpha=0.5, b=0.1, F=0.2), "K_y", ("A", "P_C")),
        (Params(alpha=0.7, b=0.05, F=0.1, z_scale=4), "K", ("A", "CC_A")),
        (Params(K=0.95, alpha=0.3, b=0.05, F=0.1, z_scale=4), "alpha", None),
    ]
    for fixed, parameter, pair in cases:
        grid = np.linspace(0.05, 0.98, 40_001)
        labels = regimes(fixed.replace(**{parameter: grid}), "paper").labels()
        switches = _switches(grid, labels)
        assert switches, parameter
        table = ge_thresholds(parameter, (0.05, 0.98), fixed, points=2001)
        assert len(table) == len(switches)
        for row, (lo, hi, below, above) in zip(table.itertuples(), switches, strict=True):
            assert (row.below, row.above) == (below, above)
            assert lo - 1e-12 <= row.value <= hi + 1e-12
            if pair is not None:
                assert row.method == "closed form" and (below, above) == pair
                (root,) = boundary(*pair, parameter, ("K_y",) if parameter == "K_y" else ()).values(
                    fixed
                )
                assert float(root) == pytest.approx(row.value, abs=1e-12)
            else:  # alpha enters exponents: no closed form, located numerically (or where
                # a structure stops existing, beta = alpha + e - theta = 1: closed form)
                assert row.method in ("numeric", "existence limit")


@pytest.mark.parametrize(
    ("fixed", "parameter", "pair"),
    [
        (Params(K=0.8, t=0.1, alpha=0.4, F=0.2), "b", ("A", "P_C")),
        (Params(t=0.1, alpha=0.4, b=0.1, F=0.2), "K", ("A", "P_C")),
        pytest.param(Params(alpha=0.7, b=0.05, F=0.1, z_scale=4), "K", ("A", "CC_A"),
                     marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_brute_force_solver_straddles_the_closed_form_threshold(fixed, parameter, pair):
    """Just below the threshold the first structure wins, just above the second, by brute force
    (scipy root-finding on Nelder-Mead optima); the margin there (1e-3) dwarfs its error (1e-7)."""
    found = boundary(*pair, parameter)
    (root,) = found.values(fixed)
    root = float(root)
    gain = abs(
        float(symbolic.evaluate(found.gain, symbolic.values_of(fixed.replace(**{parameter: root}))))
    )
    delta = 1e-3 / gain
    winners = []
    for value in (root - delta, root + delta):
        point = fixed.replace(**{parameter: value})
        numeric = {name: numerical_corner(name, point).utility for name in pair}
        closed = utilities(point, list(pair))
        for name in pair:
            assert numeric[name] == pytest.approx(float(closed[name]), rel=1e-7)
        winners.append(max(numeric, key=numeric.get))
        ratio = numeric[pair[1]] / numeric[pair[0]]
        assert abs(math.log(ratio)) == pytest.approx(1e-3, rel=0.05)
    assert winners == list(pair) if found.gain_sign == 1 else winners == list(pair[::-1])


def test_proved_signs_are_never_contradicted_by_the_exact_derivative():
    """Soundness of the sign prover: wherever it claims a sign, no sampled point disagrees."""
    params = sample(5000, seed=71)
    values = symbolic.values_of(params)
    proved = 0
    for name in PAPER_STRUCTURES:
        exists = np.isfinite(utilities(params, [name])[name]) & params.admissible()
        for parameter in ("K", "t", "alpha", "b", "F", "e", "theta", "z_scale"):
            sign = symbolic.proved_sign(symbolic.corner(name).utility, parameter,
                                        symbolic.REQUIRES[name])  # fmt: skip
            if sign is None:
                continue
            proved += 1
            derivative = symbolic.log_derivative(symbolic.income(name), parameter)
            value = np.broadcast_to(symbolic.evaluate(derivative, values), exists.shape)[exists]
            if sign == 0:
                assert np.all(value == 0), (name, parameter)
            else:
                assert np.all(np.sign(value) == sign), (name, parameter)
    assert proved >= 35
