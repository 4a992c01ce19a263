"""``clusteratlas run --fetch`` end to end against the local replay server.

The publishers' answers (tests/publishers.py) are in their exact formats and REAL wherever
../shared/data holds the data (CBP national 6-digit and totals, CBP state and county totals,
CBP Alabama 2021 6-digit, BEA SAGDP2N and CAGDP2); the region x 6-digit rows other than
Alabama 2021, QCEW, trade and every 2022 CBP row are SYNTHETIC. Each figure of the report
that comes from the REAL parts is compared here with an independent computation from the same
file (pandas on the raw file, not clusteratlas' readers), to 1e-9 relative unless said.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from census_replay import serve
from publishers import add_publishers, alabama_2021, cluster_of, environment

from clusteratlas.store import Store

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
CENSUS_KEY = "CENSUS-KEY-8c1f0e"
BEA_KEY = "BEA-USERID-77aa19"
SMALL = "[theory]\nresolution = 20\naudit_samples = 10\n"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clusteratlas.cli", "run", *args, "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def read(out: Path, table: str) -> pd.DataFrame:
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        return store.read(table)


# -- the raw files, read independently -----------------------------------------------------------
def bea_raw(path: Path, line: int) -> pd.DataFrame:
    """A BEA ALL_AREAS CSV as GeoFIPS x year values (numbers only; (D)/(NA) left out)."""
    text = gzip.decompress(path.read_bytes()).decode("latin-1")
    frame = pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True)
    frame = frame.loc[pd.to_numeric(frame["LineCode"], errors="coerce") == line]
    frame["fips"] = frame["GeoFIPS"].str.strip().str.strip('"').str.strip()
    years = [c for c in frame.columns if c.isdigit()]
    long = frame.melt(id_vars=["fips"], value_vars=years, var_name="year", value_name="v")
    long["v"] = pd.to_numeric(long["v"], errors="coerce")
    long["year"] = long["year"].astype(int)
    return long.dropna().pivot(index="fips", columns="year", values="v")


def msgt(g_r: pd.Series, g_n: float) -> pd.Series:
    """Martin et al. (2016) index with the aggregate expectation: (g_r - g_N) / |g_N|."""
    return (g_r - g_n) / abs(g_n)


# -- the runs ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def county_run(shared_data, tmp_path_factory):
    """County level, 2015-2022, the counties of Alabama and Georgia, plus Hawaii whose answers
    are empty (HTTP 204). No BEA key: GDP comes from BEA's zip files."""
    base = tmp_path_factory.mktemp("fetch_county")
    (base / "small.toml").write_text(SMALL)
    with serve() as replay:
        add_publishers(
            replay, shared_data, range(2015, 2023), region_type="county", states=["01", "13"]
        )
        for year in range(2015, 2023):
            replay.status[f"/data/{year}/cbp?for=county:*&in=state:15"] = 204
        env = {
            **environment(replay, base / "cache"),
            "CENSUS_API_KEY": CENSUS_KEY,
            "BEA_API_KEY": "",
        }
        args = [
            "--fetch",
            "--region-type",
            "county",
            "--years",
            "2015-2022",
            "--states",
            "01,13,15",
            "--config",
            str(base / "small.toml"),
        ]
        first = run([*args, "--out", str(base / "out")], env)
        asked = len(replay.requests)
        second = run([*args, "--out", str(base / "again")], {**env, "CLUSTERATLAS_OFFLINE": "1"})
        assert len(replay.requests) == asked  # the second run asked the network for nothing
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    return base, first, second


@pytest.fixture(scope="session")
def state_run(shared_data, tmp_path_factory):
    """State level, 2007-2022 (both shocks), BEA through its API with a key."""
    base = tmp_path_factory.mktemp("fetch_state")
    (base / "small.toml").write_text(SMALL)
    with serve() as replay:
        add_publishers(replay, shared_data, range(2007, 2023), region_type="state", bea_api=True)
        env = {
            **environment(replay, base / "cache"),
            "CENSUS_API_KEY": CENSUS_KEY,
            "BEA_API_KEY": BEA_KEY,
        }
        done = run(
            [
                "--fetch",
                "--region-type",
                "state",
                "--years",
                "2007-2022",
                "--config",
                str(base / "small.toml"),
                "--out",
                str(base / "out"),
            ],
            env,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return base, done


# -- county -----------------------------------------------------------------------------------------
def test_county_gdp_resistance_equals_the_cagdp2_file(county_run, shared_data):
    base, _, _ = county_run
    res = read(base / "out", "run_resilience")
    mine = res.loc[
        (res["outcome"] == "gdp")
        & (res["design"] == "corrected")
        & (res["shock"] == "COVID-19")
        & (res["phase"] == "resistance")
    ].set_index("region_id")
    raw = bea_raw(shared_data / "bea" / "CAGDP2_county_2001_2021.csv.gz", 1)
    counties = raw.loc[~raw.index.str.endswith("000")]
    # no national row in CAGDP2: the benchmark is the sum over the counties of each year
    g_n = counties[2020].sum() / counties[2019].sum() - 1
    both = counties[[2019, 2020]].dropna()
    expected = msgt(both[2020] / both[2019] - 1, g_n)
    assert len(mine) == len(expected) > 3000
    assert np.allclose(mine["resilience"].reindex(expected.index), expected, rtol=1e-9, atol=1e-12)
    # recovery needs 2022, which CAGDP2 (2001-2021) lacks: said, not silently dropped
    prov = read(base / "out", "run_provenance")
    row = prov.loc[prov["input"] == "gdp resilience, COVID-19 (corrected) (recovery)"].iloc[0]
    assert row["status"] == "not possible" and "no 2022" in row["reason"]


def test_county_employment_resistance_equals_the_cbp_totals(county_run, shared_data):
    base, _, _ = county_run
    res = read(base / "out", "run_resilience")
    mine = res.loc[
        (res["outcome"] == "employment")
        & (res["design"] == "corrected")
        & (res["shock"] == "COVID-19")
        & (res["phase"] == "resistance")
    ].set_index("region_id")
    county = pd.read_csv(shared_data / "cbp" / "setzler_CBP_county_total.csv.gz")
    county["id"] = county["state_fips"].astype(str).str.zfill(2) + county["county_fips"].astype(
        str
    ).str.zfill(3)
    county = county.loc[county["id"].str[:2].isin(["01", "13"])].pivot(
        index="id", columns="year", values="employment_march"
    )
    nation = pd.read_csv(shared_data / "cbp" / "setzler_CBP_national_total.csv").set_index("year")[
        "employment_march"
    ]
    g_n = nation[2021] / nation[2019] - 1  # CBP March: 2019 -> 2021 is the COVID-19 trough
    expected = msgt(county[2021] / county[2019] - 1, g_n).dropna()
    assert set(mine["start"]) == {2019} and set(mine["end"]) == {2021}
    assert len(mine) == len(expected) > 200
    assert np.allclose(mine["resilience"].reindex(expected.index), expected, rtol=1e-9)


def test_county_did_and_national_cluster_counts(county_run, shared_data):
    base, _, _ = county_run
    out = base / "out"
    did = read(out, "run_did")
    row = did.loc[
        (did["level"] == "region")
        & (did["outcome"] == "gdp")
        & (did["design"] == "corrected")
        & (did["shock"] == "COVID-19")
        & (did["phase"] == "shock")
    ].iloc[0]
    treated = read(out, "run_treatment_by_shock")
    treated = treated.loc[treated["shock"] == "COVID-19"].set_index("region_id")["treated"]
    raw = bea_raw(shared_data / "bea" / "CAGDP2_county_2001_2021.csv.gz", 1)
    growth = np.log(raw[2020] / raw[2019]).reindex(treated.index).dropna()
    expected = (
        growth[treated.reindex(growth.index)].mean() - growth[~treated.reindex(growth.index)].mean()
    )
    assert row["estimate"] == pytest.approx(expected, abs=1e-12)
    assert row["n_clusters"] == len(growth) and row["se_type"].startswith("CRV1")
    # the LQ denominators: national cluster employment = the setzler national file by cluster
    panel = read(out, "cluster_panel")
    national = pd.read_csv(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv", dtype={"naics": str}
    )
    for year, vintage in ((2016, 2012), (2019, 2017)):
        rows = national.loc[national["year"] == year]
        expected = rows.groupby(rows["naics"].map(cluster_of(shared_data, vintage)))[
            "employment_march"
        ].sum()
        got = (
            panel.loc[panel["year"] == year]
            .drop_duplicates("cluster_code")
            .set_index("cluster_code")["emp_national"]
        )
        assert np.allclose(got.reindex(expected.index), expected, rtol=1e-12), year


def test_county_evidence_at_both_levels_and_what_could_not_be_done(county_run):
    base, _, _ = county_run
    out = base / "out"
    did = read(out, "run_did")
    assert set(did["level"]) == {"region", "region x cluster"}
    rc = did.loc[did["level"] == "region x cluster"]
    assert (rc["se_type"].str.contains("CRV1")).all() and (rc["n_clusters"] > 200).all()
    assert set(read(out, "run_event_study")["level"]) == {"region", "region x cluster"}
    assert set(read(out, "run_rd")["level"]) == {"region", "region x cluster"}
    prov = read(out, "run_provenance").set_index(["stage", "input"])
    assert set(prov.index.get_level_values("stage")) == {
        "load",
        "panel",
        "outcomes",
        "resilience",
        "causal",
        "theory",
        "policy",
    }
    cbp = prov.loc[
        ("load", "County Business Patterns, county x 6-digit NAICS (and all-industries totals)")
    ]
    assert cbp["status"] == "partial" and "state 15: empty answer" in cbp["reason"]
    trade = prov.loc[("load", "Exports and imports")]
    assert trade["status"] == "not possible" and "by state only" in trade["reason"]
    gr = prov.loc[("panel", "treatment (Great Recession): rule strength_above_quantile")]
    assert gr["status"] == "not possible" and "before 2009" in gr["reason"]
    html = (out / "report.html").read_text()
    assert 'id="tbl-data-used"' in html and "not possible" in html and "Census CBP API" in html


def test_county_second_run_is_offline_and_identical(county_run):
    base, _, second = county_run
    a, b = read(base / "out", "run_did"), read(base / "again", "run_did")
    pd.testing.assert_frame_equal(a, b)
    assert "fetched from the publishers" in second.stdout


def test_api_key_never_written(county_run, state_run):
    for base, *outputs in (county_run, state_run):
        for done in outputs:
            assert (
                CENSUS_KEY not in done.stdout + done.stderr
                and BEA_KEY not in done.stdout + done.stderr
            )
        files = [p for p in base.rglob("*") if p.is_file()]
        assert any(p.suffix == ".duckdb" for p in files) and any(
            p.name == "report.html" for p in files
        )
        for path in files:
            data = path.read_bytes()
            assert CENSUS_KEY.encode() not in data and BEA_KEY.encode() not in data, path
            assert CENSUS_KEY not in path.name and BEA_KEY not in path.name


# -- state --------------------------------------------------------------------------------------------
def test_state_alabama_2021_clusters_equal_the_cbp_api_file(state_run, shared_data):
    base, _ = state_run
    panel = read(base / "out", "cluster_panel")
    al = panel.loc[(panel["region_id"] == "01") & (panel["year"] == 2021)].set_index("cluster_code")
    real = alabama_2021(shared_data)
    clusters = cluster_of(shared_data, 2017)
    emp = real.groupby(real["Naics"].map(clusters))["Employees"].sum()
    assert np.allclose(al["emp"].reindex(emp.index), emp, rtol=1e-12)
    # LQ with USCM's traded/local denominator, from the Alabama file and the national file
    national = pd.read_csv(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv", dtype={"naics": str}
    )
    national = national.loc[national["year"] == 2021]
    us = national.groupby(national["naics"].map(clusters))["employment_march"].sum()
    defs = pd.read_csv(
        shared_data / "clusters" / "cluster_naics2017_crosswalk_derived.csv", dtype=str
    )
    traded = (
        defs.dropna(subset=["cluster_code"])
        .drop_duplicates("cluster_code")
        .set_index("cluster_code")["traded"]
        == "1"
    )
    lq = {}
    for code in emp.index:
        group = traded.index[traded == traded[code]]
        lq[code] = (emp[code] / emp.reindex(group).sum()) / (us[code] / us.reindex(group).sum())
    lq = pd.Series(lq)
    assert np.allclose(al["lq"].reindex(lq.index), lq, rtol=1e-9)
    assert len(lq) > 50


def test_state_gdp_resilience_both_shocks_equal_sagdp2n(state_run, shared_data):
    base, _ = state_run
    res = read(base / "out", "run_resilience")
    raw = bea_raw(shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", 1)
    us = raw.loc["00000"]
    states = raw.loc[raw.index.str.endswith("000") & (raw.index < "57000") & (raw.index != "00000")]
    states.index = states.index.str[:2]
    checked = 0
    for shock, (peak, trough, end) in (
        ("Great Recession", (2008, 2009, 2014)),
        ("COVID-19", (2019, 2020, 2022)),
    ):
        for phase, (t0, t1) in (("resistance", (peak, trough)), ("recovery", (trough, end))):
            mine = res.loc[
                (res["outcome"] == "gdp")
                & (res["design"] == "corrected")
                & (res["shock"] == shock)
                & (res["phase"] == phase)
            ].set_index("region_id")
            expected = msgt(states[t1] / states[t0] - 1, us[t1] / us[t0] - 1)
            assert len(mine) == 51
            assert np.allclose(mine["resilience"].reindex(expected.index), expected, rtol=1e-9)
            checked += 1
    assert checked == 4


def test_state_cbp_employment_great_recession_equals_the_state_totals(state_run, shared_data):
    base, _ = state_run
    res = read(base / "out", "run_resilience")
    mine = res.loc[
        (res["outcome"] == "employment")
        & (res["shock"] == "Great Recession")
        & (res["phase"] == "resistance")
    ].set_index("region_id")
    states = pd.read_csv(shared_data / "cbp" / "setzler_CBP_state_total.csv")
    states = states.assign(id=states["state_fips"].astype(str).str.zfill(2)).pivot(
        index="id", columns="year", values="employment_march"
    )
    nation = pd.read_csv(shared_data / "cbp" / "setzler_CBP_national_total.csv").set_index("year")[
        "employment_march"
    ]
    expected = msgt(states[2010] / states[2008] - 1, nation[2010] / nation[2008] - 1)
    assert set(mine["start"]) == {2008} and set(mine["end"]) == {2010}
    assert np.allclose(mine["resilience"].reindex(expected.index), expected, rtol=1e-9)


def test_state_treatment_before_each_shock_and_did_per_shock(state_run, shared_data):
    base, _ = state_run
    out = base / "out"
    by_shock = read(out, "run_treatment_by_shock").groupby("shock")["base_year"].first().to_dict()
    assert by_shock == {"Great Recession": 2008, "COVID-19": 2019, "Cho et al. windows": 2017}
    did = read(out, "run_did")
    raw = bea_raw(shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", 1)
    treatment = read(out, "run_treatment_by_shock")
    for shock, (t0, t1) in (("Great Recession", (2008, 2009)), ("COVID-19", (2019, 2020))):
        row = did.loc[
            (did["level"] == "region")
            & (did["outcome"] == "gdp")
            & (did["design"] == "corrected")
            & (did["shock"] == shock)
            & (did["phase"] == "shock")
        ].iloc[0]
        treated = treatment.loc[treatment["shock"] == shock].set_index("region_id")["treated"]
        growth = np.log(raw[t1] / raw[t0]).rename(lambda f: f[:2]).reindex(treated.index)
        expected = growth[treated].mean() - growth[~treated].mean()
        assert row["estimate"] == pytest.approx(expected, abs=1e-12), shock
    levels = did.groupby(["level", "shock"]).size()
    for key in [
        ("region", "Great Recession"),
        ("region x cluster", "Great Recession"),
        ("region", "COVID-19"),
        ("region x cluster", "COVID-19"),
    ]:
        assert levels.get(key, 0) > 0, key
    boot = read(out, "run_did_wild_bootstrap")
    assert set(boot["shock"]) == {"Great Recession", "COVID-19"}
    assert set(boot.loc[boot["outcome"] == "gdp", "n_clusters"]) == {51}  # mfg_gdp: (D) cells


def test_state_cho_tables_at_the_papers_years(state_run, shared_data):
    """Table 3 (GDP) as printed: the interaction is the difference in differences of
    SAGDP2N growth (the paper's "2018" = 2018 -> 2019), the other states against Idaho."""
    base, _ = state_run
    out = base / "out"
    cho = read(out, "run_cho2024")
    assert {"Table 3", "Table 4", "Table 5", "Table 6"} <= set(cho["table"])
    row = cho.loc[
        (cho["table"] == "Table 3") & (cho["dependent"] == "GDP") & (cho["term"] == "Interaction")
    ].iloc[0]
    assert row["years"] == "2018 vs 2020"
    assert set(cho.loc[cho["table"] == "Table 5", "years"]) >= {"2020 vs 2022"}
    year = int(row["rows_year"])
    panel = read(out, "cluster_panel")
    states = sorted(panel.loc[panel["year"] == year, "region_id"].unique())
    raw = bea_raw(shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", 1).rename(
        lambda f: f[:2]
    )
    g = {t: (raw[t] / raw[t - 1] - 1).loc[states] for t in (2019, 2020)}
    treated = {t: g[t].drop("16").mean() for t in g}
    expected = (treated[2020] - treated[2019]) - (g[2020]["16"] - g[2019]["16"])
    assert row["coef"] == pytest.approx(expected, rel=1e-9)
    assert "Export" in set(
        cho["dependent"]
    )  # state exports came from the trade API (SYNTHETIC here)


def test_state_report_says_what_each_stage_used(state_run):
    base, _ = state_run
    prov = read(base / "out", "run_provenance")
    load = prov.loc[prov["stage"] == "load"].set_index("input")
    assert set(load["source"]) >= {
        "Census CBP API",
        "BEA API",
        "BLS QCEW open data",
        "Census international trade API",
    }
    assert set(load["status"]) == {"used"}
    assert (
        load.loc[
            "County Business Patterns, state x 6-digit NAICS (and all-industries totals)", "years"
        ]
        == "2007-2022"
    )
    html = (base / "out" / "report.html").read_text()
    for text in (
        'id="tbl-data-used"',
        "BEA API",
        "Great Recession",
        "region x cluster",
        'id="tbl-cho2024-tables"',
    ):
        assert text in html, text


# -- bad answers, through the command line -----------------------------------------------------------
def test_bad_answers_give_a_report_of_what_could_be_done(shared_data, tmp_path):
    with serve() as replay:
        add_publishers(replay, shared_data, range(2019, 2022), region_type="state")
        replay.status["/data/timeseries/intltrade/exports/statenaics?time=2020-12"] = 500
        del replay.raw["/qcew/2021/a/industry/10.csv"]
        header = replay.routes["/data/2020/cbp?for=state:*"][0]
        header[header.index("EMP")] = "EMPL_COUNT"  # a changed column name
        (tmp_path / "small.toml").write_text(SMALL)
        done = run(
            [
                "--fetch",
                "--years",
                "2019-2021",
                "--config",
                str(tmp_path / "small.toml"),
                "--out",
                str(tmp_path / "out"),
            ],
            environment(replay, tmp_path / "cache"),
        )
    assert done.returncode == 0, done.stderr[-3000:]
    prov = read(tmp_path / "out", "run_provenance")
    load = prov.loc[prov["stage"] == "load"].set_index("input")
    cbp = load.loc["County Business Patterns, state x 6-digit NAICS (and all-industries totals)"]
    assert (
        cbp["status"] == "partial" and "EMP" in cbp["reason"] and "/data/2020/cbp" in cbp["reason"]
    )
    assert load.loc["State exports (all commodities, all partner countries)", "status"] == "partial"
    assert (
        "HTTP 500" in load.loc["State exports (all commodities, all partner countries)", "reason"]
    )
    assert (
        load.loc["QCEW annual average employment, all industries, total covered", "years"]
        == "2019-2020"
    )
    assert set(read(tmp_path / "out", "cluster_panel")["year"]) == {2019, 2021}
    html = (tmp_path / "out" / "report.html").read_text()
    assert "partial" in html and "save it as" in html
    cache = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cache and not [p for p in cache if p.name.endswith(".tmp") or p.name.startswith(".")]


def test_nothing_to_build_a_panel_from_is_a_clear_error(shared_data, tmp_path):
    with serve() as replay:
        add_publishers(replay, shared_data, range(2020, 2022), region_type="state")
        for year in (2020, 2021):
            replay.status[f"/data/{year}/cbp"] = 500
        done = run(
            ["--fetch", "--years", "2020-2021", "--out", str(tmp_path / "out")],
            environment(replay, tmp_path / "cache"),
        )
    assert done.returncode != 0
    assert "nothing to build a cluster panel from" in done.stderr
    assert "HTTP 500" in done.stderr and "save it as" in done.stderr
    prov = read(tmp_path / "out", "run_provenance")
    assert (prov.loc[prov["stage"] == "load", "status"] == "not possible").any()
