"""One run of the main job, validated: its config, where its inputs come from, where outputs go.

Owns :class:`ClusterResilience`, the state every stage reads: the :class:`RunConfig`, the
source of the inputs and what they can support (:func:`data_availability`), the output folder
and store, and the notes each stage leaves for the report. Inputs come from one of four
sources (:attr:`ClusterResilience.source`):

* ``"folder"`` (``--data DIR``): files recognised by content by a
  :class:`~clusteratlas.data.catalog.Catalog`, loaded through :mod:`clusteratlas.data.inputs`;
* ``"fetch"`` (``--fetch``): the publishers' APIs and files through the cached fetcher
  (:mod:`clusteratlas.data.acquire`); reference files (cluster definitions, crosswalks) come
  from ``--data`` or the shared data folder;
* ``"store"`` (``--store FILE`` alone): a store the user built with ``clusteratlas load`` and
  ``clusteratlas panel build``, any country and any cluster definition;
* ``"demo"`` (``--demo``): the SYNTHETIC national county panel of :mod:`.demo`.

All validation happens in the constructor, before any work: a bad config key, region, year,
cluster or a missing input is a :class:`~clusteratlas.errors.ParameterError` or
:class:`~clusteratlas.errors.DataUnavailableError` at once, not after minutes of stages. The
constructor also resolves what the config leaves open (regions of interest, outcomes) from
the availability, so the resolved config is what keys the stage cache and what the report
prints.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from clusteratlas.data import acquire, inputs
from clusteratlas.data.catalog import Catalog
from clusteratlas.data.clusters import load_definition
from clusteratlas.data.shapes import shapes
from clusteratlas.errors import ClusterAtlasError, DataUnavailableError, ParameterError
from clusteratlas.paths import shared_data_dir
from clusteratlas.store import Store, file_sha256
from clusteratlas.studies.cluster_resilience.config import (
    RUN_OUTCOMES,
    Availability,
    RunConfig,
    custom_definition,
    study_years,
    validate_against,
)
from clusteratlas.studies.cluster_resilience.demo import BASE_YEAR, COUNT_YEARS, OUTCOME_YEARS

#: input files of a folder run (catalog keys and kinds); their hashes key the stage cache
INPUTS = (
    "uscm_state_2016",
    "definitions_2012",
    "definitions_2017",
    "cluster_library",
    "cluster_list",
    "national_industry",
    "national_parents",
    "state_total",
    "national_total",
    "county_total",
    "bea_gdp",
    "bea_county_gdp",
    "bea_msa_gdp",
    "laus_state",
    "related_pairs",
    "ita_exports",
    "cbsa_delineation",
    "ea_crosswalk",
    "cbp_state_countysum",
    "cbp_cbsa_naics",
    "cbp_api_extract",
    "cbp_flatfile",
    "qcew_annual",
)
#: the inputs a folder run cannot start without (the others add outcomes, panels and maps)
REQUIRED = ("definitions_2012", "national_industry")
#: the regions of interest when the config names none: the seed study's focus, Alabama
ALABAMA = {"state": "01", "county": "01073", "msa": "13820"}
SOURCES = ("folder", "fetch", "store", "demo")
#: the user's tables a store run reads (never writes): their sizes key its stage cache. The
#: cluster_panel is left out: a store run builds it there when the user has not.
USER_TABLES = (
    "industry_counts",
    "region_totals",
    "cluster_definitions",
    "outcomes",
    "region_members",
)


def _span(values) -> tuple[int, int]:
    values = [int(v) for v in values]
    return (min(values), max(values))


def _demo_availability(config: RunConfig) -> Availability:
    if config.region_type not in ("county", "state"):
        raise ParameterError(
            "study.region_type", "the demo is a county panel", allowed="county, state"
        )
    ids = shapes("counties")["id"] if config.region_type == "county" else shapes("states")["id"]
    span = (min(OUTCOME_YEARS), max(OUTCOME_YEARS))
    return Availability(
        frozenset(ids),
        {"gdp": span, "mfg_gdp": span, "employment": (min(COUNT_YEARS), max(COUNT_YEARS))},
        tuple(COUNT_YEARS),
        _demo_cluster_codes(),
        "the synthetic demo",
        default_base=BASE_YEAR,
    )


def _folder_availability(catalog: Catalog, config: RunConfig) -> Availability:
    """What a folder of recognised files supports at the config's region type."""
    catalog.require(REQUIRED)
    rt = config.region_type
    sources = [s for s in inputs.region_count_sources(catalog) if s.region_type == rt]
    levels = [s for s in sources if s.levels]
    if not levels:
        supported = sorted(
            {s.region_type for s in inputs.region_count_sources(catalog) if s.levels}
        )
        raise ParameterError(
            "study.region_type",
            f"the data in {catalog.folder} has no {rt} x industry (or x cluster) counts whose "
            "levels can be used, so no cluster panel can be built at that level; fetch them "
            "from the Census Bureau (clusteratlas run --fetch --region-type "
            f"{rt} --years ...) or add CBP {rt} files (API extracts or flat files) to the folder",
            allowed=", ".join(supported) or "none with this folder",
        )
    ids: set[str] = set()
    largest = None
    if any(s.kind == "uscm_state_2016" for s in levels):
        uscm = inputs.uscm_state_clusters(catalog)
        uscm = uscm.loc[uscm["region_type"] == rt]
        ids |= set(uscm["region_id"].astype(str))
        largest = str(uscm.groupby("region_id")["emp"].sum().idxmax())
    if any(s.kind == "cbp_cbsa_naics" for s in levels):
        frame = pd.read_csv(
            catalog.path("cbp_cbsa_naics"),
            usecols=["cbsa_code", "naics_code", "EMP"],
            dtype={"cbsa_code": str, "naics_code": str},
        )
        ids |= set(frame["cbsa_code"].str.zfill(5))
        totals = frame.loc[frame["naics_code"] == "00"]
        if not totals.empty:
            largest = str(totals.groupby("cbsa_code")["EMP"].max().idxmax()).zfill(5)
    return Availability(
        frozenset(ids),
        inputs.outcome_years(catalog, rt),
        tuple(sorted({y for s in levels for y in s.years})),
        inputs.cluster_codes(catalog) if catalog.has("cluster_list") else frozenset(),
        f"the data in {catalog.folder}",
        growth_years=tuple(sorted({y for s in sources if not s.levels for y in s.years})),
        largest=largest,
    )


def _store_availability(path: Path, config: RunConfig) -> Availability:
    """What a user's store supports: its panel or counts, outcomes and definitions."""
    rt = config.region_type
    if not path.is_file():
        raise ParameterError(
            "--store",
            f"no store {path}: build one with clusteratlas load ... and clusteratlas panel build",
            allowed="an existing clusteratlas store, or --data DIR / --fetch / --demo",
        )
    with Store(path, read_only=True) as store:
        rows = pd.DataFrame()
        if store.has("cluster_panel"):
            rows = store.sql(
                "select region_id, year, sum(emp) as emp from cluster_panel "
                "where region_type = ? group by 1, 2",
                [rt],
            )
        if rows.empty and store.has("industry_counts"):
            if rt in ("state", "county"):
                rows = store.sql(
                    "select region_id, year, sum(emp) as emp from industry_counts "
                    "where region_type = ? group by 1, 2",
                    [rt],
                )
            elif store.has("region_members"):
                rows = store.sql(
                    "select m.region_id, c.year, sum(c.emp) as emp from industry_counts c "
                    "join region_members m on m.member_id = c.region_id "
                    "and m.member_type = c.region_type where m.region_type = ? "
                    "group by 1, 2",
                    [rt],
                )
        if rows.empty:
            raise ParameterError(
                "study.region_type",
                f"the store {path} has no {rt} rows in cluster_panel or industry_counts",
                allowed="a region type the store holds (clusteratlas panel build --region-type)",
            )
        outcome_years: dict[str, tuple[int, int]] = {}
        if store.has("outcomes"):
            spans = store.sql(
                "select outcome, min(year) as first, max(year) as last from outcomes "
                "where region_type = ? group by 1",
                [rt],
            )
            outcome_years = {
                str(r.outcome): (int(r.first), int(r.last))
                for r in spans.itertuples()
                if r.outcome in RUN_OUTCOMES
            }
        # CBP-like employment is always there: summed from the counts when not loaded
        outcome_years.setdefault("employment", _span(rows["year"]))
        codes: frozenset[str] = frozenset()
        if store.has("cluster_definitions"):
            codes = frozenset(
                store.sql("select distinct cluster_code from cluster_definitions")[
                    "cluster_code"
                ].astype(str)
            )
        elif store.has("cluster_panel"):
            codes = frozenset(
                store.sql("select distinct cluster_code from cluster_panel")["cluster_code"].astype(
                    str
                )
            )
    latest = rows.loc[rows["year"] == rows["year"].max()]
    return Availability(
        frozenset(rows["region_id"].astype(str)),
        outcome_years,
        tuple(sorted(int(y) for y in rows["year"].unique())),
        codes,
        f"the store {path}",
        largest=str(latest.sort_values("emp").iloc[-1]["region_id"]),
    )


def _fetch_availability(config: RunConfig, catalog: Catalog | None) -> Availability:
    """What a fetch run will ask for (ids of states and counties from the shipped map)."""
    span = study_years(config)
    if span is None:
        raise ParameterError(
            "--years",
            "a fetch needs the years to ask the publishers for",
            allowed="e.g. --years 2015-2022",
        )
    years = tuple(range(span[0], span[1] + 1))
    acquire.plan(config.region_type, years, config.study["states"] or None)  # validates
    rt = config.region_type
    ids: frozenset[str] = frozenset()
    if rt == "state":
        ids = frozenset(shapes("states")["id"])
    elif rt == "county":
        ids = frozenset(shapes("counties")["id"])
    outcomes = {name: (years[0], years[-1]) for name in ("gdp", "mfg_gdp", "employment")}
    outcomes["employment_qcew"] = (years[0], years[-1])
    if rt == "state":
        outcomes["exports"] = outcomes["imports"] = (years[0], years[-1])
    codes = (
        inputs.cluster_codes(catalog)
        if catalog is not None and catalog.has("cluster_list")
        else frozenset()
    )
    return Availability(ids, outcomes, years, codes, "the publishers' data (fetched)")


def data_availability(catalog: Catalog | None, config: RunConfig) -> Availability:
    """What a folder (``catalog``) or the SYNTHETIC demo (``catalog=None``) supports, read
    cheaply (for validation before any stage runs)."""
    return _demo_availability(config) if catalog is None else _folder_availability(catalog, config)


def _demo_cluster_codes() -> frozenset[str]:
    try:
        return frozenset(load_definition("uscm", naics_vintage=2012)["cluster_code"].astype(str))
    except ClusterAtlasError:  # no shared data: the demo's synthetic definition
        return frozenset(str(k + 1) for k in range(14)) | frozenset(str(101 + k) for k in range(6))


class ClusterResilience:
    """One validated run of the main job (``clusteratlas run``).

    Give one source: ``data_dir`` (a folder of recognised files), ``fetch=True`` (the
    publishers; ``data_dir`` then only supplies reference files), ``demo=True`` (SYNTHETIC),
    or none of them with ``store_path`` naming a store the user built (``source="store"``).
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        out_dir: str | Path = "clusteratlas-output",
        data_dir: str | Path | None = None,
        demo: bool = False,
        store_path: str | Path | None = None,
        seed: int = 20240101,
        fetch: bool = False,
    ) -> None:
        if demo and (fetch or data_dir is not None):
            raise ParameterError("--demo", "the demo takes no --data or --fetch")
        self.source = (
            "demo"
            if demo
            else "fetch"
            if fetch
            else "folder"
            if data_dir is not None
            else "store"
            if store_path is not None
            else None
        )
        if self.source is None:
            raise ParameterError(
                "--data/--fetch/--store/--demo",
                "say where the data come from",
                allowed="--data DIR, --fetch --years 2015-2022, --store FILE (a store you "
                "built), or --demo",
            )
        self.config = config
        self.demo = demo
        self.seed = seed
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.out_dir = Path(out_dir)
        self.store_path = Path(store_path) if store_path else self.out_dir / "clusteratlas.duckdb"
        #: the runner's live progress display while stages run (None when quiet)
        self.live = None
        # validation BEFORE any work: raises ParameterError naming the key and allowed values
        self.definitions = custom_definition(config)
        if self.data_dir is not None and not self.data_dir.is_dir():
            raise ParameterError(
                "--data",
                f"data folder {self.data_dir} does not exist",
                allowed="a folder of public data files (recognised by content)",
            )
        #: the folder of recognised files: the inputs (folder run) or reference files (fetch)
        self.catalog = self._catalog()
        self.available = self._availability()
        if self.definitions is not None:
            levels = (
                [
                    s
                    for s in inputs.region_count_sources(self.catalog)
                    if s.region_type == config.region_type and s.levels
                ]
                if self.source == "folder"
                else []
            )
            if self.source == "folder" and all(s.kind == "uscm_state_2016" for s in levels):
                raise ParameterError(
                    "clusters.definition",
                    f"the real data in {self.data_dir} has region x cluster counts only as USCM's "
                    "state x cluster file, fixed to the USCM clusters; a custom definition needs "
                    "region x 6-digit industry counts (--fetch, the --demo panel, a --store you "
                    "built, or `clusteratlas panel` on your own counts)",
                    allowed='"uscm" with this folder',
                )
            codes = frozenset(self.definitions["cluster_code"].astype(str))
            self.available = dataclasses.replace(self.available, cluster_codes=codes)
        validate_against(config, self.available)
        self._resolve()
        #: each stage's notes by stage name (filled as the stages run; the report prints them)
        self.notes: dict[str, list[str]] = {}

    # -- construction helpers ----------------------------------------------------------------
    def _catalog(self) -> Catalog | None:
        if self.source == "folder":
            return Catalog(self.data_dir)
        if self.source == "fetch":
            folder = self.data_dir or shared_data_dir()
            return Catalog(folder) if folder is not None else None
        return None

    def _availability(self) -> Availability:
        if self.source == "demo":
            return _demo_availability(self.config)
        if self.source == "folder":
            return _folder_availability(self.catalog, self.config)
        if self.source == "store":
            return _store_availability(self.store_path, self.config)
        if self.definitions is None and (
            self.catalog is None or not self.catalog.has("definitions_2012")
        ):
            raise DataUnavailableError(
                "a fetch run needs a cluster definition: the US Cluster Mapping files (pass "
                "--data DIR with the USCM definition files, or put the shared data folder at "
                "../shared/data or CLUSTERATLAS_DATA) or your own ([clusters] definition = "
                '"my_clusters.csv")'
            )
        return _fetch_availability(self.config, self.catalog)

    def _resolve(self) -> None:
        """Fill what the config leaves open: regions of interest and outcomes."""
        study = self.config.study
        rt = self.config.region_type
        #: the regions of interest were chosen here (the panel stage may choose again)
        self.auto_regions = not study["regions"]
        if not study["regions"]:
            chosen = ALABAMA.get(rt)
            if (
                rt == "economic_area"
                and self.catalog is not None
                and self.catalog.has("ea_crosswalk")
            ):
                members = inputs.county_ea(self.catalog)
                match = members.loc[members["member_id"] == ALABAMA["county"], "region_id"]
                chosen = str(match.iloc[0]) if len(match) else None
            ids = self.available.region_ids
            if chosen is None or (ids and chosen not in ids):
                chosen = self.available.largest
            if chosen is None:
                raise ParameterError(
                    "study.regions", "name the regions of interest", allowed="region ids"
                )
            study["regions"] = [chosen]
        if not self.config.outcomes["names"]:
            have = self.available.outcome_years
            self.config.outcomes["names"] = [o for o in RUN_OUTCOMES if o in have] or ["employment"]

    # -- cache key ---------------------------------------------------------------------------
    def input_key(self) -> dict:
        """What identifies the inputs: the hash of every input file (or the demo's seed, the
        fetch plan, the user's store file) and of a custom cluster definition, so editing any
        of them reruns every stage."""
        definition = str(self.config.clusters["definition"]).strip()
        clusters = definition if definition == "uscm" else file_sha256(Path(definition))
        if self.source == "demo":
            return {"demo": True, "seed": self.seed, "clusters": clusters}
        if self.source == "folder":
            return {**self.catalog.digests(INPUTS), "clusters": clusters}
        if self.source == "fetch":
            return {
                "fetch": self.fetch_plan().describe(),
                "reference": self.catalog.digests(INPUTS[:5]) if self.catalog else {},
                "clusters": clusters,
            }
        # a store: its tables may change between runs; the run's own tables are in it too, so
        # key on the user's inputs only (their row counts and year spans)
        return {"store": self.store_fingerprint(), "clusters": clusters}

    def store_fingerprint(self) -> dict:
        """Row counts and year spans of the user's tables in the store (the store run's key)."""
        out = {}
        with Store(self.store_path, read_only=True) as store:
            for table in USER_TABLES:
                if store.has(table):
                    out[table] = store.sql(f'select count(*) as n from "{table}"')["n"].iloc[0]
        return {k: int(v) for k, v in out.items()}

    def fetch_plan(self) -> acquire.FetchPlan:
        """The requests of a fetch run (years from ``--years``)."""
        first, last = study_years(self.config)  # type: ignore[misc]
        return acquire.plan(
            self.config.region_type, range(first, last + 1), self.config.study["states"] or None
        )

    @property
    def years(self) -> tuple[int, int] | None:
        """The panel years the user asked for (None: every year the data have)."""
        return study_years(self.config)
