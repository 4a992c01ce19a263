"""Row rules and parsing helpers shared by every CBP reader (flat files, API extracts, setzler).

Owns the USCM suppression table (:data:`EMPFLAG_MIDPOINTS`), the CBP noise flags, the store
tables and keys the loaders write, the bounds on CBP-family files (:data:`LIMITS`), the
comma-separated reader that names the line of a structural problem (:func:`_csv_parts`), the
count parser (:func:`_numbers`), the NAICS vintage of a CBP year and the duplicate-key check.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clusteratlas.data import guard
from clusteratlas.data.clusters import census_naics_vintage
from clusteratlas.errors import InputError

#: USCM employment used for a suppressed cell, by EMPFLAG size class (naics_reducer.js).
EMPFLAG_MIDPOINTS = {
    "A": 10,
    "B": 60,
    "C": 175,
    "E": 375,
    "F": 750,
    "G": 1750,
    "H": 3750,
    "I": 7500,
    "J": 17500,
    "K": 37500,
    "L": 75000,
    "M": 100000,
}
#: CBP noise flags (2007 on); the last three mean no value was published.
NOISE_FLAGS = {
    "G": "low noise (<2%)",
    "H": "moderate noise (2-5%)",
    "J": "high noise (>=5%)",
    "D": "withheld to avoid disclosing data of individual companies",
    "S": "withheld: does not meet publication standards",
    "N": "not available or not comparable",
}
WITHHELD_FLAGS = frozenset("DSN")

#: Store tables the loaders write.
COUNTS_TABLE = "industry_counts"
TOTALS_TABLE = "region_totals"
COUNTS_KEY = ["source", "year", "region_type", "region_id", "naics"]
COUNTS_REPLACE = ["source", "year", "region_type", "region_id"]

FIRST_YEAR, LAST_YEAR = 1998, 2022


@dataclass
class CbpFile:
    """A parsed CBP file: 6-digit industry rows, region totals, and what was dropped why."""

    counts: pd.DataFrame
    totals: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Rows kept and dropped, by reason."""
        rows = {"industry rows kept": len(self.counts), "total rows kept": len(self.totals)}
        rows.update({f"dropped: {k}": v for k, v in self.dropped.items()})
        return pd.DataFrame({"rows": rows}).rename_axis("what")


# -- file access ------------------------------------------------------------------------------
#: Rows parsed at a time when a CBP flat file streams: a part takes about 100 MB in pandas,
#: whatever the size of the file.
CHUNK_ROWS = 200_000
#: Bounds on the CBP-family files (flat files, API extracts, setzler files, clustermapping.us
#: downloads): their lines are 50-2,000 bytes and their headers have at most a few hundred
#: columns. Readers that hold a file whole accept 2 GiB of text (about 4 GiB in pandas);
#: flat files stream and have no size bound.
LIMITS = guard.Limits(
    max_bytes=2 * guard.GiB, max_line_bytes=64 * guard.KiB, max_columns=1000, same_fields=True
)
_STREAM_LIMITS = LIMITS.but(max_bytes=None)


def _column_name(name: object) -> str:
    """A header name as the readers look it up: lower case, no quotes, spaces or UTF-8
    byte-order mark (which a latin-1 read sees as three letters on the first name)."""
    return str(name).removeprefix("\xef\xbb\xbf").removeprefix("\ufeff").strip().strip('"').lower()


def _csv_parts(
    path: Path,
    columns: frozenset[str] | None = None,
    *,
    chunk_rows: int | None = None,
    limits: guard.Limits = LIMITS,
    what: str = "CBP file",
) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
    """Comma-separated file -> frames of strings with their file line numbers, structural
    problems naming the line; the whole file at once, or ``chunk_rows`` rows at a time.

    Reads plain, ``.gz`` or ``.zip`` (first .txt/.csv member) files, latin-1, under
    ``limits`` (:mod:`clusteratlas.data.guard`). ``columns`` (lower-case names) restricts
    parsing to the columns a reader uses: CBP files carry a dozen size-class columns nobody
    here needs, and skipping them halves the time. Every line must have the header's number
    of fields (:data:`LIMITS` ``same_fields``: ``usecols`` would drop extra fields silently).
    """
    header = guard.first_line(path, what=what, limits=limits)
    if not header.strip():
        raise InputError("the file is empty", path=str(path))
    if "," not in header:
        found = next((d for d in ("\t", ";", "|") if d in header), None)
        raise InputError(
            "header line has no commas" + (f" (it is separated by {found!r})" if found else ""),
            path=str(path),
            line=1,
            hint=f"a comma-separated {what} is expected; re-export the file as CSV",
        )
    next_line = 2
    with guard.open_bytes(path, what=what, limits=limits) as stream:
        parts = guard.csv_chunks(
            stream,
            chunksize=chunk_rows,
            hint="a line has more fields than the header",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_MINIMAL,
            encoding="latin-1",
            usecols=(lambda name: _column_name(name) in columns) if columns else None,
        )
        for frame in parts:
            frame.columns = [_column_name(c) for c in frame.columns]
            lines = pd.Series(np.arange(next_line, next_line + len(frame)), index=frame.index)
            last = frame.columns[-1]
            short = frame[last].isna()
            if short.any():
                line = int(lines[short].iloc[0])
                raise InputError(
                    f"line has fewer fields than the header (the file looks truncated at line {line})",
                    path=str(path),
                    line=line,
                    column=last,
                    hint="download the file again",
                )
            next_line += len(frame)
            yield frame, lines
        # a file cut mid-line still parses; a missing final newline with a short last field
        # is the usual sign of an interrupted download
        if next_line > 2 and stream.tail and stream.tail.count(b",") < header.count(","):
            raise InputError(
                "the last line is incomplete (file truncated)",
                path=str(path),
                line=next_line - 1,
                hint="download the file again",
            )


def _parse_csv(
    path: Path, columns: frozenset[str] | None = None, *, what: str = "CBP file"
) -> pd.DataFrame:
    """The whole file as a frame of strings (see :func:`_csv_parts`)."""
    ((frame, _lines),) = list(_csv_parts(path, columns, what=what))
    return frame


def _column(frame: pd.DataFrame, names: tuple[str, ...], *, path: Path, required: bool = True):
    for name in names:
        if name in frame.columns:
            return name
    if required:
        raise InputError(
            f"missing column {names[0]!r}",
            path=str(path),
            line=1,
            column=names[0],
            hint=f"the header has {', '.join(frame.columns)}",
        )
    return None


def _numbers(frame: pd.DataFrame, column: str, *, path: Path, lines: pd.Series) -> pd.Series:
    """Parse a count column; blanks and CBP's 'N' (not available) are missing; negatives and
    infinities fail."""
    text = frame[column].str.strip()
    missing = text.isin(["", "N", "D", "S", "NA"])
    try:  # fast path: Arrow's cast (10x pandas' to_numeric on string columns)
        cast = pc.cast(pa.array(text.where(~missing), type=pa.string()), pa.float64())
        values = pd.Series(cast.to_numpy(zero_copy_only=False), index=frame.index)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        raise InputError(
            f"not a number: {frame.loc[bad, column].iloc[0]!r}",
            path=str(path),
            line=int(lines[bad].iloc[0]),
            column=column,
        )
    infinite = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():  # "inf", "Infinity", 1e400 (beyond a float64) all cast to infinity
        raise InputError(
            f"not a finite number: {frame.loc[infinite, column].iloc[0]!r}",
            path=str(path),
            line=int(lines[infinite].iloc[0]),
            column=column,
            hint="counts are finite; the file is corrupt or not a CBP file",
        )
    negative = values < 0
    if negative.any():
        raise InputError(
            f"negative count {values[negative].iloc[0]:g}",
            path=str(path),
            line=int(lines[negative].iloc[0]),
            column=column,
            hint="counts cannot be negative; the file is corrupt or not a CBP file",
        )
    return values


def _vintage(year: int, path: Path) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(
            f"unknown NAICS vintage for CBP year {year}",
            path=str(path),
            hint=f"CBP flat files {FIRST_YEAR}-{LAST_YEAR} are supported (NAICS 1997-2017); "
            "earlier years are SIC-coded, later ones NAICS 2022",
        )
    return census_naics_vintage(year)


def _check_unique(frame: pd.DataFrame, path: Path) -> None:
    """Duplicate (year, region, naics) rows: the error names the second occurrence's line."""
    dup = frame.duplicated(["year", "region_type", "region_id", "naics"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise InputError(
            f"duplicate row for region {row['region_id']}, NAICS {row['naics']}, year {row['year']}",
            path=str(path),
            line=int(frame.index[dup.to_numpy()][0]),
            hint="each region x industry may appear once (did two files get concatenated?)",
        )
