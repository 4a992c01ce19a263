"""The region brief: one region of interest on a few pages (and on one page as its own PDF).

Owns the brief's content: headline figures, the cluster portfolio bubble chart, the top
strong clusters, related clusters present and missing (a small network and the table), the
region on the maps, and its peers beside the median region. Every number comes from the
store's panel, region summary, peers and related-cluster tables.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from clusteratlas.panel.comparison import benchmark
from clusteratlas.report import charts, labels
from clusteratlas.report.blocks import Section
from clusteratlas.report.context import Context

STRONG_COLUMNS = ["cluster_code", "cluster_name", "emp", "lq", "wage", "national_share", "est"]
PEER_COLUMNS = ["name", "emp", "emp_traded", "wage", "n_strong", "cluster_strength", "distance"]


def portfolio_axis(ctx: Context, mine: pd.DataFrame, region: str) -> tuple[pd.DataFrame, str, str]:
    """The bubble chart's vertical axis: annual employment growth from the base to the last
    panel year where the panel has both, else the average wage (one panel year)."""
    traded = mine.loc[mine["traded"].astype(bool) & (mine["year"] == ctx.base)].copy()
    if ctx.last > ctx.base:
        later = ctx.panel.loc[
            (ctx.panel["region_id"].astype(str) == region) & (ctx.panel["year"] == ctx.last)
        ].set_index("cluster_code")["emp"]
        span = ctx.last - ctx.base
        ratio = traded["cluster_code"].map(later) / traded["emp"].where(traded["emp"] > 0)
        traded["growth"] = np.power(ratio.where(ratio > 0), 1.0 / span) - 1.0
        return traded, "growth", f"employment growth {ctx.base}–{ctx.last}, per year"
    return traded, "wage", f"average wage {ctx.base} ($)"


def region_brief(ctx: Context, s: Section, region: str) -> None:
    """Write the brief of ``region`` into section ``s``."""
    b, name = ctx.b, ctx.name(region)
    label = f"{name} ({ctx.level()} {region})"
    s.heading(label)
    mine = ctx.panel.loc[ctx.panel["region_id"].astype(str) == region]
    now = mine.loc[mine["year"] == ctx.base]
    row = ctx.summary.loc[ctx.summary["region_id"] == region]
    treated = ctx.treatment.assign(region_id=ctx.treatment["region_id"].astype(str)).set_index(
        "region_id"
    )["treated"]
    if not row.empty:
        r = row.iloc[0]
        median = benchmark(ctx.summary)["cluster_strength"]
        b.tiles(
            s,
            [
                ("Employment", labels.count(r["emp"]), f"{ctx.base}"),
                (
                    "Traded share",
                    labels.share(r["emp_traded"] / r["emp"]) if r["emp"] else labels.MISSING,
                    "of all jobs",
                ),
                ("Strong clusters", labels.count(r["n_strong"]), "USCM top-25% rule"),
                (
                    "Cluster strength",
                    labels.share(r["cluster_strength"]),
                    f"median {ctx.level()}: {labels.share(median)}",
                ),
                ("Average wage", labels.money(r["wage"]), "all clusters"),
                (
                    "Cluster region",
                    labels.yes_no(bool(treated.get(region, False))),
                    f"rule {ctx.cfg.treatment['rule'].replace('_', ' ')}",
                ),
            ],
        )
    # -- portfolio bubble chart ---------------------------------------------------------------
    traded, y, ylabel = portfolio_axis(ctx, mine, region)
    drawn = b.chart(
        s,
        charts.portfolio(traded, y, ylabel, f"Cluster portfolio of {name}, {ctx.base}"),
        "Cluster portfolio: specialization (LQ) against "
        + ("employment growth" if y == "growth" else "average wage")
        + "; bubble area = employment; red = strong cluster",
        "cluster_panel",
        "strong: USCM rule (LQ in the top 25% of regions, LQ >= 1, employment and "
        "establishments above the 25th percentile)",
    )
    if drawn and y == "wage":
        s.text(
            f"Employment growth needs two panel years; the cluster panel has {ctx.base} only, "
            "so the vertical axis shows the average wage.",
            "note",
        )
    # -- top strong clusters ------------------------------------------------------------------
    strong = now.loc[now["strong"].fillna(False).astype(bool) & now["traded"].astype(bool)]
    strong = strong.sort_values("emp", ascending=False)
    ctx.refs[("strong", region)] = b.table(
        s,
        strong[STRONG_COLUMNS],
        f"strong_clusters_{region}",
        f"Strong traded clusters of {name}, {ctx.base}, by employment",
        "cluster_panel",
        "USCM strong rule: LQ >= Q75, LQ >= 1, E and Est > Q25",
        key=["cluster_code"],
        names={"cluster_code": "Code"},
    )
    ctx.facts[("strong", region)] = strong
    _job_creation(ctx, s, region, label)
    _related(ctx, s, region, name)
    _maps(ctx, s, region, name, now)
    _peers(ctx, s, region, name)


def _job_creation(ctx: Context, s: Section, region: str, label: str) -> None:
    later = ctx.panel.loc[
        (ctx.panel["region_id"].astype(str) == region)
        & ctx.panel["traded"].astype(bool)
        & (ctx.panel["year"] == ctx.last)
    ]
    if ctx.last == ctx.base or later["expected_emp_change"].isna().all():
        return
    jc = later[
        [
            "cluster_code",
            "cluster_name",
            "prev_year",
            "emp_change",
            "expected_emp_change",
            "competitive_effect",
        ]
    ].sort_values("competitive_effect")
    ctx.b.table(
        s,
        pd.concat([jc.head(5), jc.tail(5)]).drop_duplicates("cluster_code"),
        f"job_creation_{region}",
        f"Job creation against the national trend of each cluster, {label}, to {ctx.last}: "
        "the five weakest and five strongest",
        "cluster_panel",
        "expected = jobs in the previous year x national cluster growth (USCM job creation)",
        show=[
            "cluster_name",
            "prev_year",
            "emp_change",
            "expected_emp_change",
            "competitive_effect",
        ],
        key=["cluster_code"],
        names={"prev_year": "Since"},
    )


def _related(ctx: Context, s: Section, region: str, name: str) -> None:
    related = ctx.b.read("run_related_clusters")
    if related is None:
        s.text(
            "Related clusters: not measured: needs the USCM related-cluster pairs file "
            "(see the appendix).",
            "missing",
        )
        return
    mine = related.loc[related["region_id"].astype(str) == region]
    if mine.empty:
        s.text(f"{name} has no strong cluster with related clusters in the pairs file.", "text")
        return
    ctx.b.chart(
        s,
        charts.related_network(mine, f"Related clusters of {name}'s strong clusters, {ctx.base}"),
        "Related clusters: each strong cluster (left) and the clusters most related to it "
        "(right), marked strong, present or missing in the region",
        "run_related_clusters",
        "USCM related clusters: pairs in the top 10% of relatedness (rel_all_90_v3 = 1)",
    )
    status = mine.drop_duplicates("related_cluster_code")["status"].value_counts()
    missing = mine.loc[mine["status"] == "missing", "related_cluster_name"].unique().tolist()
    weak = (
        mine.loc[mine["status"] == "present"]
        .drop_duplicates("related_cluster_code")
        .nlargest(3, "relatedness_pct")["related_cluster_name"]
        .tolist()
    )
    parts = [
        f"Of the {int(status.sum())} clusters related to {name}'s strong clusters, "
        f"{int(status.get('strong', 0))} are strong in the region too, "
        f"{int(status.get('present', 0))} are present but not strong"
        + (f" (closest: {', '.join(weak)})" if weak else "")
        + f" and {int(status.get('missing', 0))} are missing"
        + (f" ({', '.join(missing[:5])})" if missing else "")
        + "."
    ]
    s.text(" ".join(parts))
    ctx.b.table(
        s,
        mine,
        f"related_{region}",
        f"Related clusters of {name}'s strong clusters (present / missing)",
        "run_related_clusters",
        "rel_all_90_v3 = 1",
        show=["cluster_name", "related_cluster_name", "relatedness_pct", "lq", "emp", "status"],
        key=["cluster_code", "related_cluster_code"],
        names={"cluster_name": "Strong cluster", "lq": "Related LQ", "emp": "Related employment"},
        folded=True,
    )


def _maps(ctx: Context, s: Section, region: str, name: str, now: pd.DataFrame) -> None:
    b = ctx.b
    s.add("grid_start")
    strength = ctx.summary.set_index("region_id")["cluster_strength"]
    b.map(
        s,
        strength,
        f"Cluster strength {ctx.base} (share of traded jobs in strong clusters)",
        "run_region_summary",
        "USCM str_emp_per",
        cmap="viridis",
        percent=True,
        highlight=[region],
        legend_label="share",
    )
    focus = now.loc[now["traded"].astype(bool)]
    code = str(
        ctx.cfg.study.get("map_cluster")
        or (
            focus.sort_values("lq", ascending=False)["cluster_code"].iloc[0]
            if not focus.empty
            else ctx.panel["cluster_code"].iloc[0]
        )
    )
    chosen = ctx.panel.loc[
        (ctx.panel["year"] == ctx.base) & (ctx.panel["cluster_code"].astype(str) == code)
    ]
    cname = chosen["cluster_name"].iloc[0] if not chosen.empty else code
    b.map(
        s,
        chosen.assign(region_id=chosen["region_id"].astype(str)).set_index("region_id")["lq"],
        f"Location quotient of {cname} ({ctx.base}), {name}'s most specialised cluster",
        "cluster_panel",
        f"cluster {code}",
        scale="ratio",
        highlight=[region],
        legend_label="LQ",
    )
    s.add("grid_end")


def _peers(ctx: Context, s: Section, region: str, name: str) -> None:
    ids = [region, *ctx.peers_of(region)]
    summary = ctx.summary.set_index("region_id")
    comp = summary.reindex(ids)[["emp", "emp_traded", "wage", "n_strong", "cluster_strength"]]
    comp = comp.reset_index()
    comp.insert(1, "name", comp["region_id"].map(ctx.name))
    mine = ctx.peers.loc[ctx.peers["region_id"] == region].set_index("peer_id")
    comp["distance"] = comp["region_id"].map(mine["distance"]) if len(mine) else np.nan
    median = benchmark(summary, ["emp", "emp_traded", "wage", "n_strong", "cluster_strength"])
    comp.loc[len(comp)] = {
        "region_id": "median",
        "name": f"Median of all {len(summary)} {ctx.level(True)}",
        **median.to_dict(),
        "distance": np.nan,
    }
    chosen_by = mine["chosen_by"].iloc[0] if len(mine) else "none"
    ctx.refs[("peers", region)] = ctx.b.table(
        s,
        comp,
        f"peers_{region}",
        f"{name}, its peers and the median {ctx.level()}, {ctx.base}",
        "run_region_summary, run_peers",
        f"peers chosen by: {chosen_by}; distance = |z log employment| + (1 - cosine of the "
        "traded mix); median = median of each column over all regions "
        "(clusteratlas.panel.comparison, as in the dashboard)",
        show=PEER_COLUMNS,
        key=["region_id"],
        names={"distance": "Distance to region"},
    )
    ctx.facts[("peers", region)] = comp


def brief_html_title(ctx: Context, region: str) -> str:
    return html.escape(f"Region brief: {ctx.name(region)} ({ctx.level()} {region})")
