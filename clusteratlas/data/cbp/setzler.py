"""setzler/EconData processed CBP files -> industry counts and region totals, 2001-2021.

Owns the setzler column names, the reading of their withheld cells (``NA`` employment -> emp 0
with flag ``D``) and their dollar payrolls (divided by 1,000 to CBP's $1,000).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data.cbp.rules import _check_unique, _column, _numbers, _parse_csv, _vintage
from clusteratlas.errors import InputError
from clusteratlas.schema import INDUSTRY_COUNTS, conform


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
