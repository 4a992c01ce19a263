"""The embedded store: one DuckDB file holding every canonical table (see :mod:`clusteratlas.schema`).

Writes are atomic (one transaction each: a failed load leaves the store as it was) and file
loads are idempotent (a file whose content hash was already loaded into a table is skipped).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from clusteratlas.errors import InputError, StoreBusyError
from clusteratlas.paths import default_store_path

_LOADS_TABLE = "_loads"
#: the ``replace`` key values (joined as text) each recorded load wrote, so a later load
#: replacing any of them un-records it (see :meth:`Store._forget_replaced_loads`)
_LOAD_KEYS_TABLE = "_load_keys"


def file_sha256(path: str | Path) -> str:
    """Content hash of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Store:
    """A clusteratlas store in one DuckDB file (``":memory:"`` for a throwaway one).

    >>> store = Store(":memory:")
    >>> store.write("outcomes", frame)          # replaces the table atomically
    >>> store.append("industry_counts", frame, key=["year", "region_id", "naics"])
    >>> store.read("cluster_panel", where="year = 2016")
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = str(path) if path is not None else str(default_store_path())
        #: files and folders this Store created: removed again if the first work on a new
        #: store fails before any table is in it (no empty store file left behind)
        self._created: list[Path] = []
        if self.path != ":memory:":
            target = Path(self.path)
            missing = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                self._created = [target, Path(f"{target}.wal"), *missing]
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as error:
            raise _lock_error(self.path, error) from None
        self._depth = 0

    # -- life cycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        empty = kind is not None and bool(self._created) and not self._any_table()
        self.close()
        if empty:
            self._remove_created()

    def _any_table(self) -> bool:
        try:
            return bool(self.tables())
        except duckdb.Error:
            return True  # cannot tell: keep the file

    def _remove_created(self) -> None:
        for path in self._created:
            with contextlib.suppress(OSError):  # a folder something else wrote into stays
                path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Everything inside commits together or not at all.

        Nested calls join the outermost transaction, so several writes (for example a file's
        counts and its totals) can be made atomic together.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.con
            finally:
                self._depth -= 1
            return
        self.con.begin()
        self._depth = 1
        try:
            yield self.con
        except BaseException:
            self.con.rollback()
            raise
        else:
            self.con.commit()
        finally:
            self._depth = 0

    # -- reading ----------------------------------------------------------------------------
    def tables(self) -> list[str]:
        """The user-visible tables: not "_"-prefixed internals, nor Ibis's temporary
        ``ibis_*`` views/tables (memtables registered when ``store.ibis()`` runs a query)."""
        rows = self.con.execute(
            "select table_catalog, table_name from information_schema.tables "
            "where table_schema = 'main' order by table_name"
        ).fetchall()
        return [
            name
            for catalog, name in rows
            if not name.startswith("_") and not (catalog == "temp" and name.startswith("ibis_"))
        ]

    def has(self, name: str) -> bool:
        return name in self.tables()

    def read(
        self, name: str, where: str | None = None, params: Sequence[object] | None = None
    ) -> pd.DataFrame:
        """A whole table (or the rows matching the SQL ``where`` clause) as pandas.

        Values go in ``params``, bound to the ``?`` placeholders of ``where``, never into the
        clause's text: ``store.read("cluster_panel", "region_type = ? and year = ?",
        ["state", 2016])``. ``name`` must be one of :meth:`tables` (it is quoted, not bound).
        """
        if not self.has(name):
            raise InputError(
                f"the store {self.path} has no table {name!r}",
                hint=f"it has {', '.join(self.tables()) or 'no tables'}; load or build it first",
            )
        query = f"select * from {quote_identifier(name)}" + (f" where {where}" if where else "")
        return self.con.execute(query, list(params or [])).df()

    def sql(self, query: str, params: Sequence[object] | None = None) -> pd.DataFrame:
        """Run ``query`` with ``params`` bound to its ``?`` placeholders; the result as pandas."""
        return self.con.execute(query, list(params or [])).df()

    def ibis(self):
        """An Ibis backend over this store's connection (for :mod:`clusteratlas.panel`)."""
        import ibis

        return ibis.duckdb.from_connection(self.con)

    # -- writing ----------------------------------------------------------------------------
    def write(self, name: str, frame: pd.DataFrame) -> None:
        """Replace table ``name`` with ``frame`` atomically."""
        with self.transaction() as con:
            con.register("_incoming", frame)
            try:
                con.execute(f"create or replace table {_q(name)} as select * from _incoming")
            finally:
                con.unregister("_incoming")

    def append(
        self,
        name: str,
        frame: pd.DataFrame | str,
        *,
        key: Sequence[str],
        replace: Sequence[str] = (),
        source_file: str | Path | None = None,
    ) -> int:
        """Add ``frame`` to table ``name`` in one transaction and return the rows added.

        ``frame`` is a pandas frame, or the name of a staging table filled by :meth:`stage`
        (for loads larger than memory). ``key`` columns must be unique in the result:
        duplicates inside ``frame`` are an error naming the first one. Existing rows that
        match ``frame`` on all ``replace`` columns (e.g. ``("source", "year",
        "region_type")``) are deleted first, so reloading a newer copy of a file replaces the
        old one. With ``source_file``, a file whose content hash was already loaded into
        ``name`` is skipped (returns 0) - unless a later load replaced some of its rows (A,
        then a corrected B, then A again loads A).
        """
        staged = isinstance(frame, str)
        self._check_duplicates(name, frame, key, source_file)
        digest = file_sha256(source_file) if source_file else None
        with self.transaction() as con:
            self._create_loads_table()
            if digest and self._was_loaded(name, digest):
                return 0
            if staged:
                con.execute(f"create or replace temp view _incoming as select * from {_q(frame)}")
                rows = con.execute("select count(*) from _incoming").fetchall()[0][0]
            else:
                con.register("_incoming", frame)
                rows = len(frame)
            try:
                exists = con.execute(
                    "select count(*) from information_schema.tables where table_name = ?", [name]
                ).fetchall()[0][0]
                if not exists:
                    con.execute(f"create table {_q(name)} as select * from _incoming limit 0")
                if replace:
                    self._forget_replaced_loads(name, replace)
                    match = " and ".join(
                        f"t.{_q(c)} is not distinct from i.{_q(c)}" for c in replace
                    )
                    con.execute(
                        f"delete from {_q(name)} t where exists "
                        f"(select 1 from (select distinct {', '.join(map(_q, replace))} "
                        f"from _incoming) i where {match})"
                    )
                on = " and ".join(f"t.{_q(c)} is not distinct from i.{_q(c)}" for c in key)
                clash = con.execute(
                    f"select {', '.join('i.' + _q(c) for c in key)} from _incoming i "
                    f"join {_q(name)} t on {on} limit 1"
                ).fetchall()
                if clash:
                    clash = clash[0]
                    raise InputError(
                        f"rows with key {dict(zip(key, clash, strict=True))} are already in table {name!r}",
                        path=str(source_file) if source_file else None,
                        hint="pass replace=... to overwrite an earlier load of the same data",
                    )
                con.execute(f"insert into {_q(name)} by name select * from _incoming")
            finally:
                if staged:
                    con.execute("drop view if exists _incoming")
                else:
                    con.unregister("_incoming")
            if digest:
                con.execute(
                    f'insert into "{_LOADS_TABLE}" (table_name, sha256, path, rows) '
                    "values (?, ?, ?, ?)",
                    [name, digest, str(source_file), rows],
                )
                if replace:
                    con.execute(
                        f'insert into "{_LOAD_KEYS_TABLE}" select distinct ?, ?, '
                        f"{_key_text(replace)} from _incoming_replaced",
                        [name, digest],
                    )
            con.execute("drop table if exists _incoming_replaced")
        return rows

    def _check_duplicates(
        self,
        name: str,
        frame: pd.DataFrame | str,
        key: Sequence[str],
        source_file: str | Path | None,
    ) -> None:
        """Duplicate ``key`` rows in the incoming data: an error naming the first (and, for a
        frame read from a file, its line)."""
        if isinstance(frame, str):
            columns = ", ".join(map(_q, key))
            first = self.con.execute(
                f"select {columns} from {_q(frame)} group by {columns} having count(*) > 1 limit 1"
            ).fetchall()
            line = None
            first = dict(zip(key, first[0], strict=True)) if first else None
        else:
            duplicated = frame.duplicated(list(key), keep=False)
            first = frame.loc[duplicated, list(key)].iloc[0].to_dict() if duplicated.any() else None
            line = int(duplicated.to_numpy().nonzero()[0][0]) + 2 if first and source_file else None
        if first:
            raise InputError(
                f"duplicate key {first} in data for table {name!r}",
                path=str(source_file) if source_file else None,
                line=line,
                hint="each key must appear once; remove the repeated rows",
            )

    def _create_loads_table(self) -> None:
        self.con.execute(
            f'create table if not exists "{_LOADS_TABLE}" '
            "(table_name varchar, sha256 varchar, path varchar, rows bigint, "
            "loaded_at timestamp default current_timestamp)"
        )
        self.con.execute(
            f'create table if not exists "{_LOAD_KEYS_TABLE}" '
            "(table_name varchar, sha256 varchar, key varchar)"
        )

    def _was_loaded(self, name: str, digest: str) -> bool:
        """Whether a load of content ``digest`` into ``name`` is still what the store holds:
        recorded, not replaced since by another load, and the table still there."""
        return self.has(name) and bool(
            self.con.execute(
                f'select 1 from "{_LOADS_TABLE}" where table_name = ? and sha256 = ?',
                [name, digest],
            ).fetchall()
        )

    def _forget_replaced_loads(self, name: str, replace: Sequence[str]) -> None:
        """Before rows of ``name`` matching ``_incoming`` on ``replace`` are deleted: the
        earlier loads that wrote any of them are no longer (wholly) in the store, so loading
        one of those files again must not be skipped as "already loaded". Loads recorded
        without their keys (stores written before keys were kept) are forgotten too: a
        reload replaces the same rows, so forgetting is safe where remembering is not."""
        con = self.con
        con.execute(
            "create or replace temp table _incoming_replaced as "
            f"select distinct {', '.join(map(_q, replace))} from _incoming"
        )
        stale = (
            f'select k.sha256 from "{_LOAD_KEYS_TABLE}" k where k.table_name = $1 and k.key in '
            f"(select {_key_text(replace)} from _incoming_replaced) "
            f'union select l.sha256 from "{_LOADS_TABLE}" l where l.table_name = $1 and '
            f'l.sha256 not in (select sha256 from "{_LOAD_KEYS_TABLE}" where table_name = $1)'
        )
        con.execute(f"create or replace temp table _stale_loads as {stale}", [name])
        for table in (_LOADS_TABLE, _LOAD_KEYS_TABLE):
            con.execute(
                f'delete from "{table}" where table_name = ? and sha256 in '
                "(select sha256 from _stale_loads)",
                [name],
            )
        con.execute("drop table _stale_loads")

    def loaded(self, name: str, source_file: str | Path) -> bool:
        """Whether ``source_file`` (by content hash) was already loaded into table ``name``."""
        with self.transaction():
            self._create_loads_table()
            return self._was_loaded(name, file_sha256(source_file))

    # -- staging: loads larger than memory ----------------------------------------------------
    def stage(self, staging: str, frame: pd.DataFrame) -> None:
        """Add ``frame`` to the staging table ``staging`` (created on first use), committed
        at once, outside any transaction; :meth:`append` then moves it into its table in one.

        Why: DuckDB keeps every frame a transaction read alive until it commits, so a file
        appended part by part inside one transaction would hold all of its parts in memory.
        Name staging tables with a leading ``_`` (hidden from :meth:`tables`) and
        :meth:`drop` them afterwards.
        """
        if self._depth:
            raise RuntimeError("stage() commits at once: call it outside a transaction")
        self.con.register("_staging_part", frame)
        try:
            self.con.execute(
                f"create table if not exists {_q(staging)} as select * from _staging_part limit 0"
            )
            self.con.execute(f"insert into {_q(staging)} by name select * from _staging_part")
        finally:
            self.con.unregister("_staging_part")

    def drop(self, name: str) -> None:
        """Drop table ``name`` if it exists."""
        self.con.execute(f"drop table if exists {_q(name)}")


def _lock_error(path: str, error: duckdb.IOException) -> Exception:
    """DuckDB's "could not set lock" as an error naming the process that holds the store."""
    found = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(error))
    if not found:
        return error
    program, pid = found.group(1), int(found.group(2))
    try:  # the holder's command line says which clusteratlas command it is
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        command = program
    return StoreBusyError(
        f"the store {path} is in use by process {pid} ({command or program}); DuckDB allows one "
        "writer at a time: wait for it to finish or stop it (e.g. the dashboard: `serve`), "
        "or use another --store"
    )


def _key_text(columns: Sequence[str]) -> str:
    """SQL for the values of ``columns`` as one text (NULL kept apart from any value)."""
    parts = ", ".join(f"coalesce(cast({_q(c)} as varchar), chr(0))" for c in columns)
    return f"concat_ws(chr(31), {parts})"


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier: in double quotes, inner double quotes doubled, so a
    table or column name can never end the identifier and start SQL of its own."""
    return '"' + str(name).replace('"', '""') + '"'


_q = quote_identifier
