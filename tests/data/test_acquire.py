"""The fetch plan against the local replay server: good answers become canonical tables equal to
the real files they were recorded from; bad or partial answers become provenance rows naming the
URL and where to save a hand download, and nothing unusable stays in the cache.

Answers: tests/publishers.py (REAL where ../shared/data holds the data, SYNTHETIC elsewhere,
labelled there).
"""

from __future__ import annotations

import pytest
from census_replay import serve
from publishers import add_publishers, alabama_2021, environment, national_totals

from clusteratlas.data import acquire
from clusteratlas.data.fetch import Fetcher

pytestmark = pytest.mark.realdata
SECRET = "CENSUS-SECRET-4711"


@pytest.fixture()
def replay(shared_data, tmp_path, monkeypatch):
    with serve() as server:
        add_publishers(server, shared_data, range(2020, 2022), region_type="state")
        for key, value in environment(server, tmp_path / "cache").items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("BEA_API_KEY", raising=False)
        monkeypatch.setenv("CENSUS_API_KEY", SECRET)
        yield server


def _cache_files(tmp_path):
    return [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_good_answers_equal_the_real_files(replay, shared_data, tmp_path):
    plan = acquire.plan("state", range(2020, 2022))
    fetched = acquire.fetch_plan(plan, Fetcher())
    assert set(fetched.provenance["status"]) == {"used"}, fetched.provenance
    counts = fetched.counts
    # Alabama 2021, 6-digit rows: the ModelEarth CBP API file, row for row
    al = counts.loc[
        (counts["region_id"] == "01") & (counts["year"] == 2021) & (counts["naics"] != "total")
    ]
    real = alabama_2021(shared_data).set_index("Naics")
    assert len(al) == len(real) == 796
    assert (
        al.set_index("naics")["emp"].sort_index().tolist()
        == real["Employees"].sort_index().astype(float).tolist()
    )
    assert al["emp"].sum() == 1_705_695  # PROVENANCE.md: 99.2% of the Alabama total
    # national all-industries row = the setzler national total (Census published 128,346,299)
    nation = counts.loc[
        (counts["region_type"] == "nation")
        & (counts["naics"] == "total")
        & (counts["year"] == 2021)
    ]
    assert (
        float(nation["emp"].iloc[0])
        == 128_346_299
        == national_totals(shared_data).set_index("year").loc[2021, "employment_march"]
    )
    # BEA GDP from the zip (no key): California 2021 = 3,373,240.7 $M as in SAGDP2N
    gdp = fetched.outcomes.loc[
        (fetched.outcomes["outcome"] == "gdp") & (fetched.outcomes["region_id"] == "06")
    ]
    assert float(gdp.loc[gdp["year"] == 2021, "value"].iloc[0]) == pytest.approx(
        3_373_240.7, abs=0.05
    )
    # the key went out with each Census request but is in no cache file name or content
    assert any(f"key={SECRET}" in r for r in replay.requests)
    for path in _cache_files(tmp_path):
        assert SECRET not in path.name and SECRET.encode() not in path.read_bytes()


def test_bad_answers_become_provenance_rows_and_leave_no_cache(replay, tmp_path):
    # an HTTP error every time, a year missing, a changed column name
    replay.status["/data/timeseries/intltrade/exports/statenaics?time=2020-12"] = 500
    del replay.raw["/qcew/2021/a/industry/10.csv"]
    header = replay.routes["/data/2020/cbp?for=state:*"][0]
    header[header.index("EMP")] = "EMPL_COUNT"
    fetched = acquire.fetch_plan(acquire.plan("state", range(2020, 2022)), Fetcher(retries=1))
    rows = fetched.provenance.set_index("input")
    trade = rows.loc["State exports (all commodities, all partner countries)"]
    assert trade["status"] == "partial" and trade["years"] == "2021"
    assert "HTTP 500" in trade["reason"] and "statenaics" in trade["reason"]
    assert "save it as" in trade["reason"] and str(tmp_path / "cache") in trade["reason"]
    qcew = rows.loc["QCEW annual average employment, all industries, total covered"]
    assert qcew["status"] == "partial" and qcew["years"] == "2020" and "HTTP 400" in qcew["reason"]
    cbp = rows.loc["County Business Patterns, state x 6-digit NAICS (and all-industries totals)"]
    assert cbp["status"] == "partial" and cbp["years"] == "2021"
    assert "EMP" in cbp["reason"] and "/data/2020/cbp" in cbp["reason"]
    # what was fetched is usable: 2020 is missing from the states, not half-there
    states = fetched.counts.loc[fetched.counts["region_type"] == "state"]
    assert set(states["year"]) == {2021}
    # nothing half-written or unusable in the cache: no temporary files, no 2020 state answer
    names = [p.name for p in _cache_files(tmp_path)]
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    fetcher = Fetcher()
    from clusteratlas.data.census_api import cbp_url

    root = f"{replay.url}/data"
    assert not fetcher.cache_path(cbp_url(2020, "state", root=root)).exists()
    assert fetcher.cache_path(cbp_url(2021, "state", root=root)).exists()
    for reason in fetched.provenance["reason"]:
        assert SECRET not in reason


def test_an_empty_geography_is_said_so(replay, shared_data):
    add_publishers(replay, shared_data, range(2021, 2022), region_type="county", states=["01"])
    replay.status["/data/2021/cbp?for=county:*&in=state:15"] = 204  # Hawaii answers no rows
    plan = acquire.plan("county", [2021], states=["01", "15"])
    assert [r.label for r in plan.requests if r.group == "cbp_region"] == [
        "CBP 2021 counties of state 01",
        "CBP 2021 counties of state 15",
    ]
    fetched = acquire.fetch_plan(plan, Fetcher())
    row = fetched.provenance.set_index("input").loc[
        "County Business Patterns, county x 6-digit NAICS (and all-industries totals)"
    ]
    assert row["status"] == "partial" and "state 15: empty answer" in row["reason"]
    assert "HTTP 204" in row["reason"]
    counties = fetched.counts.loc[fetched.counts["region_type"] == "county", "region_id"]
    assert counties.str[:2].unique().tolist() == ["01"]
    trade = fetched.provenance.loc[fetched.provenance["input"] == "Exports and imports"].iloc[0]
    assert trade["status"] == "not possible" and "by state only" in trade["reason"]


def test_plan_names_what_it_asks_and_refuses_what_it_cannot():
    plan = acquire.plan("msa", [2019])
    urls = [r.url for r in plan.requests]
    assert any("for=metropolitan%20statistical%20area" in u for u in urls)
    assert any(u.endswith("CAGDP2.zip") for u in urls)
    assert any("/2019/a/industry/10.csv" in u for u in urls)
    old = acquire.plan("state", [1990, 2019])
    assert [r for r in old.not_possible if r["years"] == "1990"][0]["status"] == "not possible"
    with pytest.raises(Exception, match="--region-type"):
        acquire.plan("planet", [2019])
    with pytest.raises(Exception, match="--states"):
        acquire.plan("county", [2019], states=["99"])
    assert acquire.year_span([2015, 2016, 2017, 2019, 2021, 2022]) == "2015-2017, 2019, 2021-2022"
