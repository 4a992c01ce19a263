"""The report's "Shock and recovery" section: how each region of interest came through.

Owns indexed outcome paths (region, peers, nation; 100 in the year before the shock, windows
shaded), the resistance and recoverability indices of the region and its peers
(``run_resilience``), the resistance of the region's clusters where the panel has the window
years (``run_cluster_resilience``, by shock when the table names them) and the context maps of
other region types (``run_context_maps``). The indices are the study's; the index paths are
presentation (each series divided by its own value in the base year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusteratlas.report import charts, labels
from clusteratlas.report.blocks import Section
from clusteratlas.report.context import Context, shock_name, split_shocks
from clusteratlas.resilience.indices import MIN_REFERENCE_GROWTH

RESILIENCE_COLUMNS = [
    "outcome_name",
    "phase",
    "window",
    "growth",
    "national_growth",
    "resilience",
    "difference_pp",
]


def shown_index(frame: pd.DataFrame, column: str = "resilience") -> pd.DataFrame:
    """``frame`` for display: the index of rows whose reference change is too small for a ratio
    (``index_reliable`` False, see clusteratlas.resilience.indices) reads
    :data:`charts.NA_TOO_SMALL`; the exported CSV keeps the number."""
    if "index_reliable" not in frame.columns or column not in frame.columns:
        return frame
    out = frame.copy()
    bad = ~out["index_reliable"].fillna(True).astype(bool)
    out[column] = out[column].astype(object).where(~bad, charts.NA_TOO_SMALL)
    return out


def index_paths(ctx: Context, region: str, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Each outcome of the region, its peers and the nation as an index (base year = 100).

    The base year is the shock window's first year; the path runs from four years before it
    to the end of the recovery window (as far as the data go).
    """
    rt = ctx.cfg.region_type
    rows = []
    who = {region: "region", **{p: "peer" for p in ctx.peers_of(region)}}
    for outcome in ctx.cfg.outcomes["names"]:
        windows = ctx.windows(outcome)
        if "shock" not in windows:
            continue
        base = windows["shock"][0]
        end = max(w[1] for w in windows.values())
        part = outcomes.loc[
            (outcomes["outcome"] == outcome) & outcomes["year"].between(base - 4, end)
        ]
        regional = part.loc[(part["region_type"] == rt) & part["region_id"].astype(str).isin(who)]
        nation = part.loc[part["region_type"] == "nation"]
        if nation.empty:  # the sum of all regions stands in for the nation
            nation = (
                part.loc[part["region_type"] == rt]
                .groupby("year", as_index=False)["value"]
                .sum()
                .assign(region_id="nation")
            )
        for region_id, series in [
            *regional.groupby(regional["region_id"].astype(str)),
            ("nation", nation),
        ]:
            values = series.groupby("year")["value"].sum()
            if base not in values.index or not values[base] > 0:
                continue
            rows.append(
                pd.DataFrame(
                    {
                        "outcome": outcome,
                        "who": who.get(region_id, "nation"),
                        "name": ctx.name(region_id) if region_id != "nation" else "nation",
                        "year": values.index.astype(int),
                        "index": 100.0 * values.to_numpy() / values[base],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def shock_and_recovery(ctx: Context, s: Section) -> None:
    b = ctx.b
    for sentence in ctx.not_possible("outcomes", "resilience"):
        s.text(sentence, "missing")
    outcomes = b.read("run_outcomes")
    res = b.read("run_resilience")
    first = ctx.cfg.outcomes["names"][0]
    w = ctx.windows(first)
    if "shock" in w:
        s.text(
            f"Windows of the corrected design: shock {w['shock'][0]}–{w['shock'][1]}"
            + (f", recovery {w['recovery'][0]}–{w['recovery'][1]}" if "recovery" in w else "")
            + " (CBP employment is counted in March, so its shock window is "
            + "–".join(map(str, ctx.windows("employment").get("shock", ("?", "?"))))
            + "). The resistance index is (regional change − expected change) / |expected "
            "change|, expected = the national growth rate applied to the region: above 0 the "
            "region did better than the nation."
        )
    for region in ctx.regions:
        name = ctx.name(region)
        s.heading(f"{name}", anchor=f"shock-{region}")
        if outcomes is not None:
            paths = index_paths(ctx, region, outcomes)
            b.chart(
                s,
                charts.index_paths(
                    paths,
                    {o: ctx.windows(o) for o in ctx.cfg.outcomes["names"]},
                    f"{name}, its peers and the nation",
                    "index, year before the shock = 100",
                ),
                "Outcomes indexed to 100 in the shock window's first year: the region (bold), "
                "each peer (grey), the peers' median and the nation (dashed); shaded: the shock "
                "(red) and recovery (green) windows",
                "run_outcomes, run_peers",
                "index = value / value in the base year x 100",
            )
        if res is not None and "resilience" in res.columns:
            _region_indices(ctx, s, region, res)
        _cluster_resilience(ctx, s, region)
    _context_maps(ctx, s)
    b.notes(s, "outcomes", "resilience")


def _region_indices(ctx: Context, s: Section, region: str, res: pd.DataFrame) -> None:
    name = ctx.name(region)
    res, others = split_shocks(res)
    if others is not None:
        other = others.loc[
            (others["design"] == "corrected") & (others["region_id"].astype(str) == region)
        ].assign(
            outcome_name=lambda f: f["outcome"].map(charts.outcome_name),
            window=lambda f: f["start"].astype(str) + "–" + f["end"].astype(str),
        )
        ctx.b.table(
            s,
            shown_index(other),
            f"resilience_other_shocks_{region}",
            f"Resistance and recoverability of {name} in the other shocks",
            "run_resilience (clusteratlas.resilience)",
            "index = (dE − g_N E)/|g_N E|; > 0 better than the nation",
            show=["shock", *RESILIENCE_COLUMNS],
            key=["shock", "outcome", "phase"],
            names={"outcome_name": "Outcome"},
            export=other,
        )
    corrected = res.loc[res["design"] == "corrected"].copy()
    corrected["region_id"] = corrected["region_id"].astype(str)
    corrected["outcome_name"] = corrected["outcome"].map(charts.outcome_name)
    corrected["window"] = corrected["start"].astype(str) + "–" + corrected["end"].astype(str)
    mine = corrected.loc[corrected["region_id"] == region].copy()
    mine["_rank"] = mine["phase"].map({"resistance": 0, "recovery": 1}) * 100 + mine["outcome"].map(
        _order(ctx)
    ).fillna(99)
    mine = mine.sort_values("_rank")
    ids = [region, *ctx.peers_of(region)]
    export = res.loc[res["region_id"].astype(str).isin(ids)]
    ctx.refs[("resilience", region)] = ctx.b.table(
        s,
        shown_index(mine),
        f"resilience_{region}",
        f"Resistance and recoverability of {name} against the nation (corrected windows)",
        "run_resilience (clusteratlas.resilience)",
        "index = (dE − g_N E)/|g_N E|, difference = 100 (g_r − g_N) points, both signed so "
        "that > 0 is better than the nation (lower unemployment is better); n/a where "
        f"|g_N| < {MIN_REFERENCE_GROWTH:.0%}",
        show=RESILIENCE_COLUMNS,
        key=["outcome", "phase"],
        names={"outcome_name": "Outcome", "growth": f"Growth, {name}"},
        export=export,
    )
    ctx.facts[("resilience", region)] = mine
    peers = corrected.loc[corrected["region_id"].isin(ids)].copy()
    if peers["region_id"].nunique() > 1:
        peers["column"] = peers["outcome_name"] + ", " + peers["phase"]
        order = (
            peers.assign(rank=peers["phase"].map({"resistance": 0, "recovery": 1}))
            .sort_values(
                ["outcome", "rank"], key=lambda c: c.map(_order(ctx)) if c.name == "outcome" else c
            )["column"]
            .unique()
        )
        peers = shown_index(peers)
        wide = peers.pivot_table(
            index="region_id", columns="column", values="resilience", aggfunc="first"
        ).reindex(ids)[list(order)]
        wide.columns.name = None
        wide = wide.reset_index()
        wide.insert(1, "name", wide["region_id"].map(ctx.name))
        ctx.b.table(
            s,
            wide,
            f"resilience_peers_{region}",
            f"Resilience index of {name} and its peers (corrected windows; > 0: better than "
            "the nation)",
            "run_resilience",
            show=[c for c in wide.columns if c != "region_id"],
            key=["region_id"],
            kinds={c: "index" for c in wide.columns if c not in ("region_id", "name")},
        )


def _order(ctx: Context) -> dict[str, int]:
    return {o: i for i, o in enumerate(ctx.cfg.outcomes["names"])}


def _cluster_resilience(ctx: Context, s: Section, region: str) -> None:
    cres = ctx.b.read("run_cluster_resilience")
    name = ctx.name(region)
    if cres is None or cres.empty:
        reason = next(
            (n for n in ctx.p.notes.get("resilience", []) if n.startswith("cluster")), None
        )
        s.text(
            "Resistance and recovery per cluster: not measured: needs the cluster panel in the "
            "window years" + (f" ({reason})" if reason else "") + ".",
            "missing",
        )
        return
    part = cres.loc[cres["region_id"].astype(str) == region].copy()
    if part.empty:
        return
    names = ctx.panel.drop_duplicates("cluster_code").set_index("cluster_code")["cluster_name"]
    part["cluster_name"] = part["cluster_code"].map(names).fillna(part["cluster_code"].astype(str))
    part["window"] = part["start"].astype(str) + "–" + part["end"].astype(str)
    groups = part.groupby("shock", sort=False) if "shock" in part.columns else [(None, part)]
    for shock, rows in groups:
        resist = rows.loc[rows["phase"] == "resistance"]
        if resist.empty:
            continue
        start, end = int(resist["start"].iloc[0]), int(resist["end"].iloc[0])
        words = shock_name(start, end, shock)
        ctx.b.chart(
            s,
            charts.cluster_resilience(
                resist, f"{name}: clusters that resisted {words} best and worst"
            ),
            f"Resistance of {name}'s traded clusters in {words}, against the same cluster "
            "nationally (employment)",
            "run_cluster_resilience",
            "index = (dE − g_N E)/|g_N E| per cluster, g_N = the cluster's national growth",
        )
        suffix = f"_{_slug(shock)}" if shock else ""
        ctx.b.table(
            s,
            rows.sort_values(["phase", "resilience"]),
            f"cluster_resilience_{region}{suffix}",
            f"Resistance and recovery of {name}'s traded clusters, {words}",
            "run_cluster_resilience",
            show=["cluster_name", "phase", "window", "growth", "national_growth", "resilience"],
            key=["cluster_code", "phase"],
            names={"national_growth": "National growth of the cluster"},
            folded=True,
        )


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(text).lower()).strip("_")


def _context_maps(ctx: Context, s: Section) -> None:
    context = ctx.b.read("run_context_maps")
    if context is None:
        return
    s.heading("Other region levels", anchor="context-maps")
    s.add("grid_start")
    groups = context.groupby(["region_type", "outcome", "start", "end"], sort=False)
    for (region_type, outcome, start, end), part in groups:
        level = {"msa": "metro area", "economic_area": "BEA economic area"}.get(
            region_type, region_type
        )
        dissolved = region_type in ("msa", "economic_area")
        national = part["national_growth"].iloc[0]
        ctx.b.map(
            s,
            part.assign(region_id=part["region_id"].astype(str)).set_index("region_id")["value"],
            f"{charts.outcome_name(outcome)} growth {start}–{end} against the nation "
            f"({labels.signed_pct(national)}), by {level}",
            "run_context_maps (outcomes" + (" + county crosswalk)" if dissolved else ")"),
            "g_r − g_N" + ("; counties coloured by their region's value" if dissolved else ""),
            region_type=region_type,
            scale="diverging",
            percent=True,
            legend_label="growth minus national growth (> 0: did better)",
        )
    s.add("grid_end")


def resilience_numbers(frame: pd.DataFrame) -> dict[str, float]:
    """Growth, national growth and index by phase (for the findings)."""
    out = {}
    for row in frame.to_dict("records"):
        out[row["phase"]] = {
            k: row.get(k, np.nan) for k in ("growth", "national_growth", "resilience")
        }
    return out
