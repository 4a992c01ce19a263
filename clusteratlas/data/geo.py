"""Geography: region names and county-based crosswalks -> :data:`schema.REGIONS` / ``REGION_MEMBERS``.

Owns state and county names (Census geocodes v2021), county -> state, county -> CBSA (OMB
March 2020 delineation), county -> BEA Economic Area (2004 EAs, the regions USCM uses; ids
"EA001".."EA179"), user-defined region sets (CSV ``region_id, county_fips``), the BEA
county-equivalent merges USCM applies (Virginia independent cities, Kalawao, Menominee) and
the Connecticut 2022 planning regions.

Connecticut: from CBP 2022 on, Census publishes Connecticut by nine planning regions
(09110-09190) instead of the eight old counties (09001-09015). The planning regions do NOT
nest in the old counties, so no exact county crosswalk exists; :data:`CT_PLANNING_REGION_TO_COUNTY`
assigns each planning region to the old county holding most of its population (Tolland 09013
receives none). State totals are unaffected; county, CBSA and EA figures for Connecticut from
2022 on are approximate and :func:`remap_connecticut` warns when it is used.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from clusteratlas.data import catalog, guard
from clusteratlas.errors import DataCoverageWarning, DataUnavailableError, InputError
from clusteratlas.schema import REGION_MEMBERS, REGIONS, conform

#: Geography files are crosswalk-sized (the national ones 0.2-2 MB); a custom region file
#: lists counties. 256 MiB of text is far beyond any of them.
LIMITS = guard.Limits(max_bytes=256 * guard.MiB, max_line_bytes=64 * guard.KiB, max_columns=200)

STATE_POSTAL_TO_FIPS = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09",
    "DE": "10", "DC": "11", "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17",
    "IN": "18", "IA": "19", "KS": "20", "KY": "21", "LA": "22", "ME": "23", "MD": "24",
    "MA": "25", "MI": "26", "MN": "27", "MS": "28", "MO": "29", "MT": "30", "NE": "31",
    "NV": "32", "NH": "33", "NJ": "34", "NM": "35", "NY": "36", "NC": "37", "ND": "38",
    "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44", "SC": "45", "SD": "46",
    "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53", "WV": "54",
    "WI": "55", "WY": "56", "PR": "72",
}  # fmt: skip

#: BEA county equivalents (USCM ``area_mapper.js`` fipsMapping): combined code -> members.
BEA_COUNTY_EQUIVALENTS = {
    "15901": ("15005", "15009"),  # Kalawao + Maui
    "51901": ("51003", "51540"),  # Albemarle + Charlottesville
    "51903": ("51005", "51560", "51580"),  # Alleghany + Clifton Forge + Covington
    "51907": ("51015", "51790", "51820"),  # Augusta + Staunton + Waynesboro
    "51911": ("51031", "51680"),  # Campbell + Lynchburg
    "51913": ("51035", "51640"),  # Carroll + Galax
    "51915": ("51053", "51570", "51730"),  # Dinwiddie + Colonial Heights + Petersburg
    "51918": ("51059", "51600", "51610"),  # Fairfax + Fairfax city + Falls Church
    "51919": ("51069", "51840"),  # Frederick + Winchester
    "51921": ("51081", "51595"),  # Greensville + Emporia
    "51923": ("51089", "51690"),  # Henry + Martinsville
    "51929": ("51095", "51830"),  # James City + Williamsburg
    "51931": ("51121", "51750"),  # Montgomery + Radford
    "51933": ("51143", "51590"),  # Pittsylvania + Danville
    "51939": ("51149", "51670"),  # Prince George + Hopewell
    "51941": ("51153", "51683", "51685"),  # Prince William + Manassas + Manassas Park
    "51942": ("51161", "51775"),  # Roanoke + Salem
    "51944": ("51163", "51530", "51678"),  # Rockbridge + Buena Vista + Lexington
    "51945": ("51165", "51660"),  # Rockingham + Harrisonburg
    "51947": ("51175", "51620"),  # Southampton + Franklin city
    "51949": ("51177", "51630"),  # Spotsylvania + Fredericksburg
    "51951": ("51191", "51520"),  # Washington + Bristol
    "51953": ("51195", "51720"),  # Wise + Norton
    "51955": ("51199", "51735"),  # York + Poquoson
    "55901": ("55078", "55115"),  # Menominee + Shawano
}

#: County codes that replaced a code used in the 2004 BEA EA file: new -> old.
COUNTY_SUCCESSORS = {
    "12086": "12025",  # Miami-Dade (1997)
    "46102": "46113",  # Oglala Lakota, formerly Shannon (2015)
    "02158": "02270",  # Kusilvak, formerly Wade Hampton (2015)
    "02195": "02280",  # Petersburg, from Wrangell-Petersburg (2008/2013)
    "02275": "02280",  # Wrangell, from Wrangell-Petersburg (2008)
    "02198": "02201",  # Prince of Wales-Hyder, from Prince of Wales-Outer Ketchikan (2008)
    "02105": "02232",  # Hoonah-Angoon, from Skagway-Hoonah-Angoon (2007)
    "02230": "02232",  # Skagway, from Skagway-Hoonah-Angoon (2007)
    "02063": "02261",  # Chugach, from Valdez-Cordova (2019)
    "02066": "02261",  # Copper River, from Valdez-Cordova (2019)
}

#: Connecticut planning region (2022 on) -> old county holding most of its population.
CT_PLANNING_REGION_TO_COUNTY = {
    "09110": "09003",  # Capitol -> Hartford
    "09120": "09001",  # Greater Bridgeport -> Fairfield
    "09130": "09007",  # Lower Connecticut River Valley -> Middlesex
    "09140": "09009",  # Naugatuck Valley -> New Haven
    "09150": "09015",  # Northeastern -> Windham
    "09160": "09005",  # Northwest Hills -> Litchfield
    "09170": "09009",  # South Central -> New Haven
    "09180": "09011",  # Southeastern -> New London
    "09190": "09001",  # Western -> Fairfield
}
CT_PLANNING_REGION_NAMES = {
    "09110": "Capitol Planning Region",
    "09120": "Greater Bridgeport Planning Region",
    "09130": "Lower Connecticut River Valley Planning Region",
    "09140": "Naugatuck Valley Planning Region",
    "09150": "Northeastern Connecticut Planning Region",
    "09160": "Northwest Hills Planning Region",
    "09170": "South Central Connecticut Planning Region",
    "09180": "Southeastern Connecticut Planning Region",
    "09190": "Western Connecticut Planning Region",
}


def _shared(key: str, path: str | Path | None) -> Path:
    """``path``, or the shared copy of input ``key`` (:mod:`clusteratlas.data.catalog`)."""
    if path is not None:
        target = Path(path)
    else:
        target = catalog.shared_path(key)
        if target is None:
            raise DataUnavailableError(
                f"{catalog.known(key).relative} is not available: pass its path or put the "
                "shared data folder at ../shared/data (or set CLUSTERATLAS_DATA)"
            )
    if not target.exists():
        raise InputError("file not found", path=str(target))
    return target


def _read(path: Path, **kwargs) -> pd.DataFrame:
    """A crosswalk-sized CSV, read under :data:`LIMITS`."""
    return guard.read_csv(path, what="geography file", limits=LIMITS, **kwargs)


def _fips(series: pd.Series, width: int) -> pd.Series:
    return series.astype(str).str.strip().str.zfill(width)


# -- names --------------------------------------------------------------------------------------
def _geocodes(path: str | Path | None) -> pd.DataFrame:
    file = _shared("geocodes", path)
    raw = _read(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if raw.shape[1] < 7 or "summary" not in raw.columns[0].lower():
        raise InputError("not a Census all-geocodes file", path=str(file), line=1)
    raw = raw.iloc[:, :7]
    raw.columns = ["level", "state", "county", "cousub", "place", "concit", "name"]
    return raw


def state_names(path: str | Path | None = None) -> pd.DataFrame:
    """States, DC and Puerto Rico as :data:`schema.REGIONS` (region_id = 2-digit FIPS)."""
    raw = _geocodes(path)
    states = raw[raw["level"] == "040"]
    frame = pd.DataFrame(
        {
            "region_type": "state",
            "region_id": states["state"],
            "region_name": states["name"],
            "state_fips": states["state"],
        }
    )
    return conform(frame.reset_index(drop=True), REGIONS, what="state names")


def county_names(path: str | Path | None = None) -> pd.DataFrame:
    """Counties (v2021 codes) as :data:`schema.REGIONS`, with the CT planning regions added."""
    raw = _geocodes(path)
    counties = raw[raw["level"] == "050"]
    frame = pd.DataFrame(
        {
            "region_type": "county",
            "region_id": counties["state"] + counties["county"],
            "region_name": counties["name"],
            "state_fips": counties["state"],
        }
    )
    ct = pd.DataFrame(
        {
            "region_type": "county",
            "region_id": list(CT_PLANNING_REGION_NAMES),
            "region_name": list(CT_PLANNING_REGION_NAMES.values()),
            "state_fips": "09",
        }
    )
    frame = pd.concat([frame, ct], ignore_index=True)
    return conform(frame, REGIONS, what="county names")


# -- crosswalks -----------------------------------------------------------------------------------
def _members(region_type: str, region_id, member_ids) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "region_type": region_type,
            "region_id": region_id,
            "member_type": "county",
            "member_id": member_ids,
        }
    )
    return conform(frame.reset_index(drop=True), REGION_MEMBERS, what=f"{region_type} members")


def county_to_state(counties: pd.Series | list[str]) -> pd.DataFrame:
    """County -> state membership (the state is the first two digits of the county FIPS)."""
    ids = _fips(pd.Series(list(counties)), 5)
    return _members("state", ids.str[:2], ids)


def read_county_cbsa(
    path: str | Path | None = None, *, connecticut_2022: bool = True
) -> pd.DataFrame:
    """OMB 2020 county -> CBSA (metro and micro) membership; region_type ``msa``, id = CBSA code.

    With ``connecticut_2022`` the CT planning regions (CBP 2022 on) join the CBSA of the old
    county they mostly overlap (:data:`CT_PLANNING_REGION_TO_COUNTY`; approximate, see the
    module docstring), so Connecticut is not lost from 2022 metro aggregates.
    """
    file = _shared("cbsa_delineation", path)
    raw = _read(file, dtype=str, keep_default_na=False)
    for column in ("CBSA Code", "FIPS State Code", "FIPS County Code"):
        if column not in raw.columns:
            raise InputError(f"missing column {column!r}", path=str(file), line=1, column=column)
    raw = raw[raw["CBSA Code"].str.fullmatch(r"\d{5}")]  # drops the footnote lines
    county = _fips(raw["FIPS State Code"], 2) + _fips(raw["FIPS County Code"], 3)
    cbsa = list(raw["CBSA Code"])
    counties = list(county)
    if connecticut_2022:
        cbsa_of = dict(zip(counties, cbsa, strict=True))
        for region, old in CT_PLANNING_REGION_TO_COUNTY.items():
            if old in cbsa_of:
                counties.append(region)
                cbsa.append(cbsa_of[old])
    return _members("msa", cbsa, counties)


def cbsa_regions(path: str | Path | None = None) -> pd.DataFrame:
    """CBSA names as :data:`schema.REGIONS` (state_fips = the principal county's state)."""
    file = _shared("cbsa_delineation", path)
    raw = _read(file, dtype=str, keep_default_na=False)
    raw = raw[raw["CBSA Code"].str.fullmatch(r"\d{5}")].drop_duplicates("CBSA Code")
    frame = pd.DataFrame(
        {
            "region_type": "msa",
            "region_id": raw["CBSA Code"],
            "region_name": raw["CBSA Title"],
            "state_fips": _fips(raw["FIPS State Code"], 2),
        }
    )
    return conform(frame.reset_index(drop=True), REGIONS, what="CBSA names")


def _ea_raw(path: str | Path | None) -> tuple[pd.DataFrame, Path]:
    file = _shared("ea_crosswalk", path)
    raw = _read(file, dtype=str, keep_default_na=False)
    for column in ("FIPS", "EA", "EA Name"):
        if column not in raw.columns:
            raise InputError(f"missing column {column!r}", path=str(file), line=1, column=column)
    raw["ea_id"] = "EA" + raw["EA"].str.strip().str.zfill(3)
    raw["FIPS"] = _fips(raw["FIPS"], 5)
    return raw, file


def read_county_ea(
    path: str | Path | None = None, *, connecticut_2022: bool = True
) -> pd.DataFrame:
    """County -> BEA Economic Area (2004 EAs, ids ``EA001``..``EA179``).

    The BEA file predates some county code changes; current codes (:data:`COUNTY_SUCCESSORS`,
    e.g. Miami-Dade 12086, Oglala Lakota 46102, the Alaska boroughs) inherit the EA of the code
    they replaced, and the BEA combined county equivalents (:data:`BEA_COUNTY_EQUIVALENTS`)
    get the EA of their members, so CBP county files of any year find their EA. With
    ``connecticut_2022`` the CT planning regions take the EA of the old county they mostly
    overlap (approximate).
    """
    raw, _ = _ea_raw(path)
    ea_of = dict(zip(raw["FIPS"], raw["ea_id"], strict=True))
    extra = {
        new: ea_of[old]
        for new, old in COUNTY_SUCCESSORS.items()
        if old in ea_of and new not in ea_of
    }
    for combined, members in BEA_COUNTY_EQUIVALENTS.items():
        eas = {ea_of[m] for m in members if m in ea_of}
        if len(eas) == 1 and combined not in ea_of:
            extra[combined] = eas.pop()
    if connecticut_2022:
        extra |= {r: ea_of[old] for r, old in CT_PLANNING_REGION_TO_COUNTY.items() if old in ea_of}
    ids = list(ea_of) + list(extra)
    regions = list(ea_of.values()) + list(extra.values())
    return _members("economic_area", regions, ids)


def ea_regions(path: str | Path | None = None) -> pd.DataFrame:
    """BEA Economic Area names as :data:`schema.REGIONS` (state_fips empty: EAs cross states)."""
    raw, _ = _ea_raw(path)
    first = raw.drop_duplicates("ea_id")
    frame = pd.DataFrame(
        {
            "region_type": "economic_area",
            "region_id": first["ea_id"],
            "region_name": first["EA Name"],
            "state_fips": pd.NA,
        }
    )
    return conform(frame.reset_index(drop=True), REGIONS, what="economic area names")


def read_custom_regions(path: str | Path, *, region_type: str = "custom") -> pd.DataFrame:
    """A user region set: CSV with ``region_id, county_fips`` (and optional ``region_name``).

    A county may belong to several custom regions (overlapping sets are allowed), but not
    twice to the same one. Errors name the file, line and column.
    """
    path = Path(path)
    raw = _read(path, dtype=str, keep_default_na=False)
    raw.columns = [c.strip().lower() for c in raw.columns]
    for column in ("region_id", "county_fips"):
        if column not in raw.columns:
            raise InputError(
                f"missing column {column!r}",
                path=str(path),
                line=1,
                column=column,
                hint="a custom region file needs columns region_id, county_fips (region_name optional)",
            )
    county = raw["county_fips"].str.strip()
    bad = ~county.str.fullmatch(r"\d{4,5}")
    if bad.any():
        raise InputError(
            f"county FIPS {county[bad].iloc[0]!r} is not a 5-digit code",
            path=str(path),
            line=int(raw.index[bad][0]) + 2,
            column="county_fips",
        )
    empty = raw["region_id"].str.strip() == ""
    if empty.any():
        raise InputError(
            "empty region_id", path=str(path), line=int(raw.index[empty][0]) + 2, column="region_id"
        )
    members = _members(region_type, raw["region_id"].str.strip(), county.str.zfill(5))
    dup = members.duplicated(["region_id", "member_id"])
    if dup.any():
        raise InputError(
            f"county {members.loc[dup, 'member_id'].iloc[0]} listed twice in region "
            f"{members.loc[dup, 'region_id'].iloc[0]}",
            path=str(path),
            line=int(members.index[dup][0]) + 2,
            column="county_fips",
        )
    return members


# -- county-equivalent adjustments ----------------------------------------------------------------
def merge_bea_county_equivalents(counts: pd.DataFrame) -> pd.DataFrame:
    """Sum county rows into the BEA county equivalents USCM uses (51901 = 51003 + 51540, ...).

    ``counts`` is schema INDUSTRY_COUNTS with ``region_type == "county"`` rows; other rows
    pass through. ``emp_flag`` of a merged row is the members' flags joined with "+".
    """
    member_of = {
        m: combined for combined, members in BEA_COUNTY_EQUIVALENTS.items() for m in members
    }
    return _regroup_counties(counts, member_of)


def remap_connecticut(counts: pd.DataFrame, *, warn: bool = True) -> pd.DataFrame:
    """Put CT planning-region rows (09110-09190) on the old county codes they mostly overlap.

    Approximate by construction (planning regions do not nest in counties; see module
    docstring). Warns when any row is moved; state totals are unchanged.
    """
    moved = counts["region_id"].isin(list(CT_PLANNING_REGION_TO_COUNTY)) & (
        counts["region_type"] == "county"
    )
    if moved.any() and warn:
        warnings.warn(
            "Connecticut planning regions (09110-09190) were assigned to the old counties "
            "they mostly overlap; they do not nest in counties, so Connecticut county/CBSA/EA "
            "figures are approximate (state totals are exact)",
            DataCoverageWarning,
            stacklevel=2,
        )
    return _regroup_counties(counts, CT_PLANNING_REGION_TO_COUNTY)


def _regroup_counties(counts: pd.DataFrame, new_id: dict[str, str]) -> pd.DataFrame:
    is_county = counts["region_type"] == "county"
    target = counts.loc[is_county, "region_id"].map(new_id)
    change = target.notna()
    if not change.any():
        return counts.copy()
    changed = counts.loc[change[change].index].copy()
    changed["region_id"] = target[change]
    keys = [
        c
        for c in counts.columns
        if c not in ("emp", "emp_reported", "est", "ap", "qp1", "emp_flag")
    ]
    summed = changed.groupby(keys, dropna=False, as_index=False).agg(
        emp=("emp", "sum"),
        emp_reported=("emp_reported", "sum"),
        est=("est", "sum"),
        ap=("ap", "sum"),
        qp1=("qp1", "sum"),
        emp_flag=("emp_flag", lambda s: "+".join(sorted({f for f in s.dropna() if f}))),
    )
    keep = counts.drop(index=change[change].index)
    return pd.concat([keep, summed[counts.columns]], ignore_index=True).astype(
        counts.dtypes.to_dict()
    )
