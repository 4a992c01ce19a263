"""CBP rows into the store: ``industry_counts`` and ``region_totals`` in one transaction.

Owns the idempotent append of parsed frames and the streaming load of a flat file through
staging tables, so files larger than memory load all or nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.data.cbp.flatfile import iter_cbp_flatfile
from clusteratlas.data.cbp.rules import (
    CHUNK_ROWS,
    COUNTS_KEY,
    COUNTS_REPLACE,
    COUNTS_TABLE,
    TOTALS_TABLE,
)


def load_into_store(store, frame: pd.DataFrame, *, source_file: str | Path | None = None) -> int:
    """Append counts (or totals, ``naics == "total"``) to the store, atomically and idempotently.

    Industry rows go to ``industry_counts`` and totals to ``region_totals``, both in one
    transaction; a file already loaded (same content hash) is skipped, and reloading a
    region-year of the same source replaces it. Returns the rows added.
    """
    totals = frame["naics"] == "total"
    added = 0
    with store.transaction():
        for table, part in ((COUNTS_TABLE, frame[~totals]), (TOTALS_TABLE, frame[totals])):
            if len(part):
                added += store.append(
                    table,
                    part.reset_index(drop=True),
                    key=COUNTS_KEY,
                    replace=COUNTS_REPLACE,
                    source_file=source_file,
                )
    return added


def load_cbp_flatfile(
    store,
    path: str | Path,
    *,
    year: int | None = None,
    geo: str | None = None,
    source: str = "cbp",
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Stream a CBP flat file into the store, ``chunk_rows`` lines at a time; returns rows added.

    Same result as ``load_into_store(store, counts + totals of parse_cbp_flatfile(path),
    source_file=path)`` - a file already loaded (same content hash) is skipped, a region-year
    already in the store is replaced, all or nothing - but memory holds one part of the file,
    never all of it, so files larger than memory load. The parts go to staging tables
    (committed as they come, see :meth:`clusteratlas.store.Store.stage`), which then move into
    ``industry_counts`` and ``region_totals`` in one transaction; a row repeated across parts
    is caught there, by key. The staging commits, so call it outside ``store.transaction()``.
    """
    path = guard.check_file(path, what="CBP file")  # before hashing: a FIFO would block
    if store.loaded(COUNTS_TABLE, path) or store.loaded(TOTALS_TABLE, path):
        return 0  # both tables are written in one transaction: either one means loaded
    staging = {table: f"_staging_{table}" for table in (COUNTS_TABLE, TOTALS_TABLE)}
    staged: list[str] = []
    for name in staging.values():
        store.drop(name)  # left over by a load that was killed
    try:
        parts = iter_cbp_flatfile(path, year=year, geo=geo, source=source, chunk_rows=chunk_rows)
        for part in parts:
            for table, rows in ((COUNTS_TABLE, part.counts), (TOTALS_TABLE, part.totals)):
                if len(rows):
                    store.stage(staging[table], rows.reset_index(drop=True))
                    if table not in staged:
                        staged.append(table)
        added = 0
        with store.transaction():
            for table in staged:
                added += store.append(
                    table, staging[table], key=COUNTS_KEY, replace=COUNTS_REPLACE, source_file=path
                )
        return added
    finally:
        for name in staging.values():
            store.drop(name)
