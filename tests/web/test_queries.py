"""The dashboard's numbers against independent computations.

Synthetic store (labelled synthetic): region totals against clusteratlas.panel.metrics (pandas,
written by the panel engineer), expected job creation against the synthetic generator's own
pandas computation. Real data (USCM 2016 state download): values shown against the published
USCM figures.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from clusteratlas.panel import metrics
from clusteratlas.store import Store
from clusteratlas.theory import model
from clusteratlas.web.app import create_app
from clusteratlas.web.dashboard import Dashboard
from clusteratlas.web.pages.region import region_page
from clusteratlas.web.pages.region_cluster import region_cluster_page
from clusteratlas.web.pages.theory import theory_page

SUMMARY_COLUMNS = [
    "emp",
    "emp_traded",
    "emp_local",
    "est",
    "wage",
    "n_strong",
    "strong_emp",
    "cluster_strength",
]


def _copy_store(source: Path, target: Path, change) -> Path:
    with Store(source, read_only=True) as old, Store(target) as new:
        for table in old.tables():
            frame = change(table, old.read(table))
            if frame is not None:
                new.write(table, frame)
    return target


def test_region_totals_match_panel_metrics(synthetic_store: Path, tmp_path: Path):
    """SQL totals (no region_summary table) == clusteratlas.panel.metrics.region_summary."""
    with Store(synthetic_store, read_only=True) as store:
        panel = store.read("cluster_panel")
    reference = metrics.region_summary(panel).set_index(["region_type", "region_id", "year"])
    dash = Dashboard(synthetic_store)
    assert not dash.has("region_summary")
    for region_type in ("state", "county"):
        for year in (2014, 2017):
            ours = dash.region_summary(region_type, year).set_index(
                ["region_type", "region_id", "year"]
            )
            ref = reference.loc[ours.index]
            for column in SUMMARY_COLUMNS:
                np.testing.assert_allclose(
                    ours[column].astype(float),
                    ref[column].astype(float),
                    rtol=1e-12,
                    err_msg=column,
                )
    dash.close()
    # with the panel engineer's table in the store, the dashboard shows that table
    with_table = _copy_store(synthetic_store, tmp_path / "rs.duckdb", lambda name, frame: frame)
    with Store(with_table) as store:
        store.write("region_summary", metrics.region_summary(panel).assign(cluster_strength=0.5))
    dash = Dashboard(with_table)
    assert (dash.region_summary("state", 2016)["cluster_strength"] == 0.5).all()
    dash.close()


def test_expected_job_creation_without_stored_columns(synthetic_store: Path, tmp_path: Path):
    """Computed E_prev * national growth == the generator's pandas values (rtol 1e-9)."""

    def drop(name: str, frame: pd.DataFrame) -> pd.DataFrame:
        if name == "cluster_panel":
            return frame.drop(columns=["emp_change", "expected_emp_change"])
        return frame

    bare = _copy_store(synthetic_store, tmp_path / "bare.duckdb", drop)
    full, reduced = Dashboard(synthetic_store), Dashboard(bare)
    for region_id, cluster in [("01001", "2"), ("03004", "7")]:
        a = (
            region_cluster_page(full, "county", region_id, cluster, 2017)
            .section("job_creation")
            .table
        )
        b = (
            region_cluster_page(reduced, "county", region_id, cluster, 2017)
            .section("job_creation")
            .table
        )
        assert len(a) == 3
        np.testing.assert_allclose(b["emp_change"], a["emp_change"], rtol=1e-12)
        np.testing.assert_allclose(b["expected_emp_change"], a["expected_emp_change"], rtol=1e-9)
    assert any(
        "expected_emp_change" in m
        for m in region_cluster_page(reduced, "county", "01001", "2", 2017).messages
    )
    full.close()
    reduced.close()


def test_subclusters_add_up_to_the_cluster(synthetic_store: Path):
    dash = Dashboard(synthetic_store)
    page = region_cluster_page(dash, "state", "02", "4", 2016)
    subclusters = page.section("subclusters").table
    assert len(subclusters) == 2
    assert subclusters["emp"].sum() == pytest.approx(page.info["employment"], rel=1e-9)
    dash.close()


def test_peers_are_the_reports_nearest_by_size_and_mix(synthetic_store: Path):
    """The region, its 5 nearest peers (clusteratlas.panel.comparison, the report's definition)
    and the median region, computed here from the store's tables."""
    from clusteratlas.panel.comparison import nearest_peers

    dash = Dashboard(synthetic_store)
    peers = region_page(dash, "county", "02003", 2017).section("peers").table
    with Store(synthetic_store, read_only=True) as store:
        panel = store.read("cluster_panel", where="region_type = 'county' and year = 2017")
    panel = panel.loc[panel["subcluster_code"].isna()] if "subcluster_code" in panel else panel
    summary = dash.region_summary("county", 2017)
    expected = nearest_peers(panel, summary, "02003", 2017)
    assert peers["region_id"].tolist() == ["02003", *expected["peer_id"], "median"]
    np.testing.assert_allclose(peers["distance"].iloc[1:-1], expected["distance"], rtol=1e-12)
    median = peers.set_index("region_id").loc["median"]
    assert median["cluster_strength"] == pytest.approx(summary["cluster_strength"].median())
    assert median["emp"] == pytest.approx(summary["emp"].median())
    dash.close()


def test_theory_regime_map_matches_the_model():
    page = theory_page("K", "alpha", {"t": 0.2, "F": 0.1}, 9)
    table = page.section("regimes").table
    assert len(table) == 81
    for _, row in table.sample(8, random_state=1).iterrows():
        point = model.regimes(
            model.Params(K=row["K"], alpha=row["alpha"], t=0.2, F=0.1, b=0.1, e=0.3, theta=0.2),
            "paper",
        )
        assert str(np.asarray(point.labels()).item()) == row["structure"]


@pytest.mark.realdata
def test_real_state_pages_match_published_uscm(real_store: Path, shared_data: Path):
    """Alabama and Alaska 2016: strong clusters and cluster strength as USCM published them;
    employment and wages as in the USCM download."""
    reference_file = Path(__file__).parents[1] / "panel" / "uscm_published_2016_reference.csv"
    published = pd.read_csv(
        reference_file, comment="#", dtype={"region_id": str, "cluster_code": str}
    )
    raw = pd.read_csv(
        shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz",
        dtype={"region_code_t": str, "cluster_code_t": str},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = TestClient(create_app(real_store), base_url="http://localhost")
    for region_id, name in [("01", "Alabama"), ("02", "Alaska")]:
        body = client.get(f"/api/region?type=state&id={region_id}&year=2016").json()
        assert body["title"] == name
        portfolio = pd.DataFrame(body["sections"]["portfolio"]["rows"])
        ref = published.loc[(published["region_id"] == region_id) & published["strong_b"].notna()]
        assert sorted(portfolio.loc[portfolio["strong"], "cluster_code"]) == sorted(
            ref.loc[ref["strong_b"].astype(bool), "cluster_code"]
        )
        strength = ref.loc[ref["strong_b"].astype(bool), "emp_tl"].sum() / ref["emp_tl"].sum()
        assert body["info"]["cluster strength"] == pytest.approx(strength, rel=1e-12)
        state = raw.loc[raw["region_code_t"] == region_id].set_index("cluster_code_t")
        shown = portfolio.set_index("cluster_code")
        np.testing.assert_array_equal(shown["emp"], state.loc[shown.index, "emp_tl"])
        state = state.loc[shown.index]
        reported = (state["emp_reported_tl"] > 0).to_numpy()
        # USCM prints its 3-decimal wage; where nothing is reported it prints 0, we show no wage
        np.testing.assert_allclose(
            shown["wage"].astype(float)[reported], state["private_wage_tf"][reported], rtol=1e-7
        )
        assert (
            shown["wage"].isna()[~reported].all()
            and (state["private_wage_tf"][~reported] == 0).all()
        )
    # a cluster page ranks states by the download's employment
    top = pd.DataFrame(
        client.get("/api/cluster?code=1&type=state&year=2016").json()["sections"]["top_regions"][
            "rows"
        ]
    )
    expected = raw.loc[raw["cluster_code_t"] == "1"].nlargest(25, "emp_tl")
    assert top["region_id"].tolist() == expected["region_code_t"].tolist()
    assert client.get("/map?type=state&metric=cluster_strength&year=2016").status_code == 200
    # related clusters of Apparel (3): the USCM pairs flagged rel_all_90_v3, either direction
    pairs = pd.read_csv(
        shared_data / "clusters" / "related_clusters_cmp_pairs.csv",
        dtype={"clustera": str, "clusterb": str},
    )
    pairs = pairs.loc[(pairs["rel_all_90_v3"] == 1) & (pairs["clustera"] != pairs["clusterb"])]
    expected = set(pairs.loc[pairs["clustera"] == "3", "clusterb"]) | set(
        pairs.loc[pairs["clusterb"] == "3", "clustera"]
    )
    related = client.get("/api/cluster?code=3&type=state&year=2016").json()["sections"]["related"][
        "rows"
    ]
    assert expected and {r["related_cluster_code"] for r in related} == expected


def test_resilience_window_on_region_page(synthetic_store: Path):
    """Region page window indices == (g_r - g_N) / |g_N| from the outcomes table by hand."""
    with Store(synthetic_store, read_only=True) as store:
        outcomes = store.read("outcomes")
    dash = Dashboard(synthetic_store)
    table = (
        region_page(dash, "state", "02", 2017, (2014, 2015, 2017))
        .section("resilience_window")
        .table
    )
    assert set(table["outcome"]) == {"employment", "gdp"}
    for _, row in table.iterrows():
        values = outcomes.loc[outcomes["outcome"] == row["outcome"]].set_index(
            ["region_id", "year"]
        )["value"]
        growth = values[("02", row["end"])] / values[("02", row["start"])] - 1
        national = values[("US", row["end"])] / values[("US", row["start"])] - 1
        assert row["growth"] == pytest.approx(growth, rel=1e-12)
        assert row["national_growth"] == pytest.approx(national, rel=1e-12)
        assert row["resilience"] == pytest.approx((growth - national) / abs(national), rel=1e-9)
    dash.close()


@pytest.mark.realdata
def test_clusters_page_shows_national_coverage(real_store: Path):
    """The clusters page: the 50 states against the national CBP counts, 2016 (the numbers
    themselves are checked in tests/panel/test_panel_uscm_reference.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = TestClient(create_app(real_store), base_url="http://localhost")
    body = client.get("/api/clusters").json()
    coverage = pd.DataFrame(body["sections"]["coverage"]["rows"])
    assert len(coverage) == 51
    assert coverage["reading"].value_counts().to_dict() == {
        "agrees": 27,
        "imputation": 22,
        "regions short": 2,
    }
    assert "27 of 51 within 1%" in body["sections"]["coverage"]["note"]
    page = client.get("/clusters")
    assert page.status_code == 200 and "Do the state regions add up to the nation?" in page.text
    csv = client.get("/api/clusters.csv?part=coverage")
    assert csv.status_code == 200 and "regions short" in csv.text
