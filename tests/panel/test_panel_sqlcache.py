"""The compiled-SQL cache of build_panel (clusteratlas.panel.sqlcache) on real CBP data: the
cached DuckDB statements (run by clusteratlas.panel.engine) give the panel Ibis executes
itself, from memory and from disk, and the key tells apart everything the SQL depends on."""

from __future__ import annotations

import json
import warnings

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from clusteratlas.panel import build as panel_build
from clusteratlas.panel import build_panel, engine, sqlcache
from clusteratlas.panel import expressions as panel_expressions


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A private disk cache and an empty memory cache for every test."""
    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(sqlcache.DISK_ENV, raising=False)
    sqlcache.clear()
    yield
    sqlcache.clear()


@pytest.fixture
def runs(monkeypatch) -> list[int]:
    """Counts the panels executed from the cached SQL (the other path is Ibis' own)."""
    calls: list[int] = []
    original = engine.execute

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "execute", counting)
    return calls


def _build(counts, definitions, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one-region and no-national warnings
        return build_panel(counts, definitions, **options)


def _ibis_inputs(counts, definitions, options: dict) -> tuple:
    """The same inputs as Ibis in-memory tables: build_panel then runs Ibis' own execution
    (in-memory tables need Ibis' registration hooks, so the cache steps aside)."""
    options = {
        k: ibis.memtable(v) if isinstance(v, pd.DataFrame) else v for k, v in options.items()
    }
    return ibis.memtable(counts), ibis.memtable(definitions), options


def _counties(alabama: pd.DataFrame) -> pd.DataFrame:
    """Alabama's real rows dealt round-robin to four pseudo-counties (c0-c3)."""
    ids = np.array([f"c{i % 4}" for i in range(len(alabama))])
    return alabama.assign(region_type="county", region_id=ids)


#: c0+c1 and c2+c3 are economic areas; c0+c2 a custom region (pooled with them for flags)
MEMBERS = pd.DataFrame(
    {
        "region_type": ["economic_area"] * 4 + ["custom"] * 2,
        "region_id": ["E1", "E1", "E2", "E2", "K1", "K1"],
        "member_type": "county",
        "member_id": ["c0", "c1", "c2", "c3", "c0", "c2"],
    }
)


def _assert_same_panel(cached: pd.DataFrame, direct: pd.DataFrame) -> None:
    # float sums may differ in the last bits only if the engine adds in another order
    pd.testing.assert_frame_equal(cached, direct, check_exact=False, rtol=1e-12, atol=0)


CASES = {
    "state-given-national": ("alabama", {"region_type": "state", "national": "national"}),
    "subcluster-incomplete": (
        "alabama",
        {"region_type": "state", "national": "national", "level": "subcluster", "complete": False},
    ),
    "nation-rows-in-counts": ("alabama+nation", {"region_type": "state", "growth": False}),
    "national-growth-panel": ("panel_years", {"region_type": "nation", "national": "panel_years"}),
    "counties-into-custom-regions": (
        "counties",
        {"region_type": "custom", "national": "national", "members": "members"},
    ),
}


@pytest.mark.realdata
@pytest.mark.parametrize("case", list(CASES))
def test_cached_sql_gives_ibis_result(
    case,
    runs,
    alabama_2021,
    national_2021,
    national_panel_years,
    definitions_2017,
    definitions_2012,
):
    frames = {
        "alabama": alabama_2021,
        "national": national_2021,
        "alabama+nation": pd.concat([alabama_2021, national_2021], ignore_index=True),
        "panel_years": national_panel_years,
        "counties": _counties(alabama_2021),
        "members": MEMBERS,
    }
    name, options = CASES[case]
    options = {k: frames[v] if k in ("national", "members") else v for k, v in options.items()}
    counts = frames[name]
    definitions = definitions_2012 if name == "panel_years" else definitions_2017

    cached = _build(counts, definitions, **options)
    assert len(runs) == 1 and len(sqlcache._MEMORY) == 1
    again = _build(counts, definitions, **options)  # from the memory cache
    assert len(runs) == 2 and len(sqlcache._MEMORY) == 1
    ibis_counts, ibis_definitions, ibis_options = _ibis_inputs(counts, definitions, options)
    direct = _build(ibis_counts, ibis_definitions, **ibis_options)
    assert len(runs) == 2  # Ibis executed this one
    assert len(cached) > 0
    _assert_same_panel(cached, direct)
    _assert_same_panel(again, direct)


@pytest.mark.realdata
def test_disk_copy_skips_building_the_expression(
    runs, monkeypatch, tmp_path, alabama_2021, national_2021, definitions_2017
):
    options = {"region_type": "state", "national": national_2021}
    first = _build(alabama_2021, definitions_2017, **options)
    stored = list((tmp_path / "cache" / "panel-sql").glob("*.json"))
    assert len(stored) == 1
    texts = json.loads(stored[0].read_text())
    assert set(texts) == {"checks", "panel"}
    assert all(sqlcache.placeholder("counts") in text for text in texts.values())

    # a new process: nothing in memory, and the expression cannot even be built
    sqlcache.clear()

    def no_build(*args, **kwargs):
        raise AssertionError("the expression was rebuilt despite the disk copy")

    original = panel_expressions.compile_panel
    monkeypatch.setattr(panel_expressions, "compile_panel", no_build)
    second = _build(alabama_2021, definitions_2017, **options)
    _assert_same_panel(second, first)

    # a damaged copy is recompiled and rewritten, not trusted
    monkeypatch.setattr(panel_expressions, "compile_panel", original)
    sqlcache.clear()
    stored[0].write_text("{not json")
    third = _build(alabama_2021, definitions_2017, **options)
    _assert_same_panel(third, first)
    assert "panel" in json.loads(stored[0].read_text())


@pytest.mark.realdata
def test_disk_cache_can_be_turned_off(monkeypatch, tmp_path, alabama_2021, definitions_2017):
    monkeypatch.setenv(sqlcache.DISK_ENV, "off")
    _build(alabama_2021, definitions_2017, region_type="state", national=alabama_2021)
    assert not (tmp_path / "cache" / "panel-sql").exists()


@pytest.mark.realdata
def test_ibis_expression_inputs_bind_as_subqueries(
    runs, tmp_path, alabama_2021, national_2021, definitions_2017
):
    """Tables of the user's DuckDB connection (Parquet views, one filtered) stand in for the
    placeholders."""
    alabama_2021.to_parquet(tmp_path / "counts.parquet")
    national_2021.to_parquet(tmp_path / "national.parquet")
    con = ibis.duckdb.connect()
    counts = con.read_parquet(tmp_path / "counts.parquet", table_name="counts")
    national = con.read_parquet(tmp_path / "national.parquet", table_name="national")
    some = counts.filter(counts.naics.startswith("3"))
    got = _build(some, definitions_2017, region_type="state", national=national, connection=con)
    assert len(runs) == 1
    manufacturing = alabama_2021.loc[alabama_2021["naics"].str.startswith("3")]
    expected = _build(manufacturing, definitions_2017, region_type="state", national=national_2021)
    _assert_same_panel(got, expected)
    # pandas inputs on the same connection: registered for the query, then unregistered
    _build(manufacturing, definitions_2017, region_type="state", national=national, connection=con)
    assert len(runs) == 3
    views = con.con.sql("select view_name from duckdb_views() where not internal").fetchall()
    assert sorted(name for (name,) in views) == ["counts", "national"]


def test_key_tells_apart_schemas_options_and_code(monkeypatch):
    schema = (("naics", "VARCHAR", True), ("emp", "DOUBLE", True))
    base = sqlcache._key({"level": "cluster"}, {"counts": schema})
    assert base == sqlcache._key({"level": "cluster"}, {"counts": schema})
    assert base != sqlcache._key({"level": "subcluster"}, {"counts": schema})
    assert base != sqlcache._key(
        {"level": "cluster"}, {"counts": (*schema, ("est", "DOUBLE", True))}
    )
    wider = (("naics", "VARCHAR", True), ("emp", "BIGINT", True))
    assert base != sqlcache._key({"level": "cluster"}, {"counts": wider})
    strict = (("naics", "VARCHAR", False), ("emp", "DOUBLE", True))
    assert base != sqlcache._key({"level": "cluster"}, {"counts": strict})
    monkeypatch.setattr(sqlcache, "_CODE_VERSION", ["another version of the panel code"])
    assert base != sqlcache._key({"level": "cluster"}, {"counts": schema})


def test_sort_is_natural_and_the_fallback_agrees(monkeypatch):
    """Cluster codes sort as numbers ("2" < "10"), nulls last; the folded integer key and the
    key-by-key lexsort (used when the folded key would overflow) give the same order. Keys
    are unique, as a panel's are."""
    rng = np.random.default_rng(3)
    codes = [None, *(str(k) for k in range(1, 120))]
    grid = pd.MultiIndex.from_product(
        [["state", "county"], [f"{i:02d}" for i in range(40)], [2019, 2020, 2021], codes]
    ).to_frame(index=False)
    picked = grid.iloc[rng.choice(len(grid), 2000, replace=False)]
    table = pa.table(
        {
            "region_type": picked[0].to_numpy(),
            "region_id": picked[1].to_numpy(),
            "year": picked[2].to_numpy(),
            "cluster_code": pa.array([None if pd.isna(c) else c for c in picked[3]], pa.string()),
            "row": np.arange(len(picked)),
        }
    )
    folded = panel_build._sort(table).to_pandas()
    frame = table.to_pandas()
    frame["code"] = pd.to_numeric(frame["cluster_code"]).fillna(np.inf)
    expected = frame.sort_values(["region_type", "region_id", "year", "code"], kind="stable")
    assert folded["row"].tolist() == expected["row"].tolist()
    monkeypatch.setattr(panel_build, "_FOLD_LIMIT", 1)
    assert panel_build._sort(table).to_pandas()["row"].tolist() == folded["row"].tolist()
