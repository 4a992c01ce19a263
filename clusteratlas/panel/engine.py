"""The panel on DuckDB from compiled SQL: inputs bound in place, a base table, the checks, and
the result written where it is wanted (a Parquet file, a store table, or Arrow).

Owns :func:`execute`, :class:`PanelOptions` and the input kinds (:class:`Arrow`,
:class:`Relation`, :class:`clusteratlas.panel.sqlcache.ParquetFiles`). It imports only DuckDB
and the standard library unless the compiled SQL is missing from the cache (then
:mod:`clusteratlas.panel.build` compiles it with Ibis) or an Arrow result is asked for: the
command line's file-to-file path stays as lean as a hand-written query.

Two statements, compiled from the Ibis expressions of :mod:`clusteratlas.panel.build`:

1. ``checks``, over the inputs: the rows and jobs in industries the definitions do not map,
   (about) how many regions there are, whether a NaN is in a measure (DuckDB reads
   pandas NaN as NULL, but Arrow tables and Parquet files may hold NaN, which sums carry
   along: then 2 applies a NaN -> NULL guard to every input value, left out otherwise as it
   costs ~5% of the scan) and, for Parquet counts, whether a (source, year, region, NAICS)
   key repeats. One join probe, ~15-20% of the panel query's CPU; when every input is a
   Parquet file it runs on a second cursor beside 2, whose result is kept only once the
   checks passed (:func:`_beside_checks`);
2. ``panel``: counts -> cluster sums -> the regional and national denominators (window
   sums) and the ratios asked for (a CTE, computed once) -> the flags (quantiles within
   region type x cluster x year), growth and the columns asked for, as one statement,
   written straight to Parquet (``COPY``, atomically), inserted into a store table, or
   fetched as Arrow. No ORDER BY unless asked.
"""

from __future__ import annotations

import dataclasses
import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import duckdb

from clusteratlas.atomic import atomic_path
from clusteratlas.errors import DataCoverageWarning, InputError, SmallSampleWarning
from clusteratlas.panel import selection as selection_
from clusteratlas.panel import sqlcache
from clusteratlas.panel.options import MIN_FLAG_REGIONS, PanelOptions
from clusteratlas.panel.sqlcache import ParquetFiles


@dataclass(frozen=True)
class Arrow:
    """An Arrow table (or anything DuckDB can register) to bind by name for one run."""

    table: Any


@dataclass(frozen=True)
class Relation:
    """SQL of a relation on the connection: a quoted table name or a parenthesised query."""

    sql: str


Source = ParquetFiles | Arrow | Relation
T = TypeVar("T")


@dataclass
class Outcome:
    """What a run produced and found."""

    rows: int
    n_regions: int  # approximate (HyperLogLog) above a few hundred
    unmapped_rows: int
    unmapped_emp: float
    guarded: bool
    table: Any = None  # the Arrow result, when asked for


def execute(
    con: duckdb.DuckDBPyConnection,
    sources: Mapping[str, Source],
    options: PanelOptions,
    *,
    out: str | os.PathLike | None = None,
    into: str | None = None,
    arrow: bool = False,
) -> Outcome:
    """Run the panel of ``options`` over ``sources`` (roles counts, definitions, and
    optionally members, national) on ``con``: into the Parquet file ``out``, the table
    ``into`` (rows of the region type replaced; columns added where the table lacks them),
    or as an Arrow table (``arrow``)."""
    registered: list[str] = []
    try:
        bound: dict[str, Source | str] = {}
        for role, source in sources.items():
            if isinstance(source, Arrow):
                name = f"clusteratlas_input_{role}_{uuid.uuid4().hex[:12]}"
                con.register(name, source.table)
                registered.append(name)
                bound[role] = f'"{name}"'
            elif isinstance(source, Relation):
                bound[role] = source.sql
            else:
                bound[role] = source
        descriptions = {
            role: sqlcache.describe_columns(
                con.execute(f"DESCRIBE SELECT * FROM {_sql(value, nan=False)}").fetchall()
            )
            for role, value in bound.items()
        }
        parquet = any(isinstance(v, ParquetFiles) for v in bound.values())
        nan_option = parquet and nan_option_supported(con, bound)
        counts = sources.get("counts")
        key_codes = counts.key_codes if isinstance(counts, ParquetFiles) else None
        options = dataclasses.replace(options, key_codes=key_codes)
        texts = _texts(dataclasses.replace(options, nan_guard=False), descriptions)
        # Parquet statistics must not hide NaN from the check (duckdb/duckdb#25521)
        checks = _bind(texts["checks"], bound, nan=nan_option)

        def panel(guard: bool) -> str:  # guarded: NaN measures count as missing
            return _bind(
                _texts(dataclasses.replace(options, nan_guard=guard), descriptions)["panel"],
                bound,
                nan=guard and nan_option,
            )

        if into is not None or not all(isinstance(v, ParquetFiles) for v in bound.values()):
            # one after the other: an insert belongs to the caller's transaction, and names
            # registered (or temporary views) on this connection are not seen by a cursor
            found = _passed(con.execute(checks).fetchall()[0], options, counts, con)
            guard = bool(found.has_nan)
            if into is not None:
                return _outcome(found, insert_rows(con, panel(guard), into, options.region_type))
            if out is not None:
                with atomic_path(Path(out)) as tmp:
                    return _outcome(found, _copy(con, panel(guard), tmp))
            table = con.sql(panel(guard)).to_arrow_table()
            return _outcome(found, table.num_rows, table)
        if out is not None:
            with atomic_path(Path(out)) as tmp:
                found, rows = _beside_checks(
                    con, checks, lambda guard: _copy(con, panel(guard), tmp), options, counts
                )
                return _outcome(found, rows)
        found, table = _beside_checks(
            con, checks, lambda guard: con.sql(panel(guard)).to_arrow_table(), options, counts
        )
        return _outcome(found, table.num_rows, table)
    finally:
        for name in registered:
            con.unregister(name)


def _texts(options: PanelOptions, descriptions: Mapping[str, sqlcache.Description]):
    return sqlcache.compiled(
        options.signature(), descriptions, lambda: _compile(options, descriptions)
    )


def _sql(value: Source | str, *, nan: bool) -> str:
    if isinstance(value, ParquetFiles):
        return value.sql(nan_option=nan)
    return str(value)


def _bind(text: str, bound: Mapping[str, Source | str], *, nan: bool = False) -> str:
    for role, value in bound.items():
        text = text.replace(sqlcache.placeholder(role), _sql(value, nan=nan))
    return text


def _compile(options: PanelOptions, descriptions: Mapping[str, sqlcache.Description]):
    """The SQL texts, from the Ibis expressions (imports Ibis: only on a cache miss)."""
    from clusteratlas.panel import expressions

    return expressions.compile_panel(options, descriptions)


_nan_supported: list[bool] = []


def nan_option_supported(con: duckdb.DuckDBPyConnection, bound: Mapping[str, Any]) -> bool:
    """Whether this DuckDB knows ``read_parquet(..., can_have_nan)`` (asked once)."""
    if not _nan_supported:
        source = next(v for v in bound.values() if isinstance(v, ParquetFiles))
        try:
            con.execute(f"SELECT * FROM {source.sql(nan_option=True)} LIMIT 0")
            _nan_supported.append(True)
        except duckdb.Error as error:
            if "can_have_nan" not in str(error):
                raise
            _nan_supported.append(False)
    return _nan_supported[0]


class Checks(NamedTuple):
    """What the checks statement found, once the inputs passed it."""

    unmapped_rows: int | None
    unmapped_emp: float | None
    n_regions: int
    has_nan: bool | None


def _outcome(found: Checks, rows: int, table: Any = None) -> Outcome:
    return Outcome(
        rows=int(rows),
        n_regions=int(found.n_regions),
        unmapped_rows=int(found.unmapped_rows or 0),
        unmapped_emp=float(found.unmapped_emp or 0.0),
        guarded=bool(found.has_nan),
        table=table,
    )


def _passed(
    found: tuple, options: PanelOptions, counts: Any, con: duckdb.DuckDBPyConnection
) -> Checks:
    """The checks' row without its key count, once the inputs passed them (else the error)."""
    unmapped_rows, unmapped_emp, n_regions, has_nan, key_surplus = found
    if key_surplus:
        name_repeated_key(_matches(counts.pattern), "counts", con)
    if not n_regions:
        raise InputError(
            f"no {options.region_type} rows to build a panel from",
            hint="check the counts' region_type values (or pass members= to aggregate counties)",
        )
    return Checks(unmapped_rows, unmapped_emp, n_regions, has_nan)


def _beside_checks(
    con: duckdb.DuckDBPyConnection,
    checks: str,
    produce: Callable[[bool], T],
    options: PanelOptions,
    counts: Any,
) -> tuple[Checks, T]:
    """The checks on a second cursor while ``produce(False)`` builds the unguarded panel (a
    temporary file, an Arrow table); its result is handed on only once the checks passed (a
    NaN in a measure: ``produce(True)``, the guarded panel, replaces it). The checks scan the
    counts as the panel does; beside it they cost little wall time where the panel leaves a
    core idle (one year of county rows: ~30 ms beside ~140 ms)."""
    import threading

    found: list = []

    def check() -> None:
        cursor = con.cursor()
        try:
            found.append(cursor.execute(checks).fetchall()[0])
        except BaseException as error:  # re-raised below, after the panel ended
            found.append(error)
        finally:
            cursor.close()

    checking = threading.Thread(target=check, name="clusteratlas-panel-checks")
    checking.start()
    empty = None
    try:
        result = produce(False)
    except InputError as error:  # the checks name their cause first (no rows of the type)
        empty = error
    finally:
        checking.join()
    if isinstance(found[0], BaseException):
        raise found[0]
    passed = _passed(found[0], options, counts, con)
    if passed.has_nan:
        return passed, produce(True)
    if empty is not None:
        raise empty
    return passed, result


def _copy(con: duckdb.DuckDBPyConnection, final: str, tmp: Path) -> int:
    """COPY the result to the temporary Parquet file ``tmp`` (the caller's, see
    :func:`clusteratlas.atomic.atomic_path`): the number of rows. No rows is an error (the
    previous file, if any, then stays)."""
    result = con.execute(
        f"COPY ({final}) TO {sqlcache.quote_literal(str(tmp))} (FORMAT parquet)"
    ).fetchall()
    rows = int(result[0][0]) if result else 0
    if not rows:
        raise InputError(
            "the panel has no rows (every industry outside the cluster definitions?)",
            hint="check the counts' naics codes and vintage against the definitions",
        )
    return rows


def insert_rows(con: duckdb.DuckDBPyConnection, final: str, table: str, region_type: str) -> int:
    """Replace the rows of ``region_type`` in ``table`` by the result (one transaction,
    the caller's). Columns the table lacks are added; columns the result lacks stay NULL."""
    name = sqlcache.quote_identifier(table)
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
        "AND table_schema = 'main'",
        [table],
    ).fetchall()[0][0]
    if not exists:
        con.execute(f"CREATE TABLE {name} AS {final}")
        return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
    have = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
    for column, kind, *_ in con.execute(f"DESCRIBE {final}").fetchall():
        if column not in have:
            con.execute(f"ALTER TABLE {name} ADD COLUMN {sqlcache.quote_identifier(column)} {kind}")
    con.execute(f"DELETE FROM {name} WHERE region_type = ?", [region_type])
    return int(con.execute(f"INSERT INTO {name} BY NAME {final}").fetchall()[0][0])


_PROBE: list[duckdb.DuckDBPyConnection] = []


def _probe() -> duckdb.DuckDBPyConnection:
    """One in-memory connection for reading Parquet footers (connecting costs ~15 ms)."""
    if not _PROBE:
        _PROBE.append(duckdb.connect())
    return _PROBE[0]


def parquet_files(
    pattern: str | os.PathLike,
    what: str,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    definitions: ParquetFiles | None = None,
) -> ParquetFiles:
    """A Parquet path or glob, checked before the panel runs: it names the file that is
    missing, unreadable, not Parquet, or of another schema than the first (footers only).
    Industry counts are checked as the loaders check a file (:func:`check_counts_files`).

    ``definitions``: the cluster definitions the panel will map the counts with. Then the
    duplicate-key check of the counts is left to the panel's own checks statement, which
    makes it in the same scan (the result's ``key_codes`` is set; only :func:`execute` and
    :func:`settle_key` read it): pass them only when the files go to one of those two."""
    pattern = os.fspath(pattern)
    if not pattern.lower().endswith((".parquet", ".pq")):
        raise InputError(
            f"{what}: {pattern} is not a Parquet file; only Parquet is read directly",
            hint="read CSV/CBP files with clusteratlas.data (e.g. cbp.read_cbp) and pass the frame",
        )
    matches = _matches(pattern)
    if not matches:
        raise InputError(f"{what}: no Parquet file at {pattern}", hint="check the path")
    con = con if con is not None else _probe()
    first = None
    for match in matches:
        try:
            schema = con.execute(
                "SELECT name, type, logical_type FROM parquet_schema(?) WHERE num_children IS NULL "
                "OR num_children = 0",
                [match],
            ).fetchall()
        except duckdb.Error as error:
            raise InputError(
                f"{what}: {match} is not a readable Parquet file ({error})",
                hint="re-download or re-write the file",
            ) from error
        if first is None:
            first = (match, schema)
        elif schema != first[1]:
            raise InputError(
                f"{what}: {match} has other columns or types than {first[0]} "
                f"({[c[0] for c in schema]} vs {[c[0] for c in first[1]]})",
                hint="the files of one glob must share one schema; pass them separately",
            )
    if what in COUNT_INPUTS:
        key_codes = _key_codes(definitions, con) if definitions is not None else None
        if not check_counts_files(matches, what, con, key=key_codes is None):
            key_codes = None  # no whole key to check
        return ParquetFiles(pattern, key_codes=key_codes)
    return ParquetFiles(pattern)


def _matches(pattern: str) -> list[str]:
    import glob as globmod

    return sorted(globmod.glob(pattern))


#: above this many industry codes a bitstring per region-year outgrows the hash aggregation
_MAX_BITSTRING_CODES = 20_000


def _key_codes(definitions: ParquetFiles, con: duckdb.DuckDBPyConnection) -> int | None:
    """The bound of the code numbers of the key check in the panel's checks statement (the
    definitions' row count, from the footers: at least their distinct codes), or None when
    there are too many codes for a bitstring per region-year. (Definitions without ``naics``
    are refused by the panel's own column check.)"""
    listing = _listing(_matches(definitions.pattern))
    rows = con.execute(f"SELECT sum(num_rows) FROM parquet_file_metadata({listing})").fetchone()
    return int(rows[0]) if rows[0] and 0 < rows[0] <= _MAX_BITSTRING_CODES else None


def settle_key(sources: Mapping[str, Any]) -> None:
    """Make the duplicate-key check :func:`parquet_files` left to the checks statement, for a
    run that does not use it (the Ibis path: Spark, in-memory Ibis tables)."""
    counts = sources.get("counts")
    if isinstance(counts, ParquetFiles) and counts.key_codes is not None:
        files = _matches(counts.pattern)
        con = _probe()
        if _key_repeats(f"read_parquet({_listing(files)})", con):
            name_repeated_key(files, "counts", con)


def _listing(files: list[str]) -> str:
    return "[" + ", ".join(sqlcache.quote_literal(f) for f in files) + "]"


#: inputs of industry counts, whose content is checked as the CBP loaders check a file
COUNT_INPUTS = ("counts", "national counts")
_COUNT_MEASURES = ("emp", "emp_reported", "est", "ap", "qp1")
_COUNT_INTEGERS = ("year", "naics_vintage")
_COUNT_KEY = ("source", "year", "region_type", "region_id", "naics")
_LARGEST_DOUBLE = "1.7976931348623157e308"  # above it only +inf (and NaN, in DuckDB's order)


def check_counts_files(
    files: list[str],
    what: str,
    con: duckdb.DuckDBPyConnection,
    *,
    key: bool = True,
) -> bool:
    """The checks the CBP loaders make, on industry counts the engine reads from Parquet:
    measures are numbers, finite and not negative; ``year`` is an integer; a (source, year,
    region, NAICS) key appears once (unless ``key`` is false: the panel's checks statement
    then looks, see :func:`parquet_files`). The first problem is an :class:`InputError`
    naming the file, the row (counting from 1) and the column. The value checks read only
    the row groups whose Parquet statistics allow a bad value. Returns whether the files
    have the whole key."""
    listing = _listing(files)
    scan = f"read_parquet({listing}, filename = true, file_row_number = true)"
    types = dict(
        con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {scan})"
        ).fetchall()
    )
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
               "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE")  # fmt: skip
    for column in (*_COUNT_MEASURES, *_COUNT_INTEGERS):
        kind = types.get(column)
        if kind is None:
            continue
        integral = column in _COUNT_INTEGERS
        if kind not in (numeric[:9] if integral else numeric) and not kind.startswith("DECIMAL"):
            raise InputError(
                f"{what}: column {column!r} is {kind}, not "
                + ("an integer" if integral else "a number"),
                path=files[0] if len(files) == 1 else None,
                column=column,
                hint="write the counts with numeric columns (as clusteratlas.schema.INDUSTRY_COUNTS)",
            )
    measures = [c for c in _COUNT_MEASURES if c in types]
    if measures:
        # Range predicates on the bare columns, so DuckDB skips every row group whose Parquet
        # statistics rule a bad value out (~1 ms instead of a 40-50 ms scan a year of county
        # rows); NaN is not a bad value here (it counts as missing), and DuckDB sorts NaN
        # above +inf, hence the isnan term.
        bad = " OR ".join(
            f'("{c}" < 0 OR ("{c}" > {_LARGEST_DOUBLE} AND NOT isnan("{c}")))'
            if types[c] in ("FLOAT", "DOUBLE")
            else f'"{c}" < 0'
            for c in measures
        )
        row = con.execute(
            f"SELECT filename, file_row_number, {', '.join(f'{chr(34)}{c}{chr(34)}' for c in measures)} "
            f"FROM {scan} WHERE {bad} LIMIT 1"
        ).fetchone()
        if row:
            file, number, *values = row
            column, value = next(
                (c, v) for c, v in zip(measures, values, strict=True)
                if v is not None and (v < 0 or math.isinf(v))
            )  # fmt: skip
            problem = (
                "negative count"
                if value < 0 and not math.isinf(value)
                else "a count that is not finite:"
            )
            raise InputError(
                f"{what}: row {number + 1:,} has {problem} {value:g}",
                path=file,
                column=column,
                hint="counts are finite and not negative; fix the file that wrote these rows",
            )
    whole_key = all(c in types for c in _COUNT_KEY)
    if whole_key and key and _key_repeats(f"read_parquet({listing})", con):
        name_repeated_key(files, what, con)
    return whole_key


def _key_repeats(scan: str, con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a (source, year, region type, region, NAICS) key may appear more than once:
    rows grouped by a 64-bit hash of the key (equal hashes are a hint only, a collision is
    possible: :func:`name_repeated_key` then groups the key itself). With the cluster
    definitions the panel's checks statement makes an exact and cheaper check (see
    ``_checks_expr`` in :mod:`clusteratlas.panel.expressions`)."""
    columns = ", ".join(f'"{c}"' for c in _COUNT_KEY)
    return bool(
        con.execute(
            f"SELECT 1 FROM {scan} GROUP BY hash({columns}) HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
    )


def name_repeated_key(files: list[str], what: str, con: duckdb.DuckDBPyConnection) -> None:
    """Raise the :class:`InputError` naming a key that appears more than once in ``files``
    (grouping the rows by the whole key: only once a repeat is known or likely)."""
    columns = ", ".join(f'"{c}"' for c in _COUNT_KEY)
    scan = f"read_parquet({_listing(files)}, filename = true)"
    dup = con.execute(
        f"SELECT {columns}, count(*) AS n, min(filename), max(filename) FROM {scan} "
        f"GROUP BY {columns} HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if dup:
        *values, n, first, last = dup
        where = first if first == last else f"{first} and {last}"
        raise InputError(
            f"{what}: the key {dict(zip(_COUNT_KEY, values, strict=True))} appears {n} times "
            f"(in {where})",
            path=first,
            hint="each source x year x region x industry may appear once (files concatenated twice?)",
        )


def warn_outcome(outcome: Outcome, options: PanelOptions, stacklevel: int = 3) -> None:
    """Warn about the unmapped jobs left out, and about too few regions for the flags."""
    import warnings

    if outcome.unmapped_rows:
        warnings.warn(
            f"{outcome.unmapped_emp:,.0f} jobs are in industry codes the cluster definitions "
            "do not map and are left out (list them with unmapped_industries())",
            category=DataCoverageWarning,
            stacklevel=stacklevel,
        )
    few = outcome.n_regions < MIN_FLAG_REGIONS
    if options.level == "cluster" and options.selection.flags and few:
        warnings.warn(
            f"only {outcome.n_regions} {options.region_type} region(s): strong-cluster "
            "flags compare a region with the other regions of its type, so build the "
            "panel for all of them (e.g. all states) to get USCM's flags",
            category=SmallSampleWarning,
            stacklevel=stacklevel,
        )


def no_national_warning(region_type: str, stacklevel: int = 3) -> None:
    import warnings

    warnings.warn(
        "no national counts given: the national denominators are the sum over the "
        f"{region_type} regions built here (USCM uses the national CBP record)",
        category=DataCoverageWarning,
        stacklevel=stacklevel,
    )


class NeedsFill(Exception):
    """The national counts hold withheld cells (or parent lines) to fill first: the lean
    path hands over to :func:`clusteratlas.panel.build.write_panel`."""


def write_files(
    *,
    counts: str,
    definitions: str,
    out: str | os.PathLike,
    region_type: str,
    national: str | None = None,
    members: str | None = None,
    metrics: Any = None,
    growth: bool = True,
    complete: bool = True,
    sort: bool = False,
    suppressed: str = "uscm",
) -> tuple[Outcome, PanelOptions]:
    """The panel from Parquet files to a Parquet file, on DuckDB alone (no pandas, no Ibis
    while the compiled SQL is cached). Raises :class:`NeedsFill` when the national file holds
    withheld cells without a size class or parent lines (the fill needs pandas)."""
    sel = selection_.select(metrics, growth=growth)
    con = duckdb.connect()
    defs = parquet_files(definitions, "cluster definitions", con)
    sources: dict[str, Source] = {
        "counts": parquet_files(counts, "counts", con, definitions=defs),
        "definitions": defs,
    }
    if members is not None:
        sources["members"] = parquet_files(members, "region members", con)
    nation = "given"
    if sel.has("emp_national"):
        if national is not None:
            sources["national"] = parquet_files(national, "national counts", con)
            if suppressed != "none" and withheld_or_lines(con, sources["national"]):
                raise NeedsFill(national)
        else:
            rows = con.execute(
                f"SELECT count(*) FROM {sources['counts'].sql()} WHERE region_type = 'nation'"
            ).fetchall()[0][0]
            if rows:
                nation = "rows"
                if suppressed != "none" and withheld_or_lines(
                    con, sources["counts"], where="region_type = 'nation'"
                ):
                    raise NeedsFill(counts)
            else:
                no_national_warning(region_type)
                nation = "regional"
    options = PanelOptions(
        region_type=region_type,
        selection=sel,
        complete=complete,
        nation=nation,
        sort=sort,
    )
    return execute(con, sources, options, out=out), options


def withheld_or_lines(
    con: duckdb.DuckDBPyConnection, national: ParquetFiles, where: str = "TRUE"
) -> bool:
    """Whether the national file (its rows matching ``where``) has parent lines (codes other
    than 6 digits) or withheld cells without a size class (what
    clusteratlas.data.suppression would fill)."""
    columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {national.sql()}").fetchall()}
    withheld = "emp IS NULL OR isnan(emp)"
    if "emp_flag" in columns:
        reported = "coalesce(emp_reported, 0)" if "emp_reported" in columns else "0"
        withheld += f" OR (upper(trim(emp_flag)) IN ('D', 'S', 'N') AND {reported} = 0)"
    query = (
        f"SELECT count(*) FROM {national.sql(nan_option=nan_option_supported(con, {'n': national}))} "
        f"WHERE ({where}) AND (NOT regexp_full_match(CAST(naics AS VARCHAR), '[0-9]{{6}}') "
        f"OR {withheld})"
    )
    return bool(con.execute(query).fetchall()[0][0])
