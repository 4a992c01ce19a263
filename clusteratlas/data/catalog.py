"""The data catalog: which public input files clusteratlas knows, and where they are.

Owns the one table in the package of the files of a data folder laid out like the project's
shared data (``../shared/data``; its ``PROVENANCE.md`` says where each file comes from):
:data:`KNOWN` maps a stable key (``"bea_gdp"``, ``"uscm_state_2016"``, ...) to the file's place
in that folder, what it holds and the years it covers. No other module of the package names
these files: readers that default to the shared folder ask :func:`shared_path` /
:func:`file_name`, and the studies ask a :class:`Catalog` of the folder the user gave
(``--data DIR``) and load through :mod:`clusteratlas.data.inputs`.

A :class:`Catalog` answers "what inputs exist here": :meth:`Catalog.path` (the file, or a
:class:`~clusteratlas.errors.DataUnavailableError` naming it and what it holds),
:meth:`Catalog.has`, :meth:`Catalog.require` and :meth:`Catalog.digests` (content hashes, the
key of a study's stage cache). This module imports only the core (no reader), so every reader
can use it without an import loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from clusteratlas.errors import DataUnavailableError, ParameterError
from clusteratlas.paths import shared_data_dir
from clusteratlas.store import file_sha256


@dataclass(frozen=True)
class Input:
    """One known input file: its key, its place in a data folder and what it holds."""

    key: str
    relative: str  # POSIX path inside a data folder laid out like ../shared/data
    holds: str
    years: tuple[int, int] | None = None  # first and last year covered, where fixed by the file

    @property
    def name(self) -> str:
        """The file name without its folder (readers given a folder look it up there)."""
        return PurePosixPath(self.relative).name


KNOWN: dict[str, Input] = {
    entry.key: entry
    for entry in (
        # -- clusters: US Cluster Mapping (Delgado, Porter & Stern 2016) ------------------------
        Input(
            "uscm_state_2016",
            "clusters/uscm_state_cluster_2016_inputs.csv.gz",
            "US Cluster Mapping state x cluster inputs (employment, establishments, payroll), 2016",
            (2016, 2016),
        ),
        Input(
            "definitions_2012",
            "clusters/cluster_naics2012_definitions.csv",
            "USCM cluster definition, NAICS 2012 (with subclusters)",
        ),
        Input(
            "definitions_2017",
            "clusters/cluster_naics2017_crosswalk_derived.csv",
            "USCM cluster definition crosswalked to NAICS 2017",
        ),
        Input(
            "cluster_library",
            "clusters/clustermapping_api_clusterLib_2015.json",
            "clustermapping.us API cluster library (NAICS 1997/2002/2007 lists)",
        ),
        Input(
            "naics_concordance",
            "clusters/census_2012_to_2017_NAICS.csv",
            "Census NAICS 2012 -> 2017 concordance",
        ),
        Input("cluster_list", "clusters/cluster_list.csv", "USCM cluster codes and names"),
        Input(
            "related_pairs",
            "clusters/related_clusters_cmp_pairs.csv",
            "USCM related-cluster pairs (clustermapping/cmp relatedClusters)",
        ),
        # -- County Business Patterns (setzler/EconData processed files) -----------------------
        Input(
            "national_industry",
            "cbp/setzler_CBP_national_industry6.csv",
            "CBP nation x 6-digit NAICS counts",
            (2001, 2021),
        ),
        Input(
            "state_total",
            "cbp/setzler_CBP_state_total.csv",
            "CBP state totals (employment, establishments, payroll)",
            (2001, 2021),
        ),
        Input(
            "national_total",
            "cbp/setzler_CBP_national_total.csv",
            "CBP national totals",
            (2001, 2021),
        ),
        Input(
            "county_total", "cbp/setzler_CBP_county_total.csv.gz", "CBP county totals", (2001, 2021)
        ),
        # -- outcomes ----------------------------------------------------------------------------
        Input(
            "bea_gdp",
            "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz",
            "BEA SAGDP2N state GDP by industry (gdp, mfg_gdp)",
            (1997, 2022),
        ),
        Input(
            "laus_state",
            "qcew/laus_state_annual_1976_2018_staadata.xlsx",
            "BLS LAUS state annual averages (residence-based employment, labour force)",
            (1976, 2018),
        ),
        Input(
            "ita_exports",
            "trade/ita_msa_exports_2012_2021.csv",
            "ITA metropolitan exports",
            (2012, 2021),
        ),
        # -- geography ---------------------------------------------------------------------------
        Input(
            "cbsa_delineation",
            "geo/omb2020_county_cbsa_delineation.csv",
            "OMB 2020 county -> CBSA delineation",
        ),
        Input(
            "ea_crosswalk",
            "geo/bea_economic_areas_county_2004.csv",
            "BEA economic areas (2004) -> counties",
        ),
        Input("geocodes", "geo/all_geocodes_v2021.csv.gz", "Census geocodes v2021 (names)"),
    )
}


def known(key: str) -> Input:
    """The catalog entry of ``key`` (a :class:`ParameterError` listing the keys if unknown)."""
    try:
        return KNOWN[key]
    except KeyError:
        raise ParameterError("key", f"no known input {key!r}", allowed=", ".join(KNOWN)) from None


def file_name(key: str) -> str:
    """The file name of input ``key`` (for readers handed a folder instead of a file)."""
    return known(key).name


def shared_path(key: str) -> Path | None:
    """Where input ``key`` sits in the shared data folder; None without that folder.

    The file itself may be absent: the caller's reader says so with its own message.
    """
    root = shared_data_dir()
    return None if root is None else root / known(key).relative


class Catalog:
    """The known inputs of one data folder (``folder=None``: the shared data folder).

    >>> catalog = Catalog("../shared/data")          # doctest: +SKIP
    >>> catalog.path("bea_gdp")                      # doctest: +SKIP
    PosixPath('../shared/data/bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz')
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        if folder is None:
            folder = shared_data_dir()
            if folder is None:
                raise DataUnavailableError(
                    "no data folder: pass one (--data DIR, laid out like the shared data: "
                    "clusters/, cbp/, bea/, qcew/, geo/, trade/) or set CLUSTERATLAS_DATA"
                )
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataUnavailableError(
                f"data folder {self.folder} does not exist: pass a folder laid out like the "
                "shared data (clusters/, cbp/, bea/, ...)"
            )

    def __repr__(self) -> str:
        return f"Catalog({str(self.folder)!r})"

    def find(self, key: str) -> Path | None:
        """The file of input ``key`` when the folder has it, else None."""
        path = self.folder / known(key).relative
        return path if path.is_file() else None

    def has(self, key: str) -> bool:
        return self.find(key) is not None

    def path(self, key: str) -> Path:
        """The file of input ``key``; a :class:`DataUnavailableError` naming it if absent."""
        path = self.find(key)
        if path is None:
            entry = known(key)
            raise DataUnavailableError(
                f"{self.folder / entry.relative} not found ({entry.holds}; see the data "
                "folder's PROVENANCE.md)"
            )
        return path

    def folder_of(self, key: str) -> Path:
        """The folder holding input ``key`` (for readers that take a folder of files)."""
        return (self.folder / known(key).relative).parent

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` whose file the folder lacks."""
        return [key for key in keys if not self.has(key)]

    def require(self, keys: Iterable[str]) -> None:
        """A :class:`DataUnavailableError` naming every file of ``keys`` the folder lacks."""
        missing = self.missing(keys)
        if missing:
            raise DataUnavailableError(
                f"{self.folder} lacks {', '.join(known(k).relative for k in missing)}"
            )

    def digests(self, keys: Iterable[str]) -> dict[str, str]:
        """Content hash of each present input among ``keys`` (absent ones are left out)."""
        return {key: file_sha256(path) for key in keys if (path := self.find(key)) is not None}
