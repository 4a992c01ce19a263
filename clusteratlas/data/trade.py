"""Exports and imports -> :data:`clusteratlas.schema.OUTCOMES`.

* :func:`read_usatrade` reads a Census USA Trade Online download "State Exports/Imports by
  NAICS Commodities" (three title lines, then ``State, Commodity, Country, Time, value``, values
  with thousands separators, in dollars). It keeps the all-commodity world total per state and
  year (or aggregates the 3-digit NAICS rows when no total row exists), drops partial years such
  as "2026 through January", and maps "All States" to the nation.
  :func:`read_usatrade_detail` returns the tidy state x NAICS x country x year detail.
* :func:`read_ita_msa_exports` reads the ITA Metropolitan Export map download (``MSA Full
  Name, Unit, 2012..2021``). Its unit column says "Millions of USD" but the values are dollars
  (Houston 2019 = 129,656,000,000); the reader checks the magnitude and labels the unit
  truthfully. MSA names become CBSA codes through the OMB delineation file when given.
* :func:`fetch_state_trade` asks the Census international trade time-series API
  (``/timeseries/intltrade/{exports,imports}/statenaics``) for annual state exports or imports
  (December year-to-date values, all partner countries) through the cached
  :class:`~clusteratlas.data.fetch.Fetcher`; :func:`parse_state_trade` turns one JSON answer
  into outcomes.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.data.census_api import API_ROOT
from clusteratlas.data.fetch import Fetcher
from clusteratlas.data.geo import STATE_POSTAL_TO_FIPS
from clusteratlas.errors import (
    DataCoverageWarning,
    DataUnavailableError,
    InputError,
    ParameterError,
)
from clusteratlas.schema import OUTCOMES, conform

STATE_FIPS = {
    "Alabama": "01", "Alaska": "02", "Arizona": "04", "Arkansas": "05", "California": "06",
    "Colorado": "08", "Connecticut": "09", "Delaware": "10", "District of Columbia": "11",
    "Florida": "12", "Georgia": "13", "Hawaii": "15", "Idaho": "16", "Illinois": "17",
    "Indiana": "18", "Iowa": "19", "Kansas": "20", "Kentucky": "21", "Louisiana": "22",
    "Maine": "23", "Maryland": "24", "Massachusetts": "25", "Michigan": "26", "Minnesota": "27",
    "Mississippi": "28", "Missouri": "29", "Montana": "30", "Nebraska": "31", "Nevada": "32",
    "New Hampshire": "33", "New Jersey": "34", "New Mexico": "35", "New York": "36",
    "North Carolina": "37", "North Dakota": "38", "Ohio": "39", "Oklahoma": "40", "Oregon": "41",
    "Pennsylvania": "42", "Rhode Island": "44", "South Carolina": "45", "South Dakota": "46",
    "Tennessee": "47", "Texas": "48", "Utah": "49", "Vermont": "50", "Virginia": "51",
    "Washington": "53", "West Virginia": "54", "Wisconsin": "55", "Wyoming": "56",
    "Puerto Rico": "72",
}  # fmt: skip


#: Trade downloads are small (USA Trade Online: 3 MB for all states x NAICS-3 x country x 7
#: years; ITA metro exports 55 kB); 512 MiB of text is far beyond any of them.
LIMITS = guard.Limits(max_bytes=512 * guard.MiB, max_line_bytes=64 * guard.KiB, max_columns=200)


def _text(path: Path) -> str:
    return guard.read_text(
        path,
        what="USA Trade Online download",
        limits=LIMITS,
        encoding="utf-8-sig",
        errors="replace",
    )


def read_usatrade_detail(path: str | Path) -> pd.DataFrame:
    """USA Trade Online state x commodity x country x period rows, tidy.

    Returns columns ``flow`` ("exports"/"imports"), ``state``, ``region_type``, ``region_id``,
    ``commodity`` (as printed), ``naics`` (the leading code, "" for "All Commodities"),
    ``country``, ``period`` (as printed), ``year`` (None for partial periods), ``value`` (USD).
    """
    path = Path(path)
    if not path.exists():
        raise DataUnavailableError(
            f"{path} not found: download 'State Exports/Imports by NAICS Commodities' from "
            "https://usatrade.census.gov"
        )
    lines = _text(path).splitlines()
    header_at = next(
        (
            i
            for i, line in enumerate(lines[:20])
            if line.replace('"', "").startswith("State,Commodity")
        ),
        None,
    )
    if header_at is None:
        raise InputError(
            "no 'State, Commodity, Country, Time, ...' header in the first 20 lines", path=str(path)
        )
    title = " ".join(lines[:header_at]).lower()
    header = next(csv.reader([lines[header_at]]))
    measure = header[4].lower() if len(header) > 4 else ""
    if "export" in measure or "export" in title:
        flow = "exports"
    elif "import" in measure or "customs" in measure or "import" in title:
        flow = "imports"
    else:
        raise InputError(
            f"cannot tell exports from imports by the measure {header[4:5]}",
            path=str(path),
            line=header_at + 1,
        )
    reader = csv.reader(io.StringIO("\n".join(lines[header_at + 1 :])))
    rows = []
    for offset, record in enumerate(reader):
        if len(record) < 5 or not record[0].strip():
            continue
        state, commodity, country, period, cell = (field.strip() for field in record[:5])
        try:
            value = float(cell.replace(",", ""))
        except ValueError as error:
            raise InputError(
                f"value {cell!r} is not a number",
                path=str(path),
                line=header_at + 2 + offset,
                column=header[4],
            ) from error
        if state == "All States":
            region_type, region_id = "nation", "US"
        elif state in STATE_FIPS:
            region_type, region_id = "state", STATE_FIPS[state]
        else:
            region_type, region_id = "other", state
        code = commodity.split(" ", 1)[0]
        rows.append(
            {
                "flow": flow,
                "state": state,
                "region_type": region_type,
                "region_id": region_id,
                "commodity": commodity,
                "naics": code if code.isdigit() else "",
                "country": country,
                "period": period,
                "year": int(period) if period.isdigit() else None,
                "value": value,
            }
        )
    if not rows:
        raise InputError("no data rows", path=str(path))
    frame = pd.DataFrame(rows)
    frame["year"] = frame["year"].astype("Int64")
    return frame


def read_usatrade(path: str | Path, *, country: str = "World Total") -> pd.DataFrame:
    """Annual exports or imports per state (or the nation) from a USA Trade Online download.

    Uses the "All Commodities" rows for ``country``; where a region-year has no such row the
    3-digit NAICS commodity rows are summed. Partial periods ("2026 through January") are left
    out with a warning. Values in USD.
    """
    detail = read_usatrade_detail(path)
    partial = detail["year"].isna()
    if partial.any():
        periods = sorted(detail.loc[partial, "period"].unique())
        warnings.warn(
            f"{Path(path).name}: partial periods {periods} left out",
            category=DataCoverageWarning,
            stacklevel=2,
        )
    detail = detail[~partial & (detail["country"] == country) & (detail["region_type"] != "other")]
    if detail.empty:
        raise InputError(f"no rows for country {country!r}", path=str(path))
    keys = ["flow", "region_type", "region_id", "year"]
    totals = (
        detail[detail["commodity"] == "All Commodities"]
        .groupby(keys, as_index=False)["value"]
        .sum()
    )
    summed = detail[detail["naics"] != ""].groupby(keys, as_index=False)["value"].sum()
    merged = summed.merge(totals, on=keys, how="outer", suffixes=("_sum", "_total"))
    merged["value"] = merged["value_total"].fillna(merged["value_sum"])
    out = merged.rename(columns={"flow": "outcome"})
    out["unit"] = "USD"
    out["source"] = "Census USA Trade Online"
    return conform(out, OUTCOMES, what=str(path))


# ---------------------------------------------------------------------------------------------
# ITA metro exports
# ---------------------------------------------------------------------------------------------
def cbsa_codes_from_delineation(path: str | Path) -> dict[str, str]:
    """CBSA title -> 5-digit CBSA code from the OMB delineation CSV (``CBSA Code, CBSA Title``)."""
    frame = guard.read_csv(path, what="OMB delineation file", limits=LIMITS, dtype=str)
    for needed in ("CBSA Code", "CBSA Title"):
        if needed not in frame.columns:
            raise InputError(
                f"missing column {needed!r}",
                path=str(path),
                hint="expected the OMB county-CBSA delineation",
            )
    pairs = frame[["CBSA Title", "CBSA Code"]].dropna().drop_duplicates()
    return dict(zip(pairs["CBSA Title"].str.strip(), pairs["CBSA Code"].str.strip(), strict=True))


def read_ita_msa_exports(
    path: str | Path, *, delineation: str | Path | None = None
) -> pd.DataFrame:
    """ITA metropolitan merchandise exports -> OUTCOMES ``exports`` (region_type ``msa``), USD.

    ``region_id`` is the CBSA code where ``delineation`` (OMB delineation CSV) knows the title,
    else the MSA name as printed (and a warning lists how many were not matched).
    The "Millions of USD" unit label is checked against the magnitudes: the file's values are
    dollars, so no scaling is applied when values are far above any plausible millions figure.
    """
    path = Path(path)
    if not path.exists():
        raise DataUnavailableError(
            f"{path} not found: download the ITA Metropolitan Export data (trade.gov)"
        )
    frame = guard.read_csv(
        path, what="ITA metro exports file", limits=LIMITS, dtype=str, encoding="utf-8-sig"
    )
    frame.columns = [c.strip() for c in frame.columns]
    name_col = next((c for c in frame.columns if c.lower().startswith("msa")), None)
    unit_col = next((c for c in frame.columns if c.lower().startswith("unit")), None)
    years = [c for c in frame.columns if c.isdigit()]
    if name_col is None or not years:
        raise InputError(
            "expected columns 'MSA Full Name' and years 2012, 2013, ...", path=str(path), line=1
        )
    long = frame.melt(
        id_vars=[name_col] + ([unit_col] if unit_col else []), value_vars=years, var_name="year"
    )
    long = long[long["value"].notna() & (long["value"].str.strip() != "")]
    values = pd.to_numeric(long["value"].str.replace(",", ""), errors="coerce")
    if values.isna().any():
        bad = long.loc[values.isna()].iloc[0]
        raise InputError(
            f"value {bad['value']!r} is not a number", path=str(path), column=str(bad["year"])
        )
    long["value"] = values
    label = str(long[unit_col].iloc[0]).lower() if unit_col else ""
    # A metro exporting "more than a trillion dollars" in millions is impossible (the largest,
    # Houston, exports ~130 billion dollars): such magnitudes mean the values are dollars.
    if "million" in label and long["value"].median() > 1e6:
        scale = 1.0
    elif "million" in label:
        scale = 1e6
    else:
        scale = 1.0
    long["value"] = long["value"] * scale
    names = long[name_col].str.strip()
    codes = cbsa_codes_from_delineation(delineation) if delineation else {}
    long["region_id"] = [codes.get(name, name) for name in names]
    if codes:
        unmatched = names[~names.isin(codes)].nunique()
        if unmatched:
            warnings.warn(
                f"{unmatched} ITA MSA names not in the OMB delineation kept by name",
                category=DataCoverageWarning,
                stacklevel=2,
            )
    long["region_type"] = "msa"
    long["year"] = long["year"].astype(int)
    long["outcome"] = "exports"
    long["unit"] = "USD"
    long["source"] = "ITA Metropolitan Export data"
    return conform(long, OUTCOMES, what=str(path))


# ---------------------------------------------------------------------------------------------
# Census international trade API: state exports and imports
# ---------------------------------------------------------------------------------------------
# Variable names, as documented and used (no internet here to re-read the live variables.json):
# * Census "Guide to International Trade Datasets" (census.gov/foreign-trade/reference/guides/
#   Guide to International Trade Datasets.pdf): endpoints .../intltrade/exports/[dataset] and
#   .../imports/[dataset], ``time=YYYY-MM``, ``COMM_LVL`` aggregation level, missing values.
# * Census record layout "State Imports NAICS4" (census.gov/foreign-trade/reference/products/
#   layouts/istnaics.html): ``state`` = US Postal Service abbreviation, "XX" = unidentified;
#   ``gen_val_mo``/``con_val_mo`` general imports / imports for consumption, ``gen_val_yr``/
#   ``con_val_yr`` their year-to-date values.
# * USEPA/stateior data-raw/CensusData.R: state exports ``statenaics?get=NAICS,CTY_NAME,STATE,
#   ALL_VAL_YR&YEAR=y&MONTH=12`` and imports with ``GEN_VAL_YR`` (December YTD = the year).
# * ``CTY_CODE=-`` = "TOTAL FOR ALL COUNTRIES" and ``COMM_LVL=NA3`` (3-digit NAICS, the level
#   of USA Trade Online's state tables) on statenaics: seen in public client code and recorded
#   answers only, not in a Census page found here (see docs/data.md).
TRADE_FLOWS = ("exports", "imports")
#: December year-to-date value variable per flow and imports measure.
TRADE_VALUE_VARIABLES = {
    ("exports", "total"): "ALL_VAL_YR",
    ("imports", "general"): "GEN_VAL_YR",
    ("imports", "consumption"): "CON_VAL_YR",
}
#: NAICS codes the API uses for an all-commodities row (when it returns one).
_TOTAL_CODES = {"-", "", "TOTAL"}


def _value_variable(flow: str, imports_value: str) -> str:
    if flow not in TRADE_FLOWS:
        raise ParameterError("flow", f"{flow!r} is not a trade flow", allowed="exports, imports")
    measure = "total" if flow == "exports" else imports_value
    variable = TRADE_VALUE_VARIABLES.get((flow, measure))
    if variable is None:
        raise ParameterError(
            "imports_value",
            f"unknown imports measure {imports_value!r}",
            allowed="general, consumption",
        )
    return variable


def state_trade_url(
    flow: str,
    year: int,
    *,
    root: str | None = None,
    level: str = "NA3",
    imports_value: str = "general",
) -> str:
    """API URL for one year of state ``flow`` ("exports"/"imports"): every state's December
    year-to-date value (= the calendar year) by NAICS commodity at ``level``, all countries.

    ``root`` is the Census API root (default ``CLUSTERATLAS_CENSUS_API``, a mirror, or
    ``https://api.census.gov/data``), as for :func:`clusteratlas.data.census_api.cbp_url`.
    """
    variable = _value_variable(flow, imports_value)
    root = (root or os.environ.get("CLUSTERATLAS_CENSUS_API") or API_ROOT).rstrip("/")
    return (
        f"{root}/timeseries/intltrade/{flow}/statenaics?get=STATE,NAICS,{variable}"
        f"&time={int(year)}-12&COMM_LVL={level}&CTY_CODE=-"
    )


def parse_state_trade(
    rows: object,
    *,
    flow: str,
    year: int,
    variable: str,
    level: str = "NA3",
    url: str = "the API answer",
) -> pd.DataFrame:
    """One statenaics JSON answer (first row = header) -> OUTCOMES ``flow`` per state, USD.

    A state's value is its all-commodities row when the answer has one (NAICS ``-``), else
    the sum of its commodity rows at ``level``. Rows for other countries than the total
    (``CTY_CODE`` other than ``-``), other levels or other months are ignored; "XX"
    (unidentified), territories other than Puerto Rico and empty values are left out, so the
    state sum is slightly below the US total.
    """
    if not isinstance(rows, list) or len(rows) < 2 or not isinstance(rows[0], list):
        raise InputError("expected a JSON array: a header row, then data rows", path=url)
    header = [str(c) for c in rows[0]]
    for needed in ("STATE", "NAICS", variable):
        if needed not in header:
            raise InputError(f"no {needed!r} column", path=url, hint=f"header is {header}")
    # predicates come back as extra columns (sometimes repeating a get variable): keep the first
    frame = pd.DataFrame([r[: len(header)] for r in rows[1:]], columns=header, dtype=object)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if "CTY_CODE" in frame.columns:
        frame = frame[frame["CTY_CODE"].astype(str) == "-"]
    if "time" in frame.columns:
        frame = frame[frame["time"].astype(str) == f"{int(year)}-12"]
    if "COMM_LVL" in frame.columns:  # summing two levels would count trade twice
        frame = frame[frame["COMM_LVL"].astype(str).isin([level, "-", ""])]
    values = pd.to_numeric(frame[variable], errors="coerce")
    garbage = values.isna() & frame[variable].notna() & (frame[variable].astype(str) != "")
    if garbage.any():
        at = int(garbage.to_numpy().nonzero()[0][0])
        raise InputError(
            f"value {frame[variable].iloc[at]!r} is not a number",
            path=url,
            line=at + 2,
            column=variable,
        )
    frame = frame.assign(value=values, region_id=frame["STATE"].map(STATE_POSTAL_TO_FIPS))
    frame = frame[frame["region_id"].notna() & frame["value"].notna()]
    if frame.empty:
        raise InputError(f"no state rows for {year}", path=url)
    naics = frame["NAICS"].fillna("").astype(str).str.strip().str.upper()
    totals = frame[naics.isin(_TOTAL_CODES)].groupby("region_id")["value"].sum()
    summed = frame[~naics.isin(_TOTAL_CODES)].groupby("region_id")["value"].sum()
    value = totals.combine_first(summed)
    out = pd.DataFrame(
        {
            "region_type": "state",
            "region_id": value.index,
            "year": int(year),
            "outcome": flow,
            "value": value.to_numpy(dtype=float),
            "unit": "USD",
            "source": f"Census international trade API (statenaics {variable})",
        }
    )
    return conform(out, OUTCOMES, what=url)


def fetch_state_trade(
    flow: str,
    years: Iterable[int],
    *,
    fetcher: Fetcher | None = None,
    root: str | None = None,
    refresh: bool = False,
    level: str = "NA3",
    imports_value: str = "general",
) -> pd.DataFrame:
    """Annual state exports or imports for ``years`` from the Census trade API (OUTCOMES, USD).

    One cached request per year (``time=YYYY-12``, the December year-to-date value = the
    calendar year); offline (``CLUSTERATLAS_OFFLINE=1``) reads only the cache. Exports are
    ``ALL_VAL_YR`` (total exports, state of origin of movement); imports ``GEN_VAL_YR``
    (general imports, as USA Trade Online's "Customs Value (Gen)") or ``CON_VAL_YR`` with
    ``imports_value="consumption"``. A key in ``CENSUS_API_KEY`` is sent and never cached.
    Raises :class:`DataUnavailableError` naming the URL to download by hand.
    """
    fetcher = fetcher or Fetcher()
    variable = _value_variable(flow, imports_value)
    key = os.environ.get("CENSUS_API_KEY")
    frames = []
    for year in sorted({int(y) for y in years}):
        url = state_trade_url(flow, year, root=root, level=level, imports_value=imports_value)
        rows = fetcher.get_json(url + (f"&key={key}" if key else ""), refresh=refresh)
        frames.append(
            parse_state_trade(rows, flow=flow, year=year, variable=variable, level=level, url=url)
        )
    if not frames:
        raise ParameterError("years", "no year asked for")
    return pd.concat(frames, ignore_index=True)
