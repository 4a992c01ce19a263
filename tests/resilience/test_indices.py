"""Resilience indices: algebraic identities (synthetic, labelled) and real BEA state GDP checks."""

from __future__ import annotations

import csv
import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from clusteratlas.data.bea import read_gdp_csv
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.resilience.indices import resilience
from clusteratlas.resilience.shiftshare import shift_share
from clusteratlas.resilience.windows import ShockWindow, detect_window, timing_warnings


# ----------------------------------------------------------------- synthetic identity checks
@pytest.fixture()
def synthetic_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC region x sector panel (random positive values) and its national sums."""
    rng = np.random.default_rng(7)
    rows = []
    for region in [f"R{i}" for i in range(12)]:
        for sector in ["a", "b", "c", "d"]:
            base = rng.uniform(50, 500)
            for year, factor in (
                (2019, 1.0),
                (2020, rng.uniform(0.7, 1.05)),
                (2022, rng.uniform(0.9, 1.3)),
            ):
                rows.append(
                    {
                        "region_type": "state",
                        "region_id": region,
                        "sector": sector,
                        "year": year,
                        "value": base * factor,
                    }
                )
    frame = pd.DataFrame(rows)
    national = frame.groupby(["year", "sector"], as_index=False)["value"].sum()
    return frame, national


def test_aggregate_index_identities(synthetic_panel):
    frame, national = synthetic_panel
    totals = frame.groupby(["region_type", "region_id", "year"], as_index=False)["value"].sum()
    nat_total = national.groupby("year", as_index=False)["value"].sum()
    result = resilience(totals, ShockWindow(2019, 2020, 2022), national=nat_total)
    table = result.tidy()
    # MSGT with the aggregate expectation == Lagravinese
    np.testing.assert_allclose(table["resilience"], table["lagravinese"], rtol=1e-12)
    res = table[table.phase == "resistance"]
    rec = table[table.phase == "recovery"]
    assert (res["national_growth"] < 0).all() and (rec["national_growth"] > 0).all()
    np.testing.assert_allclose(res["resilience"], 1 - res["sensitivity"], rtol=1e-12)  # contraction
    np.testing.assert_allclose(rec["resilience"], rec["sensitivity"] - 1, rtol=1e-12)  # recovery
    # NS + IM + CS = actual change, and IM = 0 without sectors
    np.testing.assert_allclose(
        table["national_share_effect"] + table["industry_mix_effect"] + table["competitive_effect"],
        table["change"],
        rtol=1e-12,
    )
    assert (table["industry_mix_effect"] == 0).all()


def test_sectoral_expectation_and_shift_share(synthetic_panel):
    frame, national = synthetic_panel
    result = resilience(
        frame, (2019, 2020, 2022), sector="sector", national=national, expected="sectoral"
    )
    table = result.tidy()
    np.testing.assert_allclose(
        table["national_share_effect"] + table["industry_mix_effect"] + table["competitive_effect"],
        table["change"],
        rtol=1e-10,
    )
    # independent hand computation for one region and phase
    r0 = frame[(frame.region_id == "R3") & (frame.year == 2019)].set_index("sector")["value"]
    r1 = frame[(frame.region_id == "R3") & (frame.year == 2020)].set_index("sector")["value"]
    n0 = national[national.year == 2019].set_index("sector")["value"]
    n1 = national[national.year == 2020].set_index("sector")["value"]
    g_i = n1 / n0 - 1
    g_n = n1.sum() / n0.sum() - 1
    expected_change = (r0 * g_i).sum()
    index = ((r1.sum() - r0.sum()) - expected_change) / abs(expected_change)
    row = table[(table.region_id == "R3") & (table.phase == "resistance")].iloc[0]
    assert row["expected_change"] == pytest.approx(expected_change, rel=1e-12)
    assert row["resilience"] == pytest.approx(index, rel=1e-12)
    assert row["industry_mix_effect"] == pytest.approx((r0 * (g_i - g_n)).sum(), rel=1e-12)
    assert row["structural_component"] == pytest.approx(
        (r0 * (g_i - g_n)).sum() / abs(g_n * r0.sum()), rel=1e-12
    )
    # the aggregate expectation on the same panel gives Lagravinese
    agg = resilience(frame, (2019, 2020, 2022), sector="sector", national=national).tidy()
    np.testing.assert_allclose(agg["resilience"], agg["lagravinese"], rtol=1e-12)


def test_region_by_cluster_against_its_national_cluster(synthetic_panel):
    frame, national = synthetic_panel
    result = resilience(
        frame,
        (2019, 2020, 2022),
        unit=("region_id", "sector"),
        match=("sector",),
        national=national,
    )
    row = result.tidy().query("region_id == 'R0' and sector == 'b' and phase == 'recovery'").iloc[0]
    n = national[national.sector == "b"].set_index("year")["value"]
    g_n = n[2022] / n[2020] - 1
    r = frame[(frame.region_id == "R0") & (frame.sector == "b")].set_index("year")["value"]
    assert row["national_growth"] == pytest.approx(g_n, rel=1e-12)
    assert row["resilience"] == pytest.approx((r[2022] / r[2020] - 1 - g_n) / abs(g_n), rel=1e-12)
    # USCM expected job creation: E0 x national cluster growth
    assert row["expected_change"] == pytest.approx(r[2020] * g_n, rel=1e-12)


def test_parameters_are_checked(synthetic_panel):
    frame, national = synthetic_panel
    with pytest.raises(ParameterError, match="sector"):
        resilience(frame, (2019, 2020, 2022), expected="sectoral")
    with pytest.raises(ParameterError, match="peak < trough < end"):
        ShockWindow(2020, 2019, 2022)
    with pytest.raises(ParameterError, match="expected"):
        resilience(frame, (2019, 2020, 2022), expected="national")


def test_window_year_missing_from_data_is_named(synthetic_panel):
    frame, national = synthetic_panel
    with pytest.raises(
        InputError,
        match=r"no data for 2021: .* asks for 2019, 2020, 2021 .*years available for it: "
        r"2019-2020, 2022",
    ):
        resilience(frame, (2019, 2020, 2021), sector="sector", national=national)


def test_zero_base_is_flagged_not_silent():
    frame = pd.DataFrame(  # SYNTHETIC: one region starts from zero
        {
            "region_id": ["A", "A", "A", "B", "B", "B"],
            "year": [1, 2, 3] * 2,
            "value": [0.0, 5, 6, 10, 8, 12],
        }
    )
    national = frame.groupby("year", as_index=False)["value"].sum()
    with pytest.warns(UserWarning, match="undefined"):
        result = resilience(frame, (1, 2, 3), unit=("region_id",), national=national)
    row = result.tidy().query("region_id == 'A' and phase == 'resistance'").iloc[0]
    assert np.isnan(row["resilience"]) and "zero base" in row["note"]


def test_shift_share_handles_sectors_that_appear():
    frame = pd.DataFrame(  # SYNTHETIC: sector y is new in the region in the end year
        {
            "region_id": ["A"] * 3,
            "sector": ["x", "x", "y"],
            "year": [1, 2, 2],
            "value": [10.0, 12.0, 3.0],
        }
    )
    national = pd.DataFrame(
        {"sector": ["x", "x", "y", "y"], "year": [1, 2, 1, 2], "value": [100.0, 110.0, 50.0, 40.0]}
    )
    out = shift_share(frame, 1, 2, national=national, unit=["region_id"], sector="sector").iloc[0]
    assert out["change"] == 5.0
    assert out["national_share_effect"] + out["industry_mix_effect"] + out[
        "competitive_effect"
    ] == pytest.approx(5.0)


# ----------------------------------------------------------------- windows
def test_timing_warning_for_cbp_2020():
    notes = timing_warnings(ShockWindow(2019, 2020, 2021), ["Census CBP"], "employment")
    assert any("March 12" in n for n in notes)
    assert not timing_warnings(ShockWindow(2019, 2020, 2022), ["BEA SAGDP2N"], "gdp")


# ----------------------------------------------------------------- real data: BEA state GDP
def _raw_bea(path: Path) -> dict[tuple[str, int], float]:
    """Independent read of LineCode 1 with the csv module: (GeoFIPS, year) -> $ million."""
    out = {}
    with gzip.open(path, "rt", encoding="latin-1") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = next(reader)
        for row in reader:
            if len(row) == len(header) and row[4] == "1":
                for year in (2019, 2020, 2022):
                    out[(row[0].strip().strip('"'), year)] = float(row[header.index(str(year))])
    return out


@pytest.mark.realdata
def test_bea_state_gdp_resilience_2019_2020_2022(shared_data):
    path = shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = resilience(read_gdp_csv(path), (2019, 2020, 2022), outcome="gdp")
    table = result.tidy()
    assert table[table.phase == "resistance"].region_id.nunique() == 51
    assert result.warnings == []  # nation rows present, BEA sees the 2020 trough
    raw = _raw_bea(path)
    us = {y: raw[("00000", y)] for y in (2019, 2020, 2022)}
    g_c = us[2020] / us[2019] - 1  # US nominal GDP 2019->2020: -1.50%
    g_e = us[2022] / us[2020] - 1
    assert g_c == pytest.approx(-0.0150, abs=5e-5)
    for fips, sid in (("06000", "06"), ("48000", "48"), ("15000", "15")):
        res_hand = ((raw[(fips, 2020)] / raw[(fips, 2019)] - 1) - g_c) / abs(g_c)
        rec_hand = ((raw[(fips, 2022)] / raw[(fips, 2020)] - 1) - g_e) / abs(g_e)
        res = table[(table.region_id == sid) & (table.phase == "resistance")].iloc[0]
        rec = table[(table.region_id == sid) & (table.phase == "recovery")].iloc[0]
        assert res["resilience"] == pytest.approx(res_hand, rel=1e-10)
        assert rec["resilience"] == pytest.approx(rec_hand, rel=1e-10)
        assert res["sensitivity"] == pytest.approx(
            (raw[(fips, 2020)] / raw[(fips, 2019)] - 1) / g_c, rel=1e-10
        )
    # Hawaii (tourism) was the least resistant state in 2020; Texas recovered above the nation
    res = table[table.phase == "resistance"].set_index("region_id")["resilience"]
    assert res.idxmin() == "15"
    assert table.query("region_id == '48' and phase == 'recovery'")["resilience"].iloc[0] > 0
    assert "most resilient" in result.summary()
    assert set(result.wide().columns) >= {"resistance_resilience", "recovery_resilience"}


@pytest.mark.realdata
def test_detect_window_on_us_gdp(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = read_gdp_csv(
            shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz", years=(2010, 2022)
        )
    us = frame[(frame.region_id == "US") & (frame.outcome == "gdp")]
    assert detect_window(us).years == (2019, 2020, 2021)  # nominal GDP back above 2019 in 2021


@pytest.mark.realdata
def test_cli_load_outcomes_and_resilience(shared_data, tmp_path):
    from clusteratlas.cli import app

    runner = CliRunner()
    db = tmp_path / "s.duckdb"
    load = runner.invoke(
        app,
        [
            "load-outcomes",
            "--store",
            str(db),
            "--bea",
            str(shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz"),
            "--cbp-totals",
            str(shared_data / "cbp/setzler_CBP_state_total.csv"),
        ],
    )
    assert load.exit_code == 0, load.output
    again = runner.invoke(
        app,
        [
            "load-outcomes",
            "--store",
            str(db),
            "--bea",
            str(shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz"),
        ],
    )
    assert again.exit_code == 0, again.output  # idempotent per file
    out = runner.invoke(
        app,
        [
            "resilience",
            "--store",
            str(db),
            "--outcome",
            "gdp",
            "--peak",
            "2019",
            "--trough",
            "2020",
            "--end",
            "2022",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "national growth -1.50%" in out.output
    written = pd.read_csv(tmp_path / "o" / "resilience_gdp.csv", dtype={"region_id": str})
    assert len(written) == 102
    from clusteratlas.store import Store

    with Store(db) as s:
        stored = s.read("resilience_gdp")
    assert len(stored) == 102 and set(stored.phase) == {"resistance", "recovery"}
    bad = runner.invoke(
        app,
        [
            "resilience",
            "--store",
            str(db),
            "--outcome",
            "gdp' or 1=1 --",
            "--peak",
            "2019",
            "--trough",
            "2020",
            "--end",
            "2022",
        ],
    )
    assert bad.exit_code != 0
    cbp = runner.invoke(
        app,
        [
            "resilience",
            "--store",
            str(db),
            "--outcome",
            "employment",
            "--peak",
            "2019",
            "--trough",
            "2020",
            "--end",
            "2021",
        ],
    )
    assert cbp.exit_code == 0, cbp.output
    assert "March 12" in cbp.output


def test_mixed_sources_and_duplicates_are_refused():
    frame = pd.DataFrame(  # SYNTHETIC: the same employment from two sources
        {
            "region_type": "state",
            "region_id": ["A"] * 3 + ["A"] * 3,
            "year": [1, 2, 3] * 2,
            "value": [10.0, 9, 11, 12, 11, 13],
            "source": ["Census CBP"] * 3 + ["BLS LAUS"] * 3,
        }
    )
    national = frame.groupby("year", as_index=False)["value"].sum()
    with pytest.raises(ParameterError, match="several sources"):
        resilience(frame, (1, 2, 3), national=national)
    with pytest.raises(InputError, match="several rows"):
        resilience(frame.drop(columns="source"), (1, 2, 3), national=national)


def test_cli_on_a_cluster_panel(tmp_path, synthetic_panel):
    """SYNTHETIC region x cluster panel in a store: sectoral and per-cluster CLI paths."""
    from clusteratlas.cli import app
    from clusteratlas.store import Store

    frame, national = synthetic_panel
    panel = pd.concat(
        [
            frame.rename(columns={"sector": "cluster_code", "value": "emp"}),
            national.rename(columns={"sector": "cluster_code", "value": "emp"}).assign(
                region_type="nation", region_id="US"
            ),
        ],
        ignore_index=True,
    )
    db = tmp_path / "p.duckdb"
    with Store(db) as s:
        s.write("cluster_panel", panel)
    runner = CliRunner()
    args = [
        "resilience",
        "--store",
        str(db),
        "--panel",
        "--peak",
        "2019",
        "--trough",
        "2020",
        "--end",
        "2022",
    ]
    sectoral = runner.invoke(app, [*args, "--expected", "sectoral"])
    assert sectoral.exit_code == 0, sectoral.output
    per_cluster = runner.invoke(app, [*args, "--by-cluster"])
    assert per_cluster.exit_code == 0, per_cluster.output
    with Store(db) as s:
        stored = s.read("resilience_emp_sectoral")
        by_cluster = s.read("resilience_cluster_emp")
    direct = resilience(
        frame, (2019, 2020, 2022), sector="sector", national=national, expected="sectoral"
    ).tidy()
    merged = stored.merge(direct, on=["region_id", "phase"], suffixes=("", "_direct"))
    np.testing.assert_allclose(merged["resilience"], merged["resilience_direct"], rtol=1e-12)
    assert len(by_cluster) == 12 * 4 * 2
