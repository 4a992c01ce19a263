"""The main job's load stage: the inputs of one source into the store, and what was used.

Owns how each source (:attr:`ClusterResilience.source`) becomes the canonical tables the later
stages read, and the load stage's ``run_provenance`` rows (:mod:`.provenance`):

* ``folder``: the files a :class:`~clusteratlas.data.catalog.Catalog` recognised, through
  :mod:`clusteratlas.data.inputs`: the region x industry (or x cluster) counts of the region
  type (USCM downloads, CBP API extracts and flat files, republished CBP panels; growth-only
  ones kept apart), national 6-digit counts, outcomes (BEA GDP of the level, CBP totals, LAUS,
  QCEW, ITA exports), crosswalks and names.
* ``fetch``: the publishers, through :mod:`clusteratlas.data.acquire` (a progress bar per
  request); a request that fails is a provenance row, not a stop, unless nothing is left to
  build a panel from.
* ``store``: nothing is loaded; the stage checks the user's tables and writes
  ``run_outcome_inputs`` (her outcomes, plus CBP-like employment from her totals or counts).
* ``demo``: the SYNTHETIC generator of :mod:`.demo`.

Tables written (folder, fetch): ``industry_counts`` (region and nation rows; growth-only
sources carry their own ``source``), ``region_totals``, ``cluster_definitions``, ``outcomes``,
``regions``, ``region_members``, ``uscm_input`` (a USCM download, when used), and
``national_parents`` (the national 2- to 5-digit CBP lines, when the inputs have them: a
fetch run's national answer, or setzler's ``CBP_national_industry4.csv`` in the folder; the
panel stage derives withheld national cells from them as USCM did, :func:`write_parents`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.data import acquire, geo, inputs
from clusteratlas.data.catalog import KNOWN
from clusteratlas.data.fetch import Fetcher
from clusteratlas.data.republished import SOURCE_COUNTYSUM
from clusteratlas.data.shapes import county_names, shapes
from clusteratlas.errors import ClusterAtlasError, DataUnavailableError
from clusteratlas.schema import INDUSTRY_COUNTS, OUTCOMES, REGION_MEMBERS, REGIONS, conform
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.demo import build_demo_store

if TYPE_CHECKING:
    from clusteratlas.data.catalog import Catalog
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

#: sources whose levels cannot be trusted (incomplete sums): growth only
GROWTH_ONLY_SOURCES = (SOURCE_COUNTYSUM,)
#: the first year of the county-sum panel is less complete than the others (PROVENANCE.md)
COUNTYSUM_FIRST_YEAR = 2018


def stage_load(p: ClusterResilience, store: Store) -> dict:
    """Raw inputs -> canonical tables, by source; ``run_provenance`` rows for the load stage."""
    loader = {"demo": _load_demo, "folder": _load_folder, "fetch": _load_fetch}.get(
        p.source, _load_store
    )
    tables, rows, notes = loader(p, store)
    notes = notes + provenance.record(store, "load", rows)
    return {"tables": [*tables, provenance.TABLE], "notes": notes}


# -- demo --------------------------------------------------------------------------------------
def _load_demo(p: ClusterResilience, store: Store) -> tuple[list[str], list[dict], list[str]]:
    info = build_demo_store(store, seed=p.seed, treatment=p.config.treatment)
    notes = [
        f"SYNTHETIC demo data: {info['counties']} counties, {info['clusters']} clusters, seed {info['seed']}"
    ]
    if p.definitions is not None:
        # the synthetic counts are NAICS 2012 industries: aggregate them the user's way
        store.write("cluster_definitions", p.definitions)
        notes.append(
            f"custom cluster definition {p.config.clusters['definition']} "
            f"({p.definitions['cluster_code'].nunique()} clusters); the demo's known effects "
            "were drawn for USCM cluster regions, so its DID is not a check against the truth"
        )
    counts = store.sql("select min(year) as a, max(year) as b from industry_counts").iloc[0]
    outcomes = store.sql("select min(year) as a, max(year) as b from outcomes").iloc[0]
    rows = [
        provenance.row(
            "SYNTHETIC county x industry counts (known effects)",
            "synthetic-demo generator (clusteratlas.studies.cluster_resilience.demo)",
            f"{int(counts['a'])}-{int(counts['b'])}",
            "county",
        ),
        provenance.row(
            "SYNTHETIC outcomes (GDP, manufacturing GDP, employment)",
            "synthetic-demo generator",
            f"{int(outcomes['a'])}-{int(outcomes['b'])}",
            "county",
        ),
    ]
    tables = ["industry_counts", "cluster_definitions", "outcomes", "regions", "region_members"]
    return [*tables, "demo_truth"], rows, notes


# -- a folder of recognised files ----------------------------------------------------------------
def _file_source(catalog: Catalog, key: str) -> str:
    path = catalog.path(key)
    return f"file {path.relative_to(catalog.folder)}"


def _in_years(frame: pd.DataFrame, years: tuple[int, int] | None) -> pd.DataFrame:
    if years is None or frame.empty:
        return frame
    return frame.loc[frame["year"].between(*years)]


def _folder_counts(
    p: ClusterResilience, store: Store, rows: list[dict]
) -> tuple[list[pd.DataFrame], list[str]]:
    """Region x industry counts of the region type (level and growth-only sources)."""
    catalog, rt, years = p.catalog, p.config.region_type, p.years
    frames: list[pd.DataFrame] = []
    tables: list[str] = []
    for source in inputs.region_count_sources(catalog):
        if source.region_type != rt or source.kind == "cbp_extracts":
            continue  # extracts and flat files: below, with the per-year region check
        if source.kind == "uscm_state_2016":
            uscm = inputs.uscm_state_clusters(catalog)
            uscm = _in_years(uscm.loc[uscm["region_type"] == rt], years)
            store.write("uscm_input", uscm)
            tables.append("uscm_input")
            rows.append(
                provenance.row(
                    "US Cluster Mapping region x cluster inputs (USCM-imputed employment)",
                    _file_source(catalog, source.kind),
                    uscm["year"].unique(),
                    rt,
                )
            )
            continue
        counts = _in_years(inputs.republished_counts(catalog, source.kind), years)
        reason = ""
        status = "used"
        if not source.levels:
            dropped = sorted({int(y) for y in counts["year"]} & set(range(0, COUNTYSUM_FIRST_YEAR)))
            counts = counts.loc[counts["year"] >= COUNTYSUM_FIRST_YEAR]
            status = "partial"
            reason = (
                "INCOMPLETE: summed from published county cells, 55-95 % of the state totals; "
                "used for growth only (cluster resilience, region x cluster evidence), never "
                "for location quotients, strong flags or the treatment"
                + (
                    f"; {year_text(dropped)} left out (less complete than later years)"
                    if dropped
                    else ""
                )
            )
        frames.append(counts)
        rows.append(
            provenance.row(
                source.holds,
                _file_source(catalog, source.kind),
                counts["year"].unique(),
                rt,
                status,
                reason,
            )
        )
    extract_files = catalog.files("cbp_api_extract") + catalog.files("cbp_flatfile")
    if extract_files:
        extracts = _in_years(inputs.cbp_extracts(catalog), years)
        mine = extracts.loc[extracts["region_type"] == rt]
        for year, part in mine.groupby("year"):
            regions = part["region_id"].nunique()
            where = ", ".join(str(f.relative_to(catalog.folder)) for f in extract_files[:3])
            if regions < 2:
                rows.append(
                    provenance.row(
                        "CBP region x 6-digit NAICS extract",
                        f"file(s) {where}",
                        [int(year)],
                        rt,
                        "not possible",
                        f"covers one {rt} ({part['region_id'].iloc[0]}) in {year}; location "
                        f"quotient ranks and strong flags need every {rt} of the year",
                    )
                )
                continue
            frames.append(part)
            rows.append(
                provenance.row(
                    "CBP region x 6-digit NAICS extract", f"file(s) {where}", [int(year)], rt
                )
            )
    return frames, tables


def year_text(years) -> str:
    return acquire.year_span(years) or "none"


def _folder_outcomes(p: ClusterResilience, rows: list[dict]) -> list[pd.DataFrame]:
    catalog, rt = p.catalog, p.config.region_type
    frames: list[pd.DataFrame] = []

    def add(key: str, what: str, level: str, load) -> None:
        if not catalog.has(key):
            return
        try:
            frame = load()
        except ClusterAtlasError as error:
            rows.append(
                provenance.row(
                    what, _file_source(catalog, key), "", level, "not possible", str(error)
                )
            )
            return
        frames.append(frame)
        rows.append(provenance.row(what, _file_source(catalog, key), frame["year"].unique(), level))

    gdp_key = inputs.GDP_FILES.get(rt)
    if gdp_key == "bea_gdp":
        add(
            "bea_gdp",
            "GDP and manufacturing GDP (BEA SAGDP2N)",
            "state",
            lambda: inputs.state_gdp(catalog),
        )
    elif gdp_key == "bea_county_gdp":
        add(
            "bea_county_gdp",
            "GDP and manufacturing GDP (BEA CAGDP2)",
            "county",
            lambda: inputs.county_gdp(catalog),
        )
    elif gdp_key == "bea_msa_gdp":
        add(
            "bea_msa_gdp",
            "GDP and manufacturing GDP (BEA CAGDP2, metro areas)",
            "msa",
            lambda: inputs.msa_gdp(catalog),
        )
    if rt == "state":
        add(
            "state_total",
            "CBP employment, all industries (mid-March), states",
            "state",
            lambda: _employment(inputs.cbp_totals(catalog, "state")),
        )
        add(
            "laus_state",
            "LAUS residence-based employment (employment_laus)",
            "state",
            lambda: inputs.laus_state(catalog),
        )
    # county totals: the county level itself, the aggregates (summed through region_members)
    # and the county context map of a state run
    add(
        "county_total",
        "CBP employment, all industries (mid-March), counties",
        "county",
        lambda: _employment(inputs.cbp_totals(catalog, "county")),
    )
    add(
        "national_total",
        "CBP employment, all industries (mid-March), nation",
        "national",
        lambda: _employment(inputs.cbp_totals(catalog, "nation")),
    )
    if rt in ("county", "economic_area") and catalog.files("laus_county"):
        add(
            "laus_county",
            "LAUS residence-based employment (employment_laus)",
            "county",
            lambda: inputs.laus_counties(catalog),
        )
    if catalog.files("qcew_annual"):
        add(
            "qcew_annual",
            "QCEW annual average employment (employment_qcew)",
            rt,
            lambda: inputs.qcew_employment(catalog),
        )
    if catalog.has("ita_exports") and catalog.has("cbsa_delineation"):
        add("ita_exports", "ITA metropolitan exports", "msa", lambda: inputs.msa_exports(catalog))
    for path in catalog.files("usatrade"):
        rows.append(
            provenance.row(
                f"USA Trade Online exports / imports by NAICS and country ({path.name})",
                f"file {path.relative_to(catalog.folder)}",
                "",
                "national",
                "not possible",
                "the file holds 'All States' together (the US total), not each state: state "
                "exports and imports need the Census trade API (run --fetch) or a USA Trade "
                "Online table with every state selected",
            )
        )
    return frames


def _employment(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["outcome"].isin(["employment", "establishments"])]


def _regions_and_members(
    p: ClusterResilience, store: Store, ids: set[str], tables: list[str]
) -> None:
    """Region names and county -> CBSA / economic-area membership (from the crosswalks)."""
    catalog = p.catalog
    rt = p.config.region_type
    states = shapes("states")
    names = [
        pd.DataFrame(
            {
                "region_type": "state",
                "region_id": states["id"],
                "region_name": states["name"],
                "state_fips": states["id"],
            }
        )
    ]
    counties = county_names()
    names.append(
        pd.DataFrame(
            {
                "region_type": "county",
                "region_id": counties.index,
                "region_name": counties.to_numpy(),
                "state_fips": [c[:2] for c in counties.index],
            }
        )
    )
    members = []  # states come at state level here: no county -> state members needed
    if catalog is not None and catalog.has("cbsa_delineation"):
        members.append(inputs.county_cbsa(catalog))
        names.append(geo.cbsa_regions(catalog.path("cbsa_delineation")))
    if catalog is not None and catalog.has("ea_crosswalk"):
        members.append(inputs.county_ea(catalog))
        names.append(geo.ea_regions(catalog.path("ea_crosswalk")))
    regions = pd.concat(names, ignore_index=True)
    known = set(regions.loc[regions["region_type"] == rt, "region_id"])
    extra = sorted(ids - known)
    if extra:  # ids without a name (e.g. a CBSA code retired since 2020): named by their id
        regions = pd.concat(
            [
                regions,
                pd.DataFrame(
                    {"region_type": rt, "region_id": extra, "region_name": extra, "state_fips": ""}
                ),
            ],
            ignore_index=True,
        )
    store.write(
        "regions",
        conform(regions.drop_duplicates(["region_type", "region_id"]), REGIONS, what="regions"),
    )
    tables.append("regions")
    if members:
        store.write(
            "region_members",
            conform(
                pd.concat(members, ignore_index=True).drop_duplicates(),
                REGION_MEMBERS,
                what="members",
            ),
        )
        tables.append("region_members")


def _definitions(p: ClusterResilience, counts: pd.DataFrame | None) -> pd.DataFrame:
    if p.definitions is not None:
        return p.definitions
    vintages = (
        sorted({int(v) for v in counts["naics_vintage"].unique()})
        if counts is not None and not counts.empty
        else [2012]
    )
    return inputs.uscm_definitions_for(p.catalog, vintages)


def _national(p: ClusterResilience, years: set[int], rows: list[dict]) -> pd.DataFrame:
    catalog = p.catalog
    national = inputs.national_industry_counts(catalog, years=sorted(years))
    rows.append(
        provenance.row(
            "County Business Patterns, nation x 6-digit NAICS (LQ denominators)",
            _file_source(catalog, "national_industry"),
            national["year"].unique(),
            "national",
        )
    )
    missing = sorted(years - set(national["year"].astype(int)))
    if missing:
        rows.append(
            provenance.row(
                "County Business Patterns, nation x 6-digit NAICS",
                _file_source(catalog, "national_industry"),
                missing,
                "national",
                "not possible",
                f"the national file has no {year_text(missing)}: those panel years are left out",
            )
        )
    return national


#: the store table of the national 2- to 5-digit CBP lines (INDUSTRY_COUNTS columns)
PARENTS = "national_parents"


def write_parents(
    store: Store, parents: pd.DataFrame, source: str, rows: list[dict], tables: list[str]
) -> None:
    """Write the national parent lines (``national_parents``) with their provenance row, or
    drop the table when the inputs have none: the panel stage then fills withheld national
    cells by the fallback and its provenance row says how many cells and jobs that was."""
    if parents is None or parents.empty:
        store.drop(PARENTS)
        return
    store.write(PARENTS, conform(parents, INDUSTRY_COUNTS, what="national parent lines"))
    tables.append(PARENTS)
    rows.append(
        provenance.row(
            "County Business Patterns, nation x 2- to 5-digit NAICS lines (parents of withheld "
            "cells)",
            source,
            parents["year"].unique(),
            "national",
        )
    )


def _load_folder(p: ClusterResilience, store: Store) -> tuple[list[str], list[dict], list[str]]:
    rows: list[dict] = []
    frames, tables = _folder_counts(p, store, rows)
    counts = pd.concat(frames, ignore_index=True) if frames else None
    years = set(counts["year"].astype(int)) if counts is not None else set()
    if "uscm_input" in tables:
        years |= set(store.read("uscm_input")["year"].astype(int))
    national = _national(p, years, rows)
    industry = [national]
    totals = []
    if counts is not None:
        counts = counts.loc[counts["year"].isin(set(national["year"].astype(int)))]
        industry.append(counts.loc[counts["naics"] != "total"])
        totals.append(counts.loc[counts["naics"] == "total"])
    definitions = _definitions(p, pd.concat(industry, ignore_index=True))
    outcomes = pd.concat(_folder_outcomes(p, rows), ignore_index=True)
    ids = set(counts["region_id"]) if counts is not None else set()
    store.write("cluster_definitions", definitions)
    store.write(
        "industry_counts",
        conform(pd.concat(industry, ignore_index=True), INDUSTRY_COUNTS, what="counts"),
    )
    if totals:
        store.write(
            "region_totals",
            conform(pd.concat(totals, ignore_index=True), INDUSTRY_COUNTS, what="totals"),
        )
        tables.append("region_totals")
    store.write("outcomes", conform(outcomes, OUTCOMES, what="outcomes"))
    tables += ["cluster_definitions", "industry_counts", "outcomes"]
    write_parents(
        store,
        inputs.national_parent_lines(p.catalog, years=sorted(years)),
        ", ".join(
            f"file {path.relative_to(p.catalog.folder)}"
            for path in p.catalog.files("national_parents")
        )
        or f"no such file in {p.data_dir}",
        rows,
        tables,
    )
    _regions_and_members(p, store, ids, tables)
    unused = p.catalog.inventory()
    unused = unused.loc[unused["kind"] == ""]
    notes = [f"real data from {p.data_dir} (files recognised by content)"]
    if len(unused):
        notes.append(f"files not recognised, not used: {', '.join(unused['path'].head(8))}")
    return tables, rows, notes


# -- the publishers ------------------------------------------------------------------------------
def _load_fetch(p: ClusterResilience, store: Store) -> tuple[list[str], list[dict], list[str]]:
    plan = p.fetch_plan()
    fetcher = Fetcher(progress=False)
    task = None
    if p.live is not None:
        task = p.live.add_task("downloads", total=len(plan.requests))

    def advance(label: str) -> None:
        if p.live is not None:
            p.live.update(task, advance=1, description=f"download {label}"[:40])

    fetched = acquire.fetch_plan(plan, fetcher, progress=advance)
    rows = fetched.provenance.to_dict("records")
    rt = p.config.region_type
    counts = fetched.counts
    region_rt = "county" if rt in ("county", "economic_area") else rt
    have_regions = not counts.empty and (counts["region_type"] == region_rt).any()
    have_nation = not counts.empty and (counts["region_type"] == "nation").any()
    if not (have_regions and have_nation):
        provenance.record(store, "load", rows)
        raise DataUnavailableError(
            "the publishers' answers leave nothing to build a cluster panel from (region and "
            "national CBP counts are both needed); what failed:\n  "
            + "\n  ".join(fetched.notes or ["no CBP rows came back"])
        )
    # panel years: those with both region and national counts
    region_years = set(counts.loc[counts["region_type"] == region_rt, "year"].astype(int))
    nation_years = set(counts.loc[counts["region_type"] == "nation", "year"].astype(int))
    lost = sorted(region_years ^ nation_years)
    if lost:
        rows.append(
            provenance.row(
                "County Business Patterns (region and nation)",
                "Census CBP API",
                lost,
                region_rt,
                "partial",
                f"{year_text(lost)} left out of the panel: only one of the region and national "
                "answers came back for those years",
            )
        )
        counts = counts.loc[counts["year"].isin(region_years & nation_years)]
    parent_lines = (counts["region_type"] == "nation") & counts["naics"].astype(str).str.fullmatch(
        r"\d{2,5}"
    )
    parents = counts.loc[parent_lines]
    counts = counts.loc[~parent_lines]
    industry = counts.loc[counts["naics"] != "total"]
    totals = counts.loc[counts["naics"] == "total"]
    employment = pd.DataFrame(
        {
            "region_type": totals["region_type"].to_numpy(),
            "region_id": totals["region_id"].to_numpy(),
            "year": totals["year"].to_numpy(),
            "outcome": "employment",
            "value": totals["emp"].astype(float).to_numpy(),
            "unit": "jobs (mid-March)",
            "source": "Census CBP API",
        }
    )
    outcomes = pd.concat([fetched.outcomes, employment], ignore_index=True)
    outcomes = outcomes.loc[outcomes["region_type"].isin([region_rt, rt, "nation", "state"])]
    store.write("cluster_definitions", _definitions(p, industry))
    store.write("industry_counts", conform(industry, INDUSTRY_COUNTS, what="fetched counts"))
    store.write("region_totals", conform(totals, INDUSTRY_COUNTS, what="fetched totals"))
    store.write("outcomes", conform(outcomes, OUTCOMES, what="fetched outcomes"))
    tables = ["cluster_definitions", "industry_counts", "region_totals", "outcomes"]
    write_parents(store, parents, "Census CBP API (nation, every NAICS line)", rows, tables)
    _regions_and_members(
        p, store, set(industry.loc[industry["region_type"] == region_rt, "region_id"]), tables
    )
    if rt == "economic_area" and not (p.catalog and p.catalog.has("ea_crosswalk")):
        raise DataUnavailableError(
            "economic areas are built from counties with the BEA county -> EA crosswalk, which "
            "was not found (pass --data DIR holding it, or the shared data folder)"
        )
    notes = [
        f"fetched from the publishers: {len(plan.requests)} requests (cached in the download cache)"
    ]
    return tables, rows, notes + fetched.notes


# -- a store the user built --------------------------------------------------------------------
def _load_store(p: ClusterResilience, store: Store) -> tuple[list[str], list[dict], list[str]]:
    rt = p.config.region_type
    rows: list[dict] = []
    notes = [f"the store {p.store_path}, as built with clusteratlas load / panel build"]
    levels = {rt, "nation"} | ({"county"} if rt not in ("state", "county") else set())
    level_list = ", ".join("?" for _ in levels)  # bound: sorted(levels)
    if store.has("industry_counts"):
        spans = store.sql(
            "select region_type, source, min(year) as a, max(year) as b, "
            f"count(distinct region_id) as n from industry_counts where region_type in ({level_list}) "
            "group by 1, 2 order by 1, 2",
            sorted(levels),
        )
        for r in spans.itertuples():
            rows.append(
                provenance.row(
                    f"industry counts ({r.n} regions)",
                    f"store table industry_counts, source {r.source}",
                    f"{int(r.a)}-{int(r.b)}",
                    "national" if r.region_type == "nation" else str(r.region_type),
                )
            )
    if store.has("cluster_panel"):
        spans = store.sql(
            "select min(year) as a, max(year) as b, count(distinct region_id) as n "
            "from cluster_panel where region_type = ?",
            [rt],
        ).iloc[0]
        if int(spans["n"] or 0):
            rows.append(
                provenance.row(
                    f"region x cluster panel ({int(spans['n'])} regions)",
                    "store table cluster_panel (clusteratlas panel build)",
                    f"{int(spans['a'])}-{int(spans['b'])}",
                    rt,
                )
            )
    if store.has("cluster_definitions"):
        defs = store.sql(
            "select definition, count(distinct cluster_code) as n from cluster_definitions group by 1"
        )
        for r in defs.itertuples():
            rows.append(
                provenance.row(
                    f"cluster definition {r.definition!r} ({r.n} clusters)",
                    "store table cluster_definitions",
                    "",
                    "",
                )
            )
    frames = []
    if store.has("outcomes"):
        mine = store.sql(
            f"select * from outcomes where region_type in ({level_list})", sorted(levels)
        )
        frames.append(mine)
        for outcome, part in mine.groupby("outcome"):
            rows.append(
                provenance.row(
                    f"outcome {outcome}",
                    "store table outcomes, source "
                    + ", ".join(sorted(part["source"].astype(str).unique())),
                    part["year"].unique(),
                    rt,
                )
            )
    have = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(OUTCOMES))
    if not ((have["outcome"] == "employment") & (have["region_type"] == rt)).any():
        derived, how = _employment_from_counts(store, rt)
        frames.append(derived)
        rows.append(
            provenance.row(
                "employment (CBP-like counts)", how, derived["year"].unique(), rt, "used"
            )
        )
    outcomes = conform(pd.concat(frames, ignore_index=True), OUTCOMES, what="outcome inputs")
    store.write("run_outcome_inputs", outcomes)
    return ["run_outcome_inputs"], rows, notes


def _employment_from_counts(store: Store, rt: str) -> tuple[pd.DataFrame, str]:
    """Employment per region and year (and the nation): the store's all-industries totals
    when it has them, else the sum of its industry counts."""

    def pick(table: str) -> pd.DataFrame:
        if not store.has(table):
            return pd.DataFrame()
        return store.sql(
            f"select region_type, region_id, year, sum(emp) as value from {table} "
            "where region_type in (?, 'nation') group by 1, 2, 3",
            [rt],
        )

    frame, how = pick("region_totals"), "store table region_totals (all-industries rows)"
    if frame.empty or not (frame["region_type"] == rt).any():
        frame = pick("industry_counts")
        how = "sum of the store's industry_counts (suppressed cells at their imputed values)"
    frame = frame.assign(outcome="employment", unit="jobs", source=how)
    frame["value"] = frame["value"].astype(float)
    return frame.loc[np.isfinite(frame["value"])], how


__all__ = ["GROWTH_ONLY_SOURCES", "KNOWN", "stage_load"]
