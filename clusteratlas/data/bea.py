"""BEA regional GDP -> :data:`clusteratlas.schema.OUTCOMES` (gdp, mfg_gdp).

Owns three ways in:

* :func:`read_gdp_csv` reads BEA's "all areas" download layout, shared by the state table
  SAGDP2N and the county table CAGDP2: a quoted ``GeoFIPS`` with a leading space
  (`` "06000"``), one column per year, latin-1 text, suppressed cells as ``(D)``/``(NA)``
  strings and four footnote lines at the end. ``LineCode`` 1 is the all-industry total and
  12 manufacturing in both tables.
* :func:`parse_bea_api_json` turns a BEA API ``GetData`` (dataset ``Regional``) answer into the
  same tidy rows, and :func:`fetch_bea_gdp` asks the API (key in ``BEA_API_KEY``) through the
  shared cached fetcher :class:`clusteratlas.data.fetch.Fetcher`, so a second run is offline.
  ``UserID`` is one of the fetcher's secret parameters: it is never in a cache file name and
  never in a message.

GeoFIPS codes become region ids: ``00000`` -> nation ``US``; ``SS000`` -> state ``SS``;
other five-digit codes -> county. BEA's eight multi-state regions (``91000``-``98000``) are
dropped: they are not a clusteratlas region type.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.data.fetch import Fetcher, with_params
from clusteratlas.errors import (
    DataUnavailableError,
    InputError,
    ParameterError,
    SuppressedDataWarning,
)
from clusteratlas.schema import OUTCOMES, conform

#: BEA line codes of SAGDP2N / CAGDP2 kept by default, and the outcome name each becomes.
GDP_LINES: dict[int, str] = {1: "gdp", 12: "mfg_gdp"}

#: Strings BEA puts in place of a number: (D) suppressed to avoid disclosure, (NA) not
#: available, (NM) not meaningful, (L) below half the unit shown, (T) included elsewhere.
BEA_MISSING = ("(D)", "(NA)", "(NM)", "(L)", "(T)", "(S)", "(X)")

BEA_API_URL = "https://apps.bea.gov/api/data"

_UNITS = {"millions of current dollars": "USD_million", "thousands of dollars": "USD_thousand"}


#: BEA CSVs stream line by line (no size bound); their lines are under 1 kB (GeoFIPS, names,
#: 8 fixed columns and one per year) and the widest table has a few dozen columns.
LIMITS = guard.Limits(max_bytes=None, max_line_bytes=64 * guard.KiB, max_columns=500)


@contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOBase]:
    """BEA downloads are latin-1; the shared copy is gzipped. Read under :data:`LIMITS`."""
    with guard.open_bytes(path, what="BEA regional CSV", limits=LIMITS) as stream:
        yield io.TextIOWrapper(io.BufferedReader(stream), encoding="latin-1", newline="")


def region_of_geofips(geofips: str) -> tuple[str, str] | None:
    """Map a BEA GeoFIPS code to (region_type, region_id); None for BEA multi-state regions."""
    code = geofips.strip().strip('"').strip()
    if len(code) != 5 or not code.isdigit():
        return None
    if code == "00000":
        return "nation", "US"
    if code.endswith("000"):
        state = code[:2]
        return None if int(state) >= 91 else ("state", state)
    return "county", code


def _unit(text: str) -> str:
    return _UNITS.get(text.strip().lower(), text.strip())


def read_gdp_csv(
    path: str | Path,
    *,
    lines: Mapping[int, str] = GDP_LINES,
    years: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Read a BEA SAGDP2N or CAGDP2 "all areas" CSV into OUTCOMES rows.

    Parameters
    ----------
    path
        The CSV (or ``.csv.gz``) exactly as downloaded from apps.bea.gov/regional/downloadzip.
    lines
        ``{LineCode: outcome name}``; default 1 -> ``gdp``, 12 -> ``mfg_gdp``.
    years
        Optional inclusive ``(first, last)`` year range to keep.

    Suppressed cells (``(D)`` etc.) are left out, never turned into zeros or NaN; how many were
    left out is in ``frame.attrs["suppressed"]`` (a list of (region_id, year, outcome)) and a
    warning says so.
    """
    path = Path(path)
    if not path.exists():
        raise DataUnavailableError(
            f"{path} not found: download SAGDP2N (state) or CAGDP2 (county) from "
            "https://apps.bea.gov/regional/downloadzip.cfm"
        )
    rows: list[dict[str, Any]] = []
    suppressed: list[tuple[str, int, str]] = []
    with _open_text(path) as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = next(reader, None)
        if not header or header[0].strip().lstrip("\ufeff") != "GeoFIPS":
            raise InputError(
                "not a BEA regional CSV: the first column should be GeoFIPS",
                path=str(path),
                line=1,
                hint="download the 'all areas' CSV of SAGDP2N or CAGDP2",
            )
        for needed in ("LineCode", "Unit", "TableName"):
            if needed not in header:
                raise InputError(f"header lacks the {needed} column", path=str(path), line=1)
        col = {name: i for i, name in enumerate(header)}
        year_cols = [(int(name), i) for name, i in col.items() if name.strip().isdigit()]
        if not year_cols:
            raise InputError(
                "no year columns (1997, 1998, ...) in the header", path=str(path), line=1
            )
        for lineno, record in enumerate(reader, start=2):
            if len(record) < len(header):
                continue  # footnote lines ("Note: ...", "Last updated ...") have one field
            region = region_of_geofips(record[0])
            if region is None:
                continue
            try:
                line_code = int(record[col["LineCode"]])
            except ValueError as error:
                raise InputError(
                    f"LineCode {record[col['LineCode']]!r} is not a number",
                    path=str(path),
                    line=lineno,
                    column="LineCode",
                ) from error
            if line_code not in lines:
                continue
            outcome = lines[line_code]
            unit = _unit(record[col["Unit"]])
            table = record[col["TableName"]].strip()
            for year, i in year_cols:
                if years and not (years[0] <= year <= years[1]):
                    continue
                cell = record[i].strip()
                if cell in BEA_MISSING or cell == "":
                    suppressed.append((region[1], year, outcome))
                    continue
                try:
                    value = float(cell.replace(",", ""))
                except ValueError as error:
                    raise InputError(
                        f"value {cell!r} is neither a number nor a BEA code ({', '.join(BEA_MISSING)})",
                        path=str(path),
                        line=lineno,
                        column=str(year),
                    ) from error
                rows.append(
                    {
                        "region_type": region[0],
                        "region_id": region[1],
                        "year": year,
                        "outcome": outcome,
                        "value": value,
                        "unit": unit,
                        "source": f"BEA {table}",
                    }
                )
    if not rows:
        raise InputError(
            f"no rows with LineCode in {sorted(lines)}",
            path=str(path),
            hint="is this SAGDP2N/CAGDP2?",
        )
    if suppressed:
        warnings.warn(
            f"{path.name}: {len(suppressed)} suppressed BEA cells ((D)/(NA)) left out",
            category=SuppressedDataWarning,
            stacklevel=2,
        )
    frame = conform(pd.DataFrame(rows), OUTCOMES, what=str(path))
    frame.attrs["suppressed"] = suppressed
    return frame


#: The state table and the county table share one layout.
read_sagdp = read_gdp_csv
read_cagdp = read_gdp_csv


# ---------------------------------------------------------------------------------------------
# BEA API
# ---------------------------------------------------------------------------------------------
def parse_bea_api_json(payload: Mapping[str, Any] | str, *, outcome: str = "gdp") -> pd.DataFrame:
    """Turn a BEA API ``GetData`` answer (dataset Regional) into OUTCOMES rows.

    ``DataValue`` carries thousands separators and BEA's missing codes; ``UNIT_MULT`` is the
    power of ten of ``CL_UNIT`` (6 with "Millions of current dollars"), kept as the unit text.
    An ``Error`` object in the answer (bad key, bad table) becomes an :class:`InputError` with
    BEA's own message.
    """
    if isinstance(payload, str):
        payload = json.loads(payload)
    api = payload.get("BEAAPI") if isinstance(payload, Mapping) else None
    if not isinstance(api, Mapping):
        raise InputError("not a BEA API answer: no top-level 'BEAAPI' object")
    results = api.get("Results", {})
    error = api.get("Error") or (results.get("Error") if isinstance(results, Mapping) else None)
    if error:
        detail = error.get("APIErrorDescription") if isinstance(error, Mapping) else error
        raise InputError(
            f"BEA API error: {detail}", hint="check BEA_API_KEY, TableName and LineCode"
        )
    data = results.get("Data") if isinstance(results, Mapping) else None
    if not data:
        raise InputError("BEA API answer has no Data rows")
    rows = []
    for item in data:
        region = region_of_geofips(str(item.get("GeoFips", "")))
        if region is None:
            continue
        cell = str(item.get("DataValue", "")).strip()
        if cell in BEA_MISSING or not cell:
            continue
        rows.append(
            {
                "region_type": region[0],
                "region_id": region[1],
                "year": int(str(item["TimePeriod"])[:4]),
                "outcome": outcome,
                "value": float(cell.replace(",", "")),
                "unit": _unit(str(item.get("CL_UNIT", results.get("UnitOfMeasure", "")))),
                "source": f"BEA API {str(item.get('Code', '')).split('-')[0]}".strip(),
            }
        )
    return conform(pd.DataFrame(rows), OUTCOMES, what="BEA API answer")


def fetch_bea_gdp(
    years: list[int] | str,
    *,
    geo: str = "STATE",
    table: str = "SAGDP2N",
    line_code: int = 1,
    outcome: str | None = None,
    api_key: str | None = None,
    base_url: str = BEA_API_URL,
    refresh: bool = False,
    timeout: float = 60.0,
    fetcher: Fetcher | None = None,
) -> pd.DataFrame:
    """GDP rows from the BEA API (dataset Regional), cached on disk.

    ``geo`` is BEA's GeoFips selector (``STATE``, ``COUNTY``, a five-digit code...). The key
    comes from ``api_key`` or the ``BEA_API_KEY`` environment variable (free at
    https://apps.bea.gov/API/signup/). Answers are cached by :class:`~clusteratlas.data.fetch.Fetcher`
    (``cache_dir()/http/<host>/``, keyed by the request without the key); a cached answer is
    reused without a key or a network, and offline mode (``CLUSTERATLAS_OFFLINE=1``) reads
    only the cache. An error answer from BEA (bad key, bad table) is not kept.
    """
    year_text = years if isinstance(years, str) else ",".join(str(y) for y in years)
    outcome = outcome or GDP_LINES.get(line_code, f"line_{line_code}")
    params = {
        "method": "GetData",
        "datasetname": "Regional",
        "TableName": table,
        "LineCode": str(line_code),
        "GeoFips": geo,
        "Year": year_text,
        "ResultFormat": "json",
    }
    fetcher = fetcher or Fetcher(timeout=timeout)
    key = api_key or os.environ.get("BEA_API_KEY")
    if key:
        params["UserID"] = key
    elif refresh or not fetcher.cache_path(with_params(base_url, params)).exists():
        raise ParameterError(
            "BEA_API_KEY",
            "no BEA API key: set the BEA_API_KEY environment variable (free at "
            "https://apps.bea.gov/API/signup/) or read a downloaded SAGDP2N CSV with read_gdp_csv",
        )
    url = with_params(base_url, params)
    try:
        path = fetcher.fetch(url, refresh=refresh)
    except DataUnavailableError as error:
        raise DataUnavailableError(
            f"{error} (or download SAGDP2N from https://apps.bea.gov/regional/downloadzip.cfm "
            "and use read_gdp_csv)"
        ) from None
    try:
        return parse_bea_api_json(guard.read_json(path, what="BEA API answer"), outcome=outcome)
    except (InputError, json.JSONDecodeError) as error:
        path.unlink(missing_ok=True)  # an error answer must not be served from the cache later
        # BEA may echo the request (with the key) in its error text
        raise InputError(fetcher.redact(str(error), url) + "; the answer was not cached") from None
