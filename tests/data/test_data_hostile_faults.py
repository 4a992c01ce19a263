"""Issue #20, items 1-8: hostile input and faults, each through the public command in a child
process (``run_child``, see ``tests/data/conftest.py``).

Every case asserts the named error (file, line, column where there is one) or the correct
value, exit status 2 from ``clusteratlas``, no traceback, and - where a store is involved - an
unchanged store: the row count and a row hash of each table, before and after. The files are
tiny SYNTHETIC CBP-shaped rows written here (the point is their shape, not their numbers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

STATE_HEADER = "fipstate,naics,lfo,empflag,emp_nf,emp,qp1_nf,qp1,ap_nf,ap,est"
COUNTY_HEADER = "fipstate,fipscty,naics,emp_nf,empflag,emp,qp1_nf,qp1,ap_nf,ap,est"
#: SYNTHETIC state rows: one industry and the state total
STATE_ROWS = "01,113310,-,,G,{emp},G,40000,G,179892,505\n01,------,-,,G,1000,G,40000,G,179892,505\n"
TABLES = ("industry_counts", "region_totals", "cluster_definitions", "cluster_panel",
          "region_summary", "_loads")  # fmt: skip


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="latin-1")
    return path


def state_file(folder: Path, emp: str = "100", name: str = "cbp16st.txt") -> Path:
    return _write(folder / name, f"{STATE_HEADER}\n" + STATE_ROWS.format(emp=emp))


def snapshot(store: Path) -> dict[str, tuple[int, int]]:
    """Each table's (row count, row hash): the hash sums pandas' per-row hashes, so it does
    not depend on row order."""
    if not store.exists():
        return {}
    with duckdb.connect(str(store), read_only=True) as con:
        present = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        out = {}
        for table in TABLES:
            if table in present:
                frame = (
                    con.execute(f'select * exclude (loaded_at) from "{table}"').df()
                    if (table == "_loads")
                    else con.execute(f'select * from "{table}"').df()
                )
                hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64)
                out[table] = (len(frame), int(hashed.sum(dtype=np.uint64)))
        return out


@pytest.fixture
def store(tmp_path, run_child) -> Path:
    """A store holding one valid SYNTHETIC state file (Alabama, 2016)."""
    path = tmp_path / "atlas.duckdb"
    good = state_file(tmp_path / "good")
    outcome, stderr = run_child({"cli": ["load", "cbp", str(good), "--store", str(path)]}, tmp_path)
    assert outcome["exit"] in (None, 0) and outcome["error"] is None, stderr[-2000:]
    assert snapshot(path)["industry_counts"][0] == 1
    return path


def refused(run_child, tmp_path: Path, args: list[str], *expected: str) -> str:
    """Run ``clusteratlas ARGS``: it must end with exit status 2 and a one-line error that
    says each of ``expected``; returns stderr."""
    outcome, stderr = run_child({"cli": args}, tmp_path)
    assert outcome["exit"] == 2 and outcome["error"] is None, (outcome, stderr[-3000:])
    assert "Traceback" not in stderr, stderr[-3000:]
    for text in expected:
        assert text in stderr, stderr[-3000:]
    return stderr


def refused_load(run_child, tmp_path, store, path: Path, *expected: str) -> str:
    before = snapshot(store)
    stderr = refused(
        run_child, tmp_path, ["load", "cbp", str(path), "--store", str(store)], path.name, *expected
    )
    assert snapshot(store) == before
    return stderr


# -- 1. a row with more fields than the header ---------------------------------------------------
def test_a_row_with_an_extra_field_is_refused_naming_its_line(tmp_path, run_child, store):
    """The issue's row: with one field too many it loaded as ap=7, est=414."""
    path = _write(
        tmp_path / "x" / "cbp16co.txt",
        f"{COUNTY_HEADER}\n01,001,311119,G,,61,G,2039,G,414,16\n"
        "01,001,311119,,G,61,G,2039,G,7,414,16,1\n",
    )
    refused_load(run_child, tmp_path, store, path, "line 3", "13 fields, the header 11")


def test_a_row_with_too_few_fields_in_the_middle_is_refused(tmp_path, run_child, store):
    path = _write(
        tmp_path / "x" / "cbp16co.txt",
        f"{COUNTY_HEADER}\n01,001,311119,G,,61,G,2039,G,414\n01,001,311120,G,,61,G,2039,G,414,16\n",
    )
    refused_load(run_child, tmp_path, store, path, "line 2", "10 fields, the header 11")


def test_a_comma_inside_quotes_is_one_field(tmp_path, run_child, store):
    """The field count respects quotes (older CBP files quote every field)."""
    path = _write(
        tmp_path / "x" / "cbp17st.txt",
        f"{STATE_HEADER}\n" + '"01","113310","-","","G",100,"G",40000,"G",179892,505\n'
        '"01","------","-","","G",1000,"G",40000,"G",179892,505\n',
    )
    outcome, stderr = run_child(
        {"cli": ["load", "cbp", str(path), "--store", str(store)]}, tmp_path
    )
    assert outcome["exit"] in (None, 0), stderr[-2000:]
    assert snapshot(store)["industry_counts"][0] == 2


# -- 2. infinite counts ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "1e400", "Infinity", "-inf"])
def test_an_infinite_count_in_a_flat_file_is_refused(tmp_path, run_child, store, value):
    path = state_file(tmp_path / "x", emp=value, name="cbp17st.txt")
    refused_load(
        run_child,
        tmp_path,
        store,
        path,
        "line 2",
        "column 'emp'",
        f"not a finite number: '{value}'",
    )


def test_an_infinite_count_in_an_api_extract_is_refused(tmp_path, run_child, store):
    path = _write(
        tmp_path / "x" / "cbp_api_state_2021.csv",
        "NAICS2017,ESTAB,EMP,PAYANN,state\n113310,505,100,179892,01\n113110,Infinity,5,10,01\n",
    )
    refused_load(
        run_child, tmp_path, store, path, "line 3", "column 'estab'", "not a finite number"
    )


# -- 3. Parquet counts of `panel build --counts` ----------------------------------------------------
@pytest.fixture
def counts_frame(tmp_path) -> pd.DataFrame:
    from clusteratlas.data import cbp

    return cbp.read_cbp_flatfile(state_file(tmp_path / "parquet_src"))


@pytest.mark.parametrize(
    ("case", "change", "expected"),
    [
        ("negative", lambda f: f.assign(emp=-5.0), ["column 'emp'", "row 1", "negative count -5"]),
        ("inf", lambda f: f.assign(est=np.inf), ["column 'est'", "row 1", "not finite: inf"]),
        ("duplicate", lambda f: pd.concat([f, f]), ["'naics': '113310'", "appears 2 times"]),
        ("string emp", lambda f: f.assign(emp="100"), ["column 'emp'", "is VARCHAR, not a number"]),
        ("string year", lambda f: f.assign(year="2016"), ["column 'year'", "not an integer"]),
    ],
)
def test_parquet_counts_are_checked_like_the_loader(
    tmp_path, run_child, store, counts_frame, case, change, expected
):
    path = tmp_path / f"{case.replace(' ', '_')}.parquet"
    change(counts_frame).to_parquet(path, index=False)
    before = snapshot(store)
    args = [
        "panel",
        "build",
        "--counts",
        str(path),
        "--store",
        str(store),
        "--region-type",
        "state",
    ]
    refused(run_child, tmp_path, args, path.name, *expected)
    assert snapshot(store) == before


def test_valid_parquet_counts_still_build(tmp_path, run_child, store, counts_frame):
    path = tmp_path / "ok.parquet"
    counts_frame.to_parquet(path, index=False)
    args = [
        "panel",
        "build",
        "--counts",
        str(path),
        "--store",
        str(store),
        "--region-type",
        "state",
    ]
    outcome, stderr = run_child({"cli": args}, tmp_path)
    assert outcome["exit"] in (None, 0), stderr[-2000:]
    assert snapshot(store)["cluster_panel"][0] > 0


# -- 4 and 5. named errors, no silent coercion -------------------------------------------------------
DEFINITIONS = "naics,cluster_code,cluster_name,naics_vintage\n311119,1,Food,{vintage}\n"


@pytest.mark.parametrize("vintage", ["inf", "2012.7", "99999999999999999999", "-5"])
def test_a_definition_csv_naics_vintage_must_be_a_year(tmp_path, run_child, store, vintage):
    path = _write(tmp_path / "defs.csv", DEFINITIONS.format(vintage=vintage))
    before = snapshot(store)
    refused(
        run_child, tmp_path, ["load", "clusters", str(path), "--store", str(store)],
        "defs.csv", "line 2", "column 'naics_vintage'", f"got '{vintage}'",
    )  # fmt: skip
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("vintage", "expected"),
    [("99999999999999999999", "is not a NAICS year"), ("-5", "is not a NAICS year"),
     ("2012.7", "Invalid value for '--naics-vintage'")],
)  # fmt: skip
def test_the_naics_vintage_option_must_be_a_year(tmp_path, run_child, store, vintage, expected):
    path = _write(tmp_path / "defs.csv", "naics,cluster_code,cluster_name\n311119,1,Food\n")
    before = snapshot(store)
    args = ["load", "clusters", str(path), "--naics-vintage", vintage, "--store", str(store)]
    refused(run_child, tmp_path, args, expected)
    assert snapshot(store) == before


@pytest.mark.parametrize("kind", ["empty", "directory"])
def test_an_unusable_definition_file_is_named(tmp_path, run_child, store, kind):
    path = tmp_path / "defs.csv"
    path.mkdir() if kind == "directory" else path.write_text("")
    before = snapshot(store)
    expected = "is a directory" if kind == "directory" else "the file is empty"
    refused(
        run_child, tmp_path, ["load", "clusters", str(path), "--naics-vintage", "2017", "--store",
        str(store)], "defs.csv", expected,
    )  # fmt: skip
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (b"[theory]\nx_range = [0.05, inf]\n", "'theory.x_range': must be [low, high], finite"),
        (b"[theory]\nresolution = 20000\n", "'theory.resolution': must be an integer from 10"),
        (b'[study]\nregion_type = "st\xe9te"\n', "not UTF-8 text (byte 25 is b'\\xe9')"),
        (b'[clusters]\ndefinition = "defs.csv"\n', "line 2, column 'naics_vintage'"),
    ],
    ids=["x_range inf", "resolution 20000", "latin-1 config", "definition vintage inf"],
)
def test_a_bad_config_is_named_before_any_output(tmp_path, run_child, config, expected):
    _write(tmp_path / "defs.csv", DEFINITIONS.format(vintage="inf"))
    path = _write(tmp_path / "bad.toml", config)
    out = tmp_path / "out"
    args = ["run", "--config", str(path), "--out", str(out), "--demo", "--offline", "--quiet"]
    refused(run_child, tmp_path, args, expected)
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "expected"),
    [(["--x-range", "0.05:inf"], "is not finite"), (["--resolution", "20000"], "2 to 1,000")],
)
def test_theory_map_bounds(tmp_path, run_child, option, expected):
    out = tmp_path / "map.html"
    refused(run_child, tmp_path, ["theory", "map", "--out", str(out), *option], expected)
    assert not out.exists()


def test_a_locked_store_names_the_process_holding_it(tmp_path, run_child, store):
    """Two writers on one store (or `run` while `serve` holds it): DuckDB refuses the second;
    the error says which process holds the lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(300)", str(store)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        path = state_file(tmp_path / "x", name="cbp17st.txt")
        refused(
            run_child, tmp_path, ["load", "cbp", str(path), "--store", str(store)],
            f"is in use by process {holder.pid}", "time.sleep(300)",
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert snapshot(store)["industry_counts"][0] == 1


# -- 6. panel build is atomic -------------------------------------------------------------------
def test_panel_build_writes_panel_and_summary_together(tmp_path, run_child, store, counts_frame):
    """A build that fails after the panel is written (here: in region_summary) leaves both
    tables as they were: one transaction."""
    path = tmp_path / "ok.parquet"
    counts_frame.to_parquet(path, index=False)
    args = [
        "panel",
        "build",
        "--counts",
        str(path),
        "--store",
        str(store),
        "--region-type",
        "state",
    ]
    outcome, _ = run_child({"cli": args}, tmp_path)
    assert outcome["exit"] in (None, 0)
    before = snapshot(store)
    assert before["cluster_panel"][0] > 0 and before["region_summary"][0] > 0
    counts_frame.assign(emp=counts_frame["emp"] * 2).to_parquet(path, index=False)
    code = (
        "import sys\n"
        "from clusteratlas.cli import panel\n"
        "def fail(*a, **k): raise RuntimeError('killed while writing region_summary')\n"
        "panel._summary_into_store = fail\n"
        "from clusteratlas.cli import main\n"
        f"sys.argv = ['clusteratlas', *{args!r}]\n"
        "main()\n"
    )
    outcome, _ = run_child({"code": code}, tmp_path)
    assert outcome["error"] == "RuntimeError"
    assert snapshot(store) == before


# -- 7. reload after a correction ------------------------------------------------------------------
def test_reloading_a_file_after_a_correction_restores_it(tmp_path, run_child, store):
    """A (emp 100, loaded by the fixture), then a corrected B (emp 120), then A again: the
    store holds A's 100; A a fourth time is skipped (it is what the store holds)."""
    first = tmp_path / "good" / "cbp16st.txt"
    corrected = state_file(tmp_path / "corrected", emp="120")
    emp = []
    for path in (corrected, first, first):
        outcome, stderr = run_child(
            {"cli": ["load", "cbp", str(path), "--store", str(store)]}, tmp_path
        )
        assert outcome["exit"] in (None, 0), stderr[-2000:]
        with duckdb.connect(str(store), read_only=True) as con:
            emp.append(con.execute("select emp from industry_counts").fetchall())
    assert emp == [[(120.0,)], [(100.0,)], [(100.0,)]]


# -- 8. the small ones --------------------------------------------------------------------------
def test_a_failed_load_into_a_new_store_leaves_no_store_file(tmp_path, run_child):
    path = state_file(tmp_path / "x", emp="inf")
    new = tmp_path / "new" / "atlas.duckdb"
    refused(run_child, tmp_path, ["load", "cbp", str(path), "--store", str(new)], "not a finite")
    assert not new.exists() and not new.parent.exists()


def test_a_header_only_file_reports_no_rows_not_already_loaded(tmp_path, run_child, store):
    path = _write(tmp_path / "x" / "cbp17st.txt", f"{STATE_HEADER}\n")
    before = snapshot(store)
    done = subprocess.run(
        [sys.executable, "-m", "clusteratlas.cli", "load", "cbp", str(path), "--store", str(store)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0 (the file has no data rows)" in done.stdout and "already loaded" not in done.stdout
    assert snapshot(store) == before


def test_a_utf8_bom_is_not_part_of_the_first_column_name(tmp_path, run_child, store):
    path = _write(
        tmp_path / "x" / "cbp17st.txt",
        b"\xef\xbb\xbf" + f"{STATE_HEADER}\n".encode() + STATE_ROWS.format(emp="7").encode(),
    )
    outcome, stderr = run_child(
        {"cli": ["load", "cbp", str(path), "--store", str(store)]}, tmp_path
    )
    assert outcome["exit"] in (None, 0), stderr[-2000:]
    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute(
            "select region_id, emp from industry_counts where year = 2017"
        ).fetchall()
    assert rows == [("01", 7.0)]


def test_a_trailing_comma_is_named_as_such(tmp_path, run_child, store):
    path = _write(
        tmp_path / "x" / "cbp17st.txt",
        f"{STATE_HEADER}\n01,113310,-,,G,100,G,40000,G,179892,505,\n",
    )
    stderr = refused_load(
        run_child, tmp_path, store, path, "line 2", "12 fields, the header 11",
        "ends with a separator",
    )  # fmt: skip
    assert "NAICS" not in stderr


def test_snapshot_sees_a_change(tmp_path, run_child, store):
    """The control of the unchanged-store checks: a real load changes the snapshot."""
    before = snapshot(store)
    path = state_file(tmp_path / "x", emp="5", name="cbp18st.txt")
    outcome, _ = run_child({"cli": ["load", "cbp", str(path), "--store", str(store)]}, tmp_path)
    assert outcome["exit"] in (None, 0)
    assert snapshot(store) != before


# -- 6b. panel build under kill -9 --------------------------------------------------------------
def _county_counts(emp_scale: float) -> pd.DataFrame:
    """SYNTHETIC county x industry counts, large enough (about 300,000 rows) that a county
    panel build takes a second or more: the kills below land inside it, not in the imports."""
    from clusteratlas.data.clusters import load_definition

    naics = load_definition("uscm", naics_vintage=2012)["naics"].drop_duplicates().to_numpy()
    rng = np.random.default_rng(20)
    counties = np.array([f"{s:02d}{c:03d}" for s in range(1, 51) for c in range(1, 121, 2)])
    region, industry = np.meshgrid(counties, naics[:500], indexing="ij")
    keep = rng.random(region.shape) < 0.2
    n = int(keep.sum())
    emp = np.round(rng.lognormal(3.0, 1.5, n)) * emp_scale
    return pd.DataFrame(
        {
            "source": "cbp",
            "year": 2016,
            "region_type": "county",
            "region_id": region[keep],
            "naics": industry[keep],
            "naics_vintage": 2012,
            "emp": emp,
            "est": np.maximum(1.0, np.round(emp / 12)),
            "ap": emp * 45.0,
        }
    )


def _panel_state(store: Path) -> dict[str, tuple[int, int]]:
    return {t: v for t, v in snapshot(store).items() if t in ("cluster_panel", "region_summary")}


def test_panel_build_killed_at_any_moment_leaves_panel_and_summary_consistent(tmp_path):
    """kill -9 at spread-out moments of a county panel build (the issue's probe: 6 of 12
    tries left cluster_panel and region_summary from different builds): afterwards the store
    opens and holds either the old build or the new one, both tables from the same build."""
    store = tmp_path / "atlas.duckdb"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env["CLUSTERATLAS_OFFLINE"] = "1"

    def build(counts: Path) -> list[str]:
        return [sys.executable, "-m", "clusteratlas.cli", "panel", "build", "--counts",
                str(counts), "--store", str(store), "--region-type", "county"]  # fmt: skip

    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    _county_counts(1.0).to_parquet(old, index=False)
    _county_counts(2.0).to_parquet(new, index=False)
    subprocess.run(build(new), env=env, check=True, capture_output=True)
    after = _panel_state(store)
    started = time.perf_counter()
    subprocess.run(build(old), env=env, check=True, capture_output=True)
    whole = time.perf_counter() - started
    before = _panel_state(store)
    assert before != after and before["region_summary"][0] > 0

    landed = []
    for fraction in (0.4, 0.6, 0.75, 0.85, 0.92, 1.0):
        child = subprocess.Popen(build(new), env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(whole * fraction)
        child.send_signal(signal.SIGKILL)
        child.wait()
        state = _panel_state(store)
        assert state in (before, after), f"kill at {fraction:.0%} of a build: {state}"
        landed.append("new" if state == after else "old")
        if state == after:  # back to the old build, so the next kill can be told apart
            subprocess.run(build(old), env=env, check=True, capture_output=True)
    print(f"kills at 40-100% of a {whole:.1f} s build left: {', '.join(landed)}")
