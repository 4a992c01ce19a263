"""The eight stages of ``clusteratlas run``; each returns the tables and files it produced.

Each ``stage_<name>(pipeline, store)`` reads what earlier stages wrote to the store, writes its
own ``run_*`` tables (atomically, one transaction each) and files under the output folder, and
returns ``{"tables": [...], "files": [...], "notes": [...]}`` for the manifest. Notes say which
parts of clusteratlas were missing or which numbers could not be computed, and the report
prints them in the matching section.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.errors import ClusterAtlasError
from clusteratlas.report.config import cluster_regions
from clusteratlas.report.pipeline import DATA_FILES, _read_uscm, log_growth, optional

if TYPE_CHECKING:
    from clusteratlas.report.pipeline import Pipeline
    from clusteratlas.store import Store


# ------------------------------------------------------------------------------------------
def stage_load(p: Pipeline, store: Store) -> dict:
    """Raw inputs -> canonical tables (industry_counts, cluster_definitions, outcomes, regions)."""
    if p.demo:
        from clusteratlas.report.demo import build_demo_store

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
    from clusteratlas.data.bea import read_gdp_csv
    from clusteratlas.data.cbp import read_setzler_national_industry
    from clusteratlas.data.clusters import load_definition
    from clusteratlas.data.laus import read_cbp_totals

    d = p.data_dir
    notes = []
    definitions = load_definition("uscm", naics_vintage=2012, path=d / "clusters")
    uscm = _read_uscm(d / DATA_FILES["uscm_state_2016"])
    years = sorted(uscm["year"].unique().tolist())
    national = read_setzler_national_industry(d / DATA_FILES["national_industry"])
    national = national.loc[national["year"].isin(years)]
    gdp = read_gdp_csv(d / DATA_FILES["bea_gdp"])
    employment = pd.concat(
        [
            read_cbp_totals(d / DATA_FILES["state_total"]),
            read_cbp_totals(d / DATA_FILES["national_total"]),
        ],
        ignore_index=True,
    )
    employment = employment.loc[employment["outcome"].isin(["employment", "establishments"])]
    frames = [gdp, employment]
    laus_reader = optional("clusteratlas.data.laus", "read_laus_state_annual")
    if laus_reader and (d / DATA_FILES["laus_state"]).is_file():
        laus = laus_reader(d / DATA_FILES["laus_state"])
        # LAUS employment is residence-based (household survey): keep it apart from CBP jobs
        laus["outcome"] = laus["outcome"].replace({"employment": "employment_laus"})
        frames.append(laus)
    # context for the county / MSA / economic-area maps (optional files)
    if (d / DATA_FILES["county_total"]).is_file():
        county = read_cbp_totals(d / DATA_FILES["county_total"])
        frames.append(county.loc[county["outcome"] == "employment"])
    members = []
    geo_cbsa = optional("clusteratlas.data.geo", "read_county_cbsa")
    geo_ea = optional("clusteratlas.data.geo", "read_county_ea")
    if geo_cbsa and (d / DATA_FILES["cbsa_delineation"]).is_file():
        members.append(geo_cbsa(d / DATA_FILES["cbsa_delineation"]))
        ita = optional("clusteratlas.data.trade", "read_ita_msa_exports")
        if ita and (d / DATA_FILES["ita_exports"]).is_file():
            frames.append(
                ita(d / DATA_FILES["ita_exports"], delineation=d / DATA_FILES["cbsa_delineation"])
            )
    if geo_ea and (d / DATA_FILES["ea_crosswalk"]).is_file():
        members.append(geo_ea(d / DATA_FILES["ea_crosswalk"]))
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
    notes.append(f"real data from {d}: USCM state x cluster {years}, BEA SAGDP2N, CBP totals")
    tables = ["cluster_definitions", "uscm_input", "industry_counts", "outcomes", "regions"]
    return {"tables": tables + (["region_members"] if members else []), "notes": notes}


# ------------------------------------------------------------------------------------------
def stage_panel(p: Pipeline, store: Store) -> dict:
    """Region x cluster panel (USCM method), region summary, treatment and peers."""
    from clusteratlas.panel import build_panel, panel_from_uscm, region_summary

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
    return {
        "tables": ["cluster_panel", "run_region_summary", "run_treatment", "run_peers"],
        "notes": [
            f"{panel['region_id'].nunique()} {rt} regions, base year {base}, {int(treatment['treated'].sum())} cluster regions"
        ],
    }


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
def _designs(p: Pipeline) -> list[dict]:
    w = p.config.windows
    return [
        {"design": "seed (as printed)", "phase": "shock", "window": tuple(w["shock"])},
        {"design": "seed (as printed)", "phase": "recovery", "window": tuple(w["recovery"])},
        {"design": "corrected", "phase": "shock", "window": tuple(w["corrected_shock"])},
        {"design": "corrected", "phase": "recovery", "window": tuple(w["corrected_recovery"])},
    ]


def _window_for(p: Pipeline, design: dict, outcome: str) -> tuple[int, int]:
    # CBP employment is counted in March: the corrected shock for it is employment_shock
    if design["design"] == "corrected" and outcome == "employment" and design["phase"] == "shock":
        return tuple(p.config.windows["employment_shock"])
    return design["window"]


def stage_outcomes(p: Pipeline, store: Store) -> dict:
    """Outcome growth of every region over every window, with the treatment attached."""
    rt = p.config.region_type
    outcomes = store.read("outcomes", where=f"region_type in ('{rt}', 'nation')")
    treatment = store.read("run_treatment")[["region_id", "treated"]]
    rows, notes = [], []
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[(outcomes["outcome"] == outcome) & (outcomes["region_type"] == rt)]
        for design in _designs(p):
            start, end = _window_for(p, design, outcome)
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
def stage_resilience(p: Pipeline, store: Store) -> dict:
    """Resistance and recoverability (Martin et al. 2016 index) of regions and their clusters."""
    resilience = optional("clusteratlas.resilience.indices", "resilience")
    if resilience is None:
        store.write(
            "run_resilience", pd.DataFrame({"note": ["clusteratlas.resilience is not available"]})
        )
        return {
            "tables": ["run_resilience"],
            "notes": ["clusteratlas.resilience.indices.resilience missing: section left empty"],
        }
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


def context_maps(p: Pipeline, store: Store) -> pd.DataFrame:
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
def _ols_did(frame: pd.DataFrame, y: str, cluster: bool) -> dict:
    """The seed's 2x2 DID regression y = a + b D + c Post + delta D x Post (statsmodels OLS)."""
    import statsmodels.formula.api as smf

    model = smf.ols(f"{y} ~ treated_i * post", data=frame)
    fit = (
        model.fit(cov_type="cluster", cov_kwds={"groups": frame["region_code"]})
        if cluster
        else model.fit(cov_type="HC1")
    )
    name = "treated_i:post"
    low, high = fit.conf_int().loc[name]
    return {
        "estimate": float(fit.params[name]),
        "se": float(fit.bse[name]),
        "t": float(fit.tvalues[name]),
        "p_value": float(fit.pvalues[name]),
        "ci_low": float(low),
        "ci_high": float(high),
        "r2_adj": float(fit.rsquared_adj),
        "n_obs": int(fit.nobs),
    }


def _did(data: pd.DataFrame, y: str, seed: bool, notes: list[str]) -> tuple[dict, object]:
    """2x2 DID through clusteratlas.causal.did (statsmodels OLS of the same equation if absent).

    Seed design: the paper's OLS table (HC1 here; the paper does not say); corrected: SE
    clustered by region (CRV1). Returns the table row and the library's result object (None
    for the statsmodels fallback), which the wild cluster bootstrap needs.
    """
    did_2x2 = optional("clusteratlas.causal.did", "did_2x2")
    if did_2x2 is None:
        notes.append(
            "clusteratlas.causal.did not available: DID from statsmodels OLS of the seed equation"
        )
        return {
            **_ols_did(data, y, cluster=not seed),
            "se_type": "HC1" if seed else "cluster(region)",
            "estimator": "statsmodels OLS 2x2",
        }, None
    start, end = sorted(data["year"].unique().tolist())
    kwargs = {"vcov": "HC1"} if seed else {"cluster": "region_id"}
    res = did_2x2(
        data, y=y, treat="treated_i", time="year", pre=start, post=end, unit="region_id", **kwargs
    )
    low, high = res.ci
    row = res.table.set_index("term").loc[res.term]
    return {
        "estimate": res.estimate,
        "se": res.se,
        "t": res.estimate / res.se if res.se else float("nan"),
        "p_value": float(row["p_value"]) if "p_value" in row.index else float("nan"),
        "ci_low": float(low),
        "ci_high": float(high),
        "r2_adj": float(res.info.get("r2_adj", float("nan"))),
        "n_obs": int(res.nobs),
        "se_type": res.se_type,
        "estimator": res.method,
    }, res


#: wild cluster bootstrap of the corrected DID: draws and seed (recorded in run_did_wild_bootstrap)
BOOTSTRAP_REPS = 9999
BOOTSTRAP_SEED = 20240101
#: above this many clusters CRV1 is reliable and the bootstrap's G x G x draws cost is not worth it
BOOTSTRAP_MAX_CLUSTERS = 200


def _wild_bootstrap(result, row: dict, notes: list[str]) -> dict | None:
    """Restricted wild cluster bootstrap (WCR11, Rademacher, clusters = regions) of one DID.

    With ~50 states the CRV1 t(G-1) p-value can over-reject; the bootstrap p-value and its
    test-inversion CI (clusteratlas.causal.did.wild_cluster_bootstrap) go beside it.
    """
    wild = optional("clusteratlas.causal.did", "wild_cluster_bootstrap")
    if wild is None or result is None:
        notes.append(
            "clusteratlas.causal.did.wild_cluster_bootstrap missing: no bootstrap p-values"
        )
        return None
    label = f"wild bootstrap {row['outcome']} {row['phase']}"
    n_clusters = int(result.info.get("n_clusters") or 0)
    if n_clusters > BOOTSTRAP_MAX_CLUSTERS:
        notes.append(
            f"wild cluster bootstrap skipped: {n_clusters} region clusters "
            f"(> {BOOTSTRAP_MAX_CLUSTERS}), the CRV1 p-value is reliable with this many"
        )
        return None
    try:
        boot = wild(result, reps=BOOTSTRAP_REPS, seed=BOOTSTRAP_SEED)
    except ClusterAtlasError as error:
        notes.append(f"{label}: {error}")
        return None
    return {
        **{k: row[k] for k in ("outcome", "design", "phase", "start", "end", "scale")},
        "estimate": boot.estimate,
        "crv1_p_value": row["p_value"],
        "boot_p_value": boot.pvalue,
        "boot_ci_low": boot.ci[0],
        "boot_ci_high": boot.ci[1],
        "boot_t": boot.t_stat,
        "reps": boot.reps,
        "weights": boot.weights_type,
        "n_clusters": boot.n_clusters,
        "seed": BOOTSTRAP_SEED,
        "method": "WCR11 restricted wild cluster bootstrap, clusters = regions",
    }


def _event_study(
    p: Pipeline, outcomes: pd.DataFrame, treatment: pd.DataFrame, notes: list[str]
) -> pd.DataFrame:
    """Event study around the corrected shock: clusteratlas.causal.did.event_study (TWFE, CRV1 by
    region, joint Wald pre-trend test); reference year = the year before the shock year."""
    event_study = optional("clusteratlas.causal.did", "event_study")
    if event_study is None:
        notes.append(
            "clusteratlas.causal.did.event_study missing: event study from mean gaps (same estimator on a balanced panel)"
        )
        return _event_study_means(p, outcomes, treatment)
    rows = []
    for outcome in p.config.outcomes["names"]:
        shock = p.config.windows[
            "employment_shock" if outcome == "employment" else "corrected_shock"
        ][1]
        frame = outcomes.loc[
            (outcomes["outcome"] == outcome)
            & (outcomes["value"] > 0)
            & (outcomes["year"].between(shock - 7, shock + 6))
        ]
        frame = frame.merge(treatment, on="region_id").assign(
            log_value=lambda f: np.log(f["value"]), treated_i=lambda f: f["treated"].astype(int)
        )
        if frame["region_id"].nunique() < 4:
            continue
        try:
            res = event_study(
                frame, "log_value", "region_id", "year", treat="treated_i", shock_year=shock
            )
        except ClusterAtlasError as error:
            notes.append(f"event study {outcome}: {error}")
            continue
        coefs = res.coefs
        part = pd.DataFrame(
            {
                "outcome": outcome,
                "year": shock + coefs["event_time"].astype(int),
                "base_year": shock - 1,
                "estimate": coefs["estimate"],
                "se": coefs["std_error"] if "std_error" in coefs else coefs["se"],
                "ci_low": coefs["conf_low"],
                "ci_high": coefs["conf_high"],
            }
        )
        base = pd.DataFrame(
            [
                {
                    "outcome": outcome,
                    "year": shock - 1,
                    "base_year": shock - 1,
                    "estimate": 0.0,
                    "se": 0.0,
                    "ci_low": 0.0,
                    "ci_high": 0.0,
                }
            ]
        )
        rows.append(
            pd.concat([part, base], ignore_index=True)
            .sort_values("year")
            .assign(
                pretrend_p=res.info.get("pretrend_p", np.nan),
                estimator=res.method,
                se_type=res.se_type,
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _event_study_means(
    p: Pipeline, outcomes: pd.DataFrame, treatment: pd.DataFrame
) -> pd.DataFrame:
    """Fallback: gap in mean log change from the base year, treated - other (Welch SE)."""
    from scipy.stats import chi2

    rows = []
    for outcome in p.config.outcomes["names"]:
        window = "employment_shock" if outcome == "employment" else "corrected_shock"
        base = p.config.windows[window][1] - 1
        frame = outcomes.loc[(outcomes["outcome"] == outcome) & (outcomes["value"] > 0)]
        wide = np.log(frame.pivot_table(index="region_id", columns="year", values="value"))
        if base not in wide.columns:
            continue
        d = treatment.set_index("region_id")["treated"].reindex(wide.index)
        for year in [int(t) for t in wide.columns if abs(int(t) - base) <= 7]:
            diff = (wide[year] - wide[base]).dropna()
            dd = d.reindex(diff.index).dropna().astype(float)
            diff = diff.reindex(dd.index)
            t, c = diff[dd == 1], diff[dd == 0]
            if len(t) < 2 or len(c) < 2:
                continue
            se = 0.0 if year == base else math.sqrt(t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c))
            rows.append(
                {
                    "outcome": outcome,
                    "year": year,
                    "base_year": base,
                    "estimate": t.mean() - c.mean(),
                    "se": se,
                }
            )
    event = pd.DataFrame(rows)
    if event.empty:
        return event
    event["ci_low"] = event["estimate"] - 1.96 * event["se"]
    event["ci_high"] = event["estimate"] + 1.96 * event["se"]
    for outcome, part in event.loc[event["year"] < event["base_year"]].groupby("outcome"):
        stat = float(((part["estimate"] / part["se"]) ** 2).sum())
        event.loc[event["outcome"] == outcome, "pretrend_p"] = float(chi2.sf(stat, len(part)))
    return event


def _did_frame(
    outcomes: pd.DataFrame, treatment: pd.DataFrame, start: int, end: int
) -> pd.DataFrame:
    rows = outcomes.loc[outcomes["year"].isin([start, end])].merge(treatment, on="region_id")
    rows = rows.loc[rows["value"] > 0]
    counts = rows.groupby("region_id")["year"].transform("nunique")
    rows = rows.loc[counts == 2].copy()  # balanced 2x2
    rows["post"] = (rows["year"] == end).astype(int)
    rows["treated_i"] = rows["treated"].astype(int)
    rows["log_value"] = np.log(rows["value"])
    # a fixed row order, so the bootstrap's cluster weights do not depend on the store's order
    rows = rows.sort_values(["region_id", "year"], kind="stable").reset_index(drop=True)
    rows["region_code"] = pd.factorize(rows["region_id"])[0]
    return rows


def stage_causal(p: Pipeline, store: Store) -> dict:
    """DID tables (seed as printed beside the corrected design), event study, pre-trend, RD."""
    from clusteratlas.report import figures

    outcomes = store.read("run_outcomes", where=f"region_type = '{p.config.region_type}'")
    treatment = store.read("run_treatment")[["region_id", "treated"]]
    rows, boots, notes = [], [], []
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[outcomes["outcome"] == outcome]
        for design in _designs(p):
            start, end = _window_for(p, design, outcome)
            data = _did_frame(frame, treatment, start, end)
            if data["region_id"].nunique() < 4:
                notes.append(f"DID {outcome} {start}->{end}: not enough regions with both years")
                continue
            seed = design["design"].startswith("seed")
            # seed: levels with HC1 as in its OLS tables; corrected: logs, SE clustered by region
            y = "value" if seed and not p.config.outcomes["log"] else "log_value"
            result, fitted = _did(data, y, seed, notes)
            rows.append(
                {
                    "outcome": outcome,
                    "design": design["design"],
                    "phase": design["phase"],
                    "start": start,
                    "end": end,
                    "scale": "log" if y == "log_value" else "level",
                    **result,
                }
            )
            if not seed:
                boot = _wild_bootstrap(fitted, rows[-1], notes)
                if boot is not None:
                    boots.append(boot)
    did = pd.DataFrame(rows)
    store.write("run_did", did)
    if boots:
        store.write("run_did_wild_bootstrap", pd.DataFrame(boots))

    event = _event_study(p, outcomes, treatment, notes)
    store.write("run_event_study", event)

    rd_tables = _rd(p, store, notes)
    files = figures.causal_figures(
        p.out_dir, event, rd_tables.get("points"), rd_tables.get("sensitivity")
    )
    files += rd_tables.get("files", [])
    produced = (
        "run_did_wild_bootstrap",
        "run_rd",
        "run_rd_sensitivity",
        "run_rd_density",
        "run_rd_placebo",
        "run_seed_rdd",
    )
    tables = ["run_did", "run_event_study"] + [t for t in produced if store.has(t)]
    return {"tables": tables, "files": files, "notes": notes}


def _rd(p: Pipeline, store: Store, notes: list[str]) -> dict:
    """Genuine RD at the strong-cluster cut-off (LQ percentile 75) plus the seed's 'RDD' OLS."""
    import statsmodels.formula.api as smf

    base = int(store.read("run_treatment")["base_year"].iloc[0])
    panel = store.read(
        "cluster_panel", where=f"region_type = '{p.config.region_type}' and year = {base}"
    )
    growth = store.read("run_outcome_growth")
    shock = growth.loc[
        (growth["design"] == "corrected")
        & (growth["phase"] == "shock")
        & (growth["outcome"] == p.config.outcomes["names"][0])
    ]
    rows = panel.loc[(panel["year"] == base) & panel["traded"] & (panel["emp"] > 0)].copy()
    rows["lq_pct"] = rows.groupby("cluster_code")["lq"].rank(pct=True) * 100.0
    rows["x"] = rows["lq_pct"] - 75.0
    rows = rows.merge(shock[["region_id", "log_growth"]], on="region_id")
    out: dict = {}
    if rows.empty:
        notes.append("RD: no region x cluster rows with outcome growth")
        return out
    # the seed's "RDD": OLS of outcome growth on cluster quality factors (QP is Q1 payroll!)
    seed = rows.assign(
        log_qp1=np.log1p(rows["qp1"]),
        log_est=np.log1p(rows["est"]),
        log_ap=np.log1p(rows["ap"]),
        wage_k=rows["wage"].fillna(0) / 1000.0,
    )
    fit = smf.ols("log_growth ~ log_qp1 + log_est + log_ap + wage_k + lq", data=seed).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(seed["region_id"])[0]}
    )
    store.write(
        "run_seed_rdd",
        pd.DataFrame(
            {
                "term": fit.params.index,
                "estimate": fit.params.to_numpy(),
                "se": fit.bse.to_numpy(),
                "p_value": fit.pvalues.to_numpy(),
            }
        ).assign(
            n_obs=int(fit.nobs),
            r2_adj=float(fit.rsquared_adj),
            note="QP = CBP first-quarter payroll ($1,000), not 'concentration'",
        ),
    )
    out["points"] = rows[["x", "log_growth"]]
    rdrobust = optional("clusteratlas.causal.rd", "rdrobust")
    if rdrobust is None:
        notes.append("clusteratlas.causal.rd not available: no local-polynomial RD")
        return out
    y, x = rows["log_growth"].to_numpy(float), rows["x"].to_numpy(float)
    cluster = pd.factorize(rows["region_id"])[0]
    try:
        res = rdrobust(y, x, c=0.0, cluster=cluster, vce="cr1")
        table = pd.DataFrame(
            {
                "row": res.coef.index,
                "estimate": res.coef.to_numpy(),
                "se": res.se.to_numpy(),
                "p_value": res.pv.to_numpy(),
                "ci_low": res.ci.iloc[:, 0].to_numpy(),
                "ci_high": res.ci.iloc[:, 1].to_numpy(),
            }
        ).assign(
            h=res.h[0],
            n_left=res.N_h[0],
            n_right=res.N_h[1],
            running="LQ percentile - 75",
            outcome=shock["outcome"].iloc[0] if len(shock) else "",
        )
        store.write("run_rd", table)
        sens = []
        for mult in (0.5, 0.75, 1.0, 1.5, 2.0):
            try:
                r = rdrobust(y, x, c=0.0, h=res.h[0] * mult, cluster=cluster, vce="cr1")
                sens.append(
                    {
                        "h": res.h[0] * mult,
                        "multiple": mult,
                        "estimate": float(r.coef.iloc[0]),
                        "ci_low": float(r.ci.iloc[2, 0]),
                        "ci_high": float(r.ci.iloc[2, 1]),
                        "n": int(sum(r.N_h)),
                    }
                )
            except ClusterAtlasError as error:
                notes.append(f"RD sensitivity h x {mult}: {error}")
        out["sensitivity"] = pd.DataFrame(sens)
        store.write("run_rd_sensitivity", out["sensitivity"])
    except ClusterAtlasError as error:
        notes.append(f"RD: {error}")
    out["files"] = _rd_falsification(p, store, y, x, notes)
    return out


def _rd_falsification(
    p: Pipeline, store: Store, y: np.ndarray, x: np.ndarray, notes: list[str]
) -> list[str]:
    """Manipulation (density) test of the running variable and RD estimates at placebo cutoffs.

    Density: Cattaneo, Jansson and Ma (2020) through clusteratlas.causal.rd.rddensity with its
    defaults (p=2, triangular kernel, jackknife variance, bandwidths "comb"). Placebo cutoffs:
    clusteratlas.causal.rd.rd_placebo at the 20/40/60/80th percentiles of x on each side, each
    fit using only its own side of the true cut-off; HC1 SEs (rd_placebo passes options
    unchanged to every side's subsample, so a region cluster vector cannot be passed).
    """
    from clusteratlas.report.figures import save_figure

    files: list[str] = []
    rddensity = optional("clusteratlas.causal.rd", "rddensity")
    if rddensity is None:
        notes.append("clusteratlas.causal.rd.rddensity missing: no manipulation test")
    else:
        try:
            density = rddensity(x, c=0.0)
            store.write(
                "run_rd_density",
                density.tidy().assign(
                    running="LQ percentile - 75",
                    cutoff=density.c,
                    n_left=density.N[0],
                    n_right=density.N[1],
                    p=density.p,
                    q=density.q,
                    kernel=density.kernel,
                    bwselect=density.bwselect,
                ),
            )
        except ClusterAtlasError as error:
            notes.append(f"RD density test: {error}")
    rd_placebo = optional("clusteratlas.causal.rd", "rd_placebo")
    if rd_placebo is None:
        notes.append("clusteratlas.causal.rd.rd_placebo missing: no placebo cutoffs")
        return files
    try:
        placebo = rd_placebo(y, x, c=0.0, vce="hc1")
    except ClusterAtlasError as error:
        notes.append(f"RD placebo cutoffs: {error}")
        return files
    store.write("run_rd_placebo", placebo.table.assign(running="LQ percentile - 75", vce="hc1"))
    files.append(save_figure(placebo.figure, p.out_dir, "figures/rd_placebo.png"))
    return files


# ------------------------------------------------------------------------------------------
def stage_theory(p: Pipeline, store: Store) -> dict:
    """Regime map of the general-equilibrium model at the user's calibration + audit of the paper's claims."""
    theory = p.config.theory
    regime_map = optional("clusteratlas.theory", "regime_map")
    params_cls = optional("clusteratlas.theory", "Params")
    if regime_map is None or params_cls is None:
        store.write(
            "run_theory",
            pd.DataFrame(
                {"note": ["clusteratlas.theory.regime_map is not available in this build"]}
            ),
        )
        return {
            "tables": ["run_theory"],
            "notes": ["clusteratlas.theory.regime_map missing: theory section left empty"],
        }
    from clusteratlas.report.figures import save_figure

    fixed = params_cls(**theory["params"])
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
    tables, notes = ["run_theory"], []
    audit = optional("clusteratlas.theory", "audit_claims")
    if audit is None:
        notes.append("clusteratlas.theory.audit_claims missing: no audit of the paper's claims")
    else:
        store.write("run_theory_audit", audit(n=int(theory["audit_samples"])))
        tables.append("run_theory_audit")
    return {"tables": tables, "files": files, "notes": notes}


def stage_policy(p: Pipeline, store: Store) -> dict:
    """APEC-guideline policy diagnostics for each region of interest."""
    from clusteratlas.policy.diagnostics import diagnose

    parts, notes = [], []
    peers = store.read("run_peers")
    for region in p.config.regions:
        chosen = peers.loc[peers["region_id"] == region, "peer_id"].tolist()
        result = diagnose(store, region, region_type=p.config.region_type, peers=chosen or None)
        parts.append(result.tidy())
        notes += result.notes
    store.write("run_policy", pd.concat(parts, ignore_index=True))
    return {"tables": ["run_policy"], "notes": sorted(set(notes))}


def stage_report(p: Pipeline, store: Store) -> dict:
    from clusteratlas.report.html import render_report

    files = render_report(p, store)
    return {"files": [str(Path(f).relative_to(p.out_dir)) for f in files]}
