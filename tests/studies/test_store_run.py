"""``clusteratlas run --store FILE``: the study on a store the user built with ``load`` and
``panel build``, with her own cluster definition (and, in the second test, her own country).

Data: CBP API extracts of the 51 states for 2017-2021 written from tests/publishers.py (their
all-industries rows are the REAL setzler state totals; the 6-digit rows SYNTHETIC) and the
REAL setzler national 6-digit file; a user definition grouping NAICS codes by manufacturing
subsector (traded) and by sector (local). The second test's country is SYNTHETIC.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from publishers import state_answer

from clusteratlas.schema import INDUSTRY_COUNTS, conform
from clusteratlas.store import Store

SMALL = "[theory]\nresolution = 20\naudit_samples = 10\n"


def cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "clusteratlas.cli", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read(path: Path, table: str) -> pd.DataFrame:
    with Store(path, read_only=True) as store:
        return store.read(table)


@pytest.fixture(scope="module")
def user_store(shared_data, tmp_path_factory):
    base = tmp_path_factory.mktemp("user_store")
    files = []
    for year in range(2017, 2022):
        path = base / f"cbp_api_states_{year}.csv"
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows(state_answer(shared_data, year))
        files.append(str(path))
    national = shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    codes = pd.read_csv(national, dtype={"naics": str})
    codes = sorted(codes.loc[codes["year"] == 2021, "naics"].unique())
    rows = [
        (c, f"M{c[:3]}", f"Manufacturing {c[:3]}", 1)
        if c[:2] in ("31", "32", "33")
        else (c, f"S{c[:2]}", f"Sector {c[:2]}", 0)
        for c in codes
    ]
    definition = base / "mine.csv"
    pd.DataFrame(rows, columns=["naics", "cluster_code", "cluster_name", "traded"]).to_csv(
        definition, index=False
    )
    store = base / "atlas.duckdb"
    (base / "small.toml").write_text(SMALL)
    cli("load", "cbp", *files, str(national), "--store", str(store))
    cli(
        "load",
        "clusters",
        str(definition),
        "--name",
        "mine",
        "--naics-vintage",
        "2017",
        "--store",
        str(store),
    )
    cli("panel", "build", "--store", str(store), "--definition", "mine", "--years", "2017-2021")
    before = {
        t: len(read(store, t)) for t in ("industry_counts", "cluster_panel", "cluster_definitions")
    }
    done = cli(
        "run",
        "--store",
        str(store),
        "--config",
        str(base / "small.toml"),
        "--out",
        str(base / "out"),
        "--quiet",
    )
    return base, store, before, done


@pytest.mark.realdata
def test_store_run_gives_a_complete_report_with_the_users_clusters(user_store):
    base, store, before, _ = user_store
    html = (base / "out" / "report.html").read_text()
    sections = re.findall(r'<section id="([^"]+)"', html)
    assert len(sections) >= 6 and "evidence" in sections and 'id="tbl-data-used"' in html
    panel = read(store, "cluster_panel")
    assert set(panel["cluster_code"].str[0]) == {"M", "S"}  # the user's clusters, not USCM's
    prov = read(store, "run_provenance").set_index(["stage", "input"])
    assert ("load", "cluster definition 'mine' (44 clusters)") in prov.index or any(
        "cluster definition 'mine'" in i for _, i in prov.index
    )
    assert prov.loc[("panel", "region x cluster panel"), "source"].startswith(
        "store table cluster_panel"
    )
    related = [
        n
        for n in json.loads((base / "out" / "manifest.json").read_text())["stages"]["panel"][
            "notes"
        ]
    ]
    assert any("related clusters not shown" in n for n in related)
    # the user's tables are read, never rewritten
    assert {t: len(read(store, t)) for t in before} == before
    assert set(read(store, "run_did")["level"]) == {"region", "region x cluster"}


@pytest.mark.realdata
def test_store_run_employment_did_equals_the_state_totals(user_store, shared_data):
    """The store's all-industries rows are the REAL CBP state totals: the corrected COVID-19
    DID of employment (March 2019 -> 2021) is the difference of mean log growth."""
    base, store, _, _ = user_store
    did = read(store, "run_did")
    row = did.loc[
        (did["level"] == "region")
        & (did["outcome"] == "employment")
        & (did["design"] == "corrected")
        & (did["shock"] == "COVID-19")
        & (did["phase"] == "shock")
    ].iloc[0]
    assert (row["start"], row["end"]) == (2019, 2021)
    treatment = read(store, "run_treatment_by_shock")
    treated = treatment.loc[treatment["shock"] == "COVID-19"].set_index("region_id")["treated"]
    totals = pd.read_csv(shared_data / "cbp" / "setzler_CBP_state_total.csv")
    totals["id"] = totals["state_fips"].astype(str).str.zfill(2)
    wide = totals.pivot(index="id", columns="year", values="employment_march")
    growth = np.log(wide[2021] / wide[2019]).reindex(treated.index)
    assert row["estimate"] == pytest.approx(
        growth[treated].mean() - growth[~treated].mean(), abs=1e-12
    )
    # no 2022 in her store: the recovery is said to be not possible
    prov = read(store, "run_provenance")
    assert (prov["reason"].str.contains("not both 2021 and 2022")).any()


@pytest.mark.realdata
def test_store_rerun_is_cached(user_store):
    base, store, _, _ = user_store
    again = cli(
        "run",
        "--store",
        str(store),
        "--config",
        str(base / "small.toml"),
        "--out",
        str(base / "out"),
        "--quiet",
    )
    states = [line.split()[1] for line in again.stdout.splitlines() if line.startswith("  ")]
    assert states and set(states) == {"cached"}, again.stdout


def test_store_of_another_country_and_code_system(tmp_path):
    """SYNTHETIC: 30 regions of a country with its own industry codes and cluster definition,
    loaded through the Python API, the panel built with the CLI, then run --store."""
    rng = np.random.default_rng(3)
    regions = [f"DE{i:02d}" for i in range(1, 31)]
    codes = [f"C{i:02d}" for i in range(10, 34)]
    rows = []
    for year in range(2016, 2022):
        for region in regions:
            size = rng.uniform(0.5, 3.0)
            for code in codes:
                shock = 0.9 if year == 2021 and code < "C20" else 1.0
                emp = float(round(1000 * size * rng.uniform(0.2, 3.0) * shock))
                rows.append(
                    (
                        "synthetic",
                        year,
                        "state",
                        region,
                        code,
                        0,
                        emp,
                        emp,
                        "",
                        emp / 20,
                        emp * 40,
                        emp * 10,
                    )
                )
    counts = pd.DataFrame(rows, columns=list(INDUSTRY_COUNTS))
    nation = counts.groupby(["year", "naics"], as_index=False)[
        ["emp", "emp_reported", "est", "ap", "qp1"]
    ].sum()
    nation = nation.assign(
        source="synthetic", region_type="nation", region_id="DE", naics_vintage=0, emp_flag=""
    )
    definition = tmp_path / "de.csv"
    group = [int(c[1:]) // 4 for c in codes]
    pd.DataFrame(
        {
            "naics": codes,
            "cluster_code": [f"K{g}" for g in group],
            "cluster_name": [f"Cluster {g}" for g in group],
            "traded": [int(g % 3 != 0) for g in group],  # one traded flag per cluster
        }
    ).to_csv(definition, index=False)
    store = tmp_path / "de.duckdb"
    with Store(store) as db:
        db.write(
            "industry_counts", conform(pd.concat([counts, nation]), INDUSTRY_COUNTS, what="test")
        )
    cli(
        "load",
        "clusters",
        str(definition),
        "--name",
        "de",
        "--naics-vintage",
        "0",
        "--store",
        str(store),
    )
    # --suppressed none: CBP's fill of withheld national cells reads any code that is not 6
    # digits as an aggregate NAICS line, which leaves a non-NAICS country no national counts
    cli("panel", "build", "--store", str(store), "--definition", "de", "--suppressed", "none")
    (tmp_path / "small.toml").write_text(SMALL)
    done = cli(
        "run",
        "--store",
        str(store),
        "--config",
        str(tmp_path / "small.toml"),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert "report:" in done.stdout
    html = (tmp_path / "out" / "report.html").read_text()
    assert '<section id="evidence">' in html
    panel = read(store, "cluster_panel")
    assert panel["lq"].notna().all() and panel["strong"].any()
    treated = read(store, "run_treatment")["treated"]
    assert 0 < treated.sum() < len(treated)
    peers = read(store, "run_peers")
    assert set(peers["region_id"]) <= set(regions) and len(peers)
