"""CBP flat files in parts: the same result as the whole file, and loads larger than memory.

FORMAT FIXTURES: the county files are written here in the 2016 county layout with made-up
numbers (no raw CBP flat file is in the shared data); what is tested is that reading in parts
and streaming into the store change nothing, and that a file too big to read whole under a
memory ceiling still loads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clusteratlas.data import cbp
from clusteratlas.errors import InputError
from clusteratlas.store import Store

HEADER = "fipstate,fipscty,naics,empflag,emp_nf,emp,qp1_nf,qp1,ap_nf,ap,est,n1_4,n5_9\n"


def county_file(path: Path, counties: int, industries: int, *, extras: bool = True) -> Path:
    """SYNTHETIC CBP 2016 county file: every county x industry, ``emp = (7c + i) % 997``.

    With ``extras`` each county also has its total line (``------``), an aggregate line
    (dropped) and a suppressed cell (EMPFLAG B -> USCM midpoint 60), and each state a 999 line.
    """
    naics = [f"{311000 + i:06d}" for i in range(industries)]
    with open(path, "w") as out:
        out.write(HEADER)
        for c in range(counties):
            prefix = f"{1 + c // 300:02d},{1 + c % 300:03d},"
            if extras:
                out.write(f"{prefix}------,,G,{c + 10},G,9,G,99,50,1,0\n")
                out.write(f"{prefix}31----,,G,5,G,1,G,1,3,1,0\n")
            out.write(
                "".join(
                    f"{prefix}{code},,G,{(7 * c + i) % 997},G,{i},G,{4 * i},{1 + i % 50},1,0\n"
                    for i, code in enumerate(naics)
                )
            )
            if extras:
                out.write(f"{prefix}339999,B,,0,,0,,0,2,1,0\n")
        if extras:
            out.write(f"01,999,{naics[0]},,G,1,G,1,G,1,1,1,0\n")
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(cbp.COUNTS_KEY).reset_index(drop=True)


def test_parts_give_the_whole_file(tmp_path):
    path = county_file(tmp_path / "cbp16co.txt", counties=7, industries=5)
    whole = cbp.parse_cbp_flatfile(path)
    parts = list(cbp.iter_cbp_flatfile(path, chunk_rows=4))
    assert len(parts) > 5  # a county's rows straddle part boundaries
    counts = pd.concat([p.counts for p in parts]).reset_index(drop=True)
    totals = pd.concat([p.totals for p in parts]).reset_index(drop=True)
    pd.testing.assert_frame_equal(counts, whole.counts)
    pd.testing.assert_frame_equal(totals, whole.totals)
    assert len(whole.counts) == 7 * 6 and len(whole.totals) == 7
    assert whole.dropped["NAICS aggregate (code with '-' or '/')"] == 7
    assert whole.dropped["statewide 999 pseudo-county"] == 1
    # the parts' frames are indexed by file line (8 lines a county): the third total is on line 18
    assert parts[0].counts.index[0] == 4  # line 2 total, line 3 aggregate, line 4 first industry
    assert int(pd.concat([p.totals for p in parts]).index[2]) == 2 + 2 * 8


def test_streaming_load_equals_loading_the_parsed_file(tmp_path):
    path = county_file(tmp_path / "cbp16co.txt", counties=7, industries=5)
    parsed = cbp.parse_cbp_flatfile(path)
    with Store(tmp_path / "whole.duckdb") as whole, Store(tmp_path / "parts.duckdb") as parts:
        expected = cbp.load_into_store(
            whole, pd.concat([parsed.counts, parsed.totals]), source_file=path
        )
        assert cbp.load_cbp_flatfile(parts, path, chunk_rows=4) == expected == 7 * 7
        for table in (cbp.COUNTS_TABLE, cbp.TOTALS_TABLE):
            pd.testing.assert_frame_equal(_sorted(parts.read(table)), _sorted(whole.read(table)))
        assert cbp.load_cbp_flatfile(parts, path, chunk_rows=4) == 0  # same file: skipped
        assert cbp.load_into_store(whole, parsed.counts, source_file=path) == 0  # one hash
        leftovers = parts.sql(
            "select table_name from information_schema.tables where table_name like '_staging%'"
        )
        assert leftovers.empty


def test_streaming_load_replaces_the_region_years_of_a_corrected_file(tmp_path, store):
    first = county_file(tmp_path / "cbp16co.txt", counties=4, industries=3, extras=False)
    cbp.load_cbp_flatfile(store, first, chunk_rows=2)
    text = first.read_text().replace("01,003,311001,,G,15,", "01,003,311001,,G,1500,")
    fixed = tmp_path / "fixed" / "cbp16co.txt"
    fixed.parent.mkdir()
    fixed.write_text(text)
    assert cbp.load_cbp_flatfile(store, fixed, chunk_rows=2) == 12  # every region-year replaced
    table = store.read(cbp.COUNTS_TABLE).set_index(["region_id", "naics"])
    assert len(table) == 12
    assert table.loc[("01003", "311001"), "emp"] == 1500


def test_a_row_repeated_across_parts_fails_and_writes_nothing(tmp_path, store):
    path = county_file(tmp_path / "cbp16co.txt", counties=3, industries=3, extras=False)
    with open(path, "a") as out:
        out.write("01,001,311000,,G,1,G,1,G,1,1,1,0\n")  # line 11 repeats the key of line 2
    with pytest.raises(InputError, match="duplicate key") as caught:
        cbp.load_cbp_flatfile(store, path, chunk_rows=2)
    assert caught.value.path == str(path)
    assert "311000" in str(caught.value) and "01001" in str(caught.value)
    assert cbp.COUNTS_TABLE not in store.tables()
    assert store.sql("select * from information_schema.tables where table_name like '_stag%'").empty


def test_a_truncated_file_fails_at_the_end_and_writes_nothing(tmp_path, store):
    path = county_file(tmp_path / "cbp16co.txt", counties=3, industries=3, extras=False)
    path.write_text(path.read_text()[:-12])  # the download stopped inside the last line
    with pytest.raises(InputError, match="truncated") as caught:
        cbp.load_cbp_flatfile(store, path, chunk_rows=2)
    assert caught.value.line == 10
    assert cbp.COUNTS_TABLE not in store.tables()


LOAD = """
from clusteratlas.data import cbp
from clusteratlas.store import Store
with Store(r"{store}") as db:
    # tell DuckDB how much memory this child has (it would assume 80% of the machine's)
    db.con.execute("SET memory_limit = '256MB'")
    {load}
    result = db.sql("select count(*) as n, sum(emp) as emp from industry_counts").iloc[0].tolist()
"""
STREAM = "cbp.load_cbp_flatfile(db, r'{path}')"
WHOLE = (
    "parsed = cbp.parse_cbp_flatfile(r'{path}'); "
    "cbp.load_into_store(db, parsed.counts, source_file=r'{path}')"
)


@pytest.mark.slow
def test_a_file_too_big_to_read_whole_streams_under_the_ceiling(tmp_path, run_child, peak_memory):
    """3,000 counties x 1,300 industries = 3.9 million rows, 158 MB: read whole it needs more
    memory than the child has under the ceiling (MemoryError), streamed it loads."""
    counties, industries = 3000, 1300
    path = county_file(tmp_path / "cbp16co.txt", counties, industries, extras=False)
    expected_emp = sum((7 * c + i) % 997 for c in range(counties) for i in range(industries))
    outcomes = {}
    for name, load in (("streamed", STREAM), ("read whole", WHOLE)):
        code = LOAD.format(store=tmp_path / f"{name}.duckdb", load=load.format(path=path))
        outcome, stderr = run_child({"code": code}, tmp_path)
        outcomes[name] = outcome
        peak_memory.append(
            (f"cbp 158 MB county file, {name}", outcome["maxrss_mib"], outcome["error"] or "loaded")
        )
    streamed, whole = outcomes["streamed"], outcomes["read whole"]
    assert streamed["error"] is None, streamed
    assert streamed["result"] == [counties * industries, expected_emp]
    assert whole["error"] == "MemoryError", whole  # so the file is too big for this ceiling
