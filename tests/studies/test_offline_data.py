"""``clusteratlas run --data ../shared/data`` (state, and MSA): what the offline data support, said
in the report, and the figures from them equal independent computations from the same files.

State: the level panel is USCM's 2016 state x cluster file; the ModelEarth county sums
(2018-2021) give region x cluster growth only; BEA SAGDP2N reaches both shocks. MSA: the
Brookings CBSA x NAICS pull (2018, 2019) is the panel; BEA CAGDP2 MSA GDP and CBP county
totals summed over the OMB delineation are the outcomes.
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from clusteratlas.store import Store

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
SMALL = "[theory]\nresolution = 20\naudit_samples = 10\n"


def read(out, table):
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        return store.read(table)


def _run(shared_data, out, *extra):
    config = out.parent / "small.toml"
    config.write_text(SMALL)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clusteratlas.cli",
            "run",
            "--data",
            str(shared_data),
            "--config",
            str(config),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def state(shared_data, tmp_path_factory):
    return _run(shared_data, tmp_path_factory.mktemp("offline_state") / "out")


@pytest.fixture(scope="module")
def msa(shared_data, tmp_path_factory):
    return _run(shared_data, tmp_path_factory.mktemp("offline_msa") / "out", "--region-type", "msa")


def _bea(path, line):
    text = gzip.decompress(path.read_bytes()).decode("latin-1")
    frame = pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True)
    frame = frame.loc[pd.to_numeric(frame["LineCode"], errors="coerce") == line]
    frame.index = frame["GeoFIPS"].str.strip().str.strip('"').str.strip()
    years = [c for c in frame.columns if c.isdigit()]
    return frame[years].apply(pd.to_numeric, errors="coerce").rename(columns=int)


def _clusters2017(shared_data):
    defs = pd.read_csv(
        shared_data / "clusters" / "cluster_naics2017_crosswalk_derived.csv", dtype=str
    )
    return defs.dropna(subset=["cluster_code"]).set_index("naics2017")["cluster_code"]


def test_the_report_says_what_the_offline_data_support(state):
    prov = read(state, "run_provenance").set_index(["stage", "input"])
    status = prov["status"]
    assert (
        status[("load", "US Cluster Mapping region x cluster inputs (USCM-imputed employment)")]
        == "used"
    )
    countysum = [
        i for s, i in prov.index if s == "load" and i.startswith("CBP state x 6-digit NAICS summed")
    ]
    row = prov.loc[("load", countysum[0])]
    assert (
        row["status"] == "partial"
        and "growth only" in row["reason"]
        and row["years"] == "2018-2021"
    )
    assert status[("load", "CBP region x 6-digit NAICS extract")] == "not possible"  # Alabama only
    trade = prov.loc[
        [i for i in prov.index if i[1].startswith("USA Trade Online exports / imports")]
    ]
    assert len(trade) == 2 and (trade["status"] == "not possible").all()
    assert trade["reason"].str.contains("'All States'").all()
    assert not prov.index.duplicated().any()  # (stage, input) names each row
    gr = prov.loc[("panel", "treatment (Great Recession): rule strength_above_quantile")]
    assert gr["status"] == "not possible" and "2016" in gr["reason"]
    assert status[("resilience", "gdp resilience, Great Recession (corrected)")] == "used"
    assert status[("resilience", "region x cluster employment resilience, COVID-19")] == "partial"
    html = (state / "report.html").read_text()
    assert 'id="tbl-data-used"' in html and "growth only" in html


def test_great_recession_gdp_resistance_equals_sagdp2n(state, shared_data):
    res = read(state, "run_resilience")
    mine = res.loc[(res["outcome"] == "gdp") & (res["shock"] == "Great Recession")]
    raw = _bea(shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", 1)
    us = raw.loc["00000"]
    for phase, (t0, t1) in (("resistance", (2008, 2009)), ("recovery", (2009, 2014))):
        part = mine.loc[mine["phase"] == phase].set_index("region_id")
        g_n = us[t1] / us[t0] - 1
        for region, value in part["resilience"].items():
            g_r = raw.loc[f"{region}000", t1] / raw.loc[f"{region}000", t0] - 1
            assert value == pytest.approx((g_r - g_n) / abs(g_n), rel=1e-9)
        assert len(part) == 51


def test_cluster_resistance_from_the_county_sums_equals_the_files(state, shared_data):
    """Region x cluster COVID-19 resistance (CBP March 2019 -> 2021) from the growth-only
    panel: (g_rc - g_Nc) / |g_Nc| with the ModelEarth state sums and setzler's national file."""
    res = read(state, "run_cluster_resilience")
    part = res.loc[(res["shock"] == "COVID-19") & (res["phase"] == "resistance")]
    assert set(part["panel"]) == {"growth panel (county sums: growth only)"}
    clusters = _clusters2017(shared_data)
    sums = pd.read_csv(
        shared_data / "cbp" / "modelearth_state_naics6_countysum_2017_2021.csv.gz",
        dtype={"naics": str},
    )
    sums["state"] = sums["state_fips"].astype(str).str.zfill(2)
    sums["cluster"] = sums["naics"].map(clusters)
    regional = sums.groupby(["state", "cluster", "year"])["employees"].sum().unstack()
    national = pd.read_csv(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv", dtype={"naics": str}
    )
    national["cluster"] = national["naics"].map(clusters)
    nat = national.groupby(["cluster", "year"])["employment_march"].sum().unstack()
    g_n = nat[2021] / nat[2019] - 1
    g_r = regional[2021] / regional[2019] - 1
    expected = (g_r - g_n.reindex(g_r.index.get_level_values("cluster")).to_numpy()) / np.abs(
        g_n.reindex(g_r.index.get_level_values("cluster")).to_numpy()
    )
    got = part.set_index(["region_id", "cluster_code"])["resilience"].dropna()
    common = got.index.intersection(expected.dropna().index)
    assert len(common) > 2000
    assert np.allclose(got.loc[common], expected.loc[common], rtol=1e-9)


def test_cho_tables_on_uscm_2016_rows(state, shared_data):
    """Table 3 (GDP) as printed in the run: the interaction is the difference in differences
    of SAGDP2N growth (2018->2019 vs 2019->2020), the 49 other states against Idaho."""
    cho = read(state, "run_cho2024")
    row = cho.loc[
        (cho["table"] == "Table 3") & (cho["dependent"] == "GDP") & (cho["term"] == "Interaction")
    ].iloc[0]
    assert row["years"] == "2018 vs 2020" and int(row["rows_year"]) == 2016
    panel = read(state, "cluster_panel")
    states = sorted(panel.loc[panel["year"] == 2016, "region_id"].unique())
    assert len(states) == 50 and "16" in states
    raw = _bea(shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", 1)
    g = {
        t: pd.Series({r: raw.loc[f"{r}000", t] / raw.loc[f"{r}000", t - 1] - 1 for r in states})
        for t in (2019, 2020)
    }
    treated = {t: g[t].drop("16").mean() for t in g}
    expected = (treated[2020] - treated[2019]) - (g[2020]["16"] - g[2019]["16"])
    assert row["coef"] == pytest.approx(expected, rel=1e-9)
    assert row["n"] == 2 * 50 * 316


def test_run_and_replicate_share_the_seed_study(state, shared_data):
    """Issue #18: `run`'s seed DID and Tables 3/5 are the numbers `replicate cho2024` reports
    (one implementation, studies.cho2024.paper.paper_did), to the last digit up to summation
    order (rel 1e-12)."""
    from clusteratlas.studies import cho2024

    inputs = cho2024.load_inputs(shared_data)
    cho = read(state, "run_cho2024")
    did = read(state, "run_did")
    seed = did.loc[did["design"] == "seed (as printed)"].set_index(["outcome", "phase"])
    for number, model in (("3", "shock"), ("5", "recovery")):
        summary, coefs, _ = cho2024.paper_did(inputs, model)
        mine = cho.loc[cho["table"] == f"Table {number}"].set_index(["dependent", "term"])
        assert len(coefs) == len(mine) >= 8
        for _, r in coefs.iterrows():
            got = mine.loc[(r["dependent"], r["term"])]
            assert got["coef"] == pytest.approx(r["coef"], rel=1e-12, abs=1e-15)
            assert got["std_err"] == pytest.approx(r["std_err"], rel=1e-9)
        for _, r in coefs.loc[coefs["term"] == "Interaction"].iterrows():
            row = seed.loc[(cho2024.PAPER_OUTCOMES[r["dependent"]], model)]
            assert row["estimate"] == pytest.approx(r["coef"], rel=1e-12, abs=1e-15)
            assert row["std_error"] == pytest.approx(r["std_err"], rel=1e-9)
    gdp = cho.loc[(cho["table"] == "Table 3") & (cho["dependent"] == "GDP")].set_index("term")
    assert abs(gdp.loc["Intercept", "coef"] - 0.070) <= 0.0005  # the printed digits


def test_msa_run_on_the_brookings_panel(msa, shared_data):
    panel = read(msa, "cluster_panel")
    assert sorted(panel["year"].unique()) == [2018, 2019]
    # Detroit's cluster employment = the Brookings 6-digit rows by the 2017 crosswalk
    raw = pd.read_csv(
        shared_data / "cbp" / "brookings_cbp_cbsa_naics_2018_2019.csv.gz",
        dtype={"cbsa_code": str, "naics_code": str},
    )
    detroit = raw.loc[
        (raw["cbsa_code"] == "19820") & (raw["year"] == 2018) & (raw["naics_level"] == 6)
    ]
    expected = detroit.groupby(detroit["naics_code"].map(_clusters2017(shared_data)))["EMP"].sum()
    got = panel.loc[(panel["region_id"] == "19820") & (panel["year"] == 2018)].set_index(
        "cluster_code"
    )["emp"]
    assert np.allclose(got.reindex(expected.index), expected, rtol=1e-12)
    # GDP DID, COVID-19 shock 2019 -> 2020, from the CAGDP2 MSA file
    did = read(msa, "run_did")
    row = did.loc[
        (did["level"] == "region")
        & (did["outcome"] == "gdp")
        & (did["design"] == "corrected")
        & (did["phase"] == "shock")
    ].iloc[0]
    treatment = read(msa, "run_treatment_by_shock")
    treated = treatment.loc[treatment["shock"] == "COVID-19"].set_index("region_id")["treated"]
    assert int(treatment.loc[treatment["shock"] == "COVID-19", "base_year"].iloc[0]) == 2019
    gdp = _bea(shared_data / "bea" / "CAGDP2_MSA_2001_2021.csv.gz", 1)
    growth = np.log(gdp[2020] / gdp[2019]).reindex(treated.index).dropna()
    t = treated.reindex(growth.index)
    assert row["estimate"] == pytest.approx(growth[t].mean() - growth[~t].mean(), abs=1e-12)
    # employment: CBP county totals summed over each CBSA's counties (OMB 2020)
    outcomes = read(msa, "run_outcomes")
    emp = outcomes.loc[
        (outcomes["outcome"] == "employment")
        & (outcomes["region_id"] == "13820")
        & (outcomes["year"] == 2019),
        "value",
    ]
    omb = pd.read_csv(shared_data / "geo" / "omb2020_county_cbsa_delineation.csv", dtype=str)
    members = set(omb.loc[omb["CBSA Code"] == "13820", "county_fips"])
    county = pd.read_csv(shared_data / "cbp" / "setzler_CBP_county_total.csv.gz")
    county["id"] = county["state_fips"].astype(str).str.zfill(2) + county["county_fips"].astype(
        str
    ).str.zfill(3)
    assert (
        float(emp.iloc[0])
        == county.loc[
            county["id"].isin(members) & (county["year"] == 2019), "employment_march"
        ].sum()
    )
    prov = read(msa, "run_provenance").set_index(["stage", "input"])
    seed = prov.loc[("panel", "treatment (Cho et al. windows): rule strength_above_quantile")]
    assert seed["status"] == "not possible" and "before 2018" in seed["reason"]
