"""RD: bad input gives clear errors; simulated designs with KNOWN jumps are recovered; the
diagnostics (rdplot, placebo, sensitivity, CLI) work end to end.

Simulated data here are SYNTHETIC (labelled); the reference comparisons on real data live in
test_rd_reference.py and test_rd_density.py.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import rd_datasets  # noqa: E402

from clusteratlas.causal.rd import rd_bandwidth_sensitivity, rd_placebo, rdplot, rdrobust  # noqa: E402
from clusteratlas.causal.rd.core import nn_residuals  # noqa: E402
from clusteratlas.cli.rd import register as register_rd  # noqa: E402
from clusteratlas.errors import EstimationError, EstimationWarning, InputError, ParameterError  # noqa: E402


def _cct_lee(n, rng, jump=0.04):
    """SYNTHETIC: the Lee (2008) design of CCT (2014) simulations, x ~ 2 Beta(2,4) - 1."""
    x = 2 * rng.beta(2, 4, n) - 1
    left = 0.48 + 1.27 * x + 7.18 * x**2 + 20.21 * x**3 + 21.54 * x**4 + 7.33 * x**5
    right = 0.52 + 0.84 * x - 3.00 * x**2 + 7.99 * x**3 - 9.01 * x**4 + 3.56 * x**5
    mu = np.where(x < 0, left, right - 0.04 + jump)
    return mu + rng.normal(0, 0.1295, n), x


# ----------------------------------------------------------------------------- bad input --


def test_bad_input_messages():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 500)
    y = x + (x >= 0) + rng.normal(size=500)
    with pytest.raises(EstimationError, match="not inside the range"):
        rdrobust(y, x, c=5)  # all on one side
    with pytest.raises(EstimationError, match="no variation"):
        rdrobust(np.ones(500), x)
    with pytest.raises(InputError, match="missing") as err:
        rdrobust(np.r_[y[:-1], np.nan], x)
    assert "row 499" in str(err.value)
    with pytest.raises(InputError, match="not numeric"):
        rdrobust(data=pd.DataFrame({"y": y, "x": ["a"] * 500}), y="y", x="x")
    with pytest.raises(InputError, match="column not found"):
        rdrobust(data=pd.DataFrame({"y": y, "x": x}), y="y", x="nope")
    with pytest.raises(EstimationError, match="too small bandwidth"):
        rdrobust(y, x, h=0.001)  # empty bandwidth
    with pytest.raises(EstimationError, match="distinct values"):
        rdrobust(y, np.where(x < 0, -1.0, np.round(x, 1)))  # one value on the left
    with pytest.raises(EstimationError, match="neither varies nor jumps"):
        rdrobust(y, x, fuzzy=np.ones(500))
    with pytest.raises(ParameterError, match="kernel"):
        rdrobust(y, x, kernel="gaussian")
    with pytest.raises(ParameterError, match="q"):
        rdrobust(y, x, p=2, q=2)
    with pytest.raises(ParameterError, match="bwselect"):
        rdrobust(y, x, bwselect="ik")
    # dropna=True drops rows as rdrobust does, and the answer is finite.
    res = rdrobust(np.r_[y[:-1], np.nan], x, dropna=True)
    assert np.all(np.isfinite(res.se)) and sum(res.N) == 499


def test_singular_covariates_are_dropped_or_reported():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, 800)
    z = rng.normal(size=800)
    y = x + (x >= 0) + z + rng.normal(size=800)
    covs = np.column_stack([z, 2 * z])  # collinear
    kept = rdrobust(y, x, covs=covs)  # covs_drop=True (default) drops the duplicate
    assert kept.coef_covs.shape[0] == 1
    with pytest.raises(EstimationError, match="singular"):
        rdrobust(y, x, covs=covs, covs_drop=False)


# ----------------------------------------------------------------------------- simulations --


def test_sharp_recovers_known_jump_with_nominal_coverage():
    """SYNTHETIC (fixed seed): y = 1 + x - 2x^2 + 0.5 1{x >= 0} + N(0, 0.5^2), x ~ U(-1, 1),
    n = 2000, 60 replications. A quadratic regression function is exactly what the q = 2 bias
    correction removes, so the bias-corrected estimate is unbiased: its mean must lie within
    3 Monte Carlo standard errors of 0.5, and robust 95% CIs must cover 0.5 in at least 51 of
    60 draws (P(more than 9 misses | 95% coverage) < 0.1%)."""
    rng = np.random.default_rng(12345)
    covered, estimates = 0, []
    for _ in range(60):
        x = rng.uniform(-1, 1, 2000)
        y = 1 + x - 2 * x**2 + 0.5 * (x >= 0) + rng.normal(0, 0.5, 2000)
        res = rdrobust(y, x)
        lo, hi = res.ci.loc["Robust"]
        covered += lo <= 0.5 <= hi
        estimates.append(res.coef["Bias-Corrected"])
    mc_se = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
    assert covered >= 51
    assert abs(np.mean(estimates) - 0.5) < 3 * mc_se


def test_bias_correction_reduces_bias_in_cct_lee_design():
    """SYNTHETIC: the Lee (2008) design of the CCT (2014) simulations (true jump 0.04): the
    conventional local-linear estimate is biased upwards; the bias-corrected one less so."""
    rng = np.random.default_rng(2014)
    conventional, corrected = [], []
    for _ in range(30):
        y, x = _cct_lee(5000, rng)
        res = rdrobust(y, x)
        conventional.append(res.coef["Conventional"])
        corrected.append(res.coef["Bias-Corrected"])
    assert abs(np.mean(corrected) - 0.04) < abs(np.mean(conventional) - 0.04)


def test_fuzzy_recovers_known_late():
    """SYNTHETIC: compliance jumps from 0.2 to 0.8 at 0; effect of treatment 2.0 (LATE = 2)."""
    rng = np.random.default_rng(99)
    est = []
    for _ in range(30):
        x = rng.uniform(-1, 1, 4000)
        t = (rng.uniform(size=4000) < np.where(x >= 0, 0.8, 0.2)).astype(float)
        y = 1 + x - 0.5 * x**2 + 2.0 * t + rng.normal(size=4000)
        res = rdrobust(y, x, fuzzy=t)
        est.append(res.coef["Conventional"])
        assert res.first_stage.loc["Conventional", "estimate"] == pytest.approx(0.6, abs=0.25)
    assert abs(np.mean(est) - 2.0) < 0.15  # s.e. of the mean over 30 draws is ~0.05


def test_nearest_neighbour_residuals_numpy_equals_compiled_and_bruteforce():
    """The vectorised / compiled NN residuals equal a direct implementation of the definition."""
    rng = np.random.default_rng(5)
    x = np.sort(np.round(rng.uniform(0, 1, 300), 2))
    d = rng.normal(size=(300, 2))
    fast = nn_residuals(x, d, 3)
    numpy_path = nn_residuals(x, d, 3, engine="numpy")
    np.testing.assert_allclose(fast, numpy_path, rtol=1e-12, atol=1e-12)
    from rdrobust.funs import _nn_residuals_jit as reference_loop  # the package's own loop

    starts = np.r_[0, np.flatnonzero(np.diff(x)) + 1]
    sizes = np.diff(np.r_[starts, 300])
    dups = np.repeat(sizes, sizes)
    dupsid = np.concatenate([np.arange(1, s + 1) for s in sizes])
    ref = reference_loop(x, d[:, 0], d[:, 1], np.zeros((300, 0)), dups, dupsid, 3, 1, 0, 300)
    np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- diagnostics --


@pytest.mark.realdata
def test_rdplot_bins_match_rdrobust_on_senate():
    from rdrobust import rdplot as ref_rdplot

    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = ref_rdplot(frame["vote"], frame["margin"], binselect="es", hide=True)
    ours = rdplot(frame["vote"], frame["margin"])
    assert list(ours.J) == [int(j) for j in theirs.J]  # IMSE-optimal evenly spaced bins
    assert ours.bins["n"].sum() == len(frame)
    assert ours.figure.axes[0].get_xlabel() == "margin"


@pytest.mark.realdata
def test_placebo_and_sensitivity_on_senate():
    frame = rd_datasets.senate()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        placebo = rd_placebo(frame["vote"], frame["margin"], dropna=True)
    table = placebo.table
    true_row = table[table["true_cutoff"]].iloc[0]
    assert true_row["robust_p_value"] < 0.01  # the incumbency effect is there
    fakes = table[~table["true_cutoff"] & (table["status"] == "ok")]
    assert len(fakes) >= 6 and (fakes["robust_p_value"] > 0.01).all()
    # a placebo below the cutoff only uses observations below the cutoff
    below = fakes[fakes["cutoff"] < 0].iloc[0]
    check = rdrobust(
        frame["vote"][frame["margin"] < 0],
        frame["margin"][frame["margin"] < 0],
        c=below["cutoff"],
        dropna=True,
    )
    assert check.coef["Conventional"] == pytest.approx(below["estimate"], rel=1e-12)
    sens = rd_bandwidth_sensitivity(frame["vote"], frame["margin"], dropna=True)
    assert sens.table["mse_optimal"].sum() == 1 and (sens.table["status"] == "ok").all()
    h_doubled = sens.table["h"].max()
    direct = rdrobust(frame["vote"], frame["margin"], h=h_doubled, dropna=True)
    assert sens.table.iloc[-1]["estimate"] == pytest.approx(direct.coef["Conventional"], rel=1e-12)


def test_cli_rd_end_to_end(tmp_path):
    frame = rd_datasets.senate()
    csv = tmp_path / "senate.csv"
    frame.to_csv(csv, index=False)
    app = typer.Typer()
    register_rd(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "res" / "rd"
    run = CliRunner().invoke(
        app,
        [
            "rd",
            "--data",
            str(csv),
            "--y",
            "vote",
            "--x",
            "margin",
            "--dropna",
            "--density",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "p.png"),
        ],
    )
    assert run.exit_code == 0, run.output
    assert "Robust" in run.output and "T =" in run.output
    written = pd.read_csv(out.with_suffix(".csv"))
    direct = rdrobust(frame["vote"], frame["margin"], dropna=True)
    assert written["estimate"].iloc[0] == pytest.approx(direct.coef["Conventional"], rel=1e-12)
    assert (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.realdata
def test_pure_numpy_path_gives_the_same_numbers(monkeypatch):
    """Without numba the numpy fallbacks (NN residuals, whole-side pilot fits) are used."""
    import clusteratlas.causal.rd.core as core

    frame = rd_datasets.mortgages()  # mass points: exercises tie groups
    with pytest.warns(EstimationWarning, match="Mass points detected"):
        compiled = rdrobust(frame["home_ownership"], frame["qob_minus_kw"], fuzzy=frame["vet_wwko"])
    monkeypatch.setattr(core, "_nn_residuals_jit", None)
    monkeypatch.setattr(core, "_poly_moments_jit", None)
    with pytest.warns(EstimationWarning, match="Mass points detected"):
        plain = rdrobust(frame["home_ownership"], frame["qob_minus_kw"], fuzzy=frame["vet_wwko"])
    np.testing.assert_allclose(plain.coef, compiled.coef, rtol=1e-9)
    np.testing.assert_allclose(plain.se, compiled.se, rtol=1e-9)
    np.testing.assert_allclose([*plain.h, *plain.b], [*compiled.h, *compiled.b], rtol=1e-9)


@pytest.mark.realdata
def test_result_plot_and_summary():
    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    res = rdrobust(frame["vote"], frame["margin"], all=True)
    fig = res.plot(frame["margin"], frame["vote"])
    assert "RD estimate" in fig.axes[0].get_title()
    text = res.summary()
    assert "Bias-Corrected" in text and "Number of Effective Obs." in text
    with pytest.raises(ParameterError):
        res.plot()
