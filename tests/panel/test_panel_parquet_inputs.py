"""build_panel reading Parquet files itself (a path or a glob) on real CBP data: the same
panel as from frames, on DuckDB and on Spark, and clear errors for files it cannot read."""

from __future__ import annotations

import warnings
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from clusteratlas.errors import (
    DataCoverageWarning,
    InputError,
    SmallSampleWarning,
    SuppressedDataWarning,
)
from clusteratlas.panel import build_panel, engine, write_panel

pytestmark = pytest.mark.realdata


def _quiet_build(counts, definitions, **options) -> pd.DataFrame:
    # builds compared with builds of the same rows: the one-region warning of a single state and
    # the national file's withheld cells (tested in test_panel_build) are the same on both sides
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", SuppressedDataWarning)
        return build_panel(counts, definitions, **options)


@pytest.fixture(scope="module")
def files(tmp_path_factory, alabama_2021, national_2021, definitions_2017) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("parquet_inputs")
    paths = {
        "counts": folder / "alabama_2021.parquet",
        "national": folder / "national_2021.parquet",
        "definitions": folder / "definitions_2017.parquet",
    }
    alabama_2021.to_parquet(paths["counts"], index=False)
    national_2021.to_parquet(paths["national"], index=False)
    definitions_2017.to_parquet(paths["definitions"], index=False)
    return paths


def test_parquet_paths_give_the_frame_panel(files, alabama_2021, national_2021, definitions_2017):
    """Alabama 2021 (6-digit CBP, NAICS 2017): paths and frames give the same panel, the
    suppressed cells, LQs and flags included."""
    from_frames = _quiet_build(
        alabama_2021, definitions_2017, region_type="state", national=national_2021
    )
    from_files = _quiet_build(
        files["counts"], str(files["definitions"]), region_type="state", national=files["national"]
    )
    assert len(from_files) == 67 and from_files["emp"].sum() > 1e6
    pd.testing.assert_frame_equal(from_files, from_frames, check_exact=False, rtol=1e-12, atol=0)


def test_a_glob_reads_every_year(tmp_path, national_panel_years, definitions_2012):
    """National 2013-2016 written one file per year and read back with one glob: the growth
    columns need every year, so a file left out would show."""
    for year, rows in national_panel_years.groupby("year"):
        rows.to_parquet(tmp_path / f"national_{year}.parquet", index=False)
    pattern = str(tmp_path / "national_*.parquet")
    from_glob = _quiet_build(pattern, definitions_2012, region_type="nation", national=pattern)
    from_frame = _quiet_build(
        national_panel_years, definitions_2012, region_type="nation", national=national_panel_years
    )
    assert sorted(from_glob["year"].unique()) == [2013, 2014, 2015, 2016]
    pd.testing.assert_frame_equal(from_glob, from_frame, check_exact=False, rtol=1e-12, atol=0)


@pytest.mark.spark
@pytest.mark.slow
def test_parquet_paths_on_spark(files, alabama_2021, national_2021, definitions_2017):
    pytest.importorskip("pyspark")
    from clusteratlas.panel.build import connect

    spark = connect("spark")
    try:
        on_spark = _quiet_build(
            files["counts"],
            files["definitions"],
            region_type="state",
            national=files["national"],
            connection=spark,
        )
    finally:
        spark._session.stop()
    on_duckdb = _quiet_build(
        alabama_2021, definitions_2017, region_type="state", national=national_2021
    )
    key = ["region_id", "year", "cluster_code"]
    pd.testing.assert_frame_equal(
        on_spark.sort_values(key).reset_index(drop=True),
        on_duckdb.sort_values(key).reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )


def test_unreadable_files_are_named(tmp_path, files):
    definitions = files["definitions"]
    with pytest.raises(InputError, match=r"no Parquet file at .*missing\.parquet"):
        build_panel(tmp_path / "missing.parquet", definitions, region_type="state")
    csv = tmp_path / "counts.csv"
    csv.write_text("year,region_id\n2021,01\n")
    with pytest.raises(InputError, match=r"counts\.csv is not a Parquet file.*cbp\.read_cbp"):
        build_panel(csv, definitions, region_type="state")
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(files["counts"].read_bytes()[:2000])
    with pytest.raises(InputError, match=r"truncated\.parquet is not a readable Parquet file"):
        build_panel(truncated, definitions, region_type="state")
    # one glob over files of different tables
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.parquet").write_bytes(files["counts"].read_bytes())
    (mixed / "b.parquet").write_bytes(definitions.read_bytes())
    with pytest.raises(
        InputError, match=r"b\.parquet has other columns or types than .*a\.parquet"
    ):
        build_panel(str(mixed / "*.parquet"), definitions, region_type="state")
    with pytest.raises(InputError, match="not int"):
        build_panel(3, definitions, region_type="state")


@pytest.mark.parametrize(
    "container", ["arrow", "parquet", "parquet-on-ibis-path", "parquet-to-parquet"]
)
def test_nan_measures_count_as_missing(
    tmp_path, monkeypatch, container, alabama_2021, national_2021, definitions_2017
):
    """Real NaN values (not nulls) in the counts and the national file, as Arrow or Parquet
    writers other than pandas keep them: skipped by the sums as pandas skips NaN, the same
    panel as with the rows' values missing. (DuckDB would otherwise carry NaN into every sum:
    build_panel notices the NaN in the result and reruns with the NaN -> NULL guard.)"""
    counts = pa.Table.from_pandas(alabama_2021, preserve_index=False)
    national = pa.Table.from_pandas(national_2021, preserve_index=False)

    def with_nan(table: pa.Table, rows: list[int], column: str) -> pa.Table:
        values = table[column].to_numpy(zero_copy_only=False).astype(float)
        values[rows] = np.nan
        index = table.column_names.index(column)
        return table.set_column(index, column, pa.array(values, from_pandas=False))

    big = int(np.argmax(alabama_2021["emp"].fillna(0).to_numpy()))
    nan_counts = with_nan(with_nan(counts, [big, big + 1], "emp"), [big], "ap")
    nan_national = with_nan(national, [0], "emp")
    assert pc.sum(pc.is_nan(nan_counts["emp"])).as_py() == 2  # real NaN, not null
    blank_counts = alabama_2021.copy()
    blank_counts.loc[[big, big + 1], "emp"] = np.nan
    blank_counts.loc[big, "ap"] = np.nan
    blank_national = national_2021.copy()
    blank_national.loc[0, "emp"] = np.nan
    definitions = definitions_2017
    if container.startswith("parquet"):
        pq.write_table(nan_counts, tmp_path / "counts.parquet")
        pq.write_table(nan_national, tmp_path / "national.parquet")
        nan_counts, nan_national = tmp_path / "counts.parquet", tmp_path / "national.parquet"
    if container == "parquet-on-ibis-path":  # an in-memory Ibis input: Ibis executes, guarded
        definitions = ibis.memtable(definitions_2017)
    options = {"region_type": "state", "suppressed": "none"}
    # Parquet inputs: the checks run beside the unguarded panel, which is built again guarded
    seen: list[bool] = []

    def spy(*args, **kwargs):
        found, result = beside_checks(*args, **kwargs)
        seen.append(bool(found[3]))  # NaN found
        return found, result

    beside_checks = engine._beside_checks
    monkeypatch.setattr(engine, "_beside_checks", spy)
    if container == "parquet-to-parquet":
        # file to file: the unguarded panel is written beside the checks, then again guarded
        definitions = tmp_path / "definitions.parquet"
        definitions_2017.to_parquet(definitions, index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            written = write_panel(
                nan_counts, definitions, tmp_path / "panel.parquet", national=nan_national,
                sort=True, **options,
            )  # fmt: skip
        got = pd.read_parquet(written.path)
    else:
        got = _quiet_build(nan_counts, definitions, national=nan_national, **options)
    expected = _quiet_build(blank_counts, definitions_2017, national=blank_national, **options)
    assert seen == ([True] if container == "parquet-to-parquet" else [])
    if container == "parquet-to-parquet":  # the file's text columns read back as pandas'
        got = got[list(expected.columns)].astype(expected.dtypes.to_dict())
    assert got[["emp", "ap", "emp_national", "lq"]].notna().all().all()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=0)


def _cli_build(store: Path, *extra: str) -> pd.DataFrame:
    from typer.testing import CliRunner

    from clusteratlas.cli import app
    from clusteratlas.store import Store

    with pytest.warns(SmallSampleWarning, match="only 1 state region"):  # Alabama alone
        result = CliRunner().invoke(
            app, ["panel", "build", "--store", str(store), "--region-type", "state", *extra]
        )
    assert result.exit_code == 0, (result.output, result.exception)
    with Store(store, read_only=True) as opened:
        # a table has no row order: compare rows by key
        return (
            opened.read("cluster_panel")
            .sort_values(["region_type", "region_id", "year", "cluster_code"])
            .reset_index(drop=True)
        )


def test_cli_builds_from_parquet_files(tmp_path, files, alabama_2021, national_2021):
    """`clusteratlas panel build --counts FILES --national FILES`: the panel the store's
    industry_counts give, without loading the counts into the store."""
    from clusteratlas.store import Store

    loaded = tmp_path / "loaded.duckdb"
    with Store(loaded) as store:
        store.write("industry_counts", pd.concat([alabama_2021, national_2021]))
    from_store = _cli_build(loaded)
    from_files = _cli_build(
        tmp_path / "files.duckdb",
        "--counts",
        str(files["counts"]),
        "--national",
        str(files["national"]).replace("national_2021", "national_*"),  # a glob
    )
    assert len(from_files) == 67 and from_files["lq"].notna().all()
    pd.testing.assert_frame_equal(from_files, from_store, check_exact=False, rtol=1e-12, atol=0)

    from typer.testing import CliRunner

    from clusteratlas.cli import app

    lonely = CliRunner().invoke(
        app, ["panel", "build", "--store", str(loaded), "--national", str(files["national"])]
    )
    assert lonely.exit_code != 0 and "go with --counts" in str(lonely.exception)


@pytest.mark.spark
@pytest.mark.slow
def test_cli_builds_from_parquet_files_on_spark(tmp_path, files, alabama_2021, national_2021):
    """The same command with --backend spark: Spark reads the Parquet files."""
    pytest.importorskip("pyspark")
    inputs = ["--counts", str(files["counts"]), "--national", str(files["national"])]
    on_spark = _cli_build(tmp_path / "spark.duckdb", *inputs, "--backend", "spark")
    on_duckdb = _cli_build(tmp_path / "duckdb.duckdb", *inputs)
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_exact=False, rtol=1e-9, atol=1e-9)


def test_parquet_with_categorical_columns(
    tmp_path, files, alabama_2021, national_2021, definitions_2017
):
    """A file written from categorical pandas columns (dictionary-encoded in Parquet): its
    schema is taken from DuckDB rather than the footer, and the panel is the same."""
    path = tmp_path / "categorical.parquet"
    alabama_2021.astype({"region_id": "category", "naics": "category"}).to_parquet(path)
    assert pa.types.is_dictionary(pq.read_schema(path).field("naics").type)
    got = _quiet_build(path, files["definitions"], region_type="state", national=files["national"])
    expected = _quiet_build(
        alabama_2021, definitions_2017, region_type="state", national=national_2021
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=0)


def _synthetic_counts(n: int, codes: list[str] | None = None) -> pd.DataFrame:
    """SYNTHETIC county counts in the engine's schema (their shape matters here, not their
    numbers): ``n`` distinct county x industry keys (50 industries a county: ``codes`` or
    311000-311049), positive measures."""
    codes = codes or [f"{311000 + i}" for i in range(50)]
    rng = np.random.default_rng(5)
    emp = rng.integers(1, 500, n).astype("float64")
    return pd.DataFrame(
        {
            "source": "cbp",
            "year": 2016,
            "region_type": "county",
            "region_id": [f"{1000 + i // 50:05d}" for i in range(n)],
            "naics": [codes[i % 50] for i in range(n)],
            "naics_vintage": 2012,
            "emp": emp,
            "est": np.ceil(emp / 10),
            "ap": emp * 40.0,
        }
    )


@pytest.mark.parametrize(
    ("column", "value", "row", "expected"),
    [
        ("ap", np.inf, 7_000, "row 7,001 has a count that is not finite: inf"),
        ("emp", -3.0, 9_999, "row 10,000 has negative count -3"),
        ("est", -np.inf, 2_500, "row 2,501 has a count that is not finite: -inf"),
        ("emp", np.nan, 4_000, None),  # NaN is missing, not bad: the build counts it as such
    ],
)
def test_value_checks_find_a_bad_value_in_any_row_group(tmp_path, column, value, row, expected):
    """The value checks skip row groups by their Parquet statistics: a bad value in any of 10
    row groups (statistics as pyarrow writes them) is still found, with the file's row
    number, and a NaN is not taken for one."""
    import duckdb

    from clusteratlas.panel.engine import check_counts_files

    frame = _synthetic_counts(10_000)
    frame.loc[row, column] = value
    path = tmp_path / "counts.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=1_000)
    assert pq.ParquetFile(path).metadata.num_row_groups == 10
    if expected is None:
        check_counts_files([str(path)], "counts", duckdb.connect())
        return
    with pytest.raises(InputError, match=expected) as error:
        check_counts_files([str(path)], "counts", duckdb.connect())
    assert error.value.column == column and str(path) in str(error.value)


def test_integer_counts_and_duplicate_keys_are_checked(tmp_path):
    import duckdb

    from clusteratlas.panel.engine import check_counts_files

    frame = _synthetic_counts(3_000)
    frame["est"] = frame["est"].astype("int64")
    negative = frame.copy()
    negative.loc[2_000, "est"] = -1
    path = tmp_path / "counts.parquet"
    negative.to_parquet(path, index=False)
    with pytest.raises(InputError, match="row 2,001 has negative count -1"):
        check_counts_files([str(path)], "counts", duckdb.connect())
    pd.concat([frame, frame.iloc[[1_234]]]).to_parquet(path, index=False)
    with pytest.raises(InputError, match="'region_id': '01024', 'naics': '311034'.* 2 times"):
        check_counts_files([str(path)], "counts", duckdb.connect())
    frame.to_parquet(path, index=False)
    check_counts_files([str(path)], "counts", duckdb.connect())  # distinct keys pass


@pytest.mark.parametrize("with_vintage", [True, False])
def test_repeated_keys_are_found_with_the_definitions(tmp_path, definitions_2012, with_vintage):
    """With the definitions the key check is made in the panel's checks statement (codes of
    each source x region x year in a bitstring): one repeated mapped row among 20,000 is
    found and named, by the file-to-file engine, by build_panel and by the Ibis path's own
    check (Spark); a repeat among nation rows is found too (they feed the denominators); a
    repeated row of a code the definitions do not map is not (it never reaches the panel)."""
    import duckdb

    from clusteratlas.panel.engine import check_counts_files, parquet_files, settle_key

    defs = definitions_2012.drop(columns=[] if with_vintage else ["naics_vintage"])
    defs_path = tmp_path / "definitions.parquet"
    defs.to_parquet(defs_path, index=False)
    mapped = sorted(definitions_2012["naics"].astype(str).unique())[:50]
    frame = _synthetic_counts(20_000, codes=mapped)
    if not with_vintage:
        frame = frame.drop(columns=["naics_vintage"])
    path = tmp_path / "counts.parquet"
    out = tmp_path / "panel.parquet"

    def build(counts: pd.DataFrame) -> engine.Outcome:
        """Write ``counts`` and build the panel file from it (without a national file or
        nation rows it warns that the denominators are the counties' sums)."""
        counts.to_parquet(path, index=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome, _ = engine.write_files(
                counts=str(path), definitions=str(defs_path), out=out, region_type="county",
                metrics="lq", complete=False,
            )  # fmt: skip
        assert [str(w.message)[:25] for w in caught] == ["no national counts given:"]
        return outcome

    assert build(frame).unmapped_rows == 0
    assert pq.read_metadata(out).num_rows > 0
    written = out.stat().st_mtime_ns
    repeated = frame.iloc[[17_321]]
    key = f"'region_id': '{repeated['region_id'].item()}', 'naics': '{repeated['naics'].item()}'"
    twice = pd.concat([frame, repeated])
    with pytest.raises(InputError, match=f"{key}.* 2 times"):
        build(twice)
    assert out.stat().st_mtime_ns == written  # the previous output stays
    with (
        pytest.raises(InputError, match=f"{key}.* 2 times"),
        pytest.warns(DataCoverageWarning, match="no national counts"),
    ):
        build_panel(str(path), str(defs_path), region_type="county", complete=False)
    checked = parquet_files(path, "counts", definitions=parquet_files(defs_path, "definitions"))
    assert checked.key_codes is not None  # left to the checks statement, or to settle_key:
    with pytest.raises(InputError, match=f"{key}.* 2 times"):
        settle_key({"counts": checked})
    nation = frame.iloc[[3]].assign(region_type="nation", region_id="US")
    with pytest.raises(InputError, match="'region_id': 'US'.* 2 times"):
        build(pd.concat([frame, nation, nation]))
    unmapped = frame.iloc[[5]].assign(naics="999999")
    assert build(pd.concat([frame, unmapped, unmapped])).unmapped_rows == 2
    with pytest.raises(InputError, match="'naics': '999999'.* 2 times"):  # without: any key
        check_counts_files([str(path)], "counts", duckdb.connect())
