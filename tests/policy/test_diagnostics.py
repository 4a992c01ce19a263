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
