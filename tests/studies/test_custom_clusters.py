"""`clusteratlas run` with a user cluster definition (``[clusters] definition = "my.csv"``).

The user definition here merges the USCM clusters into a few coarse groups (a stand-in for
another country's or an agency's own cluster set); the run is the SYNTHETIC demo, the one run
path with region x 6-digit industry counts that a custom definition can aggregate.
"""

from __future__ import annotations

import pandas as pd
import pytest

from clusteratlas.errors import ParameterError
from clusteratlas.store import Store
from clusteratlas.studies.cluster_resilience import config as cfgmod
from clusteratlas.studies.cluster_resilience.pipeline import Pipeline
from clusteratlas.studies.runner import MANIFEST


def _merged_definition(shared_data) -> pd.DataFrame:
    """USCM 2012 clusters merged into 4 traded groups and 1 local group, relabelled."""
    from clusteratlas.data.clusters import load_definition

    uscm = load_definition("uscm", naics_vintage=2012, path=shared_data / "clusters")
    code = uscm["cluster_code"].astype(int)
    group = ("TR" + (code % 4).astype(str)).where(uscm["traded"], "LOCAL")
    return pd.DataFrame(
        {
            "industry": uscm["naics"],
            "cluster_code": group,
            "cluster_name": "Merged " + group,
            "traded": uscm["traded"].map({True: "traded", False: "local"}),
        }
    )


def _config(tmp_path, definition) -> str:
    path = tmp_path / "run.toml"
    path.write_text(
        '[study]\nregion_type = "county"\nregions = ["17031"]\n\n'
        f"[clusters]\ndefinition = {cfgmod._toml_value(str(definition))}\n"
    )
    return str(path)


def test_demo_run_aggregates_with_the_users_clusters(shared_data, cli, tmp_path):
    user = _merged_definition(shared_data)
    csv = tmp_path / "merged_clusters.csv"
    user.to_csv(csv, index=False)
    out = tmp_path / "out"
    done = cli("run", "--demo", "--config", _config(tmp_path, csv), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        panel = store.read("cluster_panel")
        counts = store.read("industry_counts")
    assert set(panel["cluster_code"]) == set(user["cluster_code"])
    # independent check: a merged cluster's employment is the sum of its industries' counts
    members = set(user.loc[user["cluster_code"] == "TR1", "industry"])
    year = int(panel["year"].min())
    county = counts.loc[
        (counts["region_id"] == "17031") & (counts["year"] == year) & counts["naics"].isin(members)
    ]
    row = panel.loc[
        (panel["region_id"] == "17031") & (panel["year"] == year) & (panel["cluster_code"] == "TR1")
    ]
    assert len(row) == 1 and county["emp"].sum() > 0
    assert row["emp"].iloc[0] == pytest.approx(county["emp"].sum(), rel=1e-12)
    assert "custom cluster definition" in (out / "report.html").read_text()


def test_bad_definition_stops_before_any_work(cli, tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "nowhere.csv"
    done = cli("run", "--demo", "--config", _config(tmp_path, missing), "--out", str(out))
    assert done.returncode != 0
    assert "clusters.definition" in done.stderr and "nowhere.csv" in done.stderr
    assert not (out / MANIFEST).exists() and not (out / "clusteratlas.duckdb").exists()


def test_definition_without_cluster_name_names_the_key(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("naics,cluster_code\n311111,A\n")
    config = cfgmod.from_mapping({"clusters": {"definition": str(csv)}})
    with pytest.raises(ParameterError) as info:
        Pipeline(config, out_dir=tmp_path / "out", demo=True)
    assert info.value.name == "clusters.definition" and "cluster_name" in str(info.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ParameterError) as info:
        cfgmod.from_mapping({"clusters": {"definition": 3}})
    assert info.value.name == "clusters.definition"


def test_real_data_run_refuses_a_custom_definition(shared_data, tmp_path):
    csv = tmp_path / "one.csv"
    csv.write_text("naics,cluster_code,cluster_name\n311111,A,Food\n")
    config = cfgmod.from_mapping({"clusters": {"definition": str(csv)}})
    with pytest.raises(ParameterError, match="USCM") as info:
        Pipeline(config, out_dir=tmp_path / "out", data_dir=shared_data)
    assert info.value.name == "clusters.definition"
