"""Stores the dashboard tests run against.

- ``synthetic_store``: a small SYNTHETIC store (clusteratlas.web.synthetic; every name says
  "Synthetic") with every table the dashboard reads.
- ``real_store``: a store built from the real USCM 2016 state download in ../shared/data by the
  panel engine (skips, or fails under CI, where the data is absent).
- ``demo_store``: the report engineer's synthetic demo store with a state panel built on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from clusteratlas.data import cbp, clusters
from clusteratlas.errors import SuppressedDataWarning
from clusteratlas.panel import build, metrics
from clusteratlas.store import Store
from clusteratlas.web.app import create_app
from clusteratlas.web.synthetic import build_synthetic_store


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_store(tmp_path_factory.mktemp("web") / "synthetic.duckdb")


@pytest.fixture(scope="session")
def client(synthetic_store: Path) -> Iterator[TestClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        test_client = TestClient(create_app(synthetic_store), base_url="http://127.0.0.1:8765")
    with test_client:  # one event-loop portal for the whole session (much faster)
        yield test_client


def uscm_2016(shared_data: Path) -> pd.DataFrame:
    from clusteratlas.data.uscm import read_uscm

    return read_uscm(shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz")


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cluster_panel (panel_from_uscm), region_summary (panel.metrics) and regions, 2016 states."""
    uscm = uscm_2016(shared_data)
    national = cbp.read_setzler_national_industry(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    )
    national = national.loc[national["year"] == 2016]
    definitions = clusters.load_definition("uscm", naics_vintage=2012)
    with pytest.warns(SuppressedDataWarning, match="2 withheld cell"):
        panel = build.panel_from_uscm(uscm, national, definitions)
    path = tmp_path_factory.mktemp("web_real") / "real.duckdb"
    regions = (
        uscm[["region_type", "region_id", "region_name"]]
        .drop_duplicates()
        .assign(state_fips=lambda f: f["region_id"])
    )
    with Store(path) as store:
        store.write("cluster_panel", panel)
        store.write("region_summary", metrics.region_summary(panel))
        store.write("regions", regions)
        store.write("cluster_definitions", definitions)
    return path


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from clusteratlas.studies.cluster_resilience import demo

    path = tmp_path_factory.mktemp("web_demo") / "demo.duckdb"
    demo.build_demo_store(path)
    with Store(path) as store:
        if not store.has("cluster_panel"):
            counts = store.read("industry_counts")
            members = store.read("region_members")
            definitions = store.read("cluster_definitions")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                panel = build.build_panel(counts, definitions, region_type="state", members=members)
            store.write("cluster_panel", panel)
    return path
