"""``cho2024.run(fetch=True)``: what the offline data lack comes from the Census APIs.

The APIs are replayed by a loopback server (``tests/census_replay.py``, the APIs' JSON
layout). Its state exports/imports are SYNTHETIC and its CBP 2022 state totals are SYNTHETIC
(the real 2021 CBP totals of the offline folder x 1.03), so the tests check the wiring (the
Export/Import columns appear, Model 2 employment uses 2022, growth rates follow the served
levels, the regression matches an independent fit), not published numbers. The offline run
(``fetch=False``) must not change and must not touch the network.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pyfixest as pf
import pytest
from census_replay import Replay, add_trade_routes, cbp_totals_answer, serve, synthetic_state_values

from clusteratlas.data.fetch import Fetcher
from clusteratlas.data.geo import STATE_POSTAL_TO_FIPS
from clusteratlas.studies import cho2024

pytestmark = pytest.mark.realdata

FIPS_TO_POSTAL = {fips: postal for postal, fips in STATE_POSTAL_TO_FIPS.items()}


def _cbp_2022_synthetic(shared_data: Path) -> dict[str, float]:
    """SYNTHETIC CBP 2022 state employment: the real 2021 totals x 1.03."""
    frame = pd.read_csv(shared_data / "cbp/setzler_CBP_state_total.csv")
    frame = frame[frame["year"] == 2021]
    return {
        str(f).zfill(2): e * 1.03
        for f, e in zip(frame["state_fips"], frame["employment_march"], strict=True)
    }


@pytest.fixture(scope="module")
def replay(shared_data):
    server = Replay(
        routes={"/data/2022/cbp": cbp_totals_answer(2022, _cbp_2022_synthetic(shared_data))}
    )
    add_trade_routes(server, cho2024.TRADE_YEARS)
    with serve(server) as running:
        yield running


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _run(shared_data, **kwargs) -> cho2024.Cho2024Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cho2024.run(shared_data, bootstrap=False, **kwargs)


@pytest.fixture(scope="module")
def offline(shared_data) -> cho2024.Cho2024Result:
    return _run(shared_data)


@pytest.fixture(scope="module")
def fetched(shared_data, replay, cache) -> cho2024.Cho2024Result:
    fetcher = Fetcher(cache=cache / "http", offline=False, retries=1, backoff=0.0, timeout=10)
    result = _run(shared_data, fetch=True, fetcher=fetcher, api_root=f"{replay.url}/data")
    assert len(replay.requests) == 2 * len(cho2024.TRADE_YEARS) + 1  # one per year and flow, + CBP
    return result


def test_fetch_adds_export_and_import_columns(offline, fetched):
    for number in ("3", "5"):
        model = fetched.tables[f"table{number}_did_model"]
        assert model["dependent"].tolist() == ["GDP", "GDP_manu", "Export", "Import", "Employment"]
        assert "Export" not in offline.tables[f"table{number}_did_model"]["dependent"].tolist()
    for number in ("4", "6"):
        assert {"Export", "Import"} <= set(fetched.tables[f"table{number}_rdd_model"]["dependent"])
    described = fetched.tables["table2_descriptive"].set_index("statistic")
    assert described.loc["Count", "Export ($ million)"] == 51 * 6  # 50 states + DC, 2017-2022
    assert "Export ($ million)" not in offline.tables["table2_descriptive"].columns
    comparison = fetched.tables["comparison"].set_index(["table", "dependent"])
    assert comparison.loc[("Table 3", "Export"), "paper_printed_interaction"] == -0.237
    assert comparison[["state_level_did_log"]].notna().all().all()


def test_model_2_employment_uses_2022(offline, fetched):
    years = fetched.tables["table5_did_model"].set_index("dependent")["years"]
    assert years["Employment"] == "2020 vs 2022"
    assert offline.tables["table5_did_model"].set_index("dependent").loc["Employment", "years"] == (
        "2020 vs 2021"
    )
    table6 = fetched.tables["table6_rdd_model"].set_index("dependent")
    assert table6.loc["Employment", "year"] == 2022
    proper = fetched.tables["proper_did"].set_index(["model", "outcome"])
    assert proper.loc[("recovery", "employment"), "years"] == "2020 vs 2022"
    assert any("compares 2020 with 2022" in note for note in fetched.notes)


def test_offline_tables_are_unchanged_by_fetching(offline, fetched):
    """GDP rows do not move when the fetched outcomes join them."""
    for name in ("table3_did_coefficients", "table5_did_coefficients", "table4_rdd_coefficients"):
        off, on = offline.tables[name], fetched.tables[name]
        gdp = ["GDP", "GDP_manu"]
        pd.testing.assert_frame_equal(
            off[off["dependent"].isin(gdp)].reset_index(drop=True),
            on[on["dependent"].isin(gdp)].reset_index(drop=True),
        )
    assert any("not in the offline data" in note for note in offline.notes)
    assert "fetched or given" not in offline.text and "fetched or given" in fetched.text


def test_export_growth_and_interaction_follow_the_served_levels(shared_data, fetched):
    """Table 3's Export row re-estimated independently (pyfixest) from the replayed levels."""
    level = {
        (STATE_POSTAL_TO_FIPS[s], y): sum(v.values())
        for y in (2017, 2018, 2019, 2020)
        for s, v in synthetic_state_values("exports", y).items()
        if s in STATE_POSTAL_TO_FIPS
    }
    inputs = cho2024.load_inputs(shared_data)
    states = sorted(inputs.rows["region_id"].unique())
    rows = pd.DataFrame({"region_id": states}).merge(
        inputs.subclusters[["subcluster_code"]], how="cross"
    )
    frames = []
    # the paper's "2018" is the 2018 -> 2019 growth; Idaho alone is the control
    for year in (2019, 2020):
        growth = rows["region_id"].map(lambda r, y=year: level[(r, y)] / level[(r, y - 1)] - 1)
        frames.append(rows.assign(y=growth, period=int(year == 2020)))
    data = pd.concat(frames, ignore_index=True)
    data["treatment"] = (data["region_id"] != "16").astype(int)
    fit = pf.feols("y ~ period * treatment", data=data, vcov="iid")
    coefs = fetched.tables["table3_did_coefficients"]
    export = coefs[coefs["dependent"] == "Export"].set_index("term")
    assert export.loc["Interaction", "coef"] == pytest.approx(
        fit.coef()["period:treatment"], rel=1e-9, abs=1e-12
    )
    assert export.loc["Interaction", "std_err"] == pytest.approx(
        fit.se()["period:treatment"], rel=1e-6
    )


def test_failed_fetch_keeps_the_offline_run_and_says_why(shared_data, tmp_path):
    with serve() as empty:  # answers HTTP 400 to everything
        fetcher = Fetcher(cache=tmp_path, offline=False, retries=0, backoff=0.0, timeout=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inputs = cho2024.load_inputs(
                shared_data, fetch=True, fetcher=fetcher, api_root=f"{empty.url}/data"
            )
            plain = cho2024.load_inputs(shared_data)
    pd.testing.assert_frame_equal(inputs.outcomes, plain.outcomes)
    failed = [n for n in inputs.notes if "could not be fetched" in n]
    assert len(failed) == 3  # exports, imports, CBP 2022
    assert f"{empty.url}/data/timeseries/intltrade/exports/statenaics" in failed[0]
    assert "download it by hand" in failed[0] and f"{empty.url}/data/2022/cbp" in failed[2]
    assert any("not in the offline data" in n for n in inputs.notes)


def test_offline_environment_reads_the_cache_only(shared_data, replay, cache, fetched, monkeypatch):
    monkeypatch.setenv("CLUSTERATLAS_OFFLINE", "1")
    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(cache))
    before = len(replay.requests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cached = cho2024.load_inputs(shared_data, fetch=True, api_root=f"{replay.url}/data")
        monkeypatch.setenv("CLUSTERATLAS_CACHE", str(cache / "empty"))
        nothing = cho2024.load_inputs(shared_data, fetch=True, api_root=f"{replay.url}/data")
    assert len(replay.requests) == before  # never asked the server
    assert {"exports", "imports"} <= set(cached.outcomes["outcome"])
    assert all("offline mode" in n for n in nothing.notes if "could not be fetched" in n)
    assert sum("could not be fetched" in n for n in nothing.notes) == 3


def test_cli_fetch_and_trade_file(shared_data, replay, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from clusteratlas.cli.replicate import register as register_cho2024

    monkeypatch.setenv("CLUSTERATLAS_CENSUS_API", f"{replay.url}/data")
    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CLUSTERATLAS_OFFLINE", raising=False)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register_cho2024(app)
    out = tmp_path / "cho"
    us_only = shared_data / "trade/usatrade_exports_allstates_naics3_by_country_2020_2026.csv.gz"
    run = CliRunner().invoke(
        app,
        ["replicate", "cho2024", "--data", str(shared_data), "--out", str(out), "--no-bootstrap",
         "--fetch", "--trade-file", str(us_only)],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    table3 = pd.read_csv(out / "table3_did_model.csv")
    assert {"Export", "Import"} <= set(table3["dependent"])
    report = (out / "cho2024_report.md").read_text()
    assert "has no state rows" in report and "Census international trade API" in report
