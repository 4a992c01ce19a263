"""Census CBP API extracts (the API's own names or ModelEarth's renamed CSVs) -> industry counts.

Owns the API's column aliases, the year and geography of an extract, and the flag rules of the
API (size-class letter -> USCM midpoint, D/S/N noise flag -> no published value).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data.cbp.rules import (
    EMPFLAG_MIDPOINTS,
    WITHHELD_FLAGS,
    _check_unique,
    _column,
    _numbers,
    _parse_csv,
    _vintage,
)
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import INDUSTRY_COUNTS, conform

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
