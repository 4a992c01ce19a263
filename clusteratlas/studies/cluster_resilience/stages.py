"""The main job's outcome, resilience, theory and policy stages (load: :mod:`.load`, panel:
:mod:`.panels`, causal: :mod:`.causal`); each returns the tables and files it produced.

Each ``stage_<name>(study, store)`` reads what earlier stages wrote to the store, writes its
own ``run_*`` tables (atomically, one transaction each) and files under the output folder,
records what it used and could not do in ``run_provenance`` (:mod:`.provenance`), and returns
``{"tables": [...], "files": [...], "notes": [...]}`` for the manifest. Notes say which
numbers could not be computed, and the report prints them in the matching section.

The designs (:func:`designs`): the seed study's windows as printed (2018 -> 2020 -> 2022), and
the corrected windows of each shock (:func:`~.config.shocks`: COVID-19, the Great Recession),
CBP March employment on the shock's CBP window. Each uses the treatment measured before it
(``run_treatment_by_shock``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas.data.acquire import year_span
from clusteratlas.errors import ClusterAtlasError
from clusteratlas.policy.diagnostics import diagnose
from clusteratlas.resilience.indices import resilience
from clusteratlas.studies.cluster_resilience import provenance
from clusteratlas.studies.cluster_resilience.config import shocks
from clusteratlas.studies.cluster_resilience.figures import save_figure, source_line
from clusteratlas.studies.cluster_resilience.load import stage_load
from clusteratlas.studies.cluster_resilience.panels import TREATMENT_LABELS, stage_panel
from clusteratlas.theory import (
    Params,
    audit_claims,
    boundary_table,
    corrected_table1,
    regime_map,
    table2_columns,
)

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

__all__ = [
    "designs",
    "log_growth",
    "stage_load",
    "stage_outcomes",
    "stage_panel",
    "stage_policy",
    "stage_resilience",
    "stage_theory",
    "theory_tables",
    "window_for",
]

#: outcomes measured on CBP's March count (their shock window is the shock's CBP window)
CBP_TIMED = ("employment",)
#: outcomes that add up over counties (an MSA's or economic area's value is the sum)
ADDITIVE = (
    "gdp",
    "mfg_gdp",
    "employment",
    "employment_qcew",
    "employment_laus",
    "exports",
    "imports",
)


# -- designs ------------------------------------------------------------------------------------
def designs(p: ClusterResilience) -> list[dict]:
    """Every (design, shock, phase) the outcome and causal stages estimate, with its window
    (annual data), its CBP window and the treatment it uses."""
    w = p.config.windows
    out = [
        {
            "design": "seed (as printed)",
            "phase": "shock",
            "window": tuple(w["shock"]),
            "shock": "COVID-19",
            "treatment": "seed",
        },
        {
            "design": "seed (as printed)",
            "phase": "recovery",
            "window": tuple(w["recovery"]),
            "shock": "COVID-19",
            "treatment": "seed",
        },
    ]
    for shock in reversed(shocks(p.config)):  # COVID-19 first: the report's main design
        for phase, (annual, cbp) in (
            (
                "shock",
                ((shock.annual.peak, shock.annual.trough), (shock.cbp.peak, shock.cbp.trough)),
            ),
            (
                "recovery",
                ((shock.annual.trough, shock.annual.end), (shock.cbp.trough, shock.cbp.end)),
            ),
        ):
            out.append(
                {
                    "design": "corrected",
                    "phase": phase,
                    "window": annual,
                    "cbp": cbp,
                    "shock": shock.label,
                    "treatment": shock.name,
                }
            )
    return out


def window_for(p: ClusterResilience, design: dict, outcome: str) -> tuple[int, int]:
    """The (start, end) years of ``design`` for ``outcome``: CBP March employment uses the
    shock's CBP window (CBP 2020 predates the lockdowns)."""
    if "cbp" in design and outcome in CBP_TIMED:
        return tuple(design["cbp"])
    return design["window"]


def outcome_inputs(p: ClusterResilience, store: Store) -> pd.DataFrame:
    """The outcome rows of the run: the loaded ``outcomes`` (a store run: ``run_outcome_inputs``),
    with MSA / economic-area values summed from counties where the level has none."""
    table = "run_outcome_inputs" if p.source == "store" else "outcomes"
    frame = store.read(table)
    rt = p.config.region_type
    if rt in ("msa", "economic_area", "custom") and store.has("region_members"):
        frame = pd.concat(
            [frame, aggregate_counties(frame, store.read("region_members"), rt)], ignore_index=True
        )
    return frame


def aggregate_counties(outcomes: pd.DataFrame, members: pd.DataFrame, rt: str) -> pd.DataFrame:
    """Additive outcomes of ``rt`` regions summed from their member counties, for outcomes the
    data lack at that level. A region-year is kept only when every member county that has the
    outcome in some year has it in that year (a suppressed county would bias the sum)."""
    link = members.loc[
        (members["region_type"] == rt) & (members["member_type"] == "county"),
        ["region_id", "member_id"],
    ]
    have = set(outcomes.loc[outcomes["region_type"] == rt, "outcome"])
    counties = outcomes.loc[
        (outcomes["region_type"] == "county")
        & outcomes["outcome"].isin(ADDITIVE)
        & ~outcomes["outcome"].isin(have)
    ]
    if counties.empty or link.empty:
        return outcomes.iloc[0:0]
    joined = counties.merge(
        link, left_on="region_id", right_on="member_id", suffixes=("_county", "")
    )
    expected = joined.groupby(["outcome", "region_id"])["member_id"].nunique().rename("expected")
    sums = joined.groupby(["outcome", "region_id", "year"]).agg(
        value=("value", "sum"),
        n=("member_id", "nunique"),
        unit=("unit", "first"),
        source=("source", "first"),
    )
    sums = sums.join(expected, on=["outcome", "region_id"]).reset_index()
    sums = sums.loc[sums["n"] == sums["expected"]]
    return sums.assign(
        region_type=rt, source=sums["source"].astype(str) + " (summed over member counties)"
    )[["region_type", "region_id", "year", "outcome", "value", "unit", "source"]]


# -- outcomes -----------------------------------------------------------------------------------
def stage_outcomes(p: ClusterResilience, store: Store) -> dict:
    """Outcome growth of every region over every design window, with the treatment measured
    before the design's shock attached."""
    rt = p.config.region_type
    outcomes = outcome_inputs(p, store)
    outcomes = outcomes.loc[outcomes["region_type"].isin([rt, "nation"])]
    by_shock = store.read("run_treatment_by_shock")
    rows, prov = [], []
    untreated: set[str] = set()
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[(outcomes["outcome"] == outcome) & (outcomes["region_type"] == rt)]
        if frame.empty:
            prov.append(
                provenance.row(
                    outcome,
                    "",
                    "",
                    rt,
                    "not possible",
                    f"no {outcome} for {rt} regions in the data",
                )
            )
            continue
        years = set(frame["year"].astype(int))
        prov.append(
            provenance.row(
                outcome, "; ".join(sorted(frame["source"].astype(str).unique())), years, rt
            )
        )
        for design in designs(p):
            start, end = window_for(p, design, outcome)
            label = (
                f"{outcome} {design['design']} {design['shock']} {design['phase']} {start}->{end}"
            )
            treatment = by_shock.loc[by_shock["shock"] == TREATMENT_LABELS[design["treatment"]]]
            if treatment.empty:
                untreated.add(
                    design["shock"] if design["design"] == "corrected" else design["design"]
                )
                continue
            growth = log_growth(frame, start, end)
            if growth.empty:
                prov.append(
                    provenance.row(
                        label,
                        "outcomes",
                        [start, end],
                        rt,
                        "not possible",
                        f"{outcome} has {year_span(sorted(years))}, not both {start} and {end}",
                    )
                )
                continue
            rows.append(
                pd.DataFrame(
                    {
                        "region_id": growth.index.astype(str),
                        "outcome": outcome,
                        "design": design["design"],
                        "shock": design["shock"],
                        "phase": design["phase"],
                        "start": start,
                        "end": end,
                        "log_growth": growth.to_numpy(),
                    }
                ).merge(
                    treatment[["region_id", "treated", "base_year"]], on="region_id", how="left"
                )
            )
    growth = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(
            columns=[
                "region_id",
                "outcome",
                "design",
                "shock",
                "phase",
                "start",
                "end",
                "log_growth",
                "treated",
                "base_year",
            ]
        )
    )
    for what in sorted(untreated):
        prov.append(
            provenance.row(
                f"outcome growth, {what}",
                "run_treatment_by_shock",
                "",
                rt,
                "not possible",
                "no treatment measured before this shock (see the panel stage)",
            )
        )
    store.write("run_outcome_growth", growth)
    keep = p.config.outcomes["names"] + ["labor_force", "population", "unemployment_rate"]
    store.write("run_outcomes", outcomes.loc[outcomes["outcome"].isin(keep)])
    notes = provenance.record(store, "outcomes", prov)
    return {"tables": ["run_outcome_growth", "run_outcomes", provenance.TABLE], "notes": notes}


# -- resilience ---------------------------------------------------------------------------------
def _region_windows(
    p: ClusterResilience, outcome: str
) -> list[tuple[str, str, tuple[int, int, int]]]:
    w = p.config.windows
    out = [("seed (as printed)", "COVID-19", (w["shock"][0], w["shock"][1], w["recovery"][1]))]
    for shock in reversed(shocks(p.config)):
        out.append(("corrected", shock.label, shock.window(outcome).years))
    return out


def _measure(frame, window, have, label, prov, level, **kwargs):
    """Resilience over ``window`` when the data have its years; resistance alone when only
    the recovery's end is missing; else a provenance row saying why not."""
    peak, trough, end = window
    if not {peak, trough} <= have:
        prov.append(
            provenance.row(
                label,
                "",
                list(window),
                level,
                "not possible",
                f"the data have {year_span(sorted(have))}, not {peak} and {trough}",
            )
        )
        return None
    phases = ("resistance", "recovery") if end in have else ("resistance",)
    if end not in have:
        prov.append(
            provenance.row(
                label + " (recovery)",
                "",
                [trough, end],
                level,
                "not possible",
                f"no {end} in the data ({year_span(sorted(have))}): resistance only",
            )
        )
    try:
        return resilience(frame, window, phases=phases, **kwargs)
    except ClusterAtlasError as error:
        prov.append(provenance.row(label, "", list(window), level, "not possible", str(error)))
        return None


def stage_resilience(p: ClusterResilience, store: Store) -> dict:
    """Resistance and recoverability (Martin et al. 2016 index) of regions for every outcome and
    shock, and of each region x cluster for every shock the cluster panel can see."""
    outcomes = store.read("run_outcomes")
    rt = p.config.region_type
    parts, notes, prov = [], [], []
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[outcomes["outcome"] == outcome]
        if (frame["region_type"] == "nation").any() and frame["source"].nunique() > 1:
            # one source per series: the nation row of the region's own source
            main = frame.loc[frame["region_type"] == rt, "source"].mode().iloc[0]
            frame = frame.loc[(frame["source"] == main) | (frame["region_type"] == "nation")]
            frame = frame.assign(source=main)
        have = set(frame.loc[frame["region_type"] == rt, "year"].astype(int))
        for design, shock, window in _region_windows(p, outcome):
            label = f"{outcome} resilience, {shock} ({design})"
            result = _measure(frame, window, have, label, prov, rt, outcome=outcome)
            if result is None:
                continue
            notes += [f"{outcome} {design} {shock}: {m}" for m in result.warnings]
            prov.append(
                provenance.row(
                    label, ", ".join(sorted(frame["source"].astype(str).unique())), list(window), rt
                )
            )
            parts.append(
                result.tidy().assign(
                    outcome=outcome, design=design, shock=shock, window="-".join(map(str, window))
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
    clusters = cluster_resilience(p, store, notes, prov)
    if not clusters.empty:
        store.write("run_cluster_resilience", clusters)
        tables.append("run_cluster_resilience")
    notes += provenance.record(store, "resilience", prov)
    return {"tables": [*tables, provenance.TABLE], "notes": notes}


def cluster_panel_for(
    p: ClusterResilience, store: Store, years: set[int]
) -> tuple[pd.DataFrame, str] | None:
    """The traded region x cluster employment panel covering ``years`` best: the level panel,
    else the growth-only panel; None when neither has the shock's peak and trough."""
    rt = p.config.region_type
    candidates = [("cluster_panel", "cluster panel")]
    if store.has("run_growth_panel"):
        candidates.append(("run_growth_panel", "growth panel (county sums: growth only)"))
    best = None
    for table, label in candidates:
        panel = store.read(table, where="region_type = ?", params=[rt])
        cover = len(years & set(panel["year"].astype(int)))
        if best is None or cover > best[0]:
            best = (cover, panel, label)
    if best is None or best[0] < 2:
        return None
    return best[1], best[2]


def cluster_resilience(
    p: ClusterResilience, store: Store, notes: list[str], prov: list[dict]
) -> pd.DataFrame:
    """Each traded region x cluster against the same cluster nationally, per shock (CBP window)."""
    rt = p.config.region_type
    parts = []
    for shock in shocks(p.config):
        window = shock.cbp.years
        found = cluster_panel_for(p, store, set(window))
        label = f"region x cluster employment resilience, {shock.label}"
        if found is None:
            prov.append(
                provenance.row(
                    label,
                    "cluster panel",
                    list(window),
                    rt,
                    "not possible",
                    f"the cluster panels have no {window[0]} and {window[1]}",
                )
            )
            continue
        panel, source = found
        have = set(panel["year"].astype(int))
        traded = panel.loc[
            panel["traded"], ["region_type", "region_id", "cluster_code", "year", "emp"]
        ]
        national = (
            panel[["cluster_code", "year", "emp_national"]]
            .drop_duplicates(["cluster_code", "year"])
            .rename(columns={"emp_national": "emp"})
        )
        result = _measure(
            traded,
            window,
            have,
            label,
            prov,
            rt,
            unit=("region_id", "cluster_code"),
            match=("cluster_code",),
            value="emp",
            national=national,
        )
        if result is None:
            continue
        status = "used" if source == "cluster panel" else "partial"
        reason = (
            ""
            if status == "used"
            else "from the growth-only panel (incomplete levels; growth is reliable to about 0.9 correlation)"
        )
        prov.append(provenance.row(label, source, list(window), rt, status, reason))
        parts.append(
            result.tidy().assign(shock=shock.label, window="-".join(map(str, window)), panel=source)
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


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
    outcomes = outcome_inputs(p, store)
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


# -- theory and policy ----------------------------------------------------------------------------
def theory_tables(theory: dict) -> dict[str, pd.DataFrame]:
    """The paper-facing theory tables of the run (issue #16), each exactly the theory layer's
    function output: the paper's Table 2 column by column at the calibration's ``z_scale``
    (:func:`~clusteratlas.theory.table2_columns`), every closed-form pairwise regime boundary
    (:func:`~clusteratlas.theory.boundary_table`), the corrected Table 1 beside the printed one
    (:func:`~clusteratlas.theory.corrected_table1`) and the claim audit with the number of
    informative sweeps per claim (:func:`~clusteratlas.theory.audit_claims`, ``audit_samples``
    points)."""
    z_scale = float(theory["params"].get("z_scale", 1.0))
    return {
        "run_theory_audit": audit_claims(n=int(theory["audit_samples"]), z_scale=z_scale),
        "run_theory_table2": table2_columns(z_scale=z_scale),
        "run_theory_boundaries": boundary_table(),
        "run_theory_table1_corrected": corrected_table1(),
    }


def stage_theory(p: ClusterResilience, store: Store) -> dict:
    """Regime map of the general-equilibrium model at the user's calibration, the audit of the
    paper's claims and the paper's tables checked (:func:`theory_tables`)."""
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
    files = [
        save_figure(
            result.figure(),
            p.out_dir,
            "figures/regime_map.png",
            source_line(p, "clusteratlas.theory regime map"),
        )
    ]
    tables = theory_tables(theory)
    for name, frame in tables.items():
        store.write(name, frame)
    provenance.record(
        store,
        "theory",
        [
            provenance.row(
                "general-equilibrium model (Li Ke), user calibration",
                "clusteratlas.theory (no data)",
                "",
                "",
            )
        ],
    )
    return {
        "tables": ["run_theory", *tables, provenance.TABLE],
        "files": files,
        "notes": [],
    }


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
    base = int(store.read("run_treatment")["base_year"].iloc[0])
    provenance.record(
        store,
        "policy",
        [
            provenance.row(
                "cluster panel and outcomes of the regions of interest",
                "cluster_panel, outcomes",
                [base],
                p.config.region_type,
            )
        ],
    )
    return {"tables": ["run_policy", provenance.TABLE], "notes": sorted(set(notes))}


def log_growth(frame: pd.DataFrame, start: int, end: int) -> pd.Series:
    """log(value_end / value_start) by region_id (regions lacking either year are left out)."""
    wide = frame.pivot_table(index="region_id", columns="year", values="value", aggfunc="sum")
    if start not in wide.columns or end not in wide.columns:
        return pd.Series(dtype=float)
    ok = (wide[start] > 0) & (wide[end] > 0)
    return np.log(wide.loc[ok, end] / wide.loc[ok, start])
