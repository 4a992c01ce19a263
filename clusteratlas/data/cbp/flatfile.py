"""CBP flat files (``cbpYYus.txt`` ... ``cbpYYmsa.txt``, 1998-2022) -> industry counts and totals.

Owns the flat-file columns, the year and geography read from the file name, and the USCM row
rules on each streamed part (legal form ``-`` only, aggregates and ``999`` pseudo-counties
dropped, EMPFLAG midpoints, noise flags); see :mod:`clusteratlas.data.cbp` for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from clusteratlas.data.cbp.rules import (
    _STREAM_LIMITS,
    CHUNK_ROWS,
    EMPFLAG_MIDPOINTS,
    NOISE_FLAGS,
    WITHHELD_FLAGS,
    CbpFile,
    _check_unique,
    _column,
    _csv_parts,
    _numbers,
    _vintage,
)
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import INDUSTRY_COUNTS, conform

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
