"""The panel on DuckDB from compiled SQL: inputs bound in place, a base table, the checks, and
the result written where it is wanted (a Parquet file, a store table, or Arrow).

Owns :func:`execute`, :class:`PanelOptions` and the input kinds (:class:`Arrow`,
:class:`Relation`, :class:`clusteratlas.panel.sqlcache.ParquetFiles`). It imports only DuckDB
and the standard library unless the compiled SQL is missing from the cache (then
:mod:`clusteratlas.panel.build` compiles it with Ibis) or an Arrow result is asked for: the
command line's file-to-file path stays as lean as a hand-written query.

Two statements, compiled from the Ibis expressions of :mod:`clusteratlas.panel.build`:

1. ``checks``, over the inputs: the rows and jobs in industries the definitions do not map,
   (about) how many regions there are, and whether a NaN is in a measure (DuckDB reads
   pandas NaN as NULL, but Arrow tables and Parquet files may hold NaN, which sums carry
   along: then 2 applies a NaN -> NULL guard to every input value, left out otherwise as it
   costs ~5% of the scan). One join probe, ~5-10% of the panel query;
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

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
        texts = _texts(dataclasses.replace(options, nan_guard=False), descriptions)
        # Parquet statistics must not hide NaN from the check (duckdb/duckdb#25521)
        unmapped_rows, unmapped_emp, n_regions, has_nan = con.execute(
            _bind(texts["checks"], bound, nan=nan_option)
        ).fetchall()[0]
        if not n_regions:
            raise InputError(
                f"no {options.region_type} rows to build a panel from",
                hint="check the counts' region_type values (or pass members= to aggregate "
                "counties)",
            )
        if has_nan:  # the guarded statement: NaN measures count as missing
            texts = _texts(dataclasses.replace(options, nan_guard=True), descriptions)
        panel = _bind(texts["panel"], bound, nan=bool(has_nan) and nan_option)
        table = None
        if out is not None:
            rows = _copy(con, panel, Path(out))
        elif into is not None:
            rows = insert_rows(con, panel, into, options.region_type)
        else:
            table = con.sql(panel).to_arrow_table()
            rows = table.num_rows
        return Outcome(
            rows=int(rows),
            n_regions=int(n_regions),
            unmapped_rows=int(unmapped_rows or 0),
            unmapped_emp=float(unmapped_emp or 0.0),
            guarded=bool(has_nan),
            table=table,
        )
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


def _copy(con: duckdb.DuckDBPyConnection, final: str, out: Path) -> int:
    """COPY the result to ``out`` (Parquet) through a temporary file beside it."""
    from clusteratlas.atomic import atomic_path

    with atomic_path(out) as tmp:
        result = con.execute(
            f"COPY ({final}) TO {sqlcache.quote_literal(str(tmp))} (FORMAT parquet)"
        ).fetchall()
        rows = int(result[0][0]) if result else 0
        if not rows:  # nothing to write: the previous file (if any) stays
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
    Industry counts are checked as the loaders check a file (:func:`check_counts_files`;
    ``definitions``: the cluster definitions the panel will map them with)."""
    import glob as globmod

    pattern = os.fspath(pattern)
    if not pattern.lower().endswith((".parquet", ".pq")):
        raise InputError(
            f"{what}: {pattern} is not a Parquet file; only Parquet is read directly",
            hint="read CSV/CBP files with clusteratlas.data (e.g. cbp.read_cbp) and pass the frame",
        )
    matches = sorted(globmod.glob(pattern))
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
        check_counts_files(matches, what, con, definitions=definitions)
    return ParquetFiles(pattern)


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
    definitions: ParquetFiles | None = None,
) -> None:
    """The checks the CBP loaders make, on industry counts the engine reads from Parquet:
    measures are numbers, finite and not negative; ``year`` is an integer; a (source, year,
    region, NAICS) key appears once. The first problem is an :class:`InputError` naming the
    file, the row (counting from 1) and the column. The value checks read only the row groups
    whose Parquet statistics allow a bad value. The key check is exact; how it is found fast
    is :func:`_key_repeats`. Only when it finds a repeat are the rows grouped by the whole
    key, to name it."""
    from clusteratlas.panel.sqlcache import quote_literal

    listing = "[" + ", ".join(quote_literal(f) for f in files) + "]"
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
    key = [c for c in _COUNT_KEY if c in types]
    if len(key) == len(_COUNT_KEY):
        columns = ", ".join(f'"{c}"' for c in key)
        if not _key_repeats(f"read_parquet({listing})", types, con, definitions):
            return
        dup = con.execute(
            f"SELECT {columns}, count(*) AS n, min(filename), max(filename) FROM {scan} "
            f"GROUP BY {columns} HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if dup:
            *values, n, first, last = dup
            where = first if first == last else f"{first} and {last}"
            raise InputError(
                f"{what}: the key {dict(zip(key, values, strict=True))} appears {n} times "
                f"(in {where})",
                path=first,
                hint="each source x year x region x industry may appear once (files concatenated twice?)",
            )


#: above this many industry codes a bitstring per region-year outgrows the hash aggregation
_MAX_BITSTRING_CODES = 20_000


def _key_repeats(
    scan: str,
    types: Mapping[str, str],
    con: duckdb.DuckDBPyConnection,
    definitions: ParquetFiles | None,
) -> bool:
    """Whether a (source, year, region type, region, NAICS) key may appear more than once.

    Grouping millions of rows by a key that is (almost) unique is as costly as the panel's
    own aggregation. With the definitions at hand the check is exact and cheaper: number the
    K industry codes the definitions map (0..K-1), group the counts by source x region x year
    only (tens of thousands of groups, a table that stays in cache) and per group compare the
    number of mapped rows with the bits set in ``bitstring_agg(code number, 0, K-1)``: fewer
    bits than rows means a code repeats. Measured on 5.1 M SYNTHETIC county rows (8 years):
    0.3-0.6 s against 1.6-2.7 s for grouping a 64-bit hash of the key (benchmarks/
    bench_panel.py). Rows of codes the definitions do not map never reach the panel (they are
    reported as unmapped jobs), so their repeats are not looked for. Without definitions (the
    national file, a caller's own check) a hash of the key is grouped; equal hashes are a
    hint only (a collision is possible) and the caller then groups the key itself."""
    if definitions is not None:
        known = {
            r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {definitions.sql()}").fetchall()
        }
        vintage = "naics_vintage" in known and "naics_vintage" in types
        codes = "naics, naics_vintage" if vintage else "naics"
        catalogue = (
            f"SELECT {codes}, (row_number() OVER () - 1)::INTEGER AS code_number FROM "
            f"(SELECT DISTINCT naics::VARCHAR AS naics"
            + (", naics_vintage::BIGINT AS naics_vintage" if vintage else "")
            + f" FROM {definitions.sql()})"
        )
        n_codes = (
            con.execute(f"SELECT count(*) FROM ({catalogue})").fetchone()[0]
            if "naics" in known
            else 0
        )
        if "naics" in known and 0 < n_codes <= _MAX_BITSTRING_CODES:
            on = "c.naics::VARCHAR = k.naics" + (
                " AND c.naics_vintage::BIGINT = k.naics_vintage" if vintage else ""
            )
            surplus = con.execute(
                f"SELECT sum(n - bit_count(bits)) FROM (SELECT count(*) AS n, "
                f"bitstring_agg(k.code_number, 0, {n_codes - 1}) AS bits "
                f"FROM {scan} AS c JOIN ({catalogue}) AS k ON {on} "
                "GROUP BY c.source, c.region_type, c.region_id, c.year)"
            ).fetchone()[0]
            return bool(surplus)
    columns = ", ".join(f'"{c}"' for c in _COUNT_KEY)
    return bool(
        con.execute(
            f"SELECT 1 FROM {scan} GROUP BY hash({columns}) HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
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
