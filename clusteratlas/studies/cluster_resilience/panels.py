"""The main job's panel stage: the region x cluster panel, the treatment before each shock, peers.

Owns which panel a run uses and who is treated for each shock:

* the **level panel** (``cluster_panel``): the region x cluster x year panel whose levels can
  be trusted (location quotients, strong flags, the treatment). From a USCM download
  (:func:`clusteratlas.panel.panel_from_uscm`), from the store's industry counts
  (:func:`clusteratlas.panel.build_panel`, on the store's DuckDB connection), or, for a store
  the user built with ``clusteratlas panel build``, her own ``cluster_panel`` as it is;
* the **growth panel** (``run_growth_panel``): built the same way from sources whose levels
  are incomplete (county sums), used only for growth (cluster resilience, region x cluster
  evidence) and labelled so;
* the **treatment before each shock** (``run_treatment_by_shock``): the ``[treatment]`` rule
  applied to the region summary of the latest panel year before the shock (or
  ``study.base_year``): before the Great Recession's peak, before COVID-19's, and before the
  seed study's printed 2018 window ("Cho et al. windows"). ``run_treatment`` is the COVID-19
  one (the report's main design).

Also the region summary, the peers of each region of interest and their related clusters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.data.acquire import year_span
from clusteratlas.errors import ClusterAtlasError, ParameterError
from clusteratlas.panel import (
    build_panel,
    load_related_pairs,
    panel_from_uscm,
    region_summary,
    related_clusters,
)
from clusteratlas.panel.comparison import NEAREST, nearest_peers
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.config import cluster_regions, shocks
from clusteratlas.studies.cluster_resilience.load import GROWTH_ONLY_SOURCES, PARENTS

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

PANEL_KEY = ["region_type", "region_id", "year", "cluster_code"]
#: treatment sets: name -> label (the shock names of run_treatment_by_shock)
TREATMENT_LABELS = {
    "great_recession": "Great Recession",
    "covid19": "COVID-19",
    "seed": "Cho et al. windows",
}


def treatment_cutoffs(p: ClusterResilience) -> dict[str, int]:
    """The first year each treatment must precede: the year after each shock's peak, and the
    start of the seed study's printed shock window (2018)."""
    out = {s.name: s.peak + 1 for s in shocks(p.config)}
    out["seed"] = int(p.config.windows["shock"][0])
    return out


def _count_sources(store: Store, rt: str) -> pd.DataFrame:
    return store.sql(
        "select source, region_type, min(year) as first, max(year) as last "
        "from industry_counts where region_type <> 'nation' group by 1, 2"
    )


def _build(p: ClusterResilience, store: Store, growth: bool) -> pd.DataFrame | None:
    """The panel from the store's industry counts of level (or growth-only) sources."""
    rt = p.config.region_type
    con = store.ibis()
    counts = con.table("industry_counts")
    members = None
    base_type = rt
    if rt != "county":
        has_own = counts.filter(counts.region_type == rt).count().execute() > 0
        if not has_own and store.has("region_members"):
            base_type = "county"  # aggregates (and the demo's states) are summed from counties
            members = con.table("region_members")
    excluded = list(GROWTH_ONLY_SOURCES)
    regional = counts.filter(counts.region_type == base_type)
    regional = (
        regional.filter(regional.source.isin(excluded))
        if growth
        else regional.filter(~regional.source.isin(excluded))
    )
    if p.years is not None:
        regional = regional.filter(regional.year.between(*p.years))
    if regional.count().execute() == 0:
        return None
    national = counts.filter(counts.region_type == "nation")
    if national.count().execute() == 0:
        national = None  # build_panel sums the regions, and says so
    definitions = store.read("cluster_definitions")
    if p.source == "store" and p.definitions is None:
        definitions = _store_definition(definitions)
    # CBP's suppression rules (size classes, NAICS line hierarchy) mean nothing for another
    # code system: such counts go in as they are
    naics = counts.filter(~counts.naics.re_search(r"^\d{6}$") & (counts.naics != "total"))
    suppressed = "uscm" if naics.count().execute() == 0 else "none"
    return build_panel(
        regional,
        definitions,
        region_type=rt,
        national=national,
        members=members,
        connection=con,
        suppressed=suppressed,
        national_parents=national_parents(store) if suppressed == "uscm" else None,
    )


def national_parents(store: Store) -> pd.DataFrame | None:
    """The national 2- to 5-digit CBP lines the load stage found (None when the inputs had
    none): build_panel derives withheld national 6-digit cells from them, as USCM did."""
    if not store.has(PARENTS):
        return None
    parents = store.read(PARENTS)
    return parents if not parents.empty else None


def suppression_row(panel: pd.DataFrame, store: Store) -> dict | None:
    """The provenance row of the national suppression fill: how many withheld national cells
    of the panel's clusters were filled, how many jobs, and by which rule (from the national
    parent lines, exactly, or by the size-class fallback when the inputs had none)."""
    records = pd.DataFrame(panel.attrs.get("suppression") or [])
    if records.empty or "region_type" not in records.columns:
        return None
    nation = records.loc[records["region_type"] == "nation"]
    if nation.empty or int(nation["cells"].sum()) == 0:
        return None
    cells, jobs = int(nation["cells"].sum()), float(nation["jobs"].sum())
    exact_cells, exact_jobs = int(nation["exact_cells"].sum()), float(nation["exact_jobs"].sum())
    unfilled = int(nation["unfilled_cells"].sum())
    years = sorted(int(y) for y in nation["year"].unique())
    what = "withheld national CBP cells (suppression fill, clusteratlas.data.suppression)"
    fallback_cells = cells - exact_cells - unfilled
    parts = []
    if exact_cells:
        parts.append(
            f"{exact_cells} ({exact_jobs:,.0f} jobs) derived exactly from the lines above them"
        )
    if fallback_cells:
        parts.append(
            f"{fallback_cells} ({jobs - exact_jobs:,.0f} jobs) filled by their size-class midpoint "
            "(USCM's fallback)"
        )
    if unfilled:
        parts.append(f"{unfilled} with neither a size class nor a parent line count as 0 jobs")
    text = f"{cells} withheld national 6-digit cells in the clusters' industries: " + "; ".join(
        parts
    )
    if national_parents(store) is None:
        return provenance.row(
            what,
            "national CBP counts (no national 2- to 5-digit lines in the inputs)",
            years,
            "national",
            "partial",
            text + ". The inputs have no national 4-digit lines: add setzler's "
            "CBP_national_industry4.csv to the folder (or fetch) to derive them as USCM did",
        )
    return provenance.row(
        what,
        "national CBP counts and their 2- to 5-digit lines (national_parents)",
        years,
        "national",
        "used",
        text,
    )


def _store_definition(definitions: pd.DataFrame) -> pd.DataFrame:
    """The definition of a store run: "uscm" if loaded, else the only one there."""
    names = sorted(definitions["definition"].astype(str).unique())
    if "uscm" in names:
        return definitions.loc[definitions["definition"] == "uscm"]
    if len(names) == 1:
        return definitions
    raise ParameterError(
        "clusters.definition",
        f"the store holds several cluster definitions ({', '.join(names)}); build the panel "
        "with the one you want (clusteratlas panel build --definition NAME), the run then "
        "uses that cluster_panel",
        allowed=", ".join(names),
    )


def _level_panel(p: ClusterResilience, store: Store, rows: list[dict]) -> tuple[pd.DataFrame, bool]:
    """The level panel and whether it must be written to the store (a store run's own panel
    is read, not rewritten)."""
    rt = p.config.region_type
    if p.source == "store" and store.has("cluster_panel"):
        panel = store.read("cluster_panel", where="region_type = ?", params=[rt])
        if not panel.empty:
            rows.append(
                provenance.row(
                    "region x cluster panel",
                    "store table cluster_panel (clusteratlas panel build)",
                    panel["year"].unique(),
                    rt,
                )
            )
            return panel, False
    if store.has("uscm_input"):
        panel = panel_from_uscm(
            store.read("uscm_input"),
            store.read("industry_counts", where="region_type = 'nation'"),
            store.read("cluster_definitions"),
            national_parents=national_parents(store),
        )
        fill = suppression_row(panel, store)
        panel = panel.loc[panel["region_type"] == rt]
        source = "US Cluster Mapping download + national CBP (clusteratlas.panel.panel_from_uscm)"
        counts = _build(p, store, growth=False)  # CBP extracts of other years, if any
        if counts is not None:
            counts = counts.loc[~counts["year"].isin(set(panel["year"]))]
            panel = pd.concat([panel, counts], ignore_index=True)
            source += " and build_panel over CBP extracts (other years)"
    else:
        panel = _build(p, store, growth=False)
        fill = suppression_row(panel, store) if panel is not None else None
        if panel is None:
            raise ParameterError(
                "study.region_type",
                f"no {rt} x industry counts to build a cluster panel from",
                allowed="a region type the data hold",
            )
        sources = _count_sources(store, rt)
        level = sources.loc[~sources["source"].isin(GROWTH_ONLY_SOURCES), "source"]
        source = "clusteratlas.panel.build_panel over industry counts (" + ", ".join(level) + ")"
    rows.append(
        provenance.row("region x cluster panel (USCM method)", source, panel["year"].unique(), rt)
    )
    if fill is not None:
        rows.append(fill)
    return panel, True


def _growth_panel(p: ClusterResilience, store: Store, rows: list[dict]) -> pd.DataFrame | None:
    sources = _count_sources(store, p.config.region_type)
    growth = sources.loc[sources["source"].isin(GROWTH_ONLY_SOURCES)]
    if growth.empty:
        return None
    panel = _build(p, store, growth=True)
    if panel is None:
        return None
    rows.append(
        provenance.row(
            "region x cluster growth panel",
            "clusteratlas.panel.build_panel over " + ", ".join(growth["source"]),
            panel["year"].unique(),
            p.config.region_type,
            "partial",
            "levels incomplete (county sums): used only for growth - cluster resilience and the "
            "region x cluster evidence; its LQs and flags are not used",
        )
    )
    return panel


def base_year(p: ClusterResilience, years: list[int], before: int) -> int | None:
    """The treatment year for a treatment that must precede ``before``: ``study.base_year``
    (or the demo's design year) when early enough, else the latest panel year before it."""
    for chosen in (p.config.study["base_year"], p.available.default_base):
        if chosen and int(chosen) < before and int(chosen) in years:
            return int(chosen)
    earlier = [y for y in years if y < before]
    return max(earlier) if earlier else None


def _treatments(
    p: ClusterResilience, summary: pd.DataFrame, rows: list[dict]
) -> dict[str, pd.DataFrame]:
    years = sorted(int(y) for y in summary["year"].unique())
    out: dict[str, pd.DataFrame] = {}
    rt = p.config.region_type
    for name, before in treatment_cutoffs(p).items():
        label = TREATMENT_LABELS[name]
        base = base_year(p, years, before)
        what = f"treatment ({label}): rule {p.config.treatment['rule']}"
        if base is None:
            rows.append(
                provenance.row(
                    what,
                    "cluster_panel",
                    "",
                    rt,
                    "not possible",
                    f"no panel year before {before} (panel years {year_span(years)}): a "
                    "treatment measured after the shock could itself be its outcome",
                )
            )
            continue
        try:
            frame = cluster_regions(summary, p.config.treatment, base, before)
        except ParameterError as error:
            rows.append(
                provenance.row(what, "cluster_panel", [base], rt, "not possible", str(error))
            )
            continue
        out[name] = frame.assign(base_year=base, shock=label)
        rows.append(provenance.row(what + f", measured in {base}", "cluster_panel", [base], rt))
    return out


def stage_panel(p: ClusterResilience, store: Store) -> dict:
    """Level panel (and growth panel), region summary, treatment before each shock, peers and
    the related clusters of each region of interest."""
    rt = p.config.region_type
    rows: list[dict] = []
    panel, write = _level_panel(p, store, rows)
    if p.years is not None:
        panel = panel.loc[panel["year"].between(*p.years)]
    missing = [r for r in p.config.regions if r not in set(panel["region_id"].astype(str))]
    if missing and p.auto_regions:
        latest = panel.loc[panel["year"] == panel["year"].max()]
        chosen = str(latest.groupby("region_id")["emp"].sum().idxmax())
        p.config.study["regions"] = [chosen]
        rows.append(
            provenance.row(
                f"region of interest {chosen} (the most jobs)",
                "cluster_panel",
                [],
                rt,
                "partial",
                f"the default region {', '.join(missing)} is not in the data",
            )
        )
        missing = []
    if missing:
        raise ParameterError(
            "study.regions",
            f"{', '.join(missing)} not in the {rt} panel",
            allowed=", ".join(sorted(panel["region_id"].astype(str).unique())[:20]),
        )
    summary = region_summary(panel)
    treatments = _treatments(p, summary, rows)
    main = next(
        (treatments[k] for k in ("covid19", "great_recession", "seed") if k in treatments), None
    )
    if main is None:
        provenance.record(store, "panel", rows)
        why = "; ".join(r["reason"] for r in rows if r["status"] == "not possible")
        raise ParameterError(
            "treatment",
            f"no treatment can be measured before any shock ({why})",
            allowed="panel years before 2009 or 2020, and a [treatment] rule that splits the "
            "regions into two groups",
        )
    base = int(main["base_year"].iloc[0])
    peers = propose_peers(panel, summary, p.config, base)
    tables = [
        "cluster_panel",
        "run_region_summary",
        "run_treatment",
        "run_treatment_by_shock",
        "run_peers",
    ]
    if write and p.source == "store":
        store.append("cluster_panel", panel, key=PANEL_KEY, replace=["region_type"])
    elif write:
        store.write("cluster_panel", panel)
    store.write(
        "run_regions_of_interest",
        pd.DataFrame(
            {"region_id": p.config.regions, "chosen_by": "tool" if p.auto_regions else "user"}
        ),
    )
    store.write("run_region_summary", summary)
    store.write("run_treatment", main.drop(columns=["shock"]))
    store.write("run_treatment_by_shock", pd.concat(treatments.values(), ignore_index=True))
    store.write("run_peers", peers)
    growth = _growth_panel(p, store, rows)
    if growth is not None:
        store.write("run_growth_panel", growth)
        tables.append("run_growth_panel")
    notes = [
        f"{panel['region_id'].nunique()} {rt} regions, panel years {year_span(panel['year'].unique())}, "
        f"base year {base}, {int(main['treated'].sum())} cluster regions"
    ]
    related = related_of_regions(p, store, base, notes)
    if related is not None:
        store.write("run_related_clusters", related)
        tables.append("run_related_clusters")
    notes += provenance.record(store, "panel", rows)
    return {"tables": [*tables, provenance.TABLE], "notes": notes}


def related_of_regions(
    p: ClusterResilience, store: Store, year: int, notes: list[str]
) -> pd.DataFrame | None:
    """Related clusters (present / missing) of each region of interest's strong clusters in
    ``year`` (:func:`clusteratlas.panel.related_clusters`, USCM rel_all_90_v3 pairs); None,
    with a note, when the related-cluster pairs are not available."""
    panel = store.read(
        "cluster_panel", where="region_type = ? and year = ?", params=[p.config.region_type, year]
    )
    try:
        pairs = load_related_pairs()
    except ClusterAtlasError as error:  # the related-cluster file is an optional input
        notes.append(f"related clusters not available: {error}")
        return None
    # the pairs are USCM's: they mean nothing for another definition's clusters
    names = pairs.drop_duplicates("related_cluster_code").set_index("related_cluster_code")[
        "related_cluster_name"
    ]
    traded = panel.loc[panel["traded"]].drop_duplicates("cluster_code")
    traded = traded.loc[traded["cluster_code"].astype(str).isin(names.index)]
    same = (
        traded["cluster_name"].astype(str).to_numpy()
        == traded["cluster_code"].astype(str).map(names).astype(str).to_numpy()
    )
    if len(traded) == 0 or same.mean() < 0.8:
        notes.append(
            "related clusters not shown: the related-cluster pairs are US Cluster Mapping's, "
            "and this panel uses another cluster definition"
        )
        return None
    parts = [related_clusters(panel, pairs, region_id=r, year=year) for r in p.config.regions]
    return pd.concat(parts, ignore_index=True)


def propose_peers(panel: pd.DataFrame, summary: pd.DataFrame, config, year: int) -> pd.DataFrame:
    """Peers of each region of interest: the user's list, else the nearest by size and traded
    mix in the base year (:func:`clusteratlas.panel.comparison.nearest_peers`, the definition
    the dashboard uses too); the ``n_peers`` nearest are proposed."""
    rows = []
    for region in config.regions:
        if config.study["peers"]:
            for peer in config.study["peers"]:
                rows.append(
                    {"region_id": region, "peer_id": peer, "distance": np.nan, "chosen_by": "user"}
                )
            continue
        nearest = nearest_peers(panel, summary, region, year, int(config.study["n_peers"]))
        for peer, value in zip(nearest["peer_id"], nearest["distance"], strict=True):
            rows.append(
                {
                    "region_id": region,
                    "peer_id": str(peer),
                    "distance": float(value),
                    "chosen_by": NEAREST,
                }
            )
    return pd.DataFrame(rows, columns=["region_id", "peer_id", "distance", "chosen_by"])
