"""County Business Patterns (US Census Bureau) readers -> :data:`schema.INDUSTRY_COUNTS`.

Owns the CBP flat files of every NAICS vintage 1998-2022 (``cbpYYus.txt``, ``cbpYYst.txt``,
``cbpYYco.txt``, ``cbpYYmsa.txt``, plain, zipped or gzipped), CBP API extracts saved as CSV,
and the processed CBP files of setzler/EconData. Row rules follow the US Cluster Mapping
code (``naics_mapper.js`` / ``naics_reducer.js``):

* only ``lfo == '-'`` (all legal forms) rows, where the file has an ``lfo`` column;
* NAICS codes containing ``-`` or ``/`` are aggregates and dropped; ``------`` is the region
  total and goes to the totals frame;
* statewide ``999`` pseudo-counties are dropped;
* pre-2018 suppressed cells (``EMPFLAG`` A..M) get the midpoint of their size class as
  ``emp`` (table :data:`EMPFLAG_MIDPOINTS`), ``emp_reported = 0`` and payroll 0, so wages use
  published employment only;
* 2017 on, cells carry noise flags (``EMP_NF``: G low, H moderate, J high noise; D withheld,
  S not meeting publication standards, N not available). D/S/N cells have no published value:
  ``emp`` keeps what the file says (0) and ``emp_reported = 0``; no size class exists to impute.

``emp_flag`` holds the EMPFLAG letter on suppressed rows, else the noise flag, else empty.
Payroll is in $1,000 as published; setzler's dollar payrolls are divided by 1,000.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clusteratlas.data import guard
from clusteratlas.data.clusters import census_naics_vintage
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import INDUSTRY_COUNTS, conform

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
_GEO_CODES = {"us": "nation", "st": "state", "co": "county", "msa": "msa"}
#: every column name any CBP flat-file vintage uses for the fields we read
_FLATFILE_COLUMNS = frozenset(
    [
        "fipstate",
        "fipscty",
        "msa",
        "cbsa",
        "naics",
        "lfo",
        "empflag",
        "emp_nf",
        "emp_f",
        "emp_n",
        "emp",
        "qp1",
        "ap",
        "est",
        "estab",
        "payann",
        "payqtr1",
    ]
)
_FILE_NAME = re.compile(r"cbp(\d{2})(us|st|co|msa)", re.IGNORECASE)


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
LIMITS = guard.Limits(max_bytes=2 * guard.GiB, max_line_bytes=64 * guard.KiB, max_columns=1000)
_STREAM_LIMITS = LIMITS.but(max_bytes=None)


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
    here needs, and skipping them halves the time.
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
            usecols=(lambda name: name.strip().strip('"').lower() in columns) if columns else None,
        )
        for frame in parts:
            frame.columns = [str(c).strip().strip('"').lower() for c in frame.columns]
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
    """Parse a count column; blanks and CBP's 'N' (not available) are missing, negatives fail."""
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


def _year_and_geo(path: Path, year: int | None, geo: str | None) -> tuple[int, str | None]:
    match = _FILE_NAME.search(path.name)
    if year is None and match:
        yy = int(match.group(1))
        year = 1900 + yy if yy >= 86 else 2000 + yy
    if geo is None and match:
        geo = _GEO_CODES[match.group(2).lower()]
    if year is None:
        raise ParameterError(
            "year", f"cannot tell the reference year of {path.name}", allowed="pass year=YYYY"
        )
    return int(year), geo


def _vintage(year: int, path: Path) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(
            f"unknown NAICS vintage for CBP year {year}",
            path=str(path),
            hint=f"CBP flat files {FIRST_YEAR}-{LAST_YEAR} are supported (NAICS 1997-2017); "
            "earlier years are SIC-coded, later ones NAICS 2022",
        )
    return census_naics_vintage(year)


# -- CBP flat files ---------------------------------------------------------------------------
def parse_cbp_flatfile(
    path: str | Path, *, year: int | None = None, geo: str | None = None, source: str = "cbp"
) -> CbpFile:
    """Parse one CBP flat file into industry counts, totals and drop counts.

    ``year`` and ``geo`` ("nation", "state", "county", "msa") come from the file name
    (``cbp16co.txt``) when not given; ``geo`` falls back on the columns present. The file is
    parsed :data:`CHUNK_ROWS` lines at a time, so memory holds the result and one part of the
    text; :func:`load_cbp_flatfile` streams a file into the store without holding the result.
    """
    parts = list(iter_cbp_flatfile(path, year=year, geo=geo, source=source))
    counts = pd.concat([p.counts for p in parts])
    totals = pd.concat([p.totals for p in parts])
    if len(parts) > 1:  # each part was checked alone
        _check_unique(pd.concat([counts, totals]), Path(path))
    dropped: dict[str, int] = {}
    for part in parts:
        for reason, n in part.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
    return CbpFile(
        counts=counts.reset_index(drop=True), totals=totals.reset_index(drop=True), dropped=dropped
    )


def iter_cbp_flatfile(
    path: str | Path,
    *,
    year: int | None = None,
    geo: str | None = None,
    source: str = "cbp",
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[CbpFile]:
    """A CBP flat file parsed ``chunk_rows`` lines at a time, as one :class:`CbpFile` per part.

    The parts' frames are indexed by the file line of each row; ``year``, ``geo`` and
    ``source`` as in :func:`parse_cbp_flatfile`. Each part is checked alone (a row repeated
    across parts is caught by whoever joins them).
    """
    path = Path(path)
    year, geo = _year_and_geo(path, year, geo)
    vintage = _vintage(year, path)
    parts = _csv_parts(path, _FLATFILE_COLUMNS, chunk_rows=chunk_rows, limits=_STREAM_LIMITS)
    for frame, lines in parts:
        if geo is None:
            geo = (
                "county"
                if "fipscty" in frame.columns
                else "msa"
                if "msa" in frame.columns
                else "state"
                if "fipstate" in frame.columns
                else "nation"
            )
        if geo not in _GEO_CODES.values():
            raise ParameterError(
                "geo", f"{geo!r} is not a CBP geography", allowed="nation, state, county, msa"
            )
        yield _flatfile_part(
            frame, lines, path=path, year=year, geo=geo, vintage=vintage, source=source
        )


def _flatfile_part(
    frame: pd.DataFrame, lines: pd.Series, *, path: Path, year: int, geo: str, vintage: int,
    source: str,
) -> CbpFile:  # fmt: skip
    """USCM row rules on one part of a flat file; frames indexed by file line."""
    naics_col = _column(frame, ("naics",), path=path)
    emp_col = _column(frame, ("emp",), path=path)
    est_col = _column(frame, ("est", "estab"), path=path)
    ap_col = _column(frame, ("ap", "payann"), path=path)
    qp1_col = _column(frame, ("qp1", "payqtr1"), path=path)
    dropped: dict[str, int] = {}

    lfo_col = _column(frame, ("lfo",), path=path, required=False)
    if lfo_col:
        keep = frame[lfo_col].str.strip() == "-"
        dropped["legal form of organization other than '-' (all)"] = int((~keep).sum())
        frame, lines = frame[keep], lines[keep]

    if geo == "nation":
        region = pd.Series("US", index=frame.index)
    elif geo == "state":
        region = frame[_column(frame, ("fipstate",), path=path)].str.strip().str.zfill(2)
    elif geo == "county":
        state = frame[_column(frame, ("fipstate",), path=path)].str.strip().str.zfill(2)
        county = frame[_column(frame, ("fipscty",), path=path)].str.strip().str.zfill(3)
        statewide = county == "999"
        dropped["statewide 999 pseudo-county"] = int(statewide.sum())
        frame, lines = frame[~statewide], lines[~statewide]
        region = (state + county)[~statewide]
    else:
        region = frame[_column(frame, ("msa", "cbsa"), path=path)].str.strip()

    naics = frame[naics_col].str.strip()
    is_total = naics == "------"
    aggregate = ~is_total & naics.str.contains(r"[-/]", regex=True)
    dropped["NAICS aggregate (code with '-' or '/')"] = int(aggregate.sum())
    not_six = ~is_total & ~aggregate & ~naics.str.fullmatch(r"\d{6}")
    if not_six.any():
        raise InputError(
            f"NAICS code {naics[not_six].iloc[0]!r} is neither 6 digits nor a CBP aggregate",
            path=str(path),
            line=int(lines[not_six].iloc[0]),
            column=naics_col,
            hint="is this a SIC-coded (pre-1998) file?",
        )
    keep = ~aggregate
    frame, lines, region, naics = frame[keep], lines[keep], region[keep], naics[keep]

    emp = _numbers(frame, emp_col, path=path, lines=lines)
    est = _numbers(frame, est_col, path=path, lines=lines)
    ap = _numbers(frame, ap_col, path=path, lines=lines)
    qp1 = _numbers(frame, qp1_col, path=path, lines=lines)

    size_col = _column(frame, ("empflag",), path=path, required=False)
    noise_col = _column(frame, ("emp_nf", "emp_f", "emp_n"), path=path, required=False)
    size_flag = (
        frame[size_col].str.strip().str.upper() if size_col else pd.Series("", index=frame.index)
    )
    noise = (
        frame[noise_col].str.strip().str.upper() if noise_col else pd.Series("", index=frame.index)
    )
    unknown = (size_flag != "") & ~size_flag.isin(list(EMPFLAG_MIDPOINTS))
    if unknown.any():
        raise InputError(
            f"unknown EMPFLAG {size_flag[unknown].iloc[0]!r}",
            path=str(path),
            line=int(lines[unknown].iloc[0]),
            column=size_col,
            hint=f"known size classes: {', '.join(EMPFLAG_MIDPOINTS)}",
        )
    unknown = (noise != "") & ~noise.isin(list(NOISE_FLAGS))
    if unknown.any():
        raise InputError(
            f"unknown noise flag {noise[unknown].iloc[0]!r}",
            path=str(path),
            line=int(lines[unknown].iloc[0]),
            column=noise_col,
            hint=f"known flags: {', '.join(NOISE_FLAGS)}",
        )
    suppressed = size_flag != ""
    withheld = ~suppressed & noise.isin(WITHHELD_FLAGS)
    missing_emp = emp.isna() & ~suppressed
    if missing_emp.any():
        # 'N'/blank employment with no size class: the value is unknown; keep 0 but flag it
        noise = noise.where(~missing_emp | (noise != ""), "N")
        withheld = withheld | missing_emp
    emp_filled = emp.fillna(0.0).where(~suppressed, size_flag.map(EMPFLAG_MIDPOINTS).astype(float))
    emp_reported = emp.fillna(0.0).where(~(suppressed | withheld), 0.0)
    ap = ap.fillna(0.0).where(~suppressed, 0.0)
    qp1 = qp1.fillna(0.0).where(~suppressed, 0.0)
    missing_est = est.isna()
    if missing_est.any():
        raise InputError(
            "establishment count is missing",
            path=str(path),
            line=int(lines[missing_est].iloc[0]),
            column=est_col,
        )
    out = pd.DataFrame(
        {
            "source": source,
            "year": year,
            "region_type": geo,
            "region_id": region,
            "naics": naics.where(~is_total, "total"),
            "naics_vintage": vintage,
            "emp": emp_filled,
            "emp_reported": emp_reported,
            "emp_flag": size_flag.where(suppressed, noise),
            "est": est,
            "ap": ap,
            "qp1": qp1,
        }
    )
    out = conform(out, INDUSTRY_COUNTS, what=f"CBP file {path}")
    out.index = lines.to_numpy()
    _check_unique(out, path)
    is_total_row = out["naics"] == "total"
    return CbpFile(counts=out[~is_total_row], totals=out[is_total_row], dropped=dropped)


def read_cbp_flatfile(
    path: str | Path, *, year: int | None = None, geo: str | None = None, source: str = "cbp"
) -> pd.DataFrame:
    """6-digit industry rows of a CBP flat file as :data:`schema.INDUSTRY_COUNTS`.

    See :func:`parse_cbp_flatfile` for the totals (``naics == "total"``) and drop counts.
    """
    return parse_cbp_flatfile(path, year=year, geo=geo, source=source).counts


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


# -- CBP API extracts -------------------------------------------------------------------------
_API_COLUMNS = {
    "naics": ("naics2017", "naics2012", "naics2007", "naics2002", "naics1997", "naics"),
    "emp": ("emp", "employees"),
    "est": ("estab", "establishments", "est"),
    "ap": ("payann", "payroll", "ap"),
    "qp1": ("payqtr1", "qp1"),
    "size_flag": ("emp_f", "empflag"),
    "noise_flag": ("emp_n_f", "emp_nf", "emp_n"),
}


def read_cbp_api_csv(
    path: str | Path,
    *,
    year: int | None = None,
    region_type: str | None = None,
    region_id: str | None = None,
    source: str = "cbp_api",
    include_totals: bool = False,
) -> pd.DataFrame:
    """A Census CBP API extract saved as CSV -> :data:`schema.INDUSTRY_COUNTS` (6-digit rows;
    with ``include_totals`` also the all-industries ``00`` rows, as ``naics == "total"``).

    Accepts the API's own variable names (``NAICS2017, ESTAB, EMP, PAYANN, EMP_N_F, state,
    county``) and ModelEarth's renamed extracts (``Naics, Establishments, Employees,
    Payroll``). The geography comes from ``state``/``county``/metro columns when present, else
    from ``region_type``/``region_id`` (a state postal code in the file name such as ``_AL_``
    is recognised). ``year`` defaults to a 4-digit year in the file name. Annual payroll is in
    $1,000 as published; ``qp1`` is missing (NaN) when the extract lacks ``PAYQTR1``.
    """
    from clusteratlas.data.geo import STATE_POSTAL_TO_FIPS

    path = Path(path)
    frame = _parse_csv(path)
    if year is None:
        found = re.findall(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)", path.name)
        if "year" in frame.columns and len(frame):
            year = int(frame["year"].iloc[0])
        elif found:
            year = int(found[-1])
        else:
            raise ParameterError(
                "year", f"cannot tell the year of {path.name}", allowed="pass year=YYYY"
            )
    if region_id is None and not ({"state", "us"} & set(frame.columns)):
        postal = re.search(r"(?:^|[-_])([A-Z]{2})(?:[-_])", path.name)
        if postal and postal.group(1) in STATE_POSTAL_TO_FIPS:
            region_type, region_id = region_type or "state", STATE_POSTAL_TO_FIPS[postal.group(1)]
    return api_table_to_counts(
        frame,
        year=int(year),
        path=path,
        region_type=region_type,
        region_id=region_id,
        source=source,
        include_totals=include_totals,
    )


def api_table_to_counts(
    frame: pd.DataFrame,
    *,
    year: int,
    path: Path | str,
    region_type: str | None = None,
    region_id: str | None = None,
    source: str = "cbp_api",
    include_totals: bool = False,
    parents: bool = False,
) -> pd.DataFrame:
    """CBP API rows (string columns, lower-case names) -> 6-digit INDUSTRY_COUNTS rows.

    With ``include_totals`` the all-industries row (NAICS ``00``) is kept as
    ``naics == "total"`` (for the store's ``region_totals``). With ``parents`` the 2- to
    5-digit industry lines are kept too (``naics`` their digits): the parent lines withheld
    6-digit cells are derived from (:mod:`clusteratlas.data.suppression`).

    Flags: a size-class letter (``EMP_F``, before 2017) gets the USCM midpoint with
    ``emp_reported = 0`` and payroll 0; a D/S/N noise flag (``EMP_N_F``) means no published
    value (``emp_reported = 0``). ``path`` names the file or URL in error messages.
    """
    path = Path(path) if not str(path).startswith("http") else path
    frame = frame.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    lines = pd.Series(np.arange(2, len(frame) + 2), index=frame.index)
    vintage = _vintage(int(year), Path(str(path)))
    cols = {
        k: _column(frame, v, path=path, required=k in ("naics", "emp", "est"))
        for k, v in _API_COLUMNS.items()
    }
    naics_name = cols["naics"]
    if naics_name[5:].isdigit() and int(naics_name[5:]) != vintage:
        raise InputError(
            f"column {naics_name} does not match the NAICS {vintage} vintage of year {year}",
            path=str(path),
            line=1,
            column=naics_name,
        )
    if "county" in frame.columns and "state" in frame.columns:
        region_type = "county"
        region = frame["state"].str.zfill(2) + frame["county"].str.zfill(3)
    elif "state" in frame.columns:
        region_type, region = "state", frame["state"].str.zfill(2)
    elif any(c.startswith("metropolitan") for c in frame.columns):
        metro = next(c for c in frame.columns if c.startswith("metropolitan"))
        region_type, region = "msa", frame[metro]
    elif "us" in frame.columns:
        region_type, region = "nation", pd.Series("US", index=frame.index)
    else:
        if region_id is None or region_type is None:
            raise ParameterError(
                "region_id",
                f"{path} has no geography columns",
                allowed="pass region_type= and region_id= (e.g. 'state', '01')",
            )
        region = pd.Series(str(region_id), index=frame.index)
    keep = pd.Series(True, index=frame.index)
    for extra, wanted in (("lfo", "001"), ("empszes", "001")):
        if extra in frame.columns:
            keep &= frame[extra].str.strip() == wanted
    naics = frame[naics_name].str.strip()
    six = naics.str.fullmatch(r"\d{6}")
    if parents:  # "00" is the all-industries row, not a line
        six |= naics.str.fullmatch(r"\d{2,5}") & ~naics.str.fullmatch(r"0+")
    is_total = naics.isin(["00", "0", "------"]) & include_totals
    keep &= six | is_total
    frame, lines, region = frame[keep], lines[keep], region[keep]
    naics = naics[keep].where(~is_total[keep], "total")
    emp = _numbers(frame, cols["emp"], path=path, lines=lines)

    def flags(key: str) -> pd.Series:
        if cols[key] is None:
            return pd.Series("", index=frame.index)
        return frame[cols[key]].str.strip().str.upper()

    size_flag, noise = flags("size_flag"), flags("noise_flag")
    size_class = size_flag.isin(list(EMPFLAG_MIDPOINTS))
    withheld = ~size_class & (noise.isin(WITHHELD_FLAGS) | emp.isna())
    flag = size_flag.where(size_class, noise)
    ap = _numbers(frame, cols["ap"], path=path, lines=lines) if cols["ap"] else np.nan
    qp1 = _numbers(frame, cols["qp1"], path=path, lines=lines) if cols["qp1"] else np.nan
    out = pd.DataFrame(
        {
            "source": source,
            "year": int(year),
            "region_type": region_type,
            "region_id": region,
            "naics": naics,
            "naics_vintage": vintage,
            "emp": emp.fillna(0.0).where(
                ~size_class, size_flag.map(EMPFLAG_MIDPOINTS).astype(float)
            ),
            "emp_reported": emp.fillna(0.0).where(~(withheld | size_class), 0.0),
            "emp_flag": flag,
            "est": _numbers(frame, cols["est"], path=path, lines=lines),
            "ap": pd.Series(ap, index=frame.index).where(~size_class, 0.0),
            "qp1": pd.Series(qp1, index=frame.index).where(~size_class, 0.0),
        }
    )
    out = conform(out, INDUSTRY_COUNTS, what=f"CBP API extract {path}")
    out.index = lines.to_numpy()
    _check_unique(out, Path(str(path)))
    return out.reset_index(drop=True)


# -- setzler/EconData processed CBP -----------------------------------------------------------
def _read_setzler(
    path: str | Path, needed: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.Series, Path]:
    path = Path(path)
    frame = _parse_csv(path)
    for column in needed:
        _column(frame, (column,), path=path)
    lines = pd.Series(np.arange(2, len(frame) + 2), index=frame.index)
    return frame, lines, path


def _setzler_measures(frame: pd.DataFrame, lines: pd.Series, path: Path) -> dict[str, pd.Series]:
    """setzler columns -> schema measures. ``NA`` employment is a cell Census withheld: it
    becomes emp 0 with ``emp_flag = "D"`` (setzler dropped the EMPFLAG size class, so no
    USCM midpoint can be applied)."""
    emp = _numbers(frame, "employment_march", path=path, lines=lines)
    est = _numbers(frame, "establishments", path=path, lines=lines)
    qp1 = _numbers(frame, "payroll_quarter1", path=path, lines=lines)
    if est.isna().any():
        raise InputError(
            "missing value",
            path=str(path),
            line=int(lines[est.isna()].iloc[0]),
            column="establishments",
        )
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any():
        raise InputError(
            "year is not a number",
            path=str(path),
            line=int(lines[years.isna()].iloc[0]),
            column="year",
        )
    withheld = emp.isna()
    return {
        "year": years.astype("int64"),
        "emp": emp.fillna(0.0),
        "emp_reported": emp.fillna(0.0),
        "emp_flag": pd.Series("", index=frame.index).where(~withheld, "D"),
        "est": est,
        # setzler stores Q1 payroll in dollars; CBP (and the schema) use $1,000
        "qp1": qp1.fillna(0.0) / 1000.0,
        # no annual payroll in these files: missing by construction, not by suppression
        "ap": pd.Series(np.nan, index=frame.index),
    }


def read_setzler_national_industry(path: str | Path, source: str = "setzler") -> pd.DataFrame:
    """setzler ``CBP_national_industry6.csv`` -> nation x 6-digit NAICS x year counts.

    The NAICS vintage of each year is the Census one (2012-2016 on NAICS 2012: the file has
    exactly the 978 NAICS-2012 codes in 2016). ``ap`` is NaN: the file has Q1 payroll only.
    """
    frame, lines, path = _read_setzler(
        path, ("naics", "employment_march", "establishments", "payroll_quarter1", "year")
    )
    naics = _checked_codes(frame["naics"], r"\d{6}", "is not 6 digits", path, lines, "naics")
    return _setzler_industry_rows(
        frame, lines, path, naics, "nation", "US", source, "setzler national industry file"
    )


def _checked_codes(
    codes: pd.Series, pattern: str, problem: str, path: Path, lines: pd.Series, column: str,
    hint: str | None = None,
) -> pd.Series:  # fmt: skip
    """Stripped codes; the first one not matching ``pattern`` is an InputError at its line."""
    codes = codes.str.strip()
    bad = ~codes.str.fullmatch(pattern)
    if bad.any():
        raise InputError(
            f"{column} {codes[bad].iloc[0]!r} {problem}",
            path=str(path),
            line=int(lines[bad].iloc[0]),
            column=column,
            hint=hint,
        )
    return codes


def _setzler_industry_rows(
    frame: pd.DataFrame, lines: pd.Series, path: Path, naics: pd.Series, region_type: str,
    region_id: str | pd.Series, source: str, what: str,
) -> pd.DataFrame:  # fmt: skip
    """INDUSTRY_COUNTS rows of a setzler region x industry file (vintage by year, unique keys)."""
    measures = _setzler_measures(frame, lines, path)
    vintages = measures["year"].map(lambda y: _vintage(int(y), path))
    out = pd.DataFrame(
        {
            "source": source,
            "region_type": region_type,
            "region_id": region_id,
            "naics": naics,
            "naics_vintage": vintages,
        }
        | measures
    )
    out = conform(out, INDUSTRY_COUNTS, what=f"{what} {path}")
    out.index = lines.to_numpy()
    _check_unique(out, path)
    return out.reset_index(drop=True)


def _setzler_totals(path: str | Path, region_type: str, source: str) -> pd.DataFrame:
    needed = ("employment_march", "establishments", "payroll_quarter1", "year")
    if region_type == "state":
        needed = ("state_fips", *needed)
    elif region_type == "county":
        needed = ("state_fips", "county_fips", *needed)
    frame, lines, path = _read_setzler(path, needed)
    measures = _setzler_measures(frame, lines, path)
    if region_type == "nation":
        region = pd.Series("US", index=frame.index)
    elif region_type == "state":
        region = frame["state_fips"].str.strip().str.zfill(2)
    else:
        region = frame["state_fips"].str.strip().str.zfill(2) + frame[
            "county_fips"
        ].str.strip().str.zfill(3)
    vintages = measures["year"].map(lambda y: _vintage(int(y), path))
    out = pd.DataFrame(
        {
            "source": source,
            "region_type": region_type,
            "region_id": region,
            "naics": "total",
            "naics_vintage": vintages,
        }
        | measures
    )
    out = conform(out, INDUSTRY_COUNTS, what=f"setzler {region_type} totals {path}")
    out.index = lines.to_numpy()
    _check_unique(out, path)
    return out.reset_index(drop=True)


def read_setzler_state_total(path: str | Path, source: str = "setzler") -> pd.DataFrame:
    """setzler ``CBP_state_total.csv`` -> state totals (``naics == "total"``), 2001-2021."""
    return _setzler_totals(path, "state", source)


def read_setzler_national_total(path: str | Path, source: str = "setzler") -> pd.DataFrame:
    """setzler ``CBP_national_total.csv`` -> US totals (``naics == "total"``), 2001-2021."""
    return _setzler_totals(path, "nation", source)


def read_setzler_county_total(path: str | Path, source: str = "setzler") -> pd.DataFrame:
    """setzler ``CBP_county_total.csv.gz`` -> county totals (``naics == "total"``), 2001-2021."""
    return _setzler_totals(path, "county", source)


def read_setzler_state_industry(path: str | Path, source: str = "setzler") -> pd.DataFrame:
    """setzler ``CBP_state_industry3.csv.gz`` -> state x 3-digit NAICS x year counts, 2001-2021.

    ``naics`` keeps the 3-digit code of the year's Census vintage (2001-2002 are NAICS 1997:
    233-235, 421-422, 513-514 become 236-238, 423-425, 515-519 in 2003). The file is
    INCOMPLETE (see shared/data/PROVENANCE.md): its sectors sum to 89 % of the state totals
    in 2001-2014, 95 % in 2015-2017 and 98 % in 2018-2021, and withheld cells are 0, not
    imputed. Compare sectors with each other (shares, growth within a constant-coverage window),
    never with the state totals.
    """
    frame, lines, path = _read_setzler(
        path,
        ("state_fips", "naics", "employment_march", "establishments", "payroll_quarter1", "year"),
    )
    naics = _checked_codes(
        frame["naics"], r"\d{3}", "is not 3 digits", path, lines, "naics",
        hint="this reader takes setzler's state x 3-digit file (CBP_state_industry3)",
    )  # fmt: skip
    state = _checked_codes(
        frame["state_fips"], r"\d{1,2}", "is not a 1-2 digit state FIPS code", path, lines,
        "state_fips",
    )  # fmt: skip
    return _setzler_industry_rows(
        frame, lines, path, naics, "state", state.str.zfill(2), source, "setzler state x NAICS-3 file"
    )  # fmt: skip


# -- store ------------------------------------------------------------------------------------
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
