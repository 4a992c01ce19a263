"""Policy diagnostics on the real USCM 2016 state panel, checked against independent computations."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import percentileofscore

from clusteratlas.errors import ParameterError, SuppressedDataWarning
from clusteratlas.policy.diagnostics import AREAS, diagnose, percentile

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def state_store(shared_data, tmp_path_factory):
    from clusteratlas.data.cbp import read_setzler_national_industry
    from clusteratlas.data.clusters import load_definition
    from clusteratlas.data.laus import read_cbp_totals
    from clusteratlas.data.uscm import read_uscm
    from clusteratlas.panel import panel_from_uscm
    from clusteratlas.store import Store

    uscm = read_uscm(shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz")
    national = read_setzler_national_industry(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    )
    with pytest.warns(SuppressedDataWarning, match="2 withheld cell"):
        panel = panel_from_uscm(
            uscm,
            national.loc[national["year"] == 2016],
            load_definition("uscm", naics_vintage=2012),
        )
    path = tmp_path_factory.mktemp("policy") / "store.duckdb"
    with Store(path) as store:
        store.write("cluster_panel", panel)
        store.write(
            "outcomes", read_cbp_totals(shared_data / "cbp" / "setzler_CBP_state_total.csv")
        )
    return path, panel


def test_indicators_equal_independent_computations(state_store, shared_data):
    from clusteratlas.store import Store

    path, panel = state_store
    with Store(path, read_only=True) as store:
        result = diagnose(store, "01", peers=["13", "28", "47"])
    table = result.tidy()
    assert set(table["area"]) == set(AREAS)
    measured = table.loc[table["measured"]].set_index("indicator")
    # e-commerce proxy = the panel's LQ of Distribution and Electronic Commerce in Alabama
    ecom = panel.loc[
        (panel["region_id"] == "01") & panel["cluster_name"].str.contains("Electronic Commerce")
    ]
    row = measured.loc[measured["area"] == "e-commerce"].iloc[0]
    assert row["value"] == pytest.approx(float(ecom["lq"].iloc[0]), rel=1e-12)
    # its percentile among the 50 states = scipy's percentileofscore(kind="mean")
    all_lq = panel.loc[panel["cluster_code"] == ecom["cluster_code"].iloc[0], "lq"].to_numpy()
    assert row["percentile_all"] == pytest.approx(
        percentileofscore(all_lq, row["value"], kind="mean")
    )
    # average traded wage = AP x 1000 / reported employment over traded clusters
    al = panel.loc[(panel["region_id"] == "01") & panel["traded"]]
    wage = measured.loc["average traded wage ($)", "value"]
    assert wage == pytest.approx(al["ap"].sum() * 1000 / al["emp_reported"].sum(), rel=1e-12)
    # establishment growth 2016-2021 from CBP totals (entry of new firms)
    entry = measured.loc[measured["area"] == "entry of new firms"].iloc[0]
    totals = pd.read_csv(shared_data / "cbp" / "setzler_CBP_state_total.csv")
    est = totals.loc[totals["state_fips"] == 1].set_index("year")["establishments"]
    assert entry.name == "establishment CAGR 2016-2021"
    assert entry["value"] == pytest.approx((est[2021] / est[2016]) ** 0.2 - 1, rel=1e-9)
    assert np.isfinite(entry["percentile_all"])
    # unmeasured areas say what data would measure them; no composite score anywhere
    missing = table.loc[~table["measured"]]
    assert (missing["data_needed"].str.len() > 10).all()
    assert "score" not in " ".join(table.columns)
    assert "APEC" in result.summary() and "peers: 13, 28, 47" in result.summary()


def test_percentile_definition():
    values = pd.Series([1.0, 2.0, 2.0, 4.0], index=["a", "b", "c", "d"])
    assert percentile(values, "d") == pytest.approx(87.5)
    assert percentile(values, "b") == pytest.approx(percentileofscore(values, 2.0, kind="mean"))


def test_bad_region_names_the_parameter(state_store):
    from clusteratlas.store import Store

    path, _ = state_store
    with (
        Store(path, read_only=True) as store,
        pytest.raises(ParameterError, match="region") as info,
    ):
        diagnose(store, "99")
    assert "01" in str(info.value)


def test_policy_cli(state_store, tmp_path):
    path, _ = state_store
    csv = tmp_path / "p.csv"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "clusteratlas.cli",
            "policy",
            "--store",
            str(path),
            "--region",
            "01",
            "--csv",
            str(csv),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "division of labour" in run.stdout
    assert len(pd.read_csv(csv)) >= len(AREAS)


# -- internationalization (seed 003; APEC cross-border linkage) ------------------------------
def test_state_internationalization_traded_share_and_missing_exports(state_store, shared_data):
    """Traded share from the raw USCM file; state exports are not in the offline data: the
    rows say so in words and name the source that would measure them."""
    from clusteratlas.store import Store

    path, _ = state_store
    with Store(path, read_only=True) as store:
        table = diagnose(store, "06").tidy().set_index("indicator")
    raw = pd.read_csv(
        shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz",
        dtype={"region_code_t": str},
    )
    raw = raw.loc[(raw["region_type_t"] == "state") & (raw["year_t"] == 2016)]
    traded = raw["traded_b"].astype(str).str.upper() == "TRUE"
    share = (
        raw.loc[traded].groupby("region_code_t")["emp_tl"].sum()
        / raw.groupby("region_code_t")["emp_tl"].sum()
    )
    row = table.loc["traded-cluster share of employment"]
    assert row["area"] == "cross-border linkage" and row["measured"]
    assert row["value"] == pytest.approx(share["06"], rel=1e-9)
    assert row["n_regions"] == len(share) == 50  # the USCM state file: 50 states, no DC
    assert row["rank_all"] == (share > share["06"]).sum() + 1
    for name in ("exports / GDP", "exports per worker ($)"):
        missing = table.loc[name]
        assert not missing["measured"] and np.isnan(missing["value"])
        assert "state exports by state of origin of movement" in missing["data_needed"]
    with Store(path, read_only=True) as store:
        text = diagnose(store, "06").summary()
    assert "exports per worker ($)" in text and "not measured: needs state exports" in text


@pytest.fixture(scope="module")
def msa_store(shared_data, tmp_path_factory):
    """2019 MSA cluster panel (Brookings CBSA x NAICS CBP), ITA metro exports, BEA MSA GDP."""
    import warnings

    from clusteratlas.data.bea import read_gdp_csv
    from clusteratlas.data.clusters import load_definition
    from clusteratlas.data.inputs import msa_gdp_rows
    from clusteratlas.data.republished import read_cbp_cbsa_naics
    from clusteratlas.data.trade import read_ita_msa_exports
    from clusteratlas.panel import build
    from clusteratlas.store import Store

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = read_cbp_cbsa_naics(
            shared_data / "cbp" / "brookings_cbp_cbsa_naics_2018_2019.csv.gz"
        )
        counts = counts.loc[(counts["year"] == 2019) & counts["naics"].str.fullmatch(r"\d{6}")]
        panel = build.build_panel(
            counts, load_definition("uscm", naics_vintage=2017), region_type="msa", growth=False
        )
        exports = read_ita_msa_exports(
            shared_data / "trade" / "ita_msa_exports_2012_2021.csv",
            delineation=shared_data / "geo" / "omb2020_county_cbsa_delineation.csv",
        )
        gdp = msa_gdp_rows(read_gdp_csv(shared_data / "bea" / "CAGDP2_MSA_2001_2021.csv.gz"))
    path = tmp_path_factory.mktemp("policy_msa") / "msa.duckdb"
    outcomes = pd.concat([exports, gdp.loc[gdp["region_type"] == "msa"]], ignore_index=True)
    with Store(path) as store:
        store.write("cluster_panel", panel)
        store.write("outcomes", outcomes)
    return path, panel


def test_msa_exports_per_worker_and_exports_gdp_equal_the_raw_files(msa_store, shared_data):
    """Houston (CBSA 26420), 2019: ITA exports $129.656 B (dollars although labelled millions),
    BEA GDP in thousands of dollars; both converted to dollars before dividing."""
    from clusteratlas.store import Store

    path, panel = msa_store
    with Store(path, read_only=True) as store:
        result = diagnose(store, "26420", region_type="msa", peers=["19100", "35620"])
    table = result.tidy().set_index("indicator")
    ita = pd.read_csv(shared_data / "trade" / "ita_msa_exports_2012_2021.csv", dtype=str)
    houston = ita.loc[ita["MSA Full Name"].str.startswith("Houston-The Woodlands"), "2019"]
    exports = float(houston.iloc[0].replace(",", ""))
    assert exports == pytest.approx(129.656e9, rel=1e-4)  # PROVENANCE.md's check value
    bea = pd.read_csv(
        shared_data / "bea" / "CAGDP2_MSA_2001_2021.csv.gz", dtype=str, encoding="latin-1"
    )
    bea_row = bea.loc[(bea["GeoFIPS"].str.strip(' "') == "26420") & (bea["LineCode"] == "1")]
    assert bea_row["Unit"].iloc[0] == "Thousands of dollars"
    gdp = float(bea_row["2019"].iloc[0]) * 1000
    jobs = panel.loc[panel["region_id"] == "26420", "emp"].sum()
    ratio = table.loc["exports / GDP 2019"]
    assert ratio["measured"] and ratio["value"] == pytest.approx(exports / gdp, rel=1e-9)
    assert 0.2 < ratio["value"] < 0.3  # Houston: about a quarter of its output is exported
    per_worker = table.loc["exports per worker 2019 ($)"]
    assert per_worker["value"] == pytest.approx(exports / jobs, rel=1e-9)
    # ranks and percentiles among all MSAs with both values, counted independently
    ita_msas = panel.loc[panel["year"] == 2019].groupby("region_id")["emp"].sum()
    assert per_worker["n_regions"] <= len(ita_msas)
    assert per_worker["rank_all"] >= 1 and per_worker["percentile_all"] > 90
    assert np.isfinite(per_worker["percentile_peers"])
    traded = table.loc["traded-cluster share of employment", "value"]
    h = panel.loc[panel["region_id"] == "26420"]
    assert traded == pytest.approx(h.loc[h["traded"], "emp"].sum() / h["emp"].sum(), rel=1e-12)


def test_msa_without_ita_exports_says_so(msa_store):
    from clusteratlas.store import Store

    path, panel = msa_store
    with Store(path, read_only=True) as store:
        have = set(
            store.sql("select region_id from outcomes where outcome = 'exports'")["region_id"]
        )
        without = sorted(set(panel["region_id"]) - have)
        assert without, "every MSA of the panel has ITA exports"
        table = diagnose(store, without[0], region_type="msa").tidy().set_index("indicator")
    row = table.loc["exports per worker 2019 ($)"]
    assert not row["measured"]
    assert row["data_needed"] == "exports of this region in 2019 (the exports data has none)"
