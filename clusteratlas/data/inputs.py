"""The studies' inputs, loaded from a :class:`~clusteratlas.data.catalog.Catalog`.

Owns the one way the studies (:mod:`clusteratlas.studies`) load public inputs: each function
takes the catalog of a data folder, asks it for the file (so a missing file is a
:class:`~clusteratlas.errors.DataUnavailableError` naming it) and returns the canonical table of
:mod:`clusteratlas.schema` from the right reader. The main job (``clusteratlas run``) and the
Cho et al. (2024) replication call the same functions, so the two cannot read the same file
two ways.

Which years and regions the inputs cover is said by :func:`outcome_years`,
:func:`uscm_state_clusters` (the state x cluster years and states) and :func:`cluster_codes`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from clusteratlas.data.bea import read_gdp_csv
from clusteratlas.data.catalog import Catalog, known
from clusteratlas.data.cbp import read_setzler_national_industry
from clusteratlas.data.clusters import load_definition
from clusteratlas.data.geo import read_county_cbsa, read_county_ea
from clusteratlas.data.laus import read_cbp_totals, read_laus_state_annual
from clusteratlas.data.trade import read_ita_msa_exports
from clusteratlas.data.uscm import read_uscm

#: CBP all-industry totals by region type (catalog keys)
CBP_TOTALS = {"state": "state_total", "nation": "national_total", "county": "county_total"}


def uscm_state_clusters(catalog: Catalog) -> pd.DataFrame:
    """US Cluster Mapping state x cluster inputs (2016) in panel column names.

    Columns of :func:`clusteratlas.data.uscm.read_uscm`: region_type, region_id, region_name,
    year, cluster_code, cluster_name, traded, emp, emp_reported, est, ap, qp1, wage.
    """
    return read_uscm(catalog.path("uscm_state_2016"))


def uscm_definitions(catalog: Catalog, naics_vintage: int = 2012) -> pd.DataFrame:
    """The USCM cluster definition of ``naics_vintage`` from the catalog's clusters folder."""
    catalog.require(["definitions_2012"])
    return load_definition(
        "uscm", naics_vintage=naics_vintage, path=catalog.folder_of("definitions_2012")
    )


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


def msa_exports(catalog: Catalog) -> pd.DataFrame:
    """ITA metropolitan exports by CBSA (OUTCOMES ``exports``), CBSA codes from the OMB file."""
    return read_ita_msa_exports(
        catalog.path("ita_exports"), delineation=catalog.path("cbsa_delineation")
    )


def outcome_years(catalog: Catalog) -> dict[str, tuple[int, int]]:
    """First and last year of each state outcome the folder holds (read cheaply)."""
    years: dict[str, tuple[int, int]] = {}
    if catalog.has("bea_gdp"):
        span = known("bea_gdp").years
        years["gdp"] = years["mfg_gdp"] = span  # type: ignore[assignment]
    if catalog.has("state_total"):
        totals = pd.read_csv(catalog.path("state_total"), usecols=["year"])
        years["employment"] = (int(totals["year"].min()), int(totals["year"].max()))
    return years
