"""Claims audit (informative sweeps, closed-form derivatives), Table 2, comparative statics, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from clusteratlas.cli import app
from clusteratlas.theory import symbolic
from clusteratlas.theory.audit import (
    _derivative_claim,
    _derived,
    _division_level,
    _regime_claim,
    audit_claims,
)
from clusteratlas.theory.boundaries import boundary
from clusteratlas.theory.model import Params, regimes, utilities
from clusteratlas.theory.paper_tables import TABLE2, table2_columns
from clusteratlas.theory.sampling import sample
from clusteratlas.theory.solve import solve
from clusteratlas.theory.statics import comparative_statics


@pytest.fixture(scope="module")
def claims():
    table = audit_claims(n=20000)
    return {(r.claim_id, r.forms, r.design): r for r in table.itertuples()}


def test_verdicts_come_from_informative_sweeps_only(claims):
    """Prop. 1 iv: smaller b is claimed to raise division; the GE moves against it in every
    b-sweep along which the level of division changes (A -> P_C as b rises), so it fails."""
    row = claims[("P1-iv-div", "derived", "common")]
    assert row.evaluated == 400
    assert row.informative > 200  # the GE changes along most b-sweeps...
    assert row.against_claim == row.informative and row.with_claim == 0  # ...always against
    assert row.verdict == "fails"
    assert "A->P_C" in row.analytic and "(> 0 proved)" in row.analytic
    # sweeps along which nothing changes are no evidence: no longer "holds" or "vacuous"
    for claim in ("P1-iii", "P1-iv-z", "P1-ii"):
        row = claims[(claim, "derived", "common")]
        assert row.informative == 0 and row.verdict == "not evaluable"
    row = claims[("P1-i", "derived", "common")]
    assert row.verdict == "holds" and row.with_claim == row.informative > 100
    # with k_y far below k_x and k_z, z is traded in equilibrium and the z claims are testable
    row = claims[("P1-iii", "derived", "low-k_y")]
    assert row.informative > 5 and row.verdict == "holds"
    assert "P_A" in row.analytic


def test_a_claim_contradicted_in_every_informative_sweep_fails():
    params = sample(400, seed=5)
    against = _regime_claim("x", "smaller b -> more division", "", "b", _division_level, -1, params)
    assert against.informative > 0 and against.against_claim == against.informative
    assert against.verdict == "fails"
    reverse = _regime_claim("x", "larger b -> more division", "", "b", _division_level, 1, params)
    assert (reverse.with_claim, reverse.against_claim) == (against.against_claim, 0)
    assert reverse.verdict == "holds"
    constant = _regime_claim("x", "nothing", "", "b", lambda name: 1.0, 1, params)
    assert constant.informative == 0 and constant.verdict == "not evaluable"


def test_the_switch_direction_is_the_sign_of_the_closed_form_derivative():
    """Every A -> P_C switch along rising b agrees with d log(u_PC/u_A)/db > 0 (proved)."""
    found = boundary("A", "P_C", "b")
    assert found.gain_sign == 1
    params = sample(2000, seed=9)
    values = symbolic.values_of(params)
    gain = np.broadcast_to(symbolic.evaluate(found.gain, values), params.value("K").shape)
    exists = np.isfinite(utilities(params, ["A"])["A"]) & params.admissible()
    assert np.all(gain[exists] > 0)


def test_derivative_claims_are_proved_or_exact(claims):
    row = claims[("S1-dF[CC_B]", "derived", "common")]
    assert row.verdict == "fails" and row.proof == "proved on the whole domain"
    assert row.derivative == "d log q / d F = -1/(1 - F)"
    assert claims[("S1-dF[CC_B]", "printed Table 1", "common")].verdict == "holds"
    assert claims[("S2-dF[CC_A]", "derived", "common")].verdict == "fails: no effect"
    assert claims[("S1-dt-ratio", "derived", "common")].proof == "proved on the whole domain"
    row = claims[("S1-de[CC_A]", "derived", "common")]
    assert row.verdict == "depends"
    assert row.region == (
        "holds exactly where beta * k_x^(1/2) * k_z * s * (1 - b) / (1 - beta) > 1"
    )


def test_closed_form_region_and_derivative_match_the_numbers():
    """The stated region is exactly where the finite-difference derivative is positive."""
    params = sample(5000, seed=13)
    du = _derived("CC_A")
    step = 1e-6
    up = utilities(params.replace(e=params.value("e") + step), ["CC_A"])["CC_A"]
    down = utilities(params.replace(e=params.value("e") - step), ["CC_A"])["CC_A"]
    numeric = (np.log(up) - np.log(down)) / (2 * step)
    exact = symbolic.evaluate(symbolic.log_derivative(du.design(), "e"), symbolic.values_of(params))
    ok = np.isfinite(numeric) & np.isfinite(exact)
    np.testing.assert_allclose(exact[ok], numeric[ok], rtol=1e-5, atol=1e-7)
    beta, b = params.beta, params.value("b")
    k = (1 - params.value("t")) * params.value("K")
    region = beta * k**0.5 * k * (1 - b) / (1 - beta) > 1
    clear = ok & (np.abs(exact) > 1e-6)
    assert np.array_equal(region[clear], exact[clear] > 0)
    result = _derivative_claim("x", "", "", du, "e", 1, params)
    assert result.share_holding == pytest.approx(float(np.mean(exact[ok] > 0)), abs=1e-3)


def test_table2_column_by_column():
    table = table2_columns(samples=1500)
    assert list(table["column"]) == list(range(1, 13))
    assert list(table["paper_structure"]) == [c.paper_structure for c in TABLE2]
    by = table.set_index("column")
    # autarky where trading is hardest: the paper's columns 1-2 hold on nearly all the region
    assert by.loc[1, "paper_structure_share"] > 0.9 and by.loc[1, "verdict"] == "holds in part"
    # complete division never wins in the paper's model: columns 9-12 fail
    for column in (9, 10, 11, 12):
        assert by.loc[column, "verdict"] == "fails" and by.loc[column, "paper_structure_share"] == 0
        assert by.loc[column, "paper_structure_gap"] < 0
    # the representative point's structure and margin are what solve() gives there
    for row in table.itertuples():
        point = dict(part.split("=") for part in row.representative_point.split(", "))
        result = solve(Params(**{k: float(v) for k, v in point.items()}))
        assert result.winner == row.model_structure
        incomes = sorted((c.utility for c in result.corners.values() if c.exists), reverse=True)
        assert row.margin == pytest.approx(incomes[0] / incomes[1] - 1, rel=1e-3)
    assert table2_columns(samples=1500).equals(table)  # seeded
    variant = table2_columns(samples=1500, z_scale=4).set_index("column")
    assert variant.loc[11, "paper_structure_share"] > 0  # CC_B somewhere under the variant


def test_comparative_statics_income_and_division():
    fixed = Params(K=0.8)
    result = comparative_statics("b", (0.01, 0.45), fixed, points=401)
    table = result.table
    # analytic derivative = finite difference inside every structure
    np.testing.assert_allclose(table["dlog_income"], table["dlog_income_numeric"], rtol=1e-5,
                               atol=1e-7)  # fmt: skip
    assert set(table["derivative_method"]) == {"analytic"}
    ((value, below, above, method),) = result.thresholds[
        ["value", "below", "above", "method"]
    ].itertuples(index=False)
    (root,) = boundary("A", "P_C", "b").values(fixed)
    assert (below, above, method) == ("A", "P_C", "closed form")
    assert value == pytest.approx(float(root), abs=1e-12)
    before, after = table[table["b"] < value], table[table["b"] > value]
    assert set(before["traded_goods"]) == {0} and set(after["traded_goods"]) == {2}
    assert set(before["specialised_share"]) == {0.0} and np.allclose(after["specialised_share"], 1)
    # income is continuous at the switch (the two structures tie there)
    u = utilities(fixed.replace(b=value), ["A", "P_C"])
    assert float(u["A"]) == pytest.approx(float(u["P_C"]), rel=1e-12)
    figure = result.figure()
    assert len(figure.axes) == 4  # three panels and the twin axis of the last


def test_comparative_statics_numeric_where_no_closed_form():
    """With all 44 structures an unlisted one wins where y is hard to trade (low K_y): its
    d log u / dK_y is a finite difference, checked against one with a 100x larger step; the
    switch to P_C (no closed form: one side is not a paper structure) is found by Brent."""
    fixed = Params(K=0.4, t=0.04, alpha=0.96, b=0.043, F=0.73, e=0.3, theta=0.98, K_x=0.77,
                   K_y=0.17, K_z=0.82, t_x=0.07, t_y=0.3, t_z=0.18)  # fmt: skip
    result = comparative_statics("K_y", (0.05, 1.0), fixed, points=201, structures="all")
    table = result.table
    numeric = table["derivative_method"] == "numeric"
    assert numeric.any() and (~numeric).any()
    assert table.loc[numeric, "equilibrium"].str.startswith("S[").all()
    values = table.loc[numeric, "K_y"].to_numpy()
    names = table.loc[numeric, "equilibrium"].to_numpy()
    step = 1e-4
    up = regimes(fixed.replace(K_y=values + step), "all").utilities
    down = regimes(fixed.replace(K_y=values - step), "all").utilities
    coarse = [(np.log(up[n][i]) - np.log(down[n][i])) / (2 * step) for i, n in enumerate(names)]
    np.testing.assert_allclose(table.loc[numeric, "dlog_income"], coarse, rtol=1e-4)
    labels = regimes(fixed.replace(K_y=table["K_y"].to_numpy()), "all").labels()
    assert list(table["equilibrium"]) == list(labels)
    ((below, above, method),) = result.thresholds[["below", "above", "method"]].itertuples(
        index=False
    )
    assert (above, method) == ("P_C", "numeric") and below.startswith("S[")


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_cli_table1_table2_statics_derive(runner, tmp_path):
    result = runner.invoke(app, ["theory", "table1"])
    assert result.exit_code == 0, result.output
    assert "printed / derived = (2 - alpha)^(2 - alpha)" in result.output
    out = tmp_path / "t2.tex"
    result = runner.invoke(app, ["theory", "table2", "--samples", "300", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "\\begin{tabular}" in out.read_text()
    csv = tmp_path / "st.csv"
    result = runner.invoke(app, ["theory", "statics", "--param", "K", "--range", "0.05:1",
                                 "--points", "101", "--out", str(csv)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "A -> P_C (closed form)" in result.output and csv.exists()
    result = runner.invoke(app, ["theory", "statics", "--out", str(tmp_path / "st.png")])
    assert result.exit_code == 0 and (tmp_path / "st.png").stat().st_size > 1000
    result = runner.invoke(app, ["theory", "derive", "--section", "boundaries"])
    assert result.exit_code == 0, result.output
    assert "K^* = (1 - F - b)^2 / ((1 - F) * (1 - b) * (1 - t))" in result.output
    result = runner.invoke(app, ["theory", "derive", "--section", "table1", "--latex"])
    assert result.exit_code == 0 and "\\frac" in result.output
    result = runner.invoke(app, ["theory", "derive", "--section", "nope"])
    assert result.exit_code != 0
    result = runner.invoke(app, ["theory", "map", "--resolution", "30", "--no-boundaries",
                                 "--out", str(tmp_path / "m.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
