"""Compiled DuckDB SQL of the panel's Ibis expressions, cached per (input schemas, options).

Building the panel's Ibis expressions and compiling them costs about 0.1 s per call whatever
the data size (and importing Ibis another 0.3 s): most of a one-year county panel's overhead
over a hand-written query. The Ibis expressions stay the single source of the relational
logic; this module only avoids redoing the same compilation:

1. the expressions are built over *placeholder* tables (``ibis.table(schema, name=...)``)
   with the inputs' schemas (as DuckDB describes them), and compiled once;
2. the SQL texts are kept per signature: in the process, and (unless ``CLUSTERATLAS_SQL_CACHE``
   is ``off``) in ``cache_dir()/panel-sql``, keyed also by the source of the panel code and
   the Ibis, sqlglot and DuckDB installations, so that a new process (the command line) skips
   the compile, and does not even import Ibis;
3. at run time (:mod:`clusteratlas.panel.engine`) each quoted placeholder name is pointed at
   the actual input: DuckDB's own ``read_parquet`` of a :class:`ParquetFiles` input (no copy
   through Python), an Arrow table registered on the connection, a store table, or the SQL
   of an Ibis expression.

Only DuckDB uses it (Spark plans through Ibis).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from clusteratlas.atomic import write_text
from clusteratlas.paths import cache_dir

#: Quoted placeholder identifiers; the prefix never names a real table.
PLACEHOLDER = "clusteratlas_placeholder_{role}"

#: Set to "off" (or 0/false/no) to keep the compiled SQL in memory only.
DISK_ENV = "CLUSTERATLAS_SQL_CACHE"

#: An input's schema as DuckDB describes it: (column, DuckDB type, nullable) triples.
Description = tuple[tuple[str, str, bool], ...]

_MEMORY: dict[str, dict[str, str]] = {}


@dataclass(frozen=True)
class ParquetFiles:
    """Parquet file(s) the engine reads itself: one path, or a glob such as
    ``counts/*.parquet``. ``key_codes``: industry counts whose duplicate-key check is left
    to the panel's checks statement, with this bound of the definitions' code numbers (set
    by :func:`clusteratlas.panel.engine.parquet_files`)."""

    pattern: str
    key_codes: int | None = None

    def sql(self, *, nan_option: bool = False) -> str:
        """The DuckDB table function reading the files (the pattern as a quoted literal).

        ``nan_option``: DuckDB (2.x) trusts Parquet min/max statistics to mean "no NaN" and
        then folds ``isnan(x)`` to false (duckdb/duckdb#25521); the guarded run reads with
        ``can_have_nan = true`` where the option exists.
        """
        option = ", can_have_nan = true" if nan_option else ""
        return "read_parquet(" + quote_literal(self.pattern) + option + ")"


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """A table or column name in double quotes, inner ones doubled (as
    :func:`clusteratlas.store.quote_identifier`, which imports pandas: this module must not)."""
    return '"' + str(name).replace('"', '""') + '"'


def placeholder(role: str) -> str:
    """The quoted identifier standing for input ``role`` in compiled SQL."""
    return '"' + PLACEHOLDER.format(role=role) + '"'


def compiled(
    signature: Mapping[str, object],
    descriptions: Mapping[str, Description],
    build: Callable[[], dict[str, str]],
) -> dict[str, str]:
    """The compiled SQL texts (name -> SQL over placeholders) for ``signature`` and the
    inputs' ``descriptions``, from the cache when possible; ``build()`` compiles them."""
    key = _key(signature, descriptions)
    texts = _MEMORY.get(key)
    if texts is None:
        texts = _read(key)
    if texts is None:
        texts = build()
        _write(key, texts)
    _MEMORY[key] = texts
    return texts


def clear() -> None:
    """Forget the compiled SQL held in this process (the disk cache stays)."""
    _MEMORY.clear()


# -------------------------------------------------------------------------------------------
# the key and the disk copy
# -------------------------------------------------------------------------------------------
def _key(signature: Mapping[str, object], descriptions: Mapping[str, Description]) -> str:
    """sha256 of the options, the input schemas (names, DuckDB types, nullability) and
    :func:`_code_version`."""
    payload = {
        "signature": {k: repr(v) for k, v in sorted(signature.items())},
        "schemas": {role: [list(c) for c in d] for role, d in sorted(descriptions.items())},
        "code": _code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


_CODE_VERSION: list[str] = []

#: installations whose change may change the compiled text
_TOOLS = ("ibis", "sqlglot", "duckdb")


def _code_version() -> str:
    """What the compiled text depends on besides the key: the panel package's source and the
    installed Ibis, sqlglot and DuckDB (their package files' location, size and time, found
    without importing them: a changed file or upgrade never reuses old SQL)."""
    if not _CODE_VERSION:
        digest = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.read_bytes())
        for name in _TOOLS:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None and spec.origin else name
            try:
                stat = os.stat(origin)
                digest.update(f"{origin} {stat.st_size} {stat.st_mtime_ns}".encode())
            except OSError:
                digest.update(origin.encode())
        _CODE_VERSION.append(digest.hexdigest())
    return _CODE_VERSION[0]


def _disk_path(key: str) -> Path | None:
    if os.environ.get(DISK_ENV, "").strip().lower() in {"off", "0", "false", "no"}:
        return None
    return cache_dir() / "panel-sql" / f"{key}.json"


def _read(key: str) -> dict[str, str] | None:
    path = _disk_path(key)
    if path is None or not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict) or not all(isinstance(v, str) for v in stored.values()):
            return None
        return stored
    except (OSError, ValueError):
        return None  # a damaged entry is recompiled (and rewritten)


def _write(key: str, texts: Mapping[str, str]) -> None:
    path = _disk_path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(dict(texts)))
    except OSError:
        pass  # a read-only cache only costs the compile next time


def describe_columns(rows: Sequence[tuple]) -> Description:
    """DuckDB ``DESCRIBE`` rows -> :data:`Description`."""
    return tuple((str(r[0]), str(r[1]), str(r[2]).upper() != "NO") for r in rows)
