"""Key findings: five to eight sentences generated from the results, each citing its table.

Owns the wording. Every number in a finding is the very string of a table cell (printed by
:mod:`clusteratlas.report.labels` from the same value) and links to that cell
(:meth:`clusteratlas.report.blocks.Builder.ref`: ``data-table``, ``data-key``, ``data-col``),
and every finding links to its section; the browser test checks each number against its cell.
Wording follows the uncertainty: "did not fare measurably differently" when a 95% interval
covers zero, "resisted better" / "fell more" only when it does not.
"""

from __future__ import annotations

import html

import pandas as pd

from clusteratlas.report import charts, labels
from clusteratlas.report.blocks import Builder
from clusteratlas.report.context import Context, shock_name
from clusteratlas.report.evidence import verdict

ref = Builder.ref
esc = html.escape


def findings(ctx: Context) -> list[dict[str, str]]:
    """The key findings as ``{"html": sentence, "href": "#evidence-anchor"}``, in order."""
    out: list[dict[str, str]] = []
    region = ctx.regions[0]
    for add in (
        _portfolio,
        _strength,
        _did_shock,
        _did_recovery,
        _pretrend,
        _rd,
        _resilience,
        _policy,
    ):
        try:
            item = add(ctx, region)
        except (KeyError, IndexError, ValueError, TypeError):
            item = None  # a finding whose table is missing is left out, never half-written
        if item:
            out.append(item)
    return out[:8]


def _portfolio(ctx: Context, region: str) -> dict | None:
    strong, table = ctx.facts.get(("strong", region)), ctx.refs.get(("strong", region))
    peers, ptable = ctx.facts.get(("peers", region)), ctx.refs.get(("peers", region))
    if strong is None or peers is None:
        return None
    n = peers.set_index("region_id").loc[region, "n_strong"]
    lead = strong.head(2)
    parts = [
        f"{ref(labels.cell('lq', r.lq), table, str(r.cluster_code), 'lq')}, "
        f"{ref(labels.cell('emp', r.emp), table, str(r.cluster_code), 'emp')} jobs"
        for r in lead.itertuples(index=False)
    ]
    led = " and ".join(
        f"{esc(r.cluster_name)} (LQ {p})"
        for r, p in zip(lead.itertuples(index=False), parts, strict=True)
    )
    text = (
        f"{esc(ctx.name(region))} has {ref(labels.cell('n_strong', n), ptable, region, 'n_strong')} "
        f"strong traded clusters in {ctx.base}" + (f", led by {led}." if led else ".")
    )
    return {"html": text, "href": f"#brief-{region}"}


def _strength(ctx: Context, region: str) -> dict | None:
    peers, table = ctx.facts.get(("peers", region)), ctx.refs.get(("peers", region))
    if peers is None:
        return None
    rows = peers.set_index("region_id")
    mine, median = rows.loc[region, "cluster_strength"], rows.loc["median", "cluster_strength"]
    wage, median_wage = rows.loc[region, "wage"], rows.loc["median", "wage"]
    text = (
        f"{ref(labels.share(mine), table, region, 'cluster_strength')} of its traded jobs are in "
        f"strong clusters (median {esc(ctx.level())}: "
        f"{ref(labels.share(median), table, 'median', 'cluster_strength')}); the average wage is "
        f"{ref(labels.money(wage), table, region, 'wage')} against "
        f"{ref(labels.money(median_wage), table, 'median', 'wage')} in the median {esc(ctx.level())}."
    )
    return {"html": text, "href": f"#tbl-peers-{region}"}


def _did(ctx: Context, phase: str) -> dict | None:
    shown, table = ctx.facts.get(("did", "")), ctx.refs.get(("did", ""))
    design = ctx.refs.get(("design", ""))
    if shown is None:
        return None
    first = ctx.cfg.outcomes["names"][0]
    rows = shown.loc[(shown["outcome"] == first) & (shown["phase"] == phase)]
    if rows.empty:
        rows = shown.loc[shown["phase"] == phase]
    if rows.empty:
        return None
    r = rows.iloc[0]
    key = f"{r['outcome']}|{phase}"
    n_treated = int(ctx.treatment["treated"].sum())
    groups = (
        f"Regions with strong cluster portfolios ({ref(labels.count(n_treated), design, 'cluster', 'value')} "
        f"{esc(ctx.level(True))})"
    )
    start, end = int(r["start"]), int(r["end"])
    if phase == "shock":
        words = verdict(
            r["conf_low"],
            r["conf_high"],
            "resisted",
            "fell further in",
            "did not resist measurably better or worse in",
        )
        event = shock_name(start, end, r.get("shock") if "shock" in r else None)
    else:
        words = verdict(
            r["conf_low"],
            r["conf_high"],
            "recovered faster",
            "recovered more slowly",
            "did not recover measurably faster or slower",
        )
        event = f"in the recovery window ({start}–{end})"
    boot = ""
    if "boot_p_value" in r and not labels.is_missing(r["boot_p_value"]):
        boot = f", wild bootstrap p = {ref(labels.p_value(r['boot_p_value']), table, key, 'boot_p_value')}"
    text = (
        f"{groups} {words} {event}: DID on {esc(charts.outcome_name(r['outcome']).lower() if r['outcome'] != 'gdp' else 'real GDP')} "
        f"{ref(r['estimate_text'], table, key, 'estimate_text')} "
        f"(95% CI {ref(r['ci'], table, key, 'ci')}{boot})."
    )
    return {"html": text, "href": "#did"}


def _did_shock(ctx: Context, region: str) -> dict | None:
    return _did(ctx, "shock")


def _did_recovery(ctx: Context, region: str) -> dict | None:
    return _did(ctx, "recovery")


def _pretrend(ctx: Context, region: str) -> dict | None:
    pt, table = ctx.facts.get(("pretrend", "")), ctx.refs.get(("pretrend", ""))
    if pt is None or pt.empty:
        return None
    flagged = pt.loc[pt["pretrend_p"] < 0.1]
    calm = pt.loc[pt["pretrend_p"] >= 0.1]

    def cite(rows: pd.DataFrame) -> str:
        return ", ".join(
            f"{esc(r.outcome_name)} p = {ref(labels.p_value(r.pretrend_p), table, r.outcome, 'pretrend_p')}"
            for r in rows.itertuples(index=False)
        )

    text = "Before the shock, cluster regions and the others moved in parallel"
    text += f" ({cite(calm)})" if len(calm) else ""
    if len(flagged):
        text += (
            f"{' except' if len(calm) else ' in no outcome:'} for {cite(flagged)}, where the "
            "pre-trend test rejects at 10%, so that outcome's DID may reflect an older trend"
        )
    return {"html": text + ".", "href": "#event-study"}


def _rd(ctx: Context, region: str) -> dict | None:
    shown, table = ctx.facts.get(("rd", "")), ctx.refs.get(("rd", ""))
    if shown is None:
        return None
    robust = shown.loc[shown["term"] == "Robust"].iloc[0]
    words = verdict(
        robust["conf_low"], robust["conf_high"], "jumps up", "drops", "shows no measurable jump"
    )
    density = ctx.b.read("run_rd_density")
    dtable = ctx.refs.get(("density", ""))
    tail = ""
    if density is not None and not density.empty and dtable:
        p = density["p_value"].iloc[0]
        tail = (
            f"; the density test {'finds no' if p >= 0.05 else 'finds a'} jump in the number of "
            f"region-clusters at the cut-off (p = {ref(labels.p_value(p), dtable, 'density', 'p_value')})"
        )
    outcome = charts.outcome_name(ctx.cfg.outcomes["names"][0])
    text = (
        f"Where a cluster crosses the strong-cluster cut-off, its region's {esc(outcome)} growth "
        f"in the shock {words}: RD {ref(robust['estimate_text'], table, 'Robust', 'estimate_text')} "
        f"(robust 95% CI {ref(robust['ci'], table, 'Robust', 'ci')}){tail}."
    )
    return {"html": text, "href": "#rd"}


def _resilience(ctx: Context, region: str) -> dict | None:
    frame, table = ctx.facts.get(("resilience", region)), ctx.refs.get(("resilience", region))
    if frame is None or frame.empty:
        return None
    first = ctx.cfg.outcomes["names"][0]
    rows = frame.loc[(frame["outcome"] == first) & (frame["phase"] == "resistance")]
    if rows.empty:
        rows = frame.loc[frame["phase"] == "resistance"]
    if rows.empty:
        return None
    r = rows.iloc[0]
    key = f"{r['outcome']}|resistance"
    reliable = bool(r.get("index_reliable", True))
    better = "better" if (r["resilience"] if reliable else r["difference_pp"]) > 0 else "worse"
    change = "grew" if r["growth"] >= 0 else "changed by"
    text = (
        f"In the shock ({int(r['start'])}–{int(r['end'])}) {esc(ctx.name(region))}'s "
        f"{esc(charts.outcome_name(r['outcome']))} {change} "
        f"{ref(labels.signed_pct(r['growth']), table, key, 'growth')} against "
        f"{ref(labels.signed_pct(r['national_growth']), table, key, 'national_growth')} "
        + (
            f"nationally: resistance index {ref(labels.index(r['resilience']), table, key, 'resilience')}, "
            if reliable
            else "nationally (too small a national change for the ratio index): difference "
            f"{ref(labels.signed_pp(r['difference_pp']), table, key, 'difference_pp')}, "
        )
        + f"{better} than the nation."
    )
    return {"html": text, "href": f"#shock-{region}"}


def _policy(ctx: Context, region: str) -> dict | None:
    part, table = ctx.facts.get(("policy", region)), ctx.refs.get(("policy", region))
    if part is None:
        return None
    measured = part.loc[part["measured"].astype(bool)]
    areas = part.groupby("area", sort=False)["measured"].any()
    missing = areas.index[~areas].tolist()
    if measured.empty:
        return None
    w = measured.sort_values("percentile_all").iloc[0]
    text = (
        f"Policy diagnostics have a measured indicator in {int(areas.sum())} of the "
        f"{len(areas)} APEC guideline areas; "
        f"the lowest reading is {esc(str(w['indicator']).replace(' ($)', ''))} ({esc(w['area'])}) "
        "at percentile "
        f"{ref(labels.cell('percentile_all', w['percentile_all']), table, w['key'], 'percentile_all')} "
        f"of all {esc(ctx.level(True))}"
        + (f"; not measured: {esc(', '.join(missing))}" if missing else "")
        + "."
    )
    return {"html": text, "href": f"#policy-{region}"}
