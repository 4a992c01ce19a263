"""US Cluster Mapping (clustermapping.us) region x cluster downloads.

Owns :func:`read_uscm`, which turns the data-API/CSV download (columns ``cluster_code_t,
cluster_name_t, traded_b, year_t, region_type_t, region_code_t, region_name_t, emp_tl,
emp_reported_tl, est_tl, ap_tl, qp1_tl, private_wage_tf`` and possibly many more) into a tidy
frame with the names of :data:`clusteratlas.schema.CLUSTER_PANEL`:

``region_type, region_id, region_name, year, cluster_code, cluster_name, traded, emp,
emp_reported, est, ap, qp1, wage``.

Region types and ids are translated to clusteratlas conventions: ``country`` 98 -> ``nation``
"US", ``economic`` 57001 -> ``economic_area`` "EA001", state/county/msa codes zero-padded.
``wage`` is USCM's ``private_wage_tf`` (= ap x 1000 / emp_reported); where no employment was
published (emp_reported = 0) USCM prints 0, which is not a wage, so it becomes NaN there.
USCM's ``qp1_tl`` is first-quarter payroll ($1,000), not a concentration measure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data.cbp import _numbers, _parse_csv
from clusteratlas.errors import InputError

_REGION_TYPES = {
    "country": "nation",
    "state": "state",
    "county": "county",
    "msa": "msa",
    "economic": "economic_area",
    "custom": "custom",
}
_WIDTH = {"state": 2, "county": 5, "msa": 5}
_REQUIRED = (
    "cluster_code_t",
    "cluster_name_t",
    "traded_b",
    "year_t",
    "region_type_t",
    "region_code_t",
    "region_name_t",
    "emp_tl",
)
_OPTIONAL = {
    "emp_reported_tl": "emp_reported",
    "est_tl": "est",
    "ap_tl": "ap",
    "qp1_tl": "qp1",
}

COLUMNS = [
    "region_type",
    "region_id",
    "region_name",
    "year",
    "cluster_code",
    "cluster_name",
    "traded",
    "emp",
    "emp_reported",
    "est",
    "ap",
    "qp1",
    "wage",
]


def _region_id(region_type: str, code: str) -> str:
    if region_type == "nation":
        return "US"
    if region_type == "economic_area":
        return f"EA{int(code) % 1000:03d}"
    width = _WIDTH.get(region_type)
    return code.zfill(width) if width else code


def read_uscm(path: str | Path) -> pd.DataFrame:
    """Read a clustermapping.us region x cluster download (plain or .gz CSV)."""
    path = Path(path)
    raw = _parse_csv(path, what="clustermapping.us download")
    for column in _REQUIRED:
        if column not in raw.columns:
            raise InputError(
                f"missing column {column!r}",
                path=str(path),
                line=1,
                column=column,
                hint="expected a clustermapping.us download with *_t/*_tl/*_b columns",
            )
    lines = pd.Series(np.arange(2, len(raw) + 2), index=raw.index)
    kind = raw["region_type_t"].str.strip().str.lower()
    unknown = ~kind.isin(list(_REGION_TYPES))
    if unknown.any():
        raise InputError(
            f"unknown region type {raw.loc[unknown, 'region_type_t'].iloc[0]!r}",
            path=str(path),
            line=int(lines[unknown].iloc[0]),
            column="region_type_t",
            hint=f"known: {', '.join(_REGION_TYPES)}",
        )
    region_type = kind.map(_REGION_TYPES)
    traded_text = raw["traded_b"].str.strip().str.lower()
    bad = ~traded_text.isin(["true", "false", "1", "0"])
    if bad.any():
        raise InputError(
            f"traded_b must be TRUE/FALSE, got {raw.loc[bad, 'traded_b'].iloc[0]!r}",
            path=str(path),
            line=int(lines[bad].iloc[0]),
            column="traded_b",
        )
    frame = pd.DataFrame(
        {
            "region_type": region_type,
            "region_id": [
                _region_id(t, c.strip())
                for t, c in zip(region_type, raw["region_code_t"], strict=True)
            ],
            "region_name": raw["region_name_t"].str.strip(),
            "year": _numbers(raw, "year_t", path=path, lines=lines),
            "cluster_code": raw["cluster_code_t"].str.strip(),
            "cluster_name": raw["cluster_name_t"].str.strip(),
            "traded": traded_text.isin(["true", "1"]),
            "emp": _numbers(raw, "emp_tl", path=path, lines=lines),
        }
    )
    for source, target in _OPTIONAL.items():
        frame[target] = (
            _numbers(raw, source, path=path, lines=lines) if source in raw.columns else np.nan
        )
    if "private_wage_tf" in raw.columns:
        wage = _numbers(raw, "private_wage_tf", path=path, lines=lines)
        frame["wage"] = wage.where(frame["emp_reported"] > 0)
    else:
        frame["wage"] = (
            frame["ap"] * 1000.0 / frame["emp_reported"].where(frame["emp_reported"] > 0)
        )
    if frame["year"].isna().any():
        row = frame["year"].isna()
        raise InputError(
            "missing year", path=str(path), line=int(lines[row].iloc[0]), column="year_t"
        )
    frame["year"] = frame["year"].astype("int64")
    frame = frame.astype(
        {
            "region_type": "string",
            "region_id": "string",
            "region_name": "string",
            "cluster_code": "string",
            "cluster_name": "string",
            "traded": "bool",
            **dict.fromkeys(["emp", "emp_reported", "est", "ap", "qp1", "wage"], "float64"),
        }
    )
    dup = frame.duplicated(["region_type", "region_id", "year", "cluster_code"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise InputError(
            f"region {row['region_id']} cluster {row['cluster_code']} year {row['year']} repeated",
            path=str(path),
            line=int(lines[dup].iloc[0]),
        )
    return frame[COLUMNS].reset_index(drop=True)
