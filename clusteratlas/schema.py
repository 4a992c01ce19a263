"""The shared data model: canonical tables every part of clusteratlas reads and writes.

Every loader produces one of these tables and every consumer reads them by these column
names, whatever the country or the cluster definition. Units follow CBP: payroll in
thousands of the national currency, employment in jobs.

Region identifiers are strings: ``region_type`` is one of :data:`REGION_TYPES` and
``region_id`` is the code within that type (US: state "06", county "06037", CBSA "31080",
BEA economic area "EA160", nation "US"; other countries: whatever codes their data uses).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from clusteratlas.errors import InputError

REGION_TYPES = ("nation", "state", "county", "msa", "economic_area", "custom")

#: region x 6-digit industry x year counts (CBP-like). ``emp`` has suppressed cells filled
#: (USCM midpoints by default); ``emp_reported`` keeps only published employment.
INDUSTRY_COUNTS = {
    "source": "string",
    "year": "int64",
    "region_type": "string",
    "region_id": "string",
    "naics": "string",
    "naics_vintage": "int64",
    "emp": "float64",
    "emp_reported": "float64",
    "emp_flag": "string",
    "est": "float64",
    "ap": "float64",
    "qp1": "float64",
}

#: industry -> cluster, one row per (definition, naics_vintage, naics).
CLUSTER_DEFINITIONS = {
    "definition": "string",
    "naics_vintage": "int64",
    "naics": "string",
    "cluster_code": "string",
    "cluster_name": "string",
    "traded": "bool",
    "subcluster_code": "string",
    "subcluster_name": "string",
}

#: region names and hierarchy.
REGIONS = {
    "region_type": "string",
    "region_id": "string",
    "region_name": "string",
    "state_fips": "string",
}

#: which counties (or other base units) make up each aggregate region.
REGION_MEMBERS = {
    "region_type": "string",
    "region_id": "string",
    "member_type": "string",
    "member_id": "string",
}

#: region x cluster x year metrics (USCM methodology; see clusteratlas.panel).
CLUSTER_PANEL = {
    "region_type": "string",
    "region_id": "string",
    "year": "int64",
    "cluster_code": "string",
    "cluster_name": "string",
    "traded": "bool",
    "emp": "float64",
    "emp_reported": "float64",
    "est": "float64",
    "ap": "float64",
    "qp1": "float64",
    "wage": "float64",
    "lq": "float64",
    "region_share": "float64",
    "national_share": "float64",
    "qualifying": "bool",
    "significant": "bool",
    "strong": "bool",
    "strong10": "bool",
}

#: regional outcomes around a shock (GDP, manufacturing GDP, exports, imports, employment).
OUTCOMES = {
    "region_type": "string",
    "region_id": "string",
    "year": "int64",
    "outcome": "string",
    "value": "float64",
    "unit": "string",
    "source": "string",
}

OUTCOME_NAMES = ("gdp", "mfg_gdp", "exports", "imports", "employment")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise :class:`InputError` naming every column of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} is missing column(s) {', '.join(map(repr, missing))}",
            hint=f"it has {', '.join(map(str, frame.columns))}",
        )


def conform(frame: pd.DataFrame, table: dict[str, str], *, what: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the columns of ``table``, cast to its dtypes."""
    require_columns(frame, table, what=what)
    return frame.loc[:, list(table)].astype(table)
