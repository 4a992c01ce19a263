"""CBP region x industry panels republished by others -> :data:`clusteratlas.schema.INDUSTRY_COUNTS`.

Owns two readers of Census CBP data that third parties pulled from the CBP API and reshaped
(see the shared data folder's ``PROVENANCE.md``):

* :func:`read_cbp_cbsa_naics`: Brookings Metro's CBSA x NAICS pull (``year, cbsa_code,
  naics_code, naics_level, EMP, ESTAB``). CBP published at the CBSA level (not a sum of
  counties); cells with fewer than 3 establishments are not published, so six-digit rows add
  up to ~94 % of the CBSA total (99.9 % in big metros). No payroll.
* :func:`read_cbp_state_countysum`: ModelEarth's state x 6-digit NAICS panel summed from
  county API rows (``state, state_fips, year, naics, employees, establishments, payroll``).
  INCOMPLETE by construction: every unpublished county cell is missing, so state sums are
  55-95 % of the published state totals. Good for growth, not for levels, location quotients
  or strong-cluster flags; the rows carry ``source = "modelearth_countysum"`` so no study can
  mistake them for published state counts.

The ``"00"`` all-sector rows become ``naics == "total"`` (the store's ``region_totals``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data import guard
from clusteratlas.data.clusters import census_naics_vintage
from clusteratlas.errors import InputError
from clusteratlas.schema import INDUSTRY_COUNTS, conform

#: both files are tens of MB of short lines
LIMITS = guard.Limits(max_bytes=2 * guard.GiB, max_line_bytes=64 * guard.KiB, max_columns=50)

SOURCE_CBSA = "brookings_cbp_cbsa"
SOURCE_COUNTYSUM = "modelearth_countysum"


def _read(path: str | Path, needed: tuple[str, ...], what: str) -> tuple[pd.DataFrame, Path]:
    path = Path(path)
    frame = guard.read_csv(path, what=what, limits=LIMITS, dtype=str, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            path=str(path),
            line=1,
            hint=f"expected {what}: {', '.join(needed)}",
        )
    return frame, path


def _number(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = frame[column].str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = values.isna() & (text != "")
    if bad.any() or (values < 0).any():
        at = int(np.flatnonzero(bad | (values < 0))[0])
        raise InputError(
            f"not a count: {frame[column].iloc[at]!r}", path=str(path), line=at + 2, column=column
        )
    return values


def _counts(
    frame: pd.DataFrame,
    *,
    path: Path,
    source: str,
    region_type: str,
    region_id: pd.Series,
    naics: pd.Series,
    emp: pd.Series,
    est: pd.Series,
    ap: pd.Series | float,
) -> pd.DataFrame:
    years = _number(frame, "year", path).astype("int64")
    out = pd.DataFrame(
        {
            "source": source,
            "year": years,
            "region_type": region_type,
            "region_id": region_id,
            "naics": naics,
            "naics_vintage": years.map(census_naics_vintage),
            "emp": emp.fillna(0.0),
            "emp_reported": emp.fillna(0.0),
            "emp_flag": np.where(emp.isna(), "N", ""),
            "est": est.fillna(0.0),
            "ap": ap,
            "qp1": np.nan,
        }
    )
    out = conform(out.reset_index(drop=True), INDUSTRY_COUNTS, what=str(path))
    dup = out.duplicated(["year", "region_id", "naics"])
    if dup.any():
        row = out.loc[dup].iloc[0]
        raise InputError(
            f"duplicate row for region {row['region_id']}, NAICS {row['naics']}, {row['year']}",
            path=str(path),
            line=int(np.flatnonzero(dup)[0]) + 2,
        )
    return out


def read_cbp_cbsa_naics(path: str | Path) -> pd.DataFrame:
    """Brookings' CBSA x NAICS CBP pull -> msa x 6-digit counts plus CBSA totals ("total").

    Keeps the six-digit codes (``naics_level`` 6) and the ``00`` all-sector row; ``ap`` and
    ``qp1`` are missing (the pull has employment and establishments only).
    """
    frame, path = _read(
        path,
        ("year", "cbsa_code", "naics_code", "naics_level", "EMP", "ESTAB"),
        "a CBSA x NAICS CBP file",
    )
    code = frame["naics_code"].str.strip()
    keep = code.str.fullmatch(r"\d{6}") | (code == "00")
    frame, code = frame.loc[keep].reset_index(drop=True), code[keep].reset_index(drop=True)
    return _counts(
        frame,
        path=path,
        source=SOURCE_CBSA,
        region_type="msa",
        region_id=frame["cbsa_code"].str.strip().str.zfill(5),
        naics=code.where(code != "00", "total"),
        emp=_number(frame, "EMP", path),
        est=_number(frame, "ESTAB", path),
        ap=np.nan,
    )


def read_cbp_state_countysum(path: str | Path) -> pd.DataFrame:
    """ModelEarth's state x 6-digit county-sum panel -> state x 6-digit counts (INCOMPLETE).

    ``source = "modelearth_countysum"``: growth only (see the module docstring).
    """
    frame, path = _read(
        path,
        ("state_fips", "year", "naics", "employees", "establishments", "payroll"),
        "a state x NAICS county-sum file",
    )
    naics = frame["naics"].str.strip()
    bad = ~naics.str.fullmatch(r"\d{6}")
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"naics {naics.iloc[at]!r} is not 6 digits", path=str(path), line=at + 2, column="naics"
        )
    return _counts(
        frame,
        path=path,
        source=SOURCE_COUNTYSUM,
        region_type="state",
        region_id=frame["state_fips"].str.strip().str.zfill(2),
        naics=naics,
        emp=_number(frame, "employees", path),
        est=_number(frame, "establishments", path),
        ap=_number(frame, "payroll", path),
    )
