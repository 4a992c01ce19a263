"""Employment outcomes -> :data:`clusteratlas.schema.OUTCOMES` from BLS LAUS, BLS QCEW and CBP.

Three different employment concepts live here, each labelled in ``source`` so they are not
mixed up by accident:

* **LAUS** (:func:`read_laus_state_annual`, :func:`read_laus_county_annual`): residence-based
  employment from the household survey (people employed who live in the area), annual average.
  Also labour force, unemployment and the unemployment rate.
* **QCEW** (:func:`read_qcew_annual_singlefile`): place-of-work payroll jobs covered by
  unemployment insurance, annual average of monthly levels.
* **CBP** (:func:`read_cbp_totals`): place-of-work paid employment in the pay period including
  March 12. CBP 2020 therefore predates the COVID-19 lockdowns (see
  :mod:`clusteratlas.resilience.windows`).

The LAUS state file also carries Los Angeles County (FIPS ``037``) and New York City
(``51000``) rows inside their states; they are sub-state areas and are NOT states, so they are
kept out of the state rows (``include_substate=True`` returns them as a county and a custom
region) - summing all rows would count 13 million people twice.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.errors import DataUnavailableError, InputError, SuppressedDataWarning
from clusteratlas.schema import OUTCOMES, conform

#: LAUS workbooks are 0.2-0.3 MB (their sheet XML 1-1.3 MB unpacked); 64 MiB is far beyond.
WORKBOOK_BYTES = 64 * guard.MiB
#: QCEW singlefiles (about 0.5 GB a year) stream in parts of this many rows.
QCEW_CHUNK_ROWS = 200_000
#: Text layouts read here: short lines, at most a few dozen columns. The CBP totals files are
#: read whole (the county one is 2 MB); QCEW singlefiles stream without a size bound.
LIMITS = guard.Limits(max_bytes=guard.GiB, max_line_bytes=64 * guard.KiB, max_columns=200)

#: LAUS measures kept, with their outcome names and units.
LAUS_MEASURES = {
    "labor_force": "persons",
    "employment": "persons",
    "unemployment": "persons",
    "unemployment_rate": "percent",
}

#: Sub-state rows of the LAUS state file: FIPS code -> (region_type, region_id).
LAUS_SUBSTATE = {"037": ("county", "06037"), "51000": ("custom", "new_york_city")}


def _exists(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataUnavailableError(f"{what} file {path} not found")
    return path


def _numeric(frame: pd.DataFrame, column: str, path: Path, first_line: int) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"value {frame[column].iloc[i]!r} is not a number",
            path=str(path),
            line=first_line + i,
            column=column,
        )
    return values


def _long(frame: pd.DataFrame, measures: dict[str, str], source: str) -> pd.DataFrame:
    out = frame.melt(
        id_vars=["region_type", "region_id", "year"],
        value_vars=list(measures),
        var_name="outcome",
        value_name="value",
    )
    out = out[out["value"].notna()]
    out["unit"] = out["outcome"].map(measures)
    out["source"] = source
    return conform(out.reset_index(drop=True), OUTCOMES, what=source)


def read_laus_state_annual(path: str | Path, *, include_substate: bool = False) -> pd.DataFrame:
    """Read BLS LAUS ``staadata.xlsx`` (states and selected areas, annual averages).

    Layout: eight title/header rows, then ``FIPS, area, year, civilian noninstitutional
    population, labor force, % of population, employment, % of population, unemployment,
    unemployment rate``. Returns OUTCOMES rows for :data:`LAUS_MEASURES` (states and DC; plus
    LA County and New York City when ``include_substate``).
    """
    path = guard.check_workbook(_exists(path, "LAUS state annual"), max_bytes=WORKBOOK_BYTES)
    raw = pd.read_excel(path, header=None, dtype=str)
    first = raw.index[raw[2].astype(str).str.fullmatch(r"\d{4}")]
    if len(first) == 0 or raw.shape[1] < 10:
        raise InputError(
            "no data rows (FIPS, area, 4-digit year, ...) found",
            path=str(path),
            hint="expected BLS LAUS staadata.xlsx",
        )
    start = int(first[0])
    body = raw.iloc[start:, :10].copy()
    body.columns = [
        "fips",
        "area",
        "year",
        "population",
        "labor_force",
        "lf_share",
        "employment",
        "emp_share",
        "unemployment",
        "unemployment_rate",
    ]
    body = body[body["year"].astype(str).str.fullmatch(r"\d{4}")]
    fips = body["fips"].astype(str).str.strip()
    is_sub = fips.isin(list(LAUS_SUBSTATE))
    body["region_type"] = "state"
    body["region_id"] = fips.str.zfill(2)
    if include_substate:
        body.loc[is_sub, "region_type"] = fips[is_sub].map(lambda f: LAUS_SUBSTATE[f][0])
        body.loc[is_sub, "region_id"] = fips[is_sub].map(lambda f: LAUS_SUBSTATE[f][1])
    else:
        body = body[~is_sub]
    body["year"] = body["year"].astype(int)
    for column in LAUS_MEASURES:
        body[column] = _numeric(body, column, path, start + 1)
    return _long(body, LAUS_MEASURES, "BLS LAUS")


def read_laus_county_annual(path: str | Path) -> pd.DataFrame:
    """Read BLS LAUS ``laucntyYY.xlsx`` (labour force data by county, annual averages).

    Layout: six header rows; ``LAUS code, state FIPS, county FIPS, county name, year, (blank),
    labor force, employed, unemployed, unemployment rate (%)``; source lines at the bottom.
    """
    path = guard.check_workbook(_exists(path, "LAUS county annual"), max_bytes=WORKBOOK_BYTES)
    raw = pd.read_excel(path, header=None, dtype=str)
    keep = raw[0].astype(str).str.match(r"^(CN|PS)\d") & raw[4].astype(str).str.fullmatch(r"\d{4}")
    if not keep.any():
        raise InputError(
            "no county rows (LAUS code CN...) found", path=str(path), hint="expected laucntyYY.xlsx"
        )
    body = raw[keep].iloc[:, :10].copy()
    body.columns = [
        "laus_code",
        "state",
        "county",
        "name",
        "year",
        "blank",
        "labor_force",
        "employment",
        "unemployment",
        "unemployment_rate",
    ]
    body["region_type"] = "county"
    body["region_id"] = body["state"].str.strip().str.zfill(2) + body[
        "county"
    ].str.strip().str.zfill(3)
    body["year"] = body["year"].astype(int)
    first_line = int(keep.to_numpy().nonzero()[0][0]) + 1
    for column in LAUS_MEASURES:
        body[column] = _numeric(body, column, path, first_line)
    return _long(body, LAUS_MEASURES, "BLS LAUS")


# ---------------------------------------------------------------------------------------------
# QCEW
# ---------------------------------------------------------------------------------------------
QCEW_COLUMNS = ("area_fips", "own_code", "industry_code", "year", "annual_avg_emplvl")


def _qcew_region(area: str) -> tuple[str, str] | None:
    """QCEW area_fips -> (region_type, region_id). US000 nation, SS000 state, Cnnnn MSA."""
    area = area.strip()
    if area == "US000":
        return "nation", "US"
    if area.startswith("C") and len(area) == 5 and area[1:].isdigit():
        return "msa", area[1:] + "0"  # QCEW drops the last digit of the 5-digit CBSA code
    if len(area) == 5 and area.isdigit():
        if area.endswith("000"):
            return "state", area[:2]
        if area.endswith("999"):
            return None  # "unknown or undefined" county of a state
        return "county", area
    return None


def read_qcew_annual_singlefile(
    path: str | Path,
    *,
    own_code: str = "0",
    industry_code: str = "10",
    outcome: str = "employment",
) -> pd.DataFrame:
    """Read a BLS QCEW annual "singlefile" CSV (``YYYY.annual.singlefile.csv``).

    Keeps one ownership (``own_code`` 0 = total covered, 5 = private) and one industry
    (``industry_code`` 10 = all industries) and returns ``annual_avg_emplvl`` per area as
    ``outcome``. Rows BLS does not disclose (``disclosure_code`` ``N``) are left out with a
    warning instead of being read as zeros.
    """
    path = _exists(path, "QCEW annual singlefile")
    kept: list[pd.DataFrame] = []
    hidden = 0
    with guard.open_bytes(
        path, what="QCEW annual singlefile", limits=LIMITS.but(max_bytes=None)
    ) as stream:
        for part in guard.csv_chunks(
            stream, chunksize=QCEW_CHUNK_ROWS, dtype=str, keep_default_na=False
        ):
            part.columns = [c.strip().strip('"') for c in part.columns]
            missing = [c for c in QCEW_COLUMNS if c not in part.columns]
            if missing:
                raise InputError(
                    f"missing column(s) {', '.join(missing)}",
                    path=str(path),
                    hint="expected a QCEW annual singlefile (area_fips, own_code, industry_code, ...)",
                )
            # keep only the ownership x industry asked for: a part at a time, so memory holds
            # the kept rows (a few thousand areas), not the half-gigabyte file
            part = part[
                (part["own_code"].str.strip() == own_code)
                & (part["industry_code"].str.strip() == industry_code)
            ]
            if "disclosure_code" in part.columns:
                undisclosed = part["disclosure_code"].str.strip() == "N"
                hidden += int(undisclosed.sum())
                part = part[~undisclosed]
            kept.append(part)
    if hidden:
        warnings.warn(
            f"{path.name}: {hidden} undisclosed QCEW rows left out",
            category=SuppressedDataWarning,
            stacklevel=2,
        )
    rows = pd.concat(kept)
    regions = rows["area_fips"].map(_qcew_region)
    rows = rows[regions.notna()].copy()
    regions = regions[regions.notna()]
    rows["region_type"] = [r[0] for r in regions]
    rows["region_id"] = [r[1] for r in regions]
    rows["year"] = rows["year"].astype(int)
    rows[outcome] = _numeric(rows, "annual_avg_emplvl", path, 2)
    return _long(rows, {outcome: "jobs"}, "BLS QCEW")


# ---------------------------------------------------------------------------------------------
# CBP totals
# ---------------------------------------------------------------------------------------------
def read_cbp_totals(path: str | Path) -> pd.DataFrame:
    """CBP all-industry totals (setzler/EconData layout) -> OUTCOMES ``employment``.

    Accepts the state file (``state_fips``), the county file (``state_fips, county_fips``) and
    the national file; ``employment_march`` is mid-March paid employment, so the unit is
    "jobs (mid-March)". Establishments come back as outcome ``establishments``.
    """
    path = _exists(path, "CBP totals")
    frame = guard.read_csv(
        path, what="CBP totals file", limits=LIMITS, dtype={"state_fips": str, "county_fips": str}
    )
    for needed in ("year", "employment_march"):
        if needed not in frame.columns:
            raise InputError(
                f"missing column {needed!r}",
                path=str(path),
                hint="expected a setzler CBP total file",
            )
    if "county_fips" in frame.columns:
        frame["region_type"] = "county"
        frame["region_id"] = frame["state_fips"].str.zfill(2) + frame["county_fips"].str.zfill(3)
    elif "state_fips" in frame.columns:
        frame["region_type"] = "state"
        frame["region_id"] = frame["state_fips"].str.zfill(2)
    else:
        frame["region_type"] = "nation"
        frame["region_id"] = "US"
    frame = frame.rename(columns={"employment_march": "employment"})
    measures = {"employment": "jobs (mid-March)"}
    if "establishments" in frame.columns:
        measures["establishments"] = "establishments"
    return _long(frame, measures, "Census CBP")
