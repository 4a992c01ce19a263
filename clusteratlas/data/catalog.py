"""The data catalog: which public input files clusteratlas knows, how it recognises them, where they are.

Owns two tables and the folder scan built on them:

* :data:`KINDS`: every kind of input file clusteratlas can read (``"bea_gdp"``: BEA SAGDP2N
  state GDP, ``"cbp_api_extract"``: a CBP API extract saved as CSV, ``"qcew_annual"``: a QCEW
  annual CSV, ...), with what it holds and whether several files of the kind go together
  (one per year or area). :func:`recognise` tells a file's kind **by its content** (the header
  line, a BEA table name, the strings of an Excel workbook), never by its name, so a folder of
  downloads renamed by a browser is still understood.
* :data:`KNOWN`: the files of the project's shared data folder (``../shared/data``; its
  ``PROVENANCE.md`` says where each comes from), each with its kind, its place in that folder
  and the years it covers. No other module of the package names these files: readers that
  default to the shared folder ask :func:`shared_path` / :func:`file_name`.

A :class:`Catalog` of a folder (``--data DIR``) answers "what inputs exist here": it looks
first where the shared layout would put a file and otherwise scans the folder (recursively)
and recognises every file by content. :meth:`Catalog.path` / :meth:`Catalog.find` /
:meth:`Catalog.has` / :meth:`Catalog.require` take a KNOWN key or a kind,
:meth:`Catalog.files` lists every file of a kind, :meth:`Catalog.inventory` lists the whole
folder (recognised or not) and :meth:`Catalog.digests` hashes files for a study's stage cache.
The studies load through :mod:`clusteratlas.data.inputs`. This module imports only the core
and :mod:`clusteratlas.data.guard` (bounded reading of file heads), so every reader can use it
without an import loop.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.errors import DataUnavailableError, InputError, ParameterError
from clusteratlas.paths import shared_data_dir
from clusteratlas.store import file_sha256


@dataclass(frozen=True)
class Kind:
    """A kind of input file: what it holds and whether several files of it go together."""

    key: str
    holds: str
    many: bool = False  # several files (one per year, state, area ...) are read together


@dataclass(frozen=True)
class Input:
    """One file of the shared data folder: its key, kind, place in the folder, what it holds."""

    key: str
    relative: str  # POSIX path inside a data folder laid out like ../shared/data
    holds: str
    years: tuple[int, int] | None = None  # first and last year covered, where fixed by the file
    kind: str = ""  # the kind recognise() gives the file; "" = the key itself

    @property
    def name(self) -> str:
        """The file name without its folder (readers given a folder look it up there)."""
        return PurePosixPath(self.relative).name

    @property
    def of_kind(self) -> str:
        return self.kind or self.key


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "uscm_state_2016", "US Cluster Mapping region x cluster download (emp_tl, est_tl, ...)"
        ),
        Kind("definitions_2012", "USCM cluster definition, NAICS 2012 (with subclusters)"),
        Kind("definitions_2017", "USCM cluster definition crosswalked to NAICS 2017"),
        Kind(
            "cluster_library", "clustermapping.us API cluster library (NAICS 1997/2002/2007 lists)"
        ),
        Kind("naics_concordance", "Census NAICS 2012 -> 2017 concordance"),
        Kind("cluster_list", "USCM cluster codes and names"),
        Kind("related_pairs", "USCM related-cluster pairs (clustermapping/cmp relatedClusters)"),
        Kind("related_library", "USCM related clusters, flattened from the cluster library"),
        Kind("national_industry", "CBP nation x 6-digit NAICS counts (setzler layout)"),
        Kind(
            "national_parents",
            "CBP nation x 2- to 5-digit NAICS lines (setzler CBP_national_industry{2,3,4}.csv "
            "layout): the parent lines withheld national 6-digit cells are derived from",
            True,
        ),
        Kind("state_industry3", "CBP state x 3-digit NAICS counts (setzler layout; incomplete)"),
        Kind("state_total", "CBP state totals (employment, establishments, payroll)"),
        Kind("national_total", "CBP national totals"),
        Kind("county_total", "CBP county totals"),
        Kind("cbp_api_extract", "CBP API extract saved as CSV (region x 6-digit NAICS)", True),
        Kind("cbp_flatfile", "CBP flat file cbpYY{us,st,co,msa} (region x NAICS)", True),
        Kind(
            "cbp_state_countysum",
            "CBP state x 6-digit NAICS summed from county API rows (ModelEarth; INCOMPLETE: "
            "unpublished county cells are missing, use for growth only)",
        ),
        Kind("countysum_coverage", "coverage table of the county-sum panel (documentation)"),
        Kind("cbp_cbsa_naics", "CBP CBSA x NAICS employment and establishments (Brookings pull)"),
        Kind("bea_gdp", "BEA SAGDP2N state GDP by industry (gdp, mfg_gdp)"),
        Kind("bea_county_gdp", "BEA CAGDP2 county GDP by industry (gdp, mfg_gdp)"),
        Kind("bea_msa_gdp", "BEA CAGDP2 metropolitan-area GDP by industry (gdp, mfg_gdp)"),
        Kind("qcew_annual", "BLS QCEW annual averages CSV (area x industry x ownership)", True),
        Kind("laus_state", "BLS LAUS state annual averages (residence-based employment)"),
        Kind("laus_county", "BLS LAUS county annual averages", True),
        Kind("ita_exports", "ITA metropolitan exports"),
        Kind("usatrade", "Census USA Trade Online state exports or imports by NAICS", True),
        Kind("cbsa_delineation", "OMB county -> CBSA delineation"),
        Kind("ea_crosswalk", "BEA economic areas -> counties"),
        Kind("geocodes", "Census geocodes (names of states, counties, places)"),
    )
}


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
            KINDS["definitions_2012"].holds,
        ),
        Input(
            "definitions_2017",
            "clusters/cluster_naics2017_crosswalk_derived.csv",
            KINDS["definitions_2017"].holds,
        ),
        Input(
            "cluster_library",
            "clusters/clustermapping_api_clusterLib_2015.json",
            KINDS["cluster_library"].holds,
        ),
        Input(
            "naics_concordance",
            "clusters/census_2012_to_2017_NAICS.csv",
            KINDS["naics_concordance"].holds,
        ),
        Input("cluster_list", "clusters/cluster_list.csv", KINDS["cluster_list"].holds),
        Input(
            "related_pairs",
            "clusters/related_clusters_cmp_pairs.csv",
            KINDS["related_pairs"].holds,
        ),
        Input(
            "related_library",
            "clusters/related_clusters_clusterLib.csv",
            KINDS["related_library"].holds,
        ),
        # -- County Business Patterns -----------------------------------------------------------
        Input(
            "national_industry",
            "cbp/setzler_CBP_national_industry6.csv",
            "CBP nation x 6-digit NAICS counts",
            (2001, 2021),
        ),
        Input(
            "state_industry3",
            "cbp/setzler_CBP_state_industry3.csv.gz",
            KINDS["state_industry3"].holds,
            (2001, 2021),
        ),
        Input(
            "state_total",
            "cbp/setzler_CBP_state_total.csv",
            KINDS["state_total"].holds,
            (2001, 2021),
        ),
        Input(
            "national_total",
            "cbp/setzler_CBP_national_total.csv",
            KINDS["national_total"].holds,
            (2001, 2021),
        ),
        Input(
            "county_total", "cbp/setzler_CBP_county_total.csv.gz", "CBP county totals", (2001, 2021)
        ),
        Input(
            "cbp_api_alabama_2021",
            "cbp/modelearth_cbpapi_state_naics6_AL_2021.csv",
            "CBP API 2021, Alabama x 6-digit NAICS 2017 (ModelEarth transcription)",
            (2021, 2021),
            kind="cbp_api_extract",
        ),
        Input(
            "cbp_state_countysum",
            "cbp/modelearth_state_naics6_countysum_2017_2021.csv.gz",
            KINDS["cbp_state_countysum"].holds,
            (2017, 2021),
        ),
        Input(
            "countysum_coverage",
            "cbp/modelearth_state_naics6_countysum_coverage.csv",
            KINDS["countysum_coverage"].holds,
            (2017, 2021),
        ),
        Input(
            "cbp_cbsa_naics",
            "cbp/brookings_cbp_cbsa_naics_2018_2019.csv.gz",
            KINDS["cbp_cbsa_naics"].holds,
            (2018, 2019),
        ),
        # -- outcomes ----------------------------------------------------------------------------
        Input(
            "bea_gdp",
            "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz",
            "BEA SAGDP2N state GDP by industry (gdp, mfg_gdp)",
            (1997, 2022),
        ),
        Input(
            "bea_county_gdp",
            "bea/CAGDP2_county_2001_2021.csv.gz",
            KINDS["bea_county_gdp"].holds,
            (2001, 2021),
        ),
        Input(
            "bea_msa_gdp",
            "bea/CAGDP2_MSA_2001_2021.csv.gz",
            KINDS["bea_msa_gdp"].holds,
            (2001, 2021),
        ),
        Input(
            "laus_state",
            "qcew/laus_state_annual_1976_2018_staadata.xlsx",
            "BLS LAUS state annual averages (residence-based employment, labour force)",
            (1976, 2018),
        ),
        *(
            Input(
                f"laus_county_{year}",
                f"qcew/laus_county_annual_{year}.xlsx",
                f"BLS LAUS county annual averages, {year}",
                (year, year),
                kind="laus_county",
            )
            for year in (2015, 2016, 2017, 2018)
        ),
        Input(
            "ita_exports",
            "trade/ita_msa_exports_2012_2021.csv",
            "ITA metropolitan exports",
            (2012, 2021),
        ),
        Input(
            "usatrade_exports",
            "trade/usatrade_exports_allstates_naics3_by_country_2020_2026.csv.gz",
            "USA Trade Online exports by NAICS-3 and country, all states together (US total)",
            (2020, 2025),
            kind="usatrade",
        ),
        Input(
            "usatrade_imports",
            "trade/usatrade_imports_allstates_naics3_by_country_2020_2026.csv.gz",
            "USA Trade Online imports by NAICS-3 and country, all states together (US total)",
            (2020, 2025),
            kind="usatrade",
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


def _kind_or_known(key: str) -> tuple[Kind, Input | None]:
    """The kind asked for (a KNOWN key or a kind name) and its shared-folder entry if any."""
    if key in KNOWN:
        entry = KNOWN[key]
        return KINDS[entry.of_kind], entry
    if key in KINDS:
        return KINDS[key], None
    raise ParameterError(
        "key", f"no known input {key!r}", allowed=", ".join(sorted(set(KNOWN) | set(KINDS)))
    )


def file_name(key: str) -> str:
    """The file name of input ``key`` (for readers handed a folder instead of a file)."""
    return known(key).name


def shared_path(key: str) -> Path | None:
    """Where input ``key`` sits in the shared data folder; None without that folder.

    The file itself may be absent: the caller's reader says so with its own message.
    """
    root = shared_data_dir()
    return None if root is None else root / known(key).relative


# -- recognising a file by its content ---------------------------------------------------------
#: bytes read from the head of a text file to recognise it (a header and a data line or two)
_HEAD_BYTES = 64 * guard.KiB
_HEAD_LIMITS = guard.Limits(max_bytes=None, max_line_bytes=None, max_columns=None)
_SKIP_SUFFIXES = {".md", ".txt~", ".py", ".pdf", ".html", ".png", ".duckdb", ".wal", ".parquet"}


def _head(path: Path) -> list[str]:
    """The first lines of a text file (plain, .gz or the first .csv/.txt of a .zip)."""
    with guard.open_bytes(path, what="input file", limits=_HEAD_LIMITS) as stream:
        data = io.BufferedReader(stream, buffer_size=_HEAD_BYTES).read(_HEAD_BYTES)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.splitlines()[:6]


def _columns(lines: list[str]) -> list[str]:
    """The header record (a quoted field may span lines, as in the NAICS concordance)."""
    try:
        fields = next(csv.reader(io.StringIO("\n".join(lines))))
    except (csv.Error, StopIteration):
        return []
    return [f.strip().strip('"').strip().lower() for f in fields]


def _workbook_kind(path: Path) -> str | None:
    """LAUS workbooks by the title strings BLS puts in them."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/sharedStrings.xml" not in archive.namelist():
                return None
            info = archive.getinfo("xl/sharedStrings.xml")
            if info.file_size > 64 * guard.MiB:
                return None
            text = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError):
        return None
    if "Labor Force Data by County" in text:
        return "laus_county"
    if "Employment status of the civilian noninstitutional population" in text:
        return "laus_state"
    return None


def _short_naics(cols: list[str], row: str) -> bool:
    """Whether the first data row's ``naics`` is a 2- to 5-digit line, not a 6-digit cell."""
    try:
        fields = next(csv.reader(io.StringIO(row)))
    except (csv.Error, StopIteration):
        return False
    if "naics" not in cols or len(fields) <= cols.index("naics"):
        return False
    return re.fullmatch(r"\d{2,5}", fields[cols.index("naics")].strip().strip('"')) is not None


def _text_kind(lines: list[str]) -> str | None:
    """The kind of a delimited text file from its first lines (None: not recognised)."""
    if not lines:
        return None
    first = lines[0].strip().strip('"').lower()
    if first.startswith(("state exports by naics", "state imports by naics")):
        return "usatrade"
    if first.startswith('{"dict"') or first.startswith("{") and '"vartypes"' in first:
        return "cluster_library"
    cols = _columns(lines)
    have = set(cols)
    second = lines[1] if len(lines) > 1 else ""
    if cols and cols[0] == "geofips" and "tablename" in have:
        if ",SAGDP" in second:
            return "bea_gdp"
        if ",CAGDP" in second:
            metro = "Metropolitan Statistical Area" in second or "Micropolitan" in second
            return "bea_msa_gdp" if metro else "bea_county_gdp"
        return None
    rules: list[tuple[str, set[str], set[str]]] = [
        # (kind, columns all present, columns all absent)
        ("uscm_state_2016", {"cluster_code_t", "region_type_t", "emp_tl"}, set()),
        ("definitions_2017", {"naics2017", "cluster_code", "naics2012_sources"}, set()),
        ("definitions_2012", {"naics2012", "cluster_code", "cluster_name"}, set()),
        ("cluster_list", {"cluster_code", "cluster_name", "cluster_short_name"}, set()),
        ("related_pairs", {"clustera", "clusterb", "rel_all_90_v3"}, set()),
        ("related_library", {"cluster_code", "related_cluster_code", "related_90"}, set()),
        ("countysum_coverage", {"countysum_naics6_employees", "coverage"}, set()),
        (
            "cbp_state_countysum",
            {"state_fips", "year", "naics", "employees", "establishments"},
            set(),
        ),
        ("cbp_cbsa_naics", {"cbsa_code", "naics_code", "naics_level", "emp", "estab"}, set()),
        ("state_industry3", {"state_fips", "naics", "employment_march"}, set()),
        ("national_industry", {"naics", "employment_march"}, {"state_fips"}),
        ("county_total", {"county_fips", "employment_march"}, {"naics"}),
        ("state_total", {"state_fips", "employment_march"}, {"naics", "county_fips"}),
        ("national_total", {"employment_march", "year"}, {"naics", "state_fips"}),
        ("qcew_annual", {"area_fips", "own_code", "industry_code", "annual_avg_emplvl"}, set()),
        ("cbsa_delineation", {"cbsa code", "cbsa title", "fips state code"}, set()),
        ("ea_crosswalk", {"fips", "ea", "ea name"}, set()),
        ("geocodes", {"summary level", "state code (fips)"}, set()),
        ("cbp_api_extract", {"naics", "establishments", "employees"}, set()),
        ("cbp_flatfile", {"naics", "emp", "est"}, set()),
    ]
    for kind, present, absent in rules:
        if present <= have and not (absent & have):
            if kind == "national_industry" and _short_naics(cols, second):
                return "national_parents"  # same header, 2- to 5-digit lines
            return kind
    if cols and cols[0].startswith("msa full name"):
        return "ita_exports"
    if len(cols) >= 3 and cols[0].startswith("2012 naics") and cols[2].startswith("2017 naics"):
        return "naics_concordance"
    naics_var = any(re.fullmatch(r"naics(19|20)\d\d", c) for c in cols)
    if naics_var and {"emp", "estab"} <= have:  # the Census API's own variable names
        return "cbp_api_extract"
    return None


def recognise(path: str | Path) -> str | None:
    """The :data:`KINDS` key of the file at ``path``, told by its content; None if unknown.

    Reads at most the first 64 KiB of a text file (plain, ``.gz`` or the first CSV member of a
    ``.zip``), or the shared strings of an ``.xlsx`` workbook. A file that cannot be read is
    not recognised (None), never an error: the folder scan lists it as such.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _SKIP_SUFFIXES or path.name.startswith("."):
        return None
    if suffix == ".xlsx":
        return _workbook_kind(path)
    if suffix == ".xls":
        return None  # legacy workbooks: the tidy CSV copies are read instead
    try:
        return _text_kind(_head(path))
    except (InputError, OSError, UnicodeError):
        return None


class Catalog:
    """The inputs of one folder (``folder=None``: the shared data folder), found by content.

    >>> catalog = Catalog("../shared/data")          # doctest: +SKIP
    >>> catalog.path("bea_gdp")                      # doctest: +SKIP
    PosixPath('../shared/data/bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz')
    >>> catalog.files("qcew_annual")                 # doctest: +SKIP
    [PosixPath('downloads/2019.annual.singlefile.csv'), ...]
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        if folder is None:
            folder = shared_data_dir()
            if folder is None:
                raise DataUnavailableError(
                    "no data folder: pass one (--data DIR, a folder of public data files that "
                    "clusteratlas recognises by content) or set CLUSTERATLAS_DATA"
                )
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataUnavailableError(
                f"data folder {self.folder} does not exist: pass a folder of public data files "
                "(CBP, BEA, QCEW, cluster definitions, ...; recognised by content)"
            )
        self._scan: dict[Path, str | None] | None = None

    def __repr__(self) -> str:
        return f"Catalog({str(self.folder)!r})"

    # -- the scan ----------------------------------------------------------------------------
    def _scanned(self) -> dict[Path, str | None]:
        """Every file under the folder -> its kind (None: not recognised), in path order."""
        if self._scan is None:
            self._scan = {
                path: recognise(path)
                for path in sorted(self.folder.rglob("*"))
                if path.is_file() and not any(p.startswith(".") for p in path.parts[-3:])
            }
        return self._scan

    def inventory(self) -> pd.DataFrame:
        """Every file of the folder: ``path`` (relative), ``kind`` ("" when not recognised),
        ``holds`` (what a file of that kind holds)."""
        rows = [
            {
                "path": str(path.relative_to(self.folder)),
                "kind": kind or "",
                "holds": KINDS[kind].holds if kind else "not recognised (not used)",
            }
            for path, kind in self._scanned().items()
        ]
        return pd.DataFrame(rows, columns=["path", "kind", "holds"])

    def files(self, kind: str) -> list[Path]:
        """Every file of ``kind`` (a :data:`KINDS` key, or a KNOWN key: its kind) in the folder."""
        wanted, _ = _kind_or_known(kind)
        return [path for path, found in self._scanned().items() if found == wanted.key]

    # -- one input ---------------------------------------------------------------------------
    def find(self, key: str) -> Path | None:
        """The file of input ``key`` (a KNOWN key or a kind) when the folder has it, else None.

        The shared layout's place is tried first (and kept only if its content is of the right
        kind); otherwise the first file of the kind found by scanning the folder.
        """
        kind, entry = _kind_or_known(key)
        if entry is not None:
            path = self.folder / entry.relative
            if path.is_file() and (self._scan is None or path in self._scan):
                found = self._scan[path] if self._scan is not None else recognise(path)
                if found == kind.key:
                    return path
            if kind.many:  # one file of a many-file kind: only its own place names it
                return None
        matches = self.files(kind.key)
        return matches[0] if matches else None

    def has(self, key: str) -> bool:
        return self.find(key) is not None

    def path(self, key: str) -> Path:
        """The file of input ``key``; a :class:`DataUnavailableError` naming it if absent."""
        path = self.find(key)
        if path is None:
            kind, entry = _kind_or_known(key)
            where = self.folder / entry.relative if entry is not None else self.folder
            raise DataUnavailableError(
                f"{where} not found ({entry.holds if entry else kind.holds}; no file of that "
                f"kind in {self.folder} either; see the data folder's PROVENANCE.md)"
            )
        return path

    def folder_of(self, key: str) -> Path:
        """The folder holding input ``key`` (for readers that take a folder of files)."""
        found = self.find(key)
        return found.parent if found is not None else (self.folder / known(key).relative).parent

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` whose file the folder lacks."""
        return [key for key in keys if not self.has(key)]

    def require(self, keys: Iterable[str]) -> None:
        """A :class:`DataUnavailableError` naming every file of ``keys`` the folder lacks."""
        missing = self.missing(keys)
        if missing:
            names = [known(k).relative if k in KNOWN else KINDS[k].holds for k in missing]
            raise DataUnavailableError(f"{self.folder} lacks {', '.join(names)}")

    def digests(self, keys: Iterable[str]) -> dict[str, str]:
        """Content hash of each present input among ``keys`` (absent ones are left out); a
        many-file kind hashes all its files together."""
        out: dict[str, str] = {}
        for key in keys:
            kind, _ = _kind_or_known(key)
            if kind.many and key == kind.key:
                paths = self.files(key)
                if paths:
                    out[key] = "+".join(file_sha256(p)[:16] for p in paths)
            elif (path := self.find(key)) is not None:
                out[key] = file_sha256(path)
        return out
