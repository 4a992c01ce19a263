"""Selectable metrics, file output, the store path and the lean command line (real CBP data).

Counts: Alabama 2021 (Census CBP API, 6-digit NAICS 2017), dealt round-robin to 12
pseudo-counties so that the quantile flags compare several regions; national CBP 2021.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from clusteratlas.errors import DataCoverageWarning, InputError, ParameterError
from clusteratlas.panel import build_panel, engine, selection, sqlcache, write_panel
from clusteratlas.panel.expressions import compile_panel

pytestmark = pytest.mark.realdata
KEYS = ["region_type", "region_id", "year", "cluster_code"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def counties(alabama_2021) -> pd.DataFrame:
    ids = np.array([f"c{i % 12:02d}" for i in range(len(alabama_2021))])
    return alabama_2021.assign(region_type="county", region_id=ids)


def _build(*args, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_panel(*args, **kwargs)


@pytest.fixture(scope="module")
def full(counties, national_2021, definitions_2017) -> pd.DataFrame:
    return _build(counties, definitions_2017, region_type="county", national=national_2021)


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS).reset_index(drop=True)


@pytest.mark.parametrize(
    "metrics",
    ["lq,strong", "national_share", "wage", "flags", "emp", "est,lq,national_share,strong"],
)
def test_a_selection_gives_the_full_panels_values(
    metrics, counties, national_2021, definitions_2017, full
):
    """Every selected column equals the full panel's; only keys, labels, emp and the
    selection are returned."""
    got = _build(
        counties, definitions_2017, region_type="county", national=national_2021, metrics=metrics
    )
    wanted = selection.select(metrics).output
    assert list(got.columns) == [
        c for c in full.columns if c in (*KEYS, "cluster_name", "traded", "emp", *wanted)
    ]
    pd.testing.assert_frame_equal(got, full.loc[:, got.columns], check_exact=False, rtol=1e-12)
    if "strong" in wanted:
        assert got["strong"].any()  # the flags are not all False


def test_growth_selection_on_a_national_panel(national_panel_years, definitions_2012):
    full = _build(
        national_panel_years,
        definitions_2012,
        region_type="nation",
        national=national_panel_years,
    )
    got = _build(
        national_panel_years,
        definitions_2012,
        region_type="nation",
        national=national_panel_years,
        metrics=["emp_change", "lq_change"],
    )
    assert list(got.columns) == [*KEYS, "cluster_name", "traded", "emp", "emp_change", "lq_change"]
    pd.testing.assert_frame_equal(got, full.loc[:, got.columns], check_exact=False, rtol=1e-12)
    assert got["lq_change"].notna().sum() == 3 * 67


def test_only_what_is_asked_is_computed():
    """The compiled SQL of --metrics lq,strong sums no payroll or reported employment and
    takes only the three quantiles the strong flag needs; of 'emp' alone, none."""
    description = (
        ("year", "BIGINT", True),
        ("region_type", "VARCHAR", True),
        ("region_id", "VARCHAR", True),
        ("naics", "VARCHAR", True),
        ("naics_vintage", "BIGINT", True),
        *((m, "DOUBLE", True) for m in ("emp", "emp_reported", "est", "ap", "qp1")),
    )
    definitions = (
        ("naics", "VARCHAR", True),
        ("naics_vintage", "BIGINT", True),
        ("cluster_code", "VARCHAR", True),
        ("cluster_name", "VARCHAR", True),
        ("traded", "BOOLEAN", True),
    )
    descriptions = {"counts": description, "definitions": definitions, "national": description}

    def sql(metrics: str) -> str:
        options = engine.PanelOptions("county", selection.select(metrics), complete=False)
        return compile_panel(options, descriptions)["panel"]

    lean = sql("lq,strong")
    for absent in ('"ap"', '"qp1"', '"emp_reported"', '0.25) AS "lq_q25"', "0.9)", "LAG("):
        assert absent not in lean, absent
    assert lean.count("QUANTILE_CONT") == 3
    assert "QUANTILE_CONT" not in sql("emp") and "OVER" not in sql("emp")
    assert sql("all").count("QUANTILE_CONT") == 6


def test_unknown_metrics_are_named(counties, definitions_2017):
    with pytest.raises(ParameterError, match="unknown metric 'lq_tf'") as error:
        build_panel(counties, definitions_2017, region_type="county", metrics="lq,lq_tf")
    assert "national_share" in str(error.value)


def test_write_panel_writes_the_same_panel(
    tmp_path, counties, national_2021, definitions_2017, full
):
    out = tmp_path / "panel.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = write_panel(
            counties, definitions_2017, out, region_type="county", national=national_2021
        )
    assert written.rows == len(full) and written.n_regions == 12
    read = pd.read_parquet(out)
    assert list(read.columns) == written.columns
    pd.testing.assert_frame_equal(
        _by_key(read).loc[:, full.columns].astype(full.dtypes.to_dict()),
        _by_key(full),
        check_exact=False,
        rtol=1e-12,
    )
    # sorted on request, in the natural order build_panel returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_panel(
            counties, definitions_2017, out, region_type="county", national=national_2021,
            metrics="lq", sort=True,
        )  # fmt: skip
    ordered = pd.read_parquet(out)
    assert ordered[KEYS].astype(str).values.tolist() == full[KEYS].astype(str).values.tolist()


def test_a_failed_write_keeps_the_previous_file(tmp_path, counties, definitions_2017):
    out = tmp_path / "panel.parquet"
    out.write_bytes(b"previous")
    with (
        pytest.raises(InputError, match="no state rows"),
        pytest.warns(DataCoverageWarning, match="no national counts given"),
    ):
        write_panel(counties, definitions_2017, out, region_type="state")
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["panel.parquet"]  # no temporary left


@pytest.fixture(scope="module")
def files(tmp_path_factory, counties, national_2021, definitions_2017) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    paths = {
        "counts": folder / "counts.parquet",
        "national": folder / "national.parquet",
        "definitions": folder / "definitions.parquet",
    }
    counties.to_parquet(paths["counts"], index=False)
    national_2021.to_parquet(paths["national"], index=False)
    definitions_2017.to_parquet(paths["definitions"], index=False)
    return paths


def _module_run(args: list[str], cache: Path) -> dict:
    """``clusteratlas panel ...`` (the root command's entry point) in a fresh process: exit
    code, stderr, and which heavy libraries it imported."""
    code = (
        "import atexit, sys, json\n"
        "atexit.register(lambda: print(json.dumps(sorted(m for m in "
        "('ibis', 'pandas', 'pyarrow', 'numpy') if m in sys.modules))))\n"
        f"sys.argv = ['clusteratlas', 'panel', *{args!r}]\n"
        "from clusteratlas.cli import main\n"
        "try:\n    main()\nexcept SystemExit as done:\n    sys.exit(done.code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLUSTERATLAS_CACHE": str(cache)}
    env.pop(sqlcache.DISK_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    return {
        "code": done.returncode,
        "stderr": done.stderr,
        "imported": json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout else None,
    }


def test_file_to_file_on_duckdb_alone(tmp_path, files, full):
    """`panel build --counts --national --definitions --out`: the same panel as build_panel,
    and, once the SQL is cached, without importing Ibis, pandas, pyarrow or numpy."""
    out = tmp_path / "panel.parquet"
    args = [
        "build",
        "--counts", str(files["counts"]),
        "--national", str(files["national"]),
        "--definitions", str(files["definitions"]),
        "--region-type", "county",
        "--metrics", "est,lq,national_share,strong",
        "--out", str(out),
    ]  # fmt: skip
    first = _module_run(args, tmp_path / "cache")
    assert first["code"] == 0, first["stderr"]
    assert "ibis" in first["imported"]  # the first run compiles (and caches) the SQL
    second = _module_run(args, tmp_path / "cache")
    assert second["code"] == 0, second["stderr"]
    assert second["imported"] == []
    read = duckdb.sql(f"select * from read_parquet('{out}')").df()
    expected = full.loc[:, list(read.columns)]
    pd.testing.assert_frame_equal(
        _by_key(read), _by_key(expected), check_exact=False, rtol=1e-12, check_dtype=False
    )
    # through the root command as well
    from typer.testing import CliRunner

    from clusteratlas.cli import app

    again = tmp_path / "again.parquet"
    result = CliRunner().invoke(app, ["panel", *args[:-1], str(again)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert duckdb.sql(f"select count(*) from read_parquet('{again}')").fetchall()[0][0] == len(full)


def test_national_needing_a_fill_leaves_the_lean_path(
    tmp_path, files, counties, definitions_2017, national_2016, parents_2016_path
):
    """A national file with withheld cells: the command fills them (pandas) from the parent
    lines, as build_panel does."""
    nat = national_2016.assign(year=2021, naics_vintage=2017)
    nat.to_parquet(tmp_path / "national.parquet", index=False)
    out = tmp_path / "panel.parquet"
    result = _module_run(
        [
            "build",
            "--counts",
            str(files["counts"]),
            "--national",
            str(tmp_path / "national.parquet"),
            "--definitions",
            str(files["definitions"]),
            "--region-type",
            "county",
            "--metrics",
            "lq",
            "--out",
            str(out),
        ],  # fmt: skip
        tmp_path / "cache",
    )
    assert result["code"] == 0, result["stderr"]
    assert "count as 0" in result["stderr"]  # withheld cells without parent lines: warned
    assert "pandas" in result["imported"]


@pytest.fixture(scope="module")
def parents_2016_path() -> Path:
    return REPO / "tests" / "data" / "cbp_national_naics4_2016.csv"


def test_store_written_by_the_engine(tmp_path, counties, national_2021, definitions_2017, full):
    """`panel build` into the store: cluster_panel straight from the engine, region_summary
    computed in the store, equal to pandas' region_summary; a smaller selection adds no
    summary, and a later full build adds the missing columns back."""
    from typer.testing import CliRunner

    from clusteratlas.cli import app
    from clusteratlas.panel import region_summary
    from clusteratlas.store import Store

    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        store.write("industry_counts", pd.concat([counties, national_2021], ignore_index=True))
        store.write("cluster_definitions", definitions_2017)

    def run(*extra: str):
        result = CliRunner().invoke(
            app, ["panel", "build", "--store", str(path), "--region-type", "county", *extra]
        )
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    lean = run("--metrics", "lq,strong")
    assert "not updated" in lean.output
    with Store(path, read_only=True) as store:
        panel = store.read("cluster_panel")
        assert set(panel.columns) == {*KEYS, "cluster_name", "traded", "emp", "lq", "strong"}
        assert not store.has("region_summary")
    run()
    with Store(path, read_only=True) as store:
        panel = _by_key(store.read("cluster_panel"))
        summary = store.read("region_summary")
    pd.testing.assert_frame_equal(
        panel.loc[:, full.columns].astype(full.dtypes.to_dict()),
        _by_key(full),
        check_exact=False,
        rtol=1e-12,
    )
    expected = region_summary(full)
    pd.testing.assert_frame_equal(
        summary.sort_values(["region_id"]).reset_index(drop=True),
        expected.reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
        check_dtype=False,
    )


def test_national_rows_inside_the_counts_are_checked_too(tmp_path, files, counties, national_2016):
    """No --national: the counts' own nation rows give the denominators; withheld cells
    among them send the command down the path that fills (here: warns about) them."""
    nation = national_2016.assign(year=2021, naics_vintage=2017)
    both = pd.concat([counties, nation], ignore_index=True)
    both.to_parquet(tmp_path / "counts.parquet", index=False)
    result = _module_run(
        [
            "build",
            "--counts",
            str(tmp_path / "counts.parquet"),
            "--definitions",
            str(files["definitions"]),
            "--region-type",
            "county",
            "--metrics",
            "lq",
            "--out",
            str(tmp_path / "panel.parquet"),
        ],  # fmt: skip
        tmp_path / "cache",
    )
    assert result["code"] == 0, result["stderr"]
    assert "count as 0" in result["stderr"]
