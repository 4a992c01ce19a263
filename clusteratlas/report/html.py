"""The main job's one-file HTML report, findings first, and a one-page brief per region.

Owns the report's order and its files: :func:`render_report` reads the study's ``run_*``
tables from the store (and the figures the stages drew) and writes ``report.html`` in the
order a reader wants it - key findings, a brief per region of interest, shock and recovery,
the evidence, theory, policy, and the data-and-methods appendix (where the processing
warnings now live) - plus ``brief-<region>.html`` (one printed page each) and every table as
CSV and LaTeX. :func:`report_stage` is the same as the study's last stage. It loads no
input file. Everything is inlined (CSS, SVG, base64 PNG; no script, no CDN), so the files
work offline and print on A4 or Letter.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import numpy as np
import pandas as pd

from clusteratlas import __version__, atomic
from clusteratlas.report import appendix, brief, evidence, findings, shocks, theory_policy
from clusteratlas.report.blocks import Builder
from clusteratlas.report.context import context

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = TEMPLATES / "report.html.j2"


#: rows of a folded (long) table that the printed report shows; the rest stay in the HTML
#: report and the table's CSV, so the PDF reads as a report rather than a data dump
PRINT_ROWS = 25


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.globals["print_rows"] = PRINT_ROWS
    return env


def render_report(p: ClusterResilience, store: Store) -> list[Path]:
    """Build the report from the run tables; write ``report.html`` and the region briefs."""
    b = Builder(p, store)
    ctx = context(p, store, b)
    key = b.section("findings", "Key findings")
    briefs = {}
    for region in ctx.regions:
        s = b.section(f"brief-{region}", f"Region brief: {ctx.name(region)}")
        start = len(s.blocks)
        brief.region_brief(ctx, s, region)
        briefs[region] = s.blocks[start:]
        b.notes(s, "load", "panel")
    shocks.shock_and_recovery(ctx, b.section("resilience", "Shock and recovery"))
    evidence.evidence(
        ctx, b.section("evidence", "Evidence: do cluster regions weather shocks better?")
    )
    theory_policy.theory(ctx, b.section("theory", "Theory: general-equilibrium regimes"))
    theory_policy.policy(ctx, b.section("policy", "Policy diagnostics (APEC guideline areas)"))
    config = p.config.as_dict()
    appendix.appendix(ctx, b.section("appendix", "Data and methods"), config)
    items = findings.findings(ctx)
    key.add("findings", items=items)
    if not items:
        key.text("No finding could be written: the study's tables are missing.", "missing")
    key.text(
        "Each number links to the table it comes from; the sections below hold the charts, the "
        "full tables and, in the appendix, the data used and every processing note.",
        "small",
    )

    env = _environment()
    common = {
        "synthetic": p.demo,
        "version": __version__,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "source": b.source,
    }
    regions = ", ".join(f"{ctx.name(r)} ({ctx.level()} {r})" for r in ctx.regions)
    page = env.get_template("report.html.j2").render(
        title="Clusters and resilience: "
        + ", ".join(ctx.name(r) for r in ctx.regions)
        + (" - SYNTHETIC DEMO" if p.demo else ""),
        subtitle=f"Regions of interest: {regions}. {ctx.level().capitalize()} level, cluster "
        f"portfolio of {ctx.base}; {'SYNTHETIC demo data' if p.demo else b.source}.",
        sections=b.sections,
        **common,
    )
    written = [atomic.write_text(p.out_dir / "report.html", page)]
    key_items = {r: [f for f in items if f["href"].endswith(f"-{r}")] for r in ctx.regions}
    for region, blocks in briefs.items():
        one = env.get_template("brief.html.j2").render(
            title=f"Region brief: {ctx.name(region)}" + (" - SYNTHETIC DEMO" if p.demo else ""),
            subtitle=f"{ctx.level().capitalize()} {region}; cluster portfolio of {ctx.base}. "
            f"From the clusteratlas report (report.html).",
            parts=_brief_parts(blocks, region),
            findings=key_items[region] or items[:2],
            **common,
        )
        written.append(atomic.write_text(p.out_dir / f"brief-{region}.html", one))
    return [*written, *b.files]


def _brief_parts(blocks: list[dict], region: str) -> dict[str, dict | None]:
    """The blocks of the one-page brief: headline figures, the portfolio chart, the strong
    clusters and the peers (the related-cluster network and the maps stay in the report)."""

    def first(test) -> dict | None:
        return next((x for x in blocks if test(x)), None)

    return {
        "tiles": first(lambda x: x["kind"] == "tiles"),
        "portfolio": first(lambda x: x["kind"] == "chart"),
        "strong": first(lambda x: x.get("id") == f"tbl-strong-clusters-{region}"),
        "peers": first(lambda x: x.get("id") == f"tbl-peers-{region}"),
    }


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
