"""One result base class and one tidy vocabulary for every estimator (issue #19).

All data here are SYNTHETIC with known effects (a staggered panel whose effects grow with
exposure, a 2x2 design with effect 2, an RD with a jump of 0.5): the reference tests against
rdrobust, pyfixest, R did / HonestDiD ... live beside this file and check the numbers; this file
checks that every result speaks the same vocabulary, exports the same way, and that the old
spellings still work with a warning and give the same numbers.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from did_synthetic import staggered_panel, true_att

from clusteratlas.causal.did import (
    att_gt,
    bacon_decomposition,
    did2s,
    did_2x2,
    did_imputation,
    event_study,
    honest_from,
    sun_abraham,
    twfe,
    twfe_weights,
    wild_cluster_bootstrap,
)
from clusteratlas.causal.did.cs import AggregateResult, ATTgtResult
from clusteratlas.causal.did.event_study import EventStudyResult
from clusteratlas.causal.did.honest import HonestResult
from clusteratlas.causal.did.negative_weights import BaconResult, TWFEWeights
from clusteratlas.causal.inference.wild_bootstrap import WildBootstrapResult
from clusteratlas.causal.rd import (
    DensityResult,
    RDBandwidths,
    RDPlot,
    RDResult,
    RDTable,
    rd_bandwidth_sensitivity,
    rd_placebo,
    rdbwselect,
    rddensity,
    rdplot,
    rdrobust,
)
from clusteratlas.causal.results import EffectResult
from clusteratlas.errors import DataCoverageWarning, ParameterError
from clusteratlas.policy.diagnostics import PolicyDiagnostics
from clusteratlas.resilience.indices import ResilienceResult, resilience
from clusteratlas.results import (
    TIDY_COLUMNS,
    DeprecatedNameWarning,
    EstimatorResult,
    Result,
    resolve_alpha,
)
from clusteratlas.studies.cho2024.study import Cho2024Result

RD_JUMP = 0.5
DID_EFFECT = 2.0


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """SYNTHETIC staggered panel (200 units, cohorts 2005/2010/2015 and never treated)."""
    return staggered_panel(units=200, seed=3, noise=0.1)


@pytest.fixture(scope="module")
def two_by_two() -> pd.DataFrame:
    """SYNTHETIC 2x2 design: 40 units x 2 periods, effect DID_EFFECT, 8 clusters."""
    rng = np.random.default_rng(7)
    n = 80
    frame = pd.DataFrame(
        {"d": np.repeat([0, 1], n // 2), "t": np.tile([0, 1], n // 2), "cl": np.arange(n) % 8}
    )
    frame["y"] = DID_EFFECT * frame["d"] * frame["t"] + rng.normal(0, 0.3, n)
    return frame


@pytest.fixture(scope="module")
def rd_data() -> pd.DataFrame:
    """SYNTHETIC sharp RD: x ~ U(-1, 1), y = x + RD_JUMP 1[x >= 0] + noise; fuzzy take-up."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, 1500)
    above = (x >= 0).astype(float)
    take_up = np.where(rng.uniform(size=x.size) < 0.85, above, 1 - above)
    y = x + RD_JUMP * take_up + rng.normal(0, 0.2, x.size)
    return pd.DataFrame({"x": x, "y": y, "t": take_up})


def _quiet(fn: Callable[[], object]) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.fixture(scope="module")
def estimator_results(panel, two_by_two, rd_data) -> dict[str, tuple[EstimatorResult, float]]:
    """Every estimator's result on SYNTHETIC data and the true value of its headline row."""
    att = true_att(panel)
    es = _quiet(lambda: event_study(panel, "y", "unit", "year", cohort="cohort", leads=3, lags=2))
    gt = _quiet(lambda: att_gt(panel, "y", "unit", "year", "cohort"))
    small = did_2x2(two_by_two, "y", "d", "t", cluster="cl", vcov="CRV1")
    x, y = rd_data["x"].to_numpy(), rd_data["y"].to_numpy()
    sharp = rd_data.assign(y=rd_data["x"] + RD_JUMP * (rd_data["x"] >= 0))
    sharp["y"] += np.random.default_rng(2).normal(0, 0.2, len(sharp))
    return {
        "did_2x2": (small, DID_EFFECT),
        "twfe": (_quiet(lambda: twfe(panel, "y", "unit", "year", "treated")), np.nan),
        "event_study": (es, np.nan),
        "att_gt": (gt, np.nan),
        "att_gt.aggregate": (gt.aggregate("simple"), np.nan),
        "did_imputation": (did_imputation(panel, "y", "unit", "year", "cohort"), att),
        "did2s": (did2s(panel, "y", "unit", "year", "cohort"), att),
        "sun_abraham": (_quiet(lambda: sun_abraham(panel, "y", "unit", "year", "cohort")), np.nan),
        "bacon": (bacon_decomposition(panel, "y", "unit", "year", "cohort"), np.nan),
        "honest": (_quiet(lambda: honest_from(es, m_grid=[0.0, 0.5])), np.nan),
        "wild_bootstrap": (
            _quiet(lambda: wild_cluster_bootstrap(small, reps=199, seed=1)),
            DID_EFFECT,
        ),
        "rdrobust": (
            rdrobust(sharp["y"].to_numpy(), sharp["x"].to_numpy(), cluster=None),
            RD_JUMP,
        ),
        "rdrobust_fuzzy": (rdrobust(y, x, fuzzy=rd_data["t"].to_numpy()), RD_JUMP),
        "rddensity": (rddensity(x), 0.0),
        "rd_placebo": (_quiet(lambda: rd_placebo(y, x)), np.nan),
        "rd_bandwidth_sensitivity": (_quiet(lambda: rd_bandwidth_sensitivity(y, x)), np.nan),
    }


ESTIMATORS = [
    "did_2x2",
    "twfe",
    "event_study",
    "att_gt",
    "att_gt.aggregate",
    "did_imputation",
    "did2s",
    "sun_abraham",
    "bacon",
    "honest",
    "wild_bootstrap",
    "rdrobust",
    "rdrobust_fuzzy",
    "rddensity",
    "rd_placebo",
    "rd_bandwidth_sensitivity",
]


def test_every_result_class_derives_from_the_base():
    estimators = [
        EffectResult, EventStudyResult, AggregateResult, ATTgtResult, BaconResult, HonestResult,
        WildBootstrapResult, RDResult, DensityResult, RDTable,
    ]  # fmt: skip
    descriptive = [TWFEWeights, RDBandwidths, RDPlot, ResilienceResult, PolicyDiagnostics]
    for cls in estimators:
        assert issubclass(cls, EstimatorResult), cls
    for cls in [*descriptive, Cho2024Result]:
        assert issubclass(cls, Result), cls
    # the exports are written once, in the base: no result class has its own
    for cls in [*estimators, *descriptive, Cho2024Result]:
        for method in ("export", "to_csv", "to_latex", "to_html", "_repr_html_", "to_frame"):
            assert getattr(cls, method) is getattr(Result, method), (cls, method)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_tidy_speaks_the_vocabulary(estimator_results, name):
    result, truth = estimator_results[name]
    assert isinstance(result, EstimatorResult)
    tidy = result.tidy()
    assert tuple(tidy.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS, list(tidy.columns)
    extras = list(tidy.columns[len(TIDY_COLUMNS) :])
    assert set(extras) <= set(type(result).tidy_extras), extras
    assert not set(type(result).tidy_renamed) & set(tidy.columns)
    assert len(tidy) >= 1 and tidy["term"].notna().all()
    rows = tidy.dropna(subset=["conf_low", "conf_high"])
    if name in ("honest", "rd_placebo", "rd_bandwidth_sensitivity"):
        rows = rows.iloc[:0]  # robust sets / robust CIs need not contain the shown estimate
    assert (rows["conf_low"] <= rows["estimate"] + 1e-12).all()
    assert (rows["estimate"] <= rows["conf_high"] + 1e-12).all()
    if np.isfinite(truth):  # SYNTHETIC: the headline row's interval covers the known effect
        head = tidy.iloc[0] if name != "did_2x2" else tidy.set_index("term").loc[result.term]
        if name.startswith("rdrobust"):
            head = tidy.set_index("term").loc["Robust"]
        if name == "rddensity":  # no manipulation: the jump in the density is not significant
            assert head["p_value"] > 0.01
        elif name in ("did_imputation", "did2s"):
            assert head["estimate"] == pytest.approx(truth, abs=4 * head["std_error"])
        else:
            assert head["conf_low"] <= truth <= head["conf_high"], head


@pytest.mark.parametrize("name", ESTIMATORS)
def test_exports_are_the_tidy_table(estimator_results, name, tmp_path):
    result, _ = estimator_results[name]
    frame = result.to_frame()
    assert type(frame) is pd.DataFrame
    text = result.to_csv(tmp_path / "t.csv")
    written = pd.read_csv(tmp_path / "t.csv")
    assert text == frame.to_csv(index=False)
    assert list(written.columns) == list(frame.columns)
    np.testing.assert_allclose(
        written["estimate"].to_numpy(float), frame["estimate"].to_numpy(float), rtol=1e-12
    )
    assert "\\begin{tabular}" in result.to_latex()
    assert "<table" in result._repr_html_() and html.escape(result.caption) in result.to_html()
    paths = result.export(tmp_path / "stem")
    assert sorted(p.suffix for p in paths) == [".csv", ".html", ".tex"]
    assert result.summary().strip()


def test_descriptive_results_export_through_the_base(panel, rd_data, tmp_path):
    weights = twfe_weights(panel, "y", "unit", "year", "cohort")
    x, y = rd_data["x"].to_numpy(), rd_data["y"].to_numpy()
    bandwidths, binned = rdbwselect(y, x), _quiet(lambda: rdplot(y, x))
    frame = panel.loc[panel["year"].between(2003, 2008)].assign(region_type="synthetic")
    with pytest.warns(DataCoverageWarning, match="no national series"):
        shocked = resilience(
            frame.rename(columns={"unit": "region_id", "y": "value"}).assign(
                value=lambda f: np.exp(f["value"])
            ),
            (2004, 2006, 2008),
        )
    for result in (weights, shocked, bandwidths, binned):
        result.to_csv(tmp_path / "d.csv")
        written = pd.read_csv(tmp_path / "d.csv")
        assert list(written.columns) == list(result.tidy().columns)
        assert len(written) == len(result.tidy()) > 0


# --------------------------------------------------------------- deprecated spellings --


def test_rdrobust_level_is_deprecated_and_gives_the_same_numbers(rd_data):
    x, y = rd_data["x"].to_numpy(), rd_data["y"].to_numpy()
    new = rdrobust(y, x, alpha=0.10)
    with pytest.warns(DeprecatedNameWarning, match="'level' is deprecated.*'alpha'"):
        old = rdrobust(y, x, level=90)
    np.testing.assert_allclose(old.ci.to_numpy(), new.ci.to_numpy(), rtol=1e-12)
    assert new.alpha == pytest.approx(0.10)
    with pytest.warns(DeprecatedNameWarning):
        assert new.level == pytest.approx(90)
    default = rdrobust(y, x)
    with pytest.deprecated_call():
        pct95 = rdrobust(y, x, level=95)
    np.testing.assert_allclose(pct95.ci.to_numpy(), default.ci.to_numpy(), rtol=1e-12)
    with pytest.raises(ParameterError, match="alpha"):
        rdrobust(y, x, alpha=5)
    with pytest.raises(ParameterError, match="level"), pytest.warns(DeprecatedNameWarning):
        rdrobust(y, x, level=0)


def test_resolve_alpha():
    assert resolve_alpha(0.05, None, "f") == 0.05
    with pytest.warns(DeprecatedNameWarning, match="f: 'level'"):
        assert resolve_alpha(0.05, 99, "f") == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("rdrobust", "ci_lower", "conf_low"),
        ("rdrobust", "ci_upper", "conf_high"),
        ("rdrobust", "z", "statistic"),
        ("rdrobust", "method", "term"),
        ("rddensity", "t", "statistic"),
        ("rddensity", "se_difference", "std_error"),
        ("rd_placebo", "robust_ci_lower", "conf_low"),
        ("rd_placebo", "robust_p_value", "p_value"),
        ("rd_bandwidth_sensitivity", "se", "std_error"),
        ("honest", "lb", "conf_low"),
        ("honest", "ub", "conf_high"),
        ("wild_bootstrap", "boot_p_value", "p_value"),
        ("wild_bootstrap", "boot_conf_low", "conf_low"),
        ("wild_bootstrap", "t_stat", "statistic"),
    ],
)
def test_old_column_names_still_answer_with_a_warning(estimator_results, name, old, new):
    tidy = estimator_results[name][0].tidy()
    with pytest.warns(DeprecatedNameWarning, match=f"'{old}' is deprecated.*'{new}'"):
        values = tidy[old]
    pd.testing.assert_series_equal(values, tidy[new])
    with pytest.warns(DeprecatedNameWarning):
        both = tidy[["term", old]]
    assert list(both.columns) == ["term", new]


def test_numbers_unchanged_by_the_vocabulary(estimator_results):
    rd = estimator_results["rdrobust"][0]
    tidy = rd.tidy().set_index("term")
    np.testing.assert_array_equal(tidy["conf_low"].to_numpy(), rd.ci["lower"].to_numpy())
    np.testing.assert_array_equal(tidy["statistic"].to_numpy(), rd.z.to_numpy())
    fuzzy = estimator_results["rdrobust_fuzzy"][0]
    with pytest.warns(DeprecatedNameWarning):
        np.testing.assert_array_equal(fuzzy.first_stage["ci_lower"], fuzzy.first_stage["conf_low"])
    placebo = estimator_results["rd_placebo"][0]
    np.testing.assert_array_equal(
        placebo.tidy()["conf_low"].to_numpy(float), placebo.table["robust_ci_lower"].to_numpy(float)
    )
    honest = estimator_results["honest"][0]
    np.testing.assert_array_equal(honest.tidy()["conf_high"], honest.table["ub"])
    boot = estimator_results["wild_bootstrap"][0]
    row = boot.tidy().iloc[0]
    assert (row["p_value"], row["conf_low"], row["conf_high"]) == (boot.pvalue, *boot.ci)
    gt = estimator_results["att_gt"][0]
    np.testing.assert_array_equal(gt.tidy()["estimate"], gt.table["estimate"])


def test_cli_alpha_and_the_deprecated_level(rd_data, tmp_path):
    import typer
    from typer.testing import CliRunner

    from clusteratlas.cli.rd import register as register_rd

    csv = tmp_path / "rd.csv"
    rd_data.to_csv(csv, index=False)
    app = typer.Typer()
    register_rd(app)
    app.command("noop")(lambda: None)
    args = ["rd", "--data", str(csv), "--y", "y", "--x", "x"]
    new = CliRunner().invoke(app, [*args, "--alpha", "0.1", "--out", str(tmp_path / "new")])
    assert new.exit_code == 0, new.output
    assert "90% CI" in new.output
    with pytest.warns(DeprecatedNameWarning):
        old = CliRunner().invoke(app, [*args, "--level", "90", "--out", str(tmp_path / "old")])
    assert old.exit_code == 0, old.output
    written = pd.read_csv(tmp_path / "new.csv")
    assert list(written.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    pd.testing.assert_frame_equal(written, pd.read_csv(tmp_path / "old.csv"))
    direct = rdrobust(rd_data["y"], rd_data["x"], alpha=0.1)
    np.testing.assert_allclose(written["conf_low"], direct.ci["lower"], rtol=1e-12)
