"""The main job's one-file HTML report: sections, tables (also CSV + LaTeX), inline SVG maps and PNG figures.

Owns rendering only: :func:`render_report` reads the study's ``run_*`` tables from the store
(and the figures the stages drew) and writes ``report.html`` plus every table as CSV and
LaTeX; :func:`report_stage` is the same as the study's last stage. It loads no input file.
Everything is inlined (CSS, SVG, base64 PNG; no script, no CDN), so the file works offline.
Every table, map and figure carries a provenance line: its inputs (store tables and source
files), its parameters and the clusteratlas version.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clusteratlas import __version__, atomic, tables
from clusteratlas.data.catalog import file_name
from clusteratlas.panel import national_coverage
from clusteratlas.report.maps import choropleth_svg

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"


class Section:
    def __init__(self, id_: str, title: str) -> None:
        self.id, self.title, self.blocks = id_, title, []

    def text(self, text: str, kind: str = "text") -> None:
        self.blocks.append({"kind": kind, "text": text})


class Builder:
    """Collects sections; exports every table to CSV and LaTeX as it goes."""

    def __init__(self, p: ClusterResilience, store: Store) -> None:
        self.p, self.store = p, store
        self.sections: list[Section] = []
        self.files: list[Path] = []
        self.source = {
            "demo": "synthetic-demo (generated, see clusteratlas.studies.cluster_resilience.demo)",
            "folder": f"data folder {p.data_dir}",
            "fetch": "the publishers (fetched; see 'Data used')",
            "store": f"the store {p.store_path}",
        }.get(getattr(p, "source", "folder"), f"data folder {p.data_dir}")

    def section(self, id_: str, title: str) -> Section:
        s = Section(id_, title)
        self.sections.append(s)
        return s

    def prov(self, inputs: str, params: str = "") -> str:
        return f"Inputs: {inputs}; source: {self.source}. Parameters: {params or 'none'}. clusteratlas {__version__}."

    def table(
        self,
        s: Section,
        frame: pd.DataFrame,
        stem: str,
        caption: str,
        inputs: str,
        params: str = "",
    ) -> None:
        if frame is None or frame.empty:
            s.text(f"{caption}: no rows.", "missing")
            return
        frame = frame.reset_index(drop=True)
        self.files += tables.export(
            frame, self.p.out_dir / "tables" / stem, formats=("csv", "tex"), caption=caption
        )
        s.blocks.append(
            {
                "kind": "table",
                "html": tables.to_html(
                    frame,
                    caption=caption + (" [SYNTHETIC]" if self.p.demo else ""),
                ),
                "prov": self.prov(inputs, params) + f" Files: tables/{stem}.csv, .tex",
            }
        )

    def map(
        self,
        s: Section,
        values: pd.Series,
        caption: str,
        inputs: str,
        params: str = "",
        region_type: str | None = None,
        **kwargs,
    ) -> None:
        members = self.store.read("region_members") if self.store.has("region_members") else None
        kind = region_type or self.p.config.region_type
        svg = choropleth_svg(values, kind, title=caption, members=members, **kwargs)
        s.blocks.append(
            {"kind": "map", "svg": svg, "caption": caption, "prov": self.prov(inputs, params)}
        )

    def figure(self, s: Section, rel: str, caption: str, inputs: str, params: str = "") -> None:
        path = self.p.out_dir / rel
        if not path.is_file():
            s.text(f"{caption}: figure not produced.", "missing")
            return
        s.blocks.append(
            {
                "kind": "figure",
                "png": base64.b64encode(path.read_bytes()).decode(),
                "caption": caption,
                "prov": self.prov(inputs, params),
            }
        )

    def read(self, name: str) -> pd.DataFrame | None:
        return self.store.read(name) if self.store.has(name) else None

    def notes(self, s: Section, stage: str) -> None:
        for note in self.p.notes.get(stage, []):
            s.text(f"{stage}: {note}", "note")


def _names(store: Store) -> dict[str, str]:
    if not store.has("regions"):
        return {}
    r = store.read("regions")
    return dict(zip(r["region_id"].astype(str), r["region_name"].astype(str), strict=False))


def _national_coverage(b, s, panel: pd.DataFrame, region_type: str, year: int) -> None:
    """How well the regions add up to the national counts the LQs divide by (traded clusters)."""
    coverage = national_coverage(panel.loc[panel["traded"]])
    if coverage.empty:
        return
    readings = coverage["reading"].value_counts()
    total = coverage["regions_emp"].sum() / coverage["emp_national"].sum()
    s.text(
        f"National coverage, {year}: summed over the {panel['region_id'].nunique()} "
        f"{region_type} regions, traded employment is {total:.2%} of the national count; "
        f"{readings.get('agrees', 0)} of {len(coverage)} traded "
        f"clusters agree within 1%, {readings.get('imputation', 0)} exceed it by no more than the "
        f"jobs imputed to suppressed cells, {readings.get('regions short', 0)} fall short (regions "
        f"absent from the data, e.g. DC in a 50-state file), "
        f"{readings.get('inconsistent', 0)} are inconsistent."
    )
    off = coverage.loc[coverage["reading"] != "agrees"].sort_values("gap")
    if not off.empty:
        b.table(
            s,
            off[
                ["cluster_code", "cluster_name", "emp_national", "regions_emp", "gap"]
                + ["imputed_share", "reading"]
            ],
            "national_coverage",
            "Traded clusters whose regions do not add up to the nation within 1%",
            "cluster_panel",
            "gap = sum of regions / national - 1; imputed_share = imputed / regional employment",
        )


def render_report(p: ClusterResilience, store: Store) -> list[Path]:
    """Build the report sections from the run tables and write ``report.html``."""
    import jinja2

    b = Builder(p, store)
    cfg = p.config
    names = _names(store)
    treatment = store.read("run_treatment")
    base = int(treatment["base_year"].iloc[0])
    last = int(
        store.sql(
            "select max(year) as y from cluster_panel where region_type = ?", [cfg.region_type]
        )["y"].iloc[0]
    )
    panel = store.read(
        "cluster_panel", where=f"region_type = '{cfg.region_type}' and year in ({base}, {last})"
    )
    now = panel.loc[panel["year"] == base]
    summary = store.read("run_region_summary")
    summary_now = summary.loc[summary["year"] == base]
    peers = store.read("run_peers")
    related = b.read("run_related_clusters")

    # -- what each stage used ----------------------------------------------------------------
    s = b.section("data", "Data used, per stage")
    prov = b.read("run_provenance")
    if prov is not None:
        s.text(
            "Each stage's inputs: source, years and region level; 'partial' and 'not possible' "
            "rows say what could not be done and why."
        )
        b.table(s, prov, "provenance", "Data used and not used, per stage", "run_provenance")

    # -- region profile --------------------------------------------------------------------
    s = b.section("profile", "Region profile")
    b.notes(s, "load")
    b.notes(s, "panel")
    s.text(
        f"Region type {cfg.region_type}, base year {base}. 'Cluster regions' (treated) follow rule "
        f"{cfg.treatment['rule']} (quantile {cfg.treatment['quantile']}): {int(treatment['treated'].sum())} of {len(treatment)} regions."
    )
    _national_coverage(b, s, now, cfg.region_type, base)
    for region in cfg.regions:
        label = f"{names.get(region, region)} ({region})"
        mine = now.loc[now["region_id"] == region]
        row = summary_now.loc[summary_now["region_id"] == region]
        if not row.empty:
            nat = summary_now["cluster_strength"].median()
            r = row.iloc[0]
            s.text(
                f"{label}: {r['emp']:,.0f} jobs in {base} ({r['emp_traded'] / r['emp']:.1%} traded), {int(r['n_strong'])} strong clusters, "
                f"cluster strength {r['cluster_strength']:.1%} (median region {nat:.1%}), average wage ${r['wage']:,.0f}; "
                f"treated: {bool(treatment.set_index('region_id')['treated'].get(region, False))}."
            )
        strong = mine.loc[mine["strong"]].sort_values("emp", ascending=False)
        cols = [
            "cluster_code",
            "cluster_name",
            "emp",
            "est",
            "wage",
            "lq",
            "national_share",
            "region_share",
        ]
        b.table(
            s,
            strong[cols],
            f"strong_clusters_{region}",
            f"Strong clusters of {label}, {base}",
            "cluster_panel",
            "USCM strong rule: LQ >= Q75, LQ >= 1, E and Est > Q25",
        )
        tl = mine.groupby("traded")[["emp", "est", "ap"]].sum().reset_index()
        tl["traded"] = tl["traded"].map({True: "traded", False: "local"})
        tl["share_of_emp"] = tl["emp"] / tl["emp"].sum()
        b.table(
            s, tl, f"traded_local_{region}", f"Traded vs local employment, {label}", "cluster_panel"
        )
        if "competitive_effect" in mine.columns and mine["expected_emp_change"].notna().any():
            later = panel.loc[
                (panel["region_id"] == region)
                & panel["traded"]
                & (panel["year"] == panel["year"].max())
            ]
            jc = later[
                [
                    "cluster_name",
                    "prev_year",
                    "year",
                    "emp_change",
                    "expected_emp_change",
                    "competitive_effect",
                ]
            ].sort_values("competitive_effect")
            b.table(
                s,
                pd.concat([jc.head(5), jc.tail(5)]),
                f"job_creation_{region}",
                f"Job creation vs expected (national cluster growth), {label}: weakest and strongest",
                "cluster_panel",
                "expected = E_prev x national cluster growth (USCM jobCreation)",
            )
        else:
            s.text(
                "Job creation vs expected needs two panel years; the loaded cluster panel has one.",
                "note",
            )
        if related is not None:
            b.table(
                s,
                related.loc[related["region_id"].astype(str) == region].head(40),
                f"related_{region}",
                f"Related clusters of {label}'s strong clusters (present / missing)",
                f"cluster_panel, {file_name('related_pairs')}",
                "rel_all_90_v3 = 1",
            )
        else:
            s.text("Related clusters not available (see the panel notes above).", "missing")
        mine_peers = peers.loc[peers["region_id"] == region]
        ids = [region, *mine_peers["peer_id"].tolist()]
        comp = (
            summary_now.set_index("region_id")
            .reindex(ids)[["emp", "emp_traded", "wage", "n_strong", "cluster_strength"]]
            .reset_index()
        )
        comp.insert(1, "name", comp["region_id"].map(names))
        comp = comp.merge(
            mine_peers[["peer_id", "distance", "chosen_by"]],
            left_on="region_id",
            right_on="peer_id",
            how="left",
        ).drop(columns="peer_id")
        b.table(
            s,
            comp,
            f"peers_{region}",
            f"{label} and its peers",
            "run_region_summary, run_peers",
            "peers: "
            + (
                ", ".join(cfg.study["peers"])
                or f"nearest {cfg.study['n_peers']} by |z log emp| + (1 - cosine of traded mix)"
            ),
        )

    # -- maps ------------------------------------------------------------------------------
    s = b.section("maps", "Maps")
    strength = summary_now.set_index("region_id")["cluster_strength"]
    b.map(
        s,
        strength,
        f"Cluster strength {base} (share of traded jobs in strong clusters)",
        "run_region_summary",
        "USCM str_emp_per",
        cmap="viridis",
        highlight=cfg.regions,
        legend_label="share",
    )
    focus = now.loc[(now["region_id"] == cfg.regions[0]) & now["traded"]]
    code = str(
        cfg.study["map_cluster"]
        or (
            focus.sort_values("lq", ascending=False)["cluster_code"].iloc[0]
            if not focus.empty
            else now["cluster_code"].iloc[0]
        )
    )
    chosen = now.loc[now["cluster_code"].astype(str) == code]
    cname = chosen["cluster_name"].iloc[0] if not chosen.empty else code
    b.map(
        s,
        chosen.set_index("region_id")["lq"],
        f"Location quotient of {cname} ({base})",
        "cluster_panel",
        f"cluster {code}",
        cmap="RdBu_r",
        centre=1.0,
        highlight=cfg.regions,
        legend_label="LQ (1 = national)",
    )
    res = b.read("run_resilience")
    if res is not None and "resilience" in res.columns:
        part = res.loc[
            (res["design"] == "corrected")
            & (res.get("shock", "COVID-19") == "COVID-19")
            & (res["phase"] == "resistance")
            & (res["outcome"] == cfg.outcomes["names"][0])
        ]
        if not part.empty:
            b.map(
                s,
                part.set_index("region_id")["resilience"],
                f"Resistance index, {cfg.outcomes['names'][0]}, window {part['window'].iloc[0]} (corrected)",
                "run_resilience",
                "MSGT index, aggregate expectation",
                cmap="RdBu",
                centre=0.0,
                highlight=cfg.regions,
                legend_label="> 0: more resistant than the nation",
            )

    context = b.read("run_context_maps")
    if context is not None:
        groups = context.groupby(["region_type", "outcome", "start", "end"], sort=False)
        for (region_type, outcome, start, end), part in groups:
            label = {"msa": "MSA", "economic_area": "BEA economic area"}.get(
                region_type, region_type
            )
            dissolved = region_type in ("msa", "economic_area")
            national = part["national_growth"].iloc[0]
            b.map(
                s,
                part.set_index("region_id")["value"],
                f"{outcome} growth {start}-{end} relative to the nation ({national:+.1%}), by {label}",
                "run_context_maps (outcomes" + (" + county crosswalk)" if dissolved else ")"),
                "g_r - g_N" + ("; counties coloured by their region's value" if dissolved else ""),
                region_type=region_type,
                cmap="RdBu",
                centre=0.0,
                legend_label="> 0: grew faster / fell less than the nation",
            )

    # -- shock and recovery ----------------------------------------------------------------
    s = b.section("resilience", "Shock and recovery")
    b.notes(s, "outcomes")
    b.notes(s, "resilience")
    if res is not None and "resilience" in res.columns:
        for region in cfg.regions:
            ids = [region, *peers.loc[peers["region_id"] == region, "peer_id"].tolist()]
            part = res.loc[res["region_id"].astype(str).isin(ids)]
            cols = [
                c
                for c in [
                    "region_id",
                    "outcome",
                    "design",
                    "phase",
                    "start",
                    "end",
                    "growth",
                    "national_growth",
                    "resilience",
                    "sensitivity",
                    "competitive_component",
                ]
                if c in part.columns
            ]
            part = part[cols].copy()
            part.insert(1, "name", part["region_id"].map(names))
            b.table(
                s,
                part.sort_values(["outcome", "design", "phase", "region_id"]),
                f"resilience_{region}",
                f"Resistance and recoverability of {names.get(region, region)} and its peers vs the nation",
                "run_resilience (clusteratlas.resilience)",
                "index = (dE - g_N E)/|g_N E|; > 0 better than the nation",
            )
        cres = b.read("run_cluster_resilience")
        if cres is not None:
            part = cres.loc[cres["region_id"].astype(str).isin(cfg.regions)]
            cols = [
                c
                for c in [
                    "region_id",
                    "shock",
                    "cluster_code",
                    "phase",
                    "start",
                    "end",
                    "growth",
                    "national_growth",
                    "resilience",
                    "panel",
                ]
                if c in part.columns
            ]
            b.table(
                s,
                part[cols].sort_values(
                    [c for c in ("region_id", "shock", "phase", "resilience") if c in cols]
                ),
                "cluster_resilience",
                "Resilience of the region's traded clusters vs the same cluster nationally (employment)",
                "cluster_panel",
                "CBP window of each shock",
            )
    else:
        s.text("Resilience indices are not available (see the notes above).", "missing")

    # -- evidence --------------------------------------------------------------------------
    s = b.section("evidence", "Evidence: do cluster regions weather shocks better?")
    b.notes(s, "causal")
    did = b.read("run_did")
    if did is not None and not did.empty and "design" in did.columns:
        main = did.loc[
            (did.get("level", "region") == "region") & (did.get("shock", "COVID-19") == "COVID-19")
        ]
        rest = did.drop(index=main.index)
        seed = main.loc[main["design"].str.startswith("seed")]
        corr = main.loc[main["design"] == "corrected"]
        b.table(
            s,
            seed,
            "did_seed",
            "DID as in the seed study (Cho et al. 2024): windows as printed",
            "run_outcome_growth, run_treatment",
            f"windows shock {cfg.windows['shock']} recovery {cfg.windows['recovery']}; y ~ D + Post + D x Post; HC1",
        )
        boot = b.read("run_did_wild_bootstrap")
        boot_params = ""
        if boot is not None and not boot.empty:
            keys = [
                k
                for k in ("level", "shock", "outcome", "phase", "start", "end")
                if k in boot.columns
            ]
            corr = corr.merge(
                boot[[*keys, "boot_p_value", "boot_ci_low", "boot_ci_high"]], on=keys, how="left"
            )
            first = boot.iloc[0]
            boot_params = (
                f"; wild cluster bootstrap (WCR11 restricted, {first['weights']} weights, "
                f"{int(first['reps'])} draws, seed {int(first['seed'])}, {int(first['n_clusters'])} "
                "region clusters): p-value of H0 delta = 0 and 95% CI by test inversion"
            )
        b.table(
            s,
            corr,
            "did_corrected",
            "DID, corrected design: corrected windows, log outcomes; se/p_value/ci are CRV1 "
            "clustered by region (fixest small-sample factor, t(G-1))"
            + ("; boot_* columns: wild cluster bootstrap (few clusters)" if boot_params else ""),
            "run_did, run_did_wild_bootstrap (clusteratlas.causal.did.did_2x2, "
            "wild_cluster_bootstrap)",
            f"shock {cfg.windows['corrected_shock']}, CBP employment {cfg.windows['employment_shock']}, recovery {cfg.windows['corrected_recovery']}"
            + boot_params,
        )
        b.table(
            s,
            rest,
            "did_other",
            "DID for the other shocks and at region x cluster level (units = traded region x "
            "cluster pairs, outcome = log share of the cluster's national employment, treatment "
            "= strong in the year before the shock; SE clustered by region)",
            "run_did (clusteratlas.causal.did.did_2x2)",
            "shock windows of [shocks] and the corrected windows; CBP March windows at region x cluster level",
        )
    ev = b.read("run_event_study")
    b.figure(
        s,
        "figures/event_study.png",
        "Event study (corrected design)",
        "run_event_study",
        "gap in log change from the pre-shock base year, 95% CI",
    )
    if ev is not None and "pretrend_p" in ev.columns:
        keys = [k for k in ("level", "shock", "outcome") if k in ev.columns]
        pt = ev.groupby(keys, as_index=False)["pretrend_p"].first()
        b.table(
            s,
            pt,
            "pretrend",
            "Pre-trend test: joint chi-square of pre-shock event-study gaps = 0 (p-value)",
            "run_event_study",
        )
    rd = b.read("run_rd")
    if rd is not None:
        b.table(
            s,
            rd,
            "rd",
            "RD at the strong-cluster cut-off (LQ percentile 75 within cluster): rdrobust conventional / bias-corrected / robust",
            "cluster_panel, run_outcome_growth",
            "local linear, triangular kernel, MSE-optimal h, SE clustered by region",
        )
        b.figure(s, "figures/rd_plot.png", "RD plot", "cluster_panel, run_outcome_growth")
        b.table(
            s,
            b.read("run_rd_sensitivity"),
            "rd_bandwidth",
            "RD bandwidth sensitivity",
            "cluster_panel",
            "h x 0.5 .. 2",
        )
        b.figure(s, "figures/rd_bandwidth.png", "RD bandwidth sensitivity", "run_rd_sensitivity")
    density = b.read("run_rd_density")
    if density is not None:
        b.table(
            s,
            density,
            "rd_density",
            "RD manipulation test: density of the running variable (LQ percentile - 75) left and "
            "right of the cut-off, Cattaneo-Jansson-Ma (H0: no jump). A within-cluster percentile "
            "is near-uniform by construction, so this checks the sample, not sorting by regions",
            "cluster_panel, run_outcome_growth (clusteratlas.causal.rd.rddensity)",
            f"local polynomial density p={int(density['p'].iloc[0])}, q={int(density['q'].iloc[0])}, "
            f"{density['kernel'].iloc[0]} kernel, {density['vce'].iloc[0]} variance, "
            f"bandwidths '{density['bwselect'].iloc[0]}'",
        )
    placebo = b.read("run_rd_placebo")
    if placebo is not None:
        b.table(
            s,
            placebo,
            "rd_placebo",
            "RD at placebo cut-offs (true cut-off 0 flagged): each placebo uses only its own "
            "side of the true cut-off",
            "cluster_panel, run_outcome_growth (clusteratlas.causal.rd.rd_placebo)",
            "placebos at the 20/40/60/80th percentiles of x each side; local linear, MSE-optimal "
            "h, HC1 SE (not clustered: rd_placebo cannot subset a cluster vector), robust 95% CI",
        )
        b.figure(
            s,
            "figures/rd_placebo.png",
            "RD estimates at placebo cut-offs (red: the true cut-off), robust 95% CI",
            "run_rd_placebo",
        )
    cho = b.read("run_cho2024")
    if cho is not None:
        b.table(
            s,
            cho,
            "cho2024_tables",
            "Cho et al. (2024) Tables 3-6 at the paper's years, on this run's region x cluster rows",
            "cluster_panel, run_outcomes (clusteratlas.studies.cho2024.paper)",
            "as the paper specifies: OLS on region x cluster rows, classical SEs, region-clustered beside them",
        )
    srdd = b.read("run_seed_rdd")
    if srdd is not None:
        b.table(
            s,
            srdd,
            "seed_rdd",
            "The seed's 'RDD' (an OLS of outcome growth on cluster quality factors), replicated",
            "cluster_panel, run_outcome_growth",
            "QP is CBP first-quarter payroll, not a concentration measure",
        )

    # -- theory ----------------------------------------------------------------------------
    s = b.section("theory", "Theory: general-equilibrium regimes")
    b.notes(s, "theory")
    th = b.read("run_theory")
    if th is not None and list(th.columns) != ["note"]:
        t = cfg.theory
        params = f"calibration {t['params'] or 'model defaults'}; {t['x']} in {t['x_range']}, {t['y']} in {t['y_range']}, {t['resolution']}x{t['resolution']} grid"
        b.figure(
            s,
            "figures/regime_map.png",
            "Regime map: the general-equilibrium structure (highest per-capita real income)",
            "clusteratlas.theory.regime_map",
            params,
        )
        b.table(
            s,
            th,
            "theory_regimes",
            "Share of the map where each structure is the equilibrium",
            "clusteratlas.theory.regime_map",
            params,
        )
        audit = b.read("run_theory_audit")
        if audit is not None:
            b.table(
                s,
                audit,
                "theory_audit",
                "Audit of the paper's claims (Li Ke): derived model, random admissible parameters",
                "clusteratlas.theory.audit_claims",
                f"{t['audit_samples']} samples",
            )
    else:
        s.text(th["note"].iloc[0] if th is not None else "theory not run", "missing")

    # -- policy ----------------------------------------------------------------------------
    s = b.section("policy", "Policy diagnostics (APEC guideline areas)")
    b.notes(s, "policy")
    pol = b.read("run_policy")
    if pol is not None:
        for region in cfg.regions:
            part = pol.loc[pol["region_id"] == region].drop(columns=["region_id"])
            b.table(
                s,
                part,
                f"policy_{region}",
                f"Policy diagnostics for {names.get(region, region)}: measurable proxies per APEC area",
                "cluster_panel, outcomes, related clusters",
                "percentile = 100 (rank - 0.5)/n among all regions and among peers",
            )

    template = jinja2.Template(TEMPLATE.read_text(encoding="utf-8"), autoescape=True)
    page = template.render(
        title="clusteratlas report" + (" - SYNTHETIC DEMO" if p.demo else ""),
        subtitle=f"Regions of interest: {', '.join(f'{names.get(r, r)} ({r})' for r in cfg.regions)}; {cfg.region_type} level.",
        sections=b.sections,
        synthetic=p.demo,
        version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M:%S"),
        config_json=json.dumps(cfg.as_dict(), default=str),
    )
    report = atomic.write_text(p.out_dir / "report.html", page)
    return [report, *b.files]


def key_numbers(out_dir: Path) -> dict[str, float]:
    """A few headline numbers read back from the exported CSVs (used by tests and the CLI)."""
    out = {}
    did = Path(out_dir) / "tables" / "did_corrected.csv"
    if did.is_file():
        frame = pd.read_csv(did)
        for row in frame.itertuples(index=False):
            out[f"did_{row.outcome}_{row.phase}"] = float(row.estimate)
    return {k: v for k, v in out.items() if np.isfinite(v)}


def report_stage(p: ClusterResilience, store: Store) -> dict:
    """The report as the study's last stage: render, and list the files for the stage cache."""
    files = render_report(p, store)
    return {"files": [str(Path(f).relative_to(p.out_dir)) for f in files]}
