"""The main job's stages but causal (:mod:`.causal`); each returns the tables and files it produced.

Each ``stage_<name>(study, store)`` reads what earlier stages wrote to the store, writes its
own ``run_*`` tables (atomically, one transaction each) and files under the output folder, and
returns ``{"tables": [...], "files": [...], "notes": [...]}`` for the manifest. Notes say which
numbers could not be computed, and the report prints them in the matching section.

Inputs come only through :mod:`clusteratlas.data.inputs` over the study's catalog (real data)
or from :mod:`.demo` (SYNTHETIC): no stage names a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.data import inputs
from clusteratlas.errors import ClusterAtlasError
from clusteratlas.panel import (
    build_panel,
    load_related_pairs,
    panel_from_uscm,
    region_summary,
    related_clusters,
)
from clusteratlas.policy.diagnostics import diagnose
from clusteratlas.resilience.indices import resilience
from clusteratlas.studies.cluster_resilience.config import cluster_regions
from clusteratlas.studies.cluster_resilience.demo import build_demo_store
from clusteratlas.studies.cluster_resilience.figures import save_figure
from clusteratlas.theory import Params, audit_claims, regime_map

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience


# ------------------------------------------------------------------------------------------
def stage_load(p: ClusterResilience, store: Store) -> dict:
    """Raw inputs -> canonical tables (industry_counts, cluster_definitions, outcomes, regions)."""
    if p.demo:
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
        return {
            "tables": [
                "industry_counts",
                "cluster_definitions",
                "outcomes",
                "regions",
                "region_members",
                "demo_truth",
            ],
            "notes": notes,
        }
    catalog = p.catalog
    notes = []
    definitions = inputs.uscm_definitions(catalog, naics_vintage=2012)
    uscm = inputs.uscm_state_clusters(catalog)
    years = sorted(uscm["year"].unique().tolist())
    national = inputs.national_industry_counts(catalog, years=years)
    gdp = inputs.state_gdp(catalog)
    employment = pd.concat(
        [inputs.cbp_totals(catalog, "state"), inputs.cbp_totals(catalog, "nation")],
        ignore_index=True,
    )
    employment = employment.loc[employment["outcome"].isin(["employment", "establishments"])]
    frames = [gdp, employment]
    if catalog.has("laus_state"):
        frames.append(inputs.laus_state(catalog))
    # context for the county / MSA / economic-area maps (optional files)
    if catalog.has("county_total"):
        county = inputs.cbp_totals(catalog, "county")
        frames.append(county.loc[county["outcome"] == "employment"])
    members = []
    if catalog.has("cbsa_delineation"):
        members.append(inputs.county_cbsa(catalog))
        if catalog.has("ita_exports"):
            frames.append(inputs.msa_exports(catalog))
    if catalog.has("ea_crosswalk"):
        members.append(inputs.county_ea(catalog))
    if members:
        store.write("region_members", pd.concat(members, ignore_index=True))
    outcomes = pd.concat(frames, ignore_index=True)
    regions = (
        uscm[["region_type", "region_id", "region_name"]]
        .drop_duplicates()
        .assign(state_fips=lambda f: f["region_id"])
    )
    store.write("cluster_definitions", definitions)
    store.write("uscm_input", uscm)
    store.write("industry_counts", national)
    store.write("outcomes", outcomes)
    store.write("regions", regions)
    notes.append(
        f"real data from {p.data_dir}: USCM state x cluster {years}, BEA SAGDP2N, CBP totals"
    )
    tables = ["cluster_definitions", "uscm_input", "industry_counts", "outcomes", "regions"]
    return {"tables": tables + (["region_members"] if members else []), "notes": notes}


# ------------------------------------------------------------------------------------------
def stage_panel(p: ClusterResilience, store: Store) -> dict:
    """Region x cluster panel (USCM method), region summary, treatment, peers and the related
    clusters of each region of interest."""
    rt = p.config.region_type
    definitions = store.read("cluster_definitions")
    if p.demo:
        # the counts stay in the store: the panel query runs on its DuckDB connection
        con = store.ibis()
        counts = con.table("industry_counts")
        national = counts.filter(counts.region_type == "nation")
        regional = counts.filter(counts.region_type == "county")
        members = con.table("region_members") if rt != "county" else None
        panel = build_panel(
            regional,
            definitions,
            region_type=rt,
            national=national,
            members=members,
            connection=con,
        )
    else:
        panel = panel_from_uscm(
            store.read("uscm_input"), store.read("industry_counts"), definitions
        )
        panel = panel.loc[panel["region_type"] == rt]
    summary = region_summary(panel)
    base = p.config.study["base_year"] or int(
        panel["year"].min() if p.demo else panel["year"].max()
    )
    # the portfolio must predate every analysis window (the shock cannot cause the treatment)
    shock_year = min(start for start, _ in p.config.windows.values())
    treatment = cluster_regions(summary, p.config.treatment, base, shock_year).assign(
        base_year=base
    )
    peers = propose_peers(panel, summary, p.config, base)
    store.write("cluster_panel", panel)
    store.write("run_region_summary", summary)
    store.write("run_treatment", treatment)
    store.write("run_peers", peers)
    tables = ["cluster_panel", "run_region_summary", "run_treatment", "run_peers"]
    notes = [
        f"{panel['region_id'].nunique()} {rt} regions, base year {base}, {int(treatment['treated'].sum())} cluster regions"
    ]
    related = related_of_regions(p, store, base, notes)
    if related is not None:
        store.write("run_related_clusters", related)
        tables.append("run_related_clusters")
    return {"tables": tables, "notes": notes}


def related_of_regions(
    p: ClusterResilience, store: Store, year: int, notes: list[str]
) -> pd.DataFrame | None:
    """Related clusters (present / missing) of each region of interest's strong clusters in
    ``year`` (:func:`clusteratlas.panel.related_clusters`, USCM rel_all_90_v3 pairs); None,
    with a note, when the related-cluster pairs are not available."""
    panel = store.read(
        "cluster_panel", where=f"region_type = '{p.config.region_type}' and year = {year}"
    )
    try:
        pairs = load_related_pairs()
        parts = [related_clusters(panel, pairs, region_id=r, year=year) for r in p.config.regions]
    except ClusterAtlasError as error:  # the related-cluster file is an optional input
        notes.append(f"related clusters not available: {error}")
        return None
    return pd.concat(parts, ignore_index=True)


def propose_peers(panel: pd.DataFrame, summary: pd.DataFrame, config, year: int) -> pd.DataFrame:
    """Peers of each region of interest: the user's list, else the nearest by size and traded mix.

    Distance = |z(log employment) difference| + (1 - cosine similarity of the traded-cluster
    employment shares), both in the base year; the ``n_peers`` smallest are proposed.
    """
    rows = []
    base = panel.loc[(panel["year"] == year) & panel["traded"]]
    mix = base.pivot_table(
        index="region_id", columns="cluster_code", values="emp", aggfunc="sum"
    ).fillna(0.0)
    mix = mix.div(mix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    size = np.log(
        summary.loc[summary["year"] == year].set_index("region_id")["emp"].clip(lower=1.0)
    )
    z = (size - size.mean()) / (size.std() or 1.0)
    norm = np.sqrt((mix**2).sum(axis=1)).replace(0, np.nan)
    for region in config.regions:
        if config.study["peers"]:
            for peer in config.study["peers"]:
                rows.append(
                    {"region_id": region, "peer_id": peer, "distance": np.nan, "chosen_by": "user"}
                )
            continue
        if region not in mix.index:
            continue
        cosine = (mix @ mix.loc[region]) / (norm * norm[region])
        distance = (z - z[region]).abs().reindex(mix.index) + (1 - cosine)
        for peer, value in distance.drop(region).nsmallest(int(config.study["n_peers"])).items():
            rows.append(
                {
                    "region_id": region,
                    "peer_id": str(peer),
                    "distance": float(value),
                    "chosen_by": "nearest size + traded mix",
                }
            )
    return pd.DataFrame(rows, columns=["region_id", "peer_id", "distance", "chosen_by"])


# ------------------------------------------------------------------------------------------
def designs(p: ClusterResilience) -> list[dict]:
    w = p.config.windows
    return [
        {"design": "seed (as printed)", "phase": "shock", "window": tuple(w["shock"])},
        {"design": "seed (as printed)", "phase": "recovery", "window": tuple(w["recovery"])},
        {"design": "corrected", "phase": "shock", "window": tuple(w["corrected_shock"])},
        {"design": "corrected", "phase": "recovery", "window": tuple(w["corrected_recovery"])},
    ]


def window_for(p: ClusterResilience, design: dict, outcome: str) -> tuple[int, int]:
    # CBP employment is counted in March: the corrected shock for it is employment_shock
    if design["design"] == "corrected" and outcome == "employment" and design["phase"] == "shock":
        return tuple(p.config.windows["employment_shock"])
    return design["window"]


def stage_outcomes(p: ClusterResilience, store: Store) -> dict:
    """Outcome growth of every region over every window, with the treatment attached."""
    rt = p.config.region_type
    outcomes = store.read("outcomes", where=f"region_type in ('{rt}', 'nation')")
    treatment = store.read("run_treatment")[["region_id", "treated"]]
    rows, notes = [], []
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[(outcomes["outcome"] == outcome) & (outcomes["region_type"] == rt)]
        for design in designs(p):
            start, end = window_for(p, design, outcome)
            growth = log_growth(frame, start, end)
            if growth.empty:
                notes.append(
                    f"{outcome}: no data for {start}->{end} ({design['design']} {design['phase']})"
                )
                continue
            rows.append(
                pd.DataFrame(
                    {
                        "region_id": growth.index.astype(str),
                        "outcome": outcome,
                        "design": design["design"],
                        "phase": design["phase"],
                        "start": start,
                        "end": end,
                        "log_growth": growth.to_numpy(),
                    }
                )
            )
    growth = pd.concat(rows, ignore_index=True).merge(treatment, on="region_id", how="left")
    store.write("run_outcome_growth", growth)
    store.write(
        "run_outcomes",
        outcomes.loc[
            outcomes["outcome"].isin(
                p.config.outcomes["names"] + ["labor_force", "population", "unemployment_rate"]
            )
        ],
    )
    return {"tables": ["run_outcome_growth", "run_outcomes"], "notes": notes}


# ------------------------------------------------------------------------------------------
def stage_resilience(p: ClusterResilience, store: Store) -> dict:
    """Resistance and recoverability (Martin et al. 2016 index) of regions and their clusters."""
    outcomes = store.read("run_outcomes")
    rt = p.config.region_type
    w = p.config.windows
    windows = {
        "seed (as printed)": (w["shock"][0], w["shock"][1], w["recovery"][1]),
        "corrected": (w["corrected_shock"][0], w["corrected_shock"][1], w["corrected_recovery"][1]),
    }
    parts, notes = [], []
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[outcomes["outcome"] == outcome]
        for design, window in windows.items():
            if design == "corrected" and outcome == "employment":
                window = (
                    w["employment_shock"][0],
                    w["employment_shock"][1],
                    max(w["employment_shock"][1] + 1, w["corrected_recovery"][1]),
                )
            have = set(frame["year"].astype(int))
            if not set(window) <= have:
                notes.append(
                    f"{outcome} {design}: years {window} not all in the data ({min(have)}-{max(have)})"
                )
                continue
            try:
                result = resilience(frame, window, outcome=outcome)
            except ClusterAtlasError as error:
                notes.append(f"{outcome} {design}: {error}")
                continue
            notes += [f"{outcome} {design}: {m}" for m in result.warnings]
            parts.append(
                result.tidy().assign(
                    outcome=outcome, design=design, window="-".join(map(str, window))
                )
            )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"note": ["no window fits the data"]})
    )
    store.write("run_resilience", table)
    tables = ["run_resilience"]
    context = context_maps(p, store)
    if not context.empty:
        store.write("run_context_maps", context)
        tables.append("run_context_maps")
    panel = store.read("cluster_panel", where=f"region_type = '{rt}'")
    years = set(panel["year"].astype(int))
    window = windows["corrected"]
    if set(window) <= years:
        try:
            by_cluster = resilience(
                panel.loc[
                    panel["traded"], ["region_type", "region_id", "cluster_code", "year", "emp"]
                ],
                window,
                unit=("region_id", "cluster_code"),
                match=("cluster_code",),
                value="emp",
                national=panel[["cluster_code", "year", "emp_national"]]
                .drop_duplicates(["cluster_code", "year"])
                .rename(columns={"emp_national": "emp"}),
            )
            store.write("run_cluster_resilience", by_cluster.tidy())
            tables.append("run_cluster_resilience")
        except ClusterAtlasError as error:
            notes.append(f"cluster resilience: {error}")
    else:
        notes.append(
            f"cluster-level resilience needs cluster panels for {window}; the panel has {sorted(years)}"
        )
    return {"tables": tables, "notes": notes}


#: maps of other region types shown beside the study's own: (region type, outcome, window key)
CONTEXT_MAPS = (
    ("state", "gdp", "corrected_shock"),
    ("county", "employment", "employment_shock"),
    ("economic_area", "employment", "employment_shock"),
    ("msa", "exports", "corrected_shock"),
)


def context_maps(p: ClusterResilience, store: Store) -> pd.DataFrame:
    """Growth relative to the nation, g_r - g_N, for the region types the study does not use.

    Economic areas and MSAs without their own rows are summed from their member counties
    (``region_members``). The national rate is the ``nation`` row if loaded, else the sum of
    the regions mapped. A descriptive map, not an index: the indices are in run_resilience.
    """
    outcomes = store.read("outcomes")
    members = store.read("region_members") if store.has("region_members") else None
    rows = []
    for region_type, outcome, window_key in CONTEXT_MAPS:
        if region_type == p.config.region_type:
            continue
        data = outcomes.loc[outcomes["outcome"] == outcome]
        frame = data.loc[data["region_type"] == region_type]
        if frame.empty and members is not None and (members["region_type"] == region_type).any():
            counties = data.loc[data["region_type"] == "county"]
            link = members.loc[members["region_type"] == region_type, ["region_id", "member_id"]]
            frame = (
                counties.merge(link, left_on="region_id", right_on="member_id", suffixes=("_c", ""))
                .groupby(["region_id", "year"], as_index=False)["value"]
                .sum()
            )
        if frame.empty:
            continue
        start, end = p.config.windows[window_key]
        growth = np.expm1(log_growth(frame, start, end))
        nation = data.loc[data["region_type"] == "nation"]
        national = np.expm1(
            log_growth(nation if not nation.empty else frame.assign(region_id="US"), start, end)
        )
        if growth.empty or national.empty:
            continue
        rows.append(
            pd.DataFrame(
                {
                    "region_type": region_type,
                    "region_id": growth.index.astype(str),
                    "outcome": outcome,
                    "start": start,
                    "end": end,
                    "value": (growth - float(national.iloc[0])).to_numpy(),
                    "national_growth": float(national.iloc[0]),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


# ------------------------------------------------------------------------------------------
def stage_theory(p: ClusterResilience, store: Store) -> dict:
    """Regime map of the general-equilibrium model at the user's calibration + audit of the paper's claims."""
    theory = p.config.theory
    fixed = Params(**theory["params"])
    result = regime_map(
        theory["x"],
        tuple(theory["x_range"]),
        theory["y"],
        tuple(theory["y_range"]),
        fixed=fixed,
        resolution=int(theory["resolution"]),
    )
    shares = result.shares().rename_axis("structure").reset_index(name="share_of_map")
    store.write("run_theory", shares)
    files = [save_figure(result.figure(), p.out_dir, "figures/regime_map.png")]
    store.write("run_theory_audit", audit_claims(n=int(theory["audit_samples"])))
    return {"tables": ["run_theory", "run_theory_audit"], "files": files, "notes": []}


def stage_policy(p: ClusterResilience, store: Store) -> dict:
    """APEC-guideline policy diagnostics for each region of interest."""
    parts, notes = [], []
    peers = store.read("run_peers")
    for region in p.config.regions:
        chosen = peers.loc[peers["region_id"] == region, "peer_id"].tolist()
        result = diagnose(store, region, region_type=p.config.region_type, peers=chosen or None)
        parts.append(result.tidy())
        notes += result.notes
    store.write("run_policy", pd.concat(parts, ignore_index=True))
    return {"tables": ["run_policy"], "notes": sorted(set(notes))}


def log_growth(frame: pd.DataFrame, start: int, end: int) -> pd.Series:
    """log(value_end / value_start) by region_id (regions lacking either year are left out)."""
    wide = frame.pivot_table(index="region_id", columns="year", values="value", aggfunc="sum")
    if start not in wide.columns or end not in wide.columns:
        return pd.Series(dtype=float)
    ok = (wide[start] > 0) & (wide[end] > 0)
    return np.log(wide.loc[ok, end] / wide.loc[ok, start])
