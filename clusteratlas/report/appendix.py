"""The report's "Data and methods" appendix: sources, years, coverage, warnings, conventions.

Owns the closing section: the data used (``run_provenance`` when the study writes it, else
what the store's tables say about their sources and years), the national coverage check
(:func:`clusteratlas.panel.national_coverage`), every stage's processing notes, the
conventions a reader needs (definitions, formats, uncertainty) and the run's configuration.
"""

from __future__ import annotations

import json

import pandas as pd

from clusteratlas.panel import national_coverage
from clusteratlas.report import labels
from clusteratlas.report.blocks import Section
from clusteratlas.report.charts import outcome_name
from clusteratlas.report.context import Context

CONVENTIONS = (
    "Location quotient (LQ): the cluster's share of the region's employment divided by its "
    "share of national employment; 1 = the national share.",
    "Strong cluster (US Cluster Mapping): LQ in the top 25% of regions for that cluster, LQ "
    "≥ 1, and employment and establishments above the 25th percentile.",
    "Cluster strength: the share of a region's traded employment in its strong clusters.",
    "Growth rates and DID estimates on log outcomes print in percent: 100 × the log-point "
    "difference, close to the percentage difference for small values (0.8% ≈ 0.008 log "
    "points).",
    "Resistance and recoverability index (Martin et al. 2016): (regional change − expected "
    "change) / |expected change|, expected = national growth applied to the region; above 0 "
    "the region did better than the nation.",
    "Uncertainty: 95% confidence intervals; standard errors clustered by region; with few "
    "regions a wild cluster bootstrap p-value (WCR11, Rademacher weights) is shown beside the "
    "clustered one. A difference is called measurable only when its 95% interval excludes 0.",
    "Numbers: counts with thousands separators, money in current dollars, p-values to two "
    "significant digits ('< 0.001' below that); '–' marks a value that does not exist for "
    "that row.",
)


#: the columns of the national coverage check a reader needs (report and dashboard)
COVERAGE_COLUMNS = [
    "cluster_code",
    "cluster_name",
    "emp_national",
    "regions_emp",
    "gap",
    "imputed_share",
    "reading",
]
#: the store's input tables in words
STORE_TABLES = {
    "industry_counts": "Industry counts (national)",
    "uscm_input": "USCM region x cluster file",
    "outcomes": "Regional outcomes",
}


def appendix(ctx: Context, s: Section, config: dict) -> None:
    _data_used(ctx, s)
    _coverage(ctx, s)
    s.heading("Processing notes", anchor="warnings")
    notes = [(stage, n) for stage, items in ctx.p.notes.items() for n in items]
    if notes:
        s.add("list", items=[f"{stage}: {n}" for stage, n in notes])
    else:
        s.text("No stage left a note.")
    s.heading("Conventions", anchor="conventions")
    s.add("list", items=list(CONVENTIONS))
    s.heading("Configuration", anchor="configuration")
    s.add("code", text=json.dumps(config, default=str, indent=1))


def _data_used(ctx: Context, s: Section) -> None:
    s.heading("Data used", anchor="data-used")
    prov = ctx.b.read("run_provenance")
    if prov is not None and not prov.empty:
        prov = prov.copy()
        prov["key"] = prov["stage"].astype(str) + "|" + prov["input"].astype(str)
        show = [
            c
            for c in ("stage", "input", "source", "years", "region_level", "status", "reason")
            if c in prov.columns
        ]
        ctx.b.table(
            s,
            prov,
            "data_used",
            "Data used by each stage: what was used, partly used, or not possible with these files",
            "run_provenance",
            show=show,
            key=["key"],
        )
        return
    rows = []
    for table in ("industry_counts", "uscm_input", "outcomes"):
        if not ctx.store.has(table):
            continue
        cols = ctx.store.sql(f'select * from "{table}" limit 0').columns
        what = "outcome" if "outcome" in cols else None
        group = ", ".join(c for c in ("source", what, "region_type") if c and c in cols)
        if not group:
            continue
        frame = ctx.store.sql(
            f"select {group}, min(year) as first, max(year) as last, count(*) as n "
            f'from "{table}" group by {group} order by {group}'
        )
        frame["input"] = STORE_TABLES[table]
        rows.append(frame)
    if not rows:
        s.text("The store does not record its sources.", "missing")
        return
    used = pd.concat(rows, ignore_index=True)
    used["years"] = [
        f"{a}" if a == b else f"{a}–{b}" for a, b in zip(used["first"], used["last"], strict=True)
    ]
    used["key"] = used.index.astype(str)
    for c in ("source", "outcome", "region_type"):
        if c not in used.columns:
            used[c] = None
    used["outcome"] = used["outcome"].map(lambda o: outcome_name(o) if isinstance(o, str) else o)
    ctx.b.table(
        s,
        used,
        "data_used",
        "Data in the store: source, outcome, region level and years of each input table",
        "store tables industry_counts, uscm_input, outcomes",
        show=["input", "source", "outcome", "region_type", "years", "n"],
        key=["key"],
        names={"input": "Input", "n": "Rows"},
        kinds={"n": "count"},
    )


def _coverage(ctx: Context, s: Section) -> None:
    """How well the regions add up to the national counts the LQs divide by."""
    s.heading("Coverage checks", anchor="coverage")
    now = ctx.panel.loc[ctx.panel["year"] == ctx.base]
    coverage = national_coverage(now.loc[now["traded"].astype(bool)])
    if coverage.empty:
        s.text("National coverage: no national counts in the panel.", "missing")
        return
    readings = coverage["reading"].value_counts()
    total = coverage["regions_emp"].sum() / coverage["emp_national"].sum()
    s.text(
        f"National coverage, {ctx.base}: summed over the {now['region_id'].nunique()} "
        f"{ctx.level(True)}, traded employment is {labels.share(total, 2)} of the national "
        f"count; {readings.get('agrees', 0)} of {len(coverage)} traded clusters agree within "
        f"1%, {readings.get('imputation', 0)} exceed it by no more than the jobs imputed to "
        f"suppressed cells, {readings.get('regions short', 0)} fall short (regions absent from "
        f"the data, e.g. DC in a 50-state file), {readings.get('inconsistent', 0)} are "
        "inconsistent."
    )
    off = coverage.loc[coverage["reading"] != "agrees"].sort_values("gap")
    if not off.empty:
        ctx.b.table(
            s,
            off[COVERAGE_COLUMNS],
            "national_coverage",
            "Traded clusters whose regions do not add up to the nation within 1%",
            "cluster_panel",
            "gap = sum of regions / national − 1; imputed share = imputed / regional employment",
            key=["cluster_code"],
            folded=True,
        )
