"""Compiled DuckDB SQL of a panel expression, cached per (input schemas, options) signature.

Building the panel's Ibis expression and compiling it costs about 0.1 s per call whatever the
data size: most of a one-year county panel's overhead over a hand-written query. The Ibis
expression stays the single source of the relational logic; this module only avoids redoing
the same compilation:

1. the expression is built over *placeholder* tables (``ibis.table(schema, name=...)``) with
   the inputs' schemas, and compiled once;
2. the SQL text is kept per signature: in the process, and (unless ``CLUSTERATLAS_SQL_CACHE``
   is ``off``) in ``cache_dir()/panel-sql``, keyed also by the source of the panel code and
   the Ibis, sqlglot and DuckDB versions, so a new process (the CLI) skips the compile too;
3. at run time each quoted placeholder name is pointed at the actual input: the compiled SQL
   of an Ibis table as a subquery, an Arrow table registered on the connection, or DuckDB's
   own ``read_parquet`` of a :class:`ParquetFiles` input (no copy through Python).

Only DuckDB uses it (Spark plans through Ibis as before).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

from clusteratlas.atomic import write_text
from clusteratlas.paths import cache_dir

#: Quoted placeholder identifiers; the prefix never names a real table.
PLACEHOLDER = "clusteratlas_placeholder_{role}"

#: Set to "off" (or 0/false/no) to keep the compiled SQL in memory only.
DISK_ENV = "CLUSTERATLAS_SQL_CACHE"

_MEMORY: dict[str, CompiledQuery] = {}


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text over placeholder tables and the Arrow schema its result must have."""

    sql: str
    schema: pa.Schema


#: DuckDB (2.x) trusts Parquet min/max statistics to mean "no NaN" unless told otherwise, and
#: then folds ``isnan(x)`` to false (duckdb/duckdb#25521): NaN would slip through the NaN ->
#: NULL guard. The guarded run asks for this option where it exists (older versions do not
#: need it); the first run does not need it either, since sums carry NaN along regardless.
_NAN_OPTION = ", can_have_nan = true"
_nan_option_supported: bool | None = None


@dataclass(frozen=True)
class ParquetFiles:
    """Parquet file(s) the engine reads itself: one path, or a glob such as ``counts/*.parquet``,
    with the schema of the first file's footer when the caller has read it."""

    pattern: str
    footer_schema: pa.Schema | None = field(default=None, compare=False)

    def sql(self, *, nan_option: bool = False) -> str:
        """The DuckDB table function reading the files (the pattern as a quoted literal)."""
        option = _NAN_OPTION if nan_option else ""
        return "read_parquet('" + self.pattern.replace("'", "''") + "'" + option + ")"


def _reads_as_is(kind: pa.DataType) -> bool:
    """Arrow types whose Ibis type is the one DuckDB reads the Parquet column as."""
    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    )


def nan_option_supported(con: Any, source: ParquetFiles) -> bool:
    """Whether this DuckDB knows ``can_have_nan`` (asked once per process)."""
    global _nan_option_supported
    if _nan_option_supported is None:
        try:
            con.con.sql(f"select * from {source.sql(nan_option=True)} limit 0")
            _nan_option_supported = True
        except duckdb.Error as error:
            if "can_have_nan" not in str(error):
                raise
            _nan_option_supported = False
    return _nan_option_supported


Source = ir.Table | pa.Table | ParquetFiles


def bindable(source: Source) -> bool:
    """Whether ``source`` can stand in for a placeholder without Ibis' execution hooks (an
    Ibis expression holding in-memory tables needs Ibis to register them)."""
    return isinstance(source, pa.Table | ParquetFiles) or not source.op().find(ops.InMemoryTable)


def source_schema(con: Any, source: Source) -> ibis.Schema:
    """The Ibis schema a placeholder for ``source`` gets (as ``ibis.memtable`` would infer;
    for Parquet files, the types DuckDB reads them with)."""
    if isinstance(source, pa.Table):
        return ibis.Schema.from_pyarrow(source.schema)
    if isinstance(source, ParquetFiles):
        footer = source.footer_schema
        if footer is not None and all(_reads_as_is(kind) for kind in footer.types):
            return ibis.Schema.from_pyarrow(footer)  # no query: the footer says it all
        empty = con.con.sql(f"select * from {source.sql()} limit 0").to_arrow_table()
        return ibis.Schema.from_pyarrow(empty.schema)
    return source.schema()


def compiled(
    con: Any,
    signature: Mapping[str, Any],
    schemas: Mapping[str, ibis.Schema],
    build: Callable[[dict[str, ir.Table]], ir.Table],
) -> CompiledQuery:
    """The compiled SQL of ``build(placeholder tables)``, from the cache when possible.

    ``signature`` holds every option ``build`` depends on besides the schemas.
    """
    key = _key(signature, schemas)
    query = _MEMORY.get(key)
    if query is None:
        query = _read(key)
    if query is None:
        tables = {
            role: ibis.table(schema, name=PLACEHOLDER.format(role=role))
            for role, schema in schemas.items()
        }
        expr = build(tables)
        query = CompiledQuery(sql=con.compile(expr), schema=expr.schema().to_pyarrow())
        _write(key, query)
    _MEMORY[key] = query
    return query


def run(
    con: Any, query: CompiledQuery, sources: Mapping[str, Source], *, parquet_nan: bool = False
) -> pa.Table:
    """Execute ``query`` with its placeholders bound to ``sources`` (role -> input);
    ``parquet_nan`` reads Parquet inputs without trusting their statistics about NaN."""
    sql = query.sql
    registered = []
    try:
        for role, source in sources.items():
            if isinstance(source, pa.Table):
                name = ibis.util.gen_name(f"clusteratlas_{role}")
                con.con.register(name, source)
                registered.append(name)
                bound = f'"{name}"'
            elif isinstance(source, ParquetFiles):
                bound = source.sql(nan_option=parquet_nan and nan_option_supported(con, source))
            else:
                bound = f"({con.compile(source)})"
            sql = sql.replace(f'"{PLACEHOLDER.format(role=role)}"', bound)
        table = con.con.sql(sql).to_arrow_table()
    finally:
        for name in registered:
            con.con.unregister(name)
    # DuckDB's types already match Ibis' schema; the cast only fixes names/nullability if not
    return table if table.schema.equals(query.schema) else table.cast(query.schema)


def clear() -> None:
    """Forget the compiled SQL held in this process (the disk cache stays)."""
    _MEMORY.clear()


# -------------------------------------------------------------------------------------------
# the key and the disk copy
# -------------------------------------------------------------------------------------------
def _key(signature: Mapping[str, Any], schemas: Mapping[str, ibis.Schema]) -> str:
    """sha256 of the options, the input schemas (names, types, nullability) and
    :func:`_code_version`."""
    payload = {
        "signature": {k: repr(v) for k, v in sorted(signature.items())},
        "schemas": {role: [[n, str(t)] for n, t in s.items()] for role, s in schemas.items()},
        "code": _code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


_CODE_VERSION: list[str] = []


def _code_version() -> str:
    """What the compiled text depends on besides the key: the panel package's source and the
    Ibis, sqlglot and DuckDB versions (a changed file or upgrade never reuses old SQL)."""
    if not _CODE_VERSION:
        import duckdb
        import sqlglot

        digest = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        digest.update(f"{ibis.__version__} {sqlglot.__version__} {duckdb.__version__}".encode())
        _CODE_VERSION.append(digest.hexdigest())
    return _CODE_VERSION[0]


def _disk_path(key: str) -> Path | None:
    if os.environ.get(DISK_ENV, "").strip().lower() in {"off", "0", "false", "no"}:
        return None
    return cache_dir() / "panel-sql" / f"{key}.json"


def _read(key: str) -> CompiledQuery | None:
    path = _disk_path(key)
    if path is None or not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stored["schema"])))
        return CompiledQuery(sql=stored["sql"], schema=schema)
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None  # a damaged entry is recompiled (and rewritten)


def _write(key: str, query: CompiledQuery) -> None:
    path = _disk_path(key)
    if path is None:
        return
    schema = base64.b64encode(query.schema.serialize().to_pybytes()).decode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps({"sql": query.sql, "schema": schema}))
    except OSError:
        pass  # a read-only cache only costs the compile next time
