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
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from pathlib import Path

import pandas as pd

from clusteratlas.errors import DataUnavailableError, InputError
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


def _text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    else:
        data = path.read_bytes()
    return data.decode("utf-8-sig", errors="replace")


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
        warnings.warn(f"{Path(path).name}: partial periods {periods} left out", stacklevel=2)
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
    frame = pd.read_csv(path, dtype=str)
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
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
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
                f"{unmatched} ITA MSA names not in the OMB delineation kept by name", stacklevel=2
            )
    long["region_type"] = "msa"
    long["year"] = long["year"].astype(int)
    long["outcome"] = "exports"
    long["unit"] = "USD"
    long["source"] = "ITA Metropolitan Export data"
    return conform(long, OUTCOMES, what=str(path))
