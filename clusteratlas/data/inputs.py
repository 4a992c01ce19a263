"""The studies' inputs, loaded from a :class:`~clusteratlas.data.catalog.Catalog`.

Owns the one way the studies (:mod:`clusteratlas.studies`) load public inputs: each function
takes the catalog of a data folder, asks it for the file (so a missing file is a
:class:`~clusteratlas.errors.DataUnavailableError` naming it) and returns the canonical table of
:mod:`clusteratlas.schema` from the right reader. The main job (``clusteratlas run``) and the
Cho et al. (2024) replication call the same functions, so the two cannot read the same file
two ways.

Which years and regions the inputs cover is said by :func:`outcome_years`,
:func:`uscm_state_clusters` (the state x cluster years and states), :func:`cluster_codes` and
:func:`region_count_sources` (every region x 6-digit industry source a folder holds, by
region type, with its years and whether its levels can be trusted).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.data.bea import read_gdp_csv
from clusteratlas.data.catalog import KNOWN, Catalog, file_name, known
from clusteratlas.data.cbp import (
    parse_cbp_flatfile,
    read_cbp_api_csv,
    read_setzler_national_industry,
)
from clusteratlas.data.clusters import load_definition
from clusteratlas.data.geo import read_county_cbsa, read_county_ea
from clusteratlas.data.laus import (
    read_cbp_totals,
    read_laus_county_annual,
    read_laus_state_annual,
    read_qcew_annual_singlefile,
)
from clusteratlas.data.republished import read_cbp_cbsa_naics, read_cbp_state_countysum
from clusteratlas.data.suppression import read_setzler_national_parents
from clusteratlas.data.trade import read_ita_msa_exports
from clusteratlas.data.uscm import read_uscm
from clusteratlas.errors import DataUnavailableError, SuppressedDataWarning, expected_warnings

#: CBP all-industry totals by region type (catalog keys)
CBP_TOTALS = {"state": "state_total", "nation": "national_total", "county": "county_total"}


def uscm_state_clusters(catalog: Catalog) -> pd.DataFrame:
    """US Cluster Mapping state x cluster inputs (2016) in panel column names.

    Columns of :func:`clusteratlas.data.uscm.read_uscm`: region_type, region_id, region_name,
    year, cluster_code, cluster_name, traded, emp, emp_reported, est, ap, qp1, wage.
    """
    return read_uscm(catalog.path("uscm_state_2016"))


#: the USCM definition files a vintage needs (catalog keys)
_DEFINITION_FILES = {
    2012: ("definitions_2012",),
    2017: ("definitions_2017",),
    **{v: ("definitions_2012", "cluster_library") for v in (1997, 2002, 2007)},
}


def uscm_definitions(catalog: Catalog, naics_vintage: int = 2012) -> pd.DataFrame:
    """The USCM cluster definition of ``naics_vintage`` from the files the catalog found.

    The definition reader takes a folder holding the files under their usual names; files
    recognised by content under other names are linked there first (a temporary folder).
    """
    keys = _DEFINITION_FILES.get(int(naics_vintage), ("definitions_2012",))
    catalog.require(keys)
    paths = {key: catalog.path(key) for key in keys}
    folders = {p.parent for p in paths.values()}
    if len(folders) == 1 and all(p.name == file_name(k) for k, p in paths.items()):
        return load_definition("uscm", naics_vintage=naics_vintage, path=folders.pop())
    with tempfile.TemporaryDirectory() as tmp:
        for key, path in paths.items():
            link = Path(tmp) / file_name(key)
            try:
                os.symlink(path.resolve(), link)
            except OSError:  # no symlinks on this file system: a copy
                link.write_bytes(path.read_bytes())
        return load_definition("uscm", naics_vintage=naics_vintage, path=tmp)


def uscm_definitions_for(catalog: Catalog, vintages: Iterable[int]) -> pd.DataFrame:
    """The USCM definitions of every NAICS vintage in ``vintages``, stacked (a multi-year panel
    joins each year's counts on its own vintage)."""
    frames = [uscm_definitions(catalog, int(v)) for v in sorted({int(v) for v in vintages})]
    return pd.concat(frames, ignore_index=True)


def cluster_codes(catalog: Catalog) -> frozenset[str]:
    """Every USCM cluster code (the cluster list)."""
    frame = pd.read_csv(catalog.path("cluster_list"), dtype={"cluster_code": str})
    return frozenset(frame["cluster_code"].astype(str))


def national_industry_counts(catalog: Catalog, years: Iterable[int] | None = None) -> pd.DataFrame:
    """CBP nation x 6-digit NAICS counts (INDUSTRY_COUNTS), optionally only ``years``."""
    counts = read_setzler_national_industry(catalog.path("national_industry"))
    if years is not None:
        counts = counts.loc[counts["year"].isin(list(years))]
    return counts


def national_parent_lines(catalog: Catalog, years: Iterable[int] | None = None) -> pd.DataFrame:
    """CBP nation x 2- to 5-digit NAICS lines of every ``national_parents`` file of the folder
    (INDUSTRY_COUNTS; empty when it has none), optionally only ``years``: what the panel
    derives withheld national 6-digit cells from, as USCM did."""
    frames = [read_setzler_national_parents(path) for path in catalog.files("national_parents")]
    if not frames:
        return pd.DataFrame()
    lines = pd.concat(frames, ignore_index=True)
    if years is not None:
        lines = lines.loc[lines["year"].isin(list(years))]
    return lines.drop_duplicates(["year", "naics"]).reset_index(drop=True)


def state_gdp(catalog: Catalog, years: tuple[int, int] | None = None) -> pd.DataFrame:
    """BEA SAGDP2N state GDP and manufacturing GDP (OUTCOMES ``gdp``, ``mfg_gdp``)."""
    return read_gdp_csv(catalog.path("bea_gdp"), years=years)


def cbp_totals(catalog: Catalog, region_type: str) -> pd.DataFrame:
    """CBP all-industry totals of one region type (``state``, ``nation``, ``county``) as
    OUTCOMES rows (employment, establishments, payroll)."""
    return read_cbp_totals(catalog.path(CBP_TOTALS[region_type]))


def laus_state(catalog: Catalog) -> pd.DataFrame:
    """BLS LAUS state annual averages as OUTCOMES rows.

    LAUS employment is residence-based (household survey): it is renamed
    ``employment_laus`` to keep it apart from CBP's establishment-based ``employment``.
    """
    laus = read_laus_state_annual(catalog.path("laus_state"))
    laus["outcome"] = laus["outcome"].replace({"employment": "employment_laus"})
    return laus


def county_cbsa(catalog: Catalog) -> pd.DataFrame:
    """County -> CBSA (``msa``) membership, OMB 2020 delineation (REGION_MEMBERS)."""
    return read_county_cbsa(catalog.path("cbsa_delineation"))


def county_ea(catalog: Catalog) -> pd.DataFrame:
    """County -> BEA economic area membership (REGION_MEMBERS)."""
    return read_county_ea(catalog.path("ea_crosswalk"))


def county_gdp(catalog: Catalog, years: tuple[int, int] | None = None) -> pd.DataFrame:
    """BEA CAGDP2 county (and state) GDP and manufacturing GDP (OUTCOMES), thousands of $."""
    return read_gdp_csv(catalog.path("bea_county_gdp"), years=years)


def msa_gdp_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """BEA rows of a metropolitan table as ``msa`` rows: CAGDP2's MSA GeoFIPS are CBSA codes,
    which the BEA reader (made for county codes) labels ``county``. The US metropolitan and
    non-metropolitan portions (``00998``, ``00999``) are left out."""
    bea = frame["source"].astype(str).str.startswith("BEA")
    cbsa = bea & (frame["region_type"] == "county") & ~frame["region_id"].str.startswith("00")
    out = frame.loc[~bea | cbsa | (frame["region_type"] == "nation")].copy()
    out.loc[cbsa.reindex(out.index, fill_value=False), "region_type"] = "msa"
    return out.reset_index(drop=True)


def msa_gdp(catalog: Catalog, years: tuple[int, int] | None = None) -> pd.DataFrame:
    """BEA CAGDP2 metropolitan-area GDP and manufacturing GDP (OUTCOMES, region_type msa)."""
    return msa_gdp_rows(read_gdp_csv(catalog.path("bea_msa_gdp"), years=years))


def qcew_employment(catalog: Catalog) -> pd.DataFrame:
    """BLS QCEW annual average employment (all industries, total covered) of every QCEW file
    in the folder, as OUTCOMES ``employment_qcew`` (nation, states, counties, MSAs)."""
    frames = []
    for path in catalog.files("qcew_annual"):
        # undisclosed QCEW rows are left out by the reader (OUTCOMES has no row for them)
        with expected_warnings(SuppressedDataWarning):
            frames.append(read_qcew_annual_singlefile(path, outcome="employment_qcew"))
    if not frames:
        raise DataUnavailableError(f"{catalog.folder} holds no QCEW annual CSV")
    return pd.concat(frames, ignore_index=True).drop_duplicates(
        ["region_type", "region_id", "year", "outcome"], keep="last"
    )


def laus_counties(catalog: Catalog) -> pd.DataFrame:
    """BLS LAUS county annual averages of every LAUS county workbook (OUTCOMES; employment
    renamed ``employment_laus``: residence-based, not CBP's place-of-work count)."""
    frames = [read_laus_county_annual(path) for path in catalog.files("laus_county")]
    if not frames:
        raise DataUnavailableError(f"{catalog.folder} holds no LAUS county workbook")
    laus = pd.concat(frames, ignore_index=True)
    laus["outcome"] = laus["outcome"].replace({"employment": "employment_laus"})
    return laus


@dataclass(frozen=True)
class CountSource:
    """One region x 6-digit industry source of a folder: its kind, region type, years and
    whether its levels can be trusted (False: use for growth only)."""

    kind: str
    region_type: str
    years: tuple[int, ...]
    levels: bool
    holds: str


#: a CBP flat file's year and geography are in its name only (cbpYY{us,st,co,msa})
_FLAT_NAME = re.compile(r"cbp(\d{2})(us|st|co|msa)", re.IGNORECASE)
_FLAT_GEO = {"us": "nation", "st": "state", "co": "county", "msa": "msa"}


def _extract_level(path: Path, kind: str) -> tuple[str, int | None]:
    """Region type and year of a CBP API extract or flat file, from its header (and, for the
    year, its name: flat files carry no year column)."""
    header = guard.first_line(path, what="CBP file").lower().replace('"', "")
    cols = {c.strip() for c in header.split(",")}
    years = re.findall(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)", path.name)
    if kind == "cbp_flatfile":
        match = _FLAT_NAME.search(path.name)
        year = (
            (2000 + int(match.group(1)) if int(match.group(1)) < 86 else 1900 + int(match.group(1)))
            if match
            else None
        )
        if match:
            return _FLAT_GEO[match.group(2).lower()], year
        level = (
            "county"
            if "fipscty" in cols
            else "msa"
            if cols & {"msa", "cbsa"}
            else "state"
            if "fipstate" in cols
            else "nation"
        )
        return level, year
    level = (
        "county" if "county" in cols else "state" if "state" in cols
        else "msa" if any(c.startswith("metropolitan") for c in cols)
        else "nation" if "us" in cols else "one state"  # no geography: a state in the file name
    )  # fmt: skip
    return level, int(years[-1]) if years else None


def region_count_sources(catalog: Catalog) -> list[CountSource]:
    """Every region x industry (or region x cluster) count source the folder holds.

    Cheap: reads the few columns that say the region type and years. USCM downloads count as
    region x cluster sources with trusted levels; the ModelEarth county sums are growth-only;
    CBP API extracts and flat files count at the level their header (and name) says.
    """
    out: list[CountSource] = []
    extracts: dict[str, set[int]] = {}
    single: dict[int | None, int] = {}  # files of one state each, by year
    for kind in ("cbp_api_extract", "cbp_flatfile"):
        for path in catalog.files(kind):
            level, year = _extract_level(path, kind)
            if level == "one state":
                single[year] = single.get(year, 0) + 1
            elif level != "nation":
                extracts.setdefault(level, set()).update([year] if year else [])
    # one state a year is no state panel (ranks and flags compare the states of a year)
    extracts.setdefault("state", set()).update(y for y, n in single.items() if y and n > 1)
    for level, years in extracts.items():
        if not years:
            continue
        out.append(
            CountSource(
                "cbp_extracts", level, tuple(sorted(years)), True, "CBP API extracts and flat files"
            )
        )
    if catalog.has("uscm_state_2016"):
        frame = pd.read_csv(
            catalog.path("uscm_state_2016"), usecols=["year_t", "region_type_t"], dtype=str
        )
        for region_type, part in frame.groupby("region_type_t"):
            rt = {"economic": "economic_area"}.get(str(region_type), str(region_type))
            years = tuple(sorted({int(y) for y in part["year_t"]}))
            out.append(CountSource("uscm_state_2016", rt, years, True, "US Cluster Mapping"))
    if catalog.has("cbp_state_countysum"):
        years = pd.read_csv(catalog.path("cbp_state_countysum"), usecols=["year"])["year"]
        out.append(
            CountSource(
                "cbp_state_countysum",
                "state",
                tuple(sorted({int(y) for y in years})),
                False,
                KNOWN["cbp_state_countysum"].holds,
            )
        )
    if catalog.has("cbp_cbsa_naics"):
        years = pd.read_csv(catalog.path("cbp_cbsa_naics"), usecols=["year"])["year"]
        out.append(
            CountSource(
                "cbp_cbsa_naics",
                "msa",
                tuple(sorted({int(y) for y in years})),
                True,
                known("cbp_cbsa_naics").holds,
            )
        )
    return out


def cbp_extracts(catalog: Catalog) -> pd.DataFrame:
    """Region x 6-digit counts (and totals) of every CBP API extract and CBP flat file in the
    folder (INDUSTRY_COUNTS; totals as ``naics == "total"``)."""
    frames = [read_cbp_api_csv(path) for path in catalog.files("cbp_api_extract")]
    for path in catalog.files("cbp_flatfile"):
        parsed = parse_cbp_flatfile(path)
        frames += [parsed.counts, parsed.totals]
    if not frames:
        raise DataUnavailableError(f"{catalog.folder} holds no CBP API extract or flat file")
    return pd.concat(frames, ignore_index=True)


def republished_counts(catalog: Catalog, kind: str) -> pd.DataFrame:
    """The counts of a republished CBP panel (``cbp_cbsa_naics`` or ``cbp_state_countysum``)."""
    reader = {
        "cbp_cbsa_naics": read_cbp_cbsa_naics,
        "cbp_state_countysum": read_cbp_state_countysum,
    }
    return reader[kind](catalog.path(kind))


def msa_exports(catalog: Catalog) -> pd.DataFrame:
    """ITA metropolitan exports by CBSA (OUTCOMES ``exports``), CBSA codes from the OMB file."""
    return read_ita_msa_exports(
        catalog.path("ita_exports"), delineation=catalog.path("cbsa_delineation")
    )


#: the folder files giving each region type's GDP (catalog keys)
GDP_FILES = {
    "state": "bea_gdp",
    "county": "bea_county_gdp",
    "economic_area": "bea_county_gdp",
    "msa": "bea_msa_gdp",
}
#: the folder files giving each region type's CBP employment totals (catalog keys)
EMPLOYMENT_FILES = {
    "state": "state_total",
    "county": "county_total",
    "economic_area": "county_total",
    "msa": "county_total",
}


def outcome_years(catalog: Catalog, region_type: str = "state") -> dict[str, tuple[int, int]]:
    """First and last year of each outcome the folder holds for ``region_type`` (read cheaply:
    the catalog's years of the shared files, else the file's year column)."""
    years: dict[str, tuple[int, int]] = {}
    gdp = GDP_FILES.get(region_type)
    if gdp and catalog.has(gdp):
        span = known(gdp).years
        years["gdp"] = years["mfg_gdp"] = span  # type: ignore[assignment]
    employment = EMPLOYMENT_FILES.get(region_type)
    if employment and catalog.has(employment):
        totals = pd.read_csv(catalog.path(employment), usecols=["year"])
        years["employment"] = (int(totals["year"].min()), int(totals["year"].max()))
    if region_type == "msa" and catalog.has("ita_exports") and catalog.has("cbsa_delineation"):
        years["exports"] = known("ita_exports").years  # type: ignore[assignment]
    return years
