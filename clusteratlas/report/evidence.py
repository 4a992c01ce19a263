"""The report's "Evidence" section: do cluster regions weather shocks better?

Owns the charts and tables of the study's causal results: the design (who counts as a
cluster region), a coefficient plot of the DID estimates by outcome and window, the event
study with its pre-trend test, the RD at the strong-cluster cut-off with its density test,
placebo cut-offs and bandwidth sensitivity, the staggered design (:mod:`.staggered`), each
with one plain-language sentence, and the
full tables below with human labels. Results carrying a ``level`` column ("region", "region x
cluster") are shown level by level.
"""

from __future__ import annotations

import pandas as pd

from clusteratlas.report import charts, labels
from clusteratlas.report.blocks import Section
from clusteratlas.report.context import Context, split_shocks
from clusteratlas.report.staggered import staggered

DID_SHOW = [
    "outcome_name",
    "phase",
    "window",
    "estimate_text",
    "ci",
    "p_value",
    "boot_p_value",
    "boot_ci",
]
#: the wild bootstrap table's vocabulary columns as they sit beside the clustered ones
BOOT_NAMES = {"p_value": "boot_p_value", "conf_low": "boot_conf_low", "conf_high": "boot_conf_high"}
DID_NAMES = {
    "outcome_name": "Outcome",
    "estimate_text": "Estimate",
    "ci": "95% CI (clustered)",
    "p_value": "p (clustered)",
}


def _did_display(did: pd.DataFrame) -> pd.DataFrame:
    """Text columns of the DID table: estimates and CIs in percent on log outcomes."""
    out = did.copy()
    out["outcome_name"] = out["outcome"].map(charts.outcome_name)
    out["window"] = out["start"].astype(str) + "–" + out["end"].astype(str)
    kind = (
        out["scale"].map({"log": "signed_pct", "growth": "number3"}).fillna("count")
        if "scale" in out
        else "signed_pct"
    )
    kinds = kind if isinstance(kind, pd.Series) else pd.Series(kind, index=out.index)
    out["estimate_text"] = [labels.fmt(v, k) for v, k in zip(out["estimate"], kinds, strict=True)]
    out["ci"] = [
        labels.ci(lo, hi, k)
        for lo, hi, k in zip(out["conf_low"], out["conf_high"], kinds, strict=True)
    ]
    if {"boot_conf_low", "boot_conf_high"} <= set(out.columns):
        out["boot_ci"] = [
            labels.ci(lo, hi, k)
            for lo, hi, k in zip(out["boot_conf_low"], out["boot_conf_high"], kinds, strict=True)
        ]
    return out


def _levels(frame: pd.DataFrame | None) -> list[tuple[str | None, pd.DataFrame]]:
    if frame is None or frame.empty:
        return []
    if "level" in frame.columns and frame["level"].nunique() > 1:
        return list(frame.groupby("level", sort=False))
    return [(None, frame)]


def evidence(ctx: Context, s: Section) -> None:
    b, cfg = ctx.b, ctx.cfg
    for sentence in ctx.not_possible("causal"):
        s.text(sentence, "missing")
    _design(ctx, s)
    did = b.read("run_did")
    boot = b.read("run_did_wild_bootstrap")
    for level, part in _levels(did):
        suffix = f"_{level.replace(' ', '_')}" if level and level != "region" else ""
        where = f" ({level} level)" if level else ""
        part, other = split_shocks(part)
        if other is not None:
            b.table(
                s,
                _did_display(other.loc[other["design"] == "corrected"]),
                f"did_other_shocks{suffix}",
                f"DID in the other shocks{where}, corrected windows",
                "run_did (clusteratlas.causal.did.did_2x2)",
                "the [shocks] windows; treatment measured before each shock",
                show=["shock", "outcome_name", "phase", "window", "estimate_text", "ci", "p_value"],
                key=["shock", "outcome", "phase"],
                names=DID_NAMES,
            )
        corr = part.loc[part["design"] == "corrected"]
        if boot is not None and not boot.empty:
            keys = [
                k
                for k in ("outcome", "phase", "start", "end", "level")
                if k in boot.columns and k in corr.columns
            ]
            # the bootstrap's own p_value and interval, beside the clustered ones
            corr = corr.merge(
                boot[[*keys, "p_value", "conf_low", "conf_high"]].rename(columns=BOOT_NAMES),
                on=keys,
                how="left",
            )
        shown = _did_display(corr)
        forest = shown.assign(
            label=shown["outcome_name"] + ", " + shown["phase"] + " " + shown["window"]
        )
        s.heading(f"Difference in differences{where}", anchor=f"did{suffix}")
        b.chart(
            s,
            charts.forest(forest, "DID: cluster regions − other regions, by outcome and window"),
            "DID estimates with 95% confidence intervals (clustered by region"
            + (
                "; orange: wild cluster bootstrap"
                if shown.get("boot_conf_low") is not None and shown["boot_conf_low"].notna().any()
                else ""
            )
            + "), percent = 100 × log points",
            "run_did, run_did_wild_bootstrap",
            "corrected design: log outcomes, CRV1 by region, t(G−1)",
        )
        s.html(_did_sentence(shown))
        table = b.table(
            s,
            shown,
            f"did_corrected{suffix}",
            "DID, corrected design: corrected windows, log outcomes, standard errors clustered "
            "by region (fixest small-sample factor, t(G−1)); wild cluster bootstrap (WCR11, "
            "Rademacher) where the regions are few",
            "run_did, run_did_wild_bootstrap (clusteratlas.causal.did.did_2x2, wild_cluster_bootstrap)",
            f"shock {cfg.windows.get('corrected_shock')}, CBP employment "
            f"{cfg.windows.get('employment_shock')}, recovery {cfg.windows.get('corrected_recovery')}",
            show=[c for c in DID_SHOW if c in shown.columns],
            key=["outcome", "phase"],
            names=DID_NAMES,
            export=corr,
        )
        if not suffix:
            ctx.refs[("did", "")] = table
            ctx.facts[("did", "")] = shown
        seed = _did_display(part.loc[part["design"].str.startswith("seed")])
        b.table(
            s,
            seed,
            f"did_seed{suffix}",
            "DID of the seed study (Cho et al. 2024) rebuilt as printed: annual growth (its "
            "'2018' = 2018->2019), Idaho alone as the 'non-cluster' group, state x subcluster "
            "rows, classical SEs as printed. For comparison only: one control state and a state "
            "value repeated on 316 rows make these SEs meaningless (see the corrected DID)",
            "run_outcomes, cluster_panel (clusteratlas.studies.cho2024.paper.paper_did)",
            "periods 2018 vs 2020 (shock), 2020 vs 2022 (recovery); "
            "y ~ Treatment + Period + Treatment x Period; iid SE",
            show=[
                "outcome_name",
                "phase",
                "window",
                "scale",
                "estimate_text",
                "ci",
                "p_value",
                "n_obs",
            ],
            key=["outcome", "phase"],
            names={**DID_NAMES, "ci": "95% CI", "p_value": "p"},
            export=part.loc[part["design"].str.startswith("seed")],
            folded=True,
        )
    _event_study(ctx, s)
    staggered(ctx, s)
    _rd(ctx, s)
    b.notes(s, "causal")


def _design(ctx: Context, s: Section) -> None:
    t = ctx.treatment
    rule = ctx.cfg.treatment
    items = pd.DataFrame(
        {
            "item": ["cluster", "other", "base", "rule"],
            "what": [
                f"Cluster regions ({ctx.level(True)})",
                f"Other {ctx.level(True)}",
                "Portfolio measured in",
                "Rule",
            ],
            "value": [
                labels.count(int(t["treated"].sum())),
                labels.count(int((~t["treated"].astype(bool)).sum())),
                str(ctx.base),
                f"{rule['rule'].replace('_', ' ')}"
                + (
                    f" (quantile {rule['quantile']})"
                    if rule["rule"] == "strength_above_quantile"
                    else ""
                ),
            ],
        }
    )
    s.text(
        "Cluster regions are the regions whose traded jobs are most concentrated in strong "
        "clusters, measured before any shock window. The comparisons below ask whether they "
        "fared differently from the other regions in the shock and the recovery."
    )
    ctx.refs[("design", "")] = ctx.b.table(
        s,
        items,
        "design",
        "Who counts as a cluster region",
        "run_treatment",
        key=["item"],
        show=["what", "value"],
        names={"what": "Design", "value": "Value"},
    )


def verdict(low: float, high: float, better: str, worse: str, neither: str) -> str:
    """Words for a 95% CI: above 0, below 0, or covering 0."""
    if low > 0:
        return better
    if high < 0:
        return worse
    return neither


def _did_sentence(shown: pd.DataFrame) -> str:
    if shown.empty:
        return "No DID estimate."
    clear = shown.loc[(shown["conf_low"] > 0) | (shown["conf_high"] < 0)]
    if clear.empty:
        return (
            "In plain words: every 95% interval covers zero, so the data show no measurable "
            "difference between cluster regions and the others in any outcome or window."
        )
    items = ", ".join(
        f"{r.outcome_name} {r.phase} ({r.estimate_text})" for r in clear.itertuples(index=False)
    )
    if len(clear) == len(shown):
        return (
            "In plain words: no 95% interval covers zero; cluster regions differ measurably "
            f"from the others in every outcome and window: {items}."
        )
    return (
        f"In plain words: cluster regions differ measurably from the others in {items}; the "
        "other intervals cover zero."
    )


def _event_study(ctx: Context, s: Section) -> None:
    b = ctx.b
    ev, ev_other = split_shocks(b.read("run_event_study"))
    s.heading("Event study and pre-trends", anchor="event-study")
    if ev is None or ev.empty or "year" not in ev.columns:
        s.text("Event study: no estimates (see the processing notes).", "missing")
        return
    if ev_other is not None:
        keys = [k for k in ("level", "shock", "outcome") if k in ev_other.columns]
        other = ev_other.groupby(keys, as_index=False, sort=False).agg(
            pretrend_p=("pretrend_p", "first"), base_year=("base_year", "first")
        )
        b.table(
            s,
            other.assign(outcome_name=other["outcome"].map(charts.outcome_name)),
            "pretrend_other_shocks",
            "Pre-trend tests of the event studies around the other shocks",
            "run_event_study",
            show=[*[k for k in keys if k != "outcome"], "outcome_name", "base_year", "pretrend_p"],
            key=keys,
            names={"outcome_name": "Outcome", "base_year": "Reference year"},
        )
    b.chart(
        s,
        charts.event_study(ev, "Event study: cluster regions − others, by year"),
        "Event study: the gap between cluster regions and the others in each year, relative "
        "to the year before the shock, with 95% CIs; shaded: from the shock on",
        "run_event_study",
        "unit and year fixed effects, CRV1 by region",
    )
    pt = ev.groupby("outcome", as_index=False, sort=False).agg(
        pretrend_p=("pretrend_p", "first"), base_year=("base_year", "first")
    )
    pt["outcome_name"] = pt["outcome"].map(charts.outcome_name)
    pt["reading"] = [
        "parallel before the shock" if p >= 0.1 else "pre-trends differ: read its DID with care"
        for p in pt["pretrend_p"]
    ]
    flagged = pt.loc[pt["pretrend_p"] < 0.1, "outcome_name"].tolist()
    s.text(
        "In plain words: before the shock the two groups moved in parallel"
        + (
            " for every outcome (joint pre-trend test p ≥ 0.1)."
            if not flagged
            else f" except for {', '.join(flagged)}, whose pre-shock gaps are jointly "
            "different from zero (p < 0.1): its DID may pick up an older trend."
        )
    )
    ctx.refs[("pretrend", "")] = b.table(
        s,
        pt,
        "pretrend",
        "Pre-trend test: joint test that every pre-shock event-study gap is zero",
        "run_event_study",
        show=["outcome_name", "base_year", "pretrend_p", "reading"],
        key=["outcome"],
        names={"outcome_name": "Outcome", "base_year": "Reference year"},
    )
    ctx.facts[("pretrend", "")] = pt
    table = ev.assign(outcome_name=ev["outcome"].map(charts.outcome_name))
    b.table(
        s,
        table,
        "event_study",
        "Event-study estimates (percent = 100 × log points)",
        "run_event_study",
        show=["outcome_name", "year", "estimate", "std_error", "conf_low", "conf_high"],
        key=["outcome", "year"],
        names={"outcome_name": "Outcome"},
        kinds={
            "estimate": "signed_pct",
            "std_error": "share",
            "conf_low": "signed_pct",
            "conf_high": "signed_pct",
        },
        folded=True,
    )


def _rd(ctx: Context, s: Section) -> None:
    b = ctx.b
    rd, rd_other = split_shocks(b.read("run_rd"))
    density = b.read("run_rd_density")
    s.heading("Regression discontinuity at the strong-cluster cut-off", anchor="rd")
    if rd is not None and "level" in rd.columns and rd["level"].nunique() > 1:
        rd_other = pd.concat([rd_other, rd.loc[rd["level"] != "region"]], ignore_index=True)
        rd = rd.loc[rd["level"] == "region"]
    if rd_other is not None and not rd_other.empty:
        other = rd_other.assign(
            estimate_text=rd_other["estimate"].map(labels.signed_pct),
            ci=labels.ci_column(rd_other),
        )
        keys = [k for k in ("level", "shock", "term") if k in other.columns]
        b.table(
            s,
            other,
            "rd_other",
            "RD at region x cluster level (outcome: the unit's change of its national cluster "
            "share) and around the other shocks",
            "cluster_panel, run_outcome_growth",
            "local linear, triangular kernel, MSE-optimal h, SE clustered by region",
            show=[*keys, "estimate_text", "ci", "p_value"],
            key=keys,
            names={"estimate_text": "Estimate", "term": labels.label("row")},
            export=rd_other,
        )
    if rd is None or rd.empty:
        s.text("RD: no estimates (see the processing notes).", "missing")
        return
    b.figure(
        s,
        "figures/rd_plot.png",
        "RD plot: region outcome growth against the cluster's LQ percentile (− 75 = the "
        "strong-cluster cut-off), binned means and linear fits each side",
        "cluster_panel, run_outcome_growth",
    )
    shown = rd.copy()
    shown["ci"] = labels.ci_column(shown)
    shown["estimate_text"] = shown["estimate"].map(labels.signed_pct)
    robust = shown.loc[shown["term"] == "Robust"]
    robust = robust.iloc[0] if len(robust) else shown.iloc[0]
    words = verdict(
        robust["conf_low"],
        robust["conf_high"],
        "a jump: regions just above the cut-off grew more",
        "a drop: regions just above the cut-off grew less",
        "no measurable jump",
    )
    density_words = ""
    if density is not None and not density.empty:
        p = float(density["p_value"].iloc[0])
        density_words = (
            f" The density test (Cattaneo, Jansson and Ma) finds {'no' if p >= 0.05 else 'a'} "
            f"jump in the number of observations at the cut-off (p = {labels.p_value(p)})."
        )
    outcome = (
        charts.outcome_name(rd["outcome"].iloc[0]) if "outcome" in rd.columns else "the outcome"
    )
    s.text(
        f"In plain words: at the cut-off where a cluster becomes strong, {outcome} growth in the "
        f"shock shows {words} (robust estimate {robust['estimate_text']}, 95% CI "
        f"{robust['ci']}).{density_words}"
    )
    ctx.refs[("rd", "")] = b.table(
        s,
        shown,
        "rd",
        "RD at the strong-cluster cut-off (LQ percentile 75 within each cluster): "
        "conventional, bias-corrected and robust (rdrobust)",
        "cluster_panel, run_outcome_growth",
        "local linear, triangular kernel, MSE-optimal h, SE clustered by region",
        show=["term", "estimate_text", "std_error", "p_value", "ci", "h", "n_left", "n_right"],
        key=["term"],
        names={"estimate_text": "Estimate", "term": labels.label("row")},
        kinds={"std_error": "share"},
        export=rd,
    )
    ctx.facts[("rd", "")] = shown
    if density is not None and not density.empty:
        ctx.refs[("density", "")] = b.table(
            s,
            density.assign(key="density"),
            "rd_density",
            "RD manipulation test: density of the running variable left and right of the "
            "cut-off, Cattaneo-Jansson-Ma (H0: no jump). A within-cluster percentile is "
            "near-uniform by construction, so this checks the sample, not sorting by regions",
            "cluster_panel, run_outcome_growth (clusteratlas.causal.rd.rddensity)",
            f"local polynomial density p={int(density['p'].iloc[0])}, q={int(density['q'].iloc[0])}, "
            f"{density['kernel'].iloc[0]} kernel, {density['vce'].iloc[0]} variance, "
            f"bandwidths '{density['bwselect'].iloc[0]}'",
            show=[
                "f_left",
                "f_right",
                "statistic",
                "p_value",
                "h_left",
                "h_right",
                "n_left",
                "n_right",
            ],
            key=["key"],
            kinds={"h_left": "number2", "h_right": "number2"},
            export=density,
        )
    placebo = b.read("run_rd_placebo")
    if placebo is not None and not placebo.empty:
        b.chart(
            s,
            charts.rd_placebo(placebo, "RD estimates at placebo cut-offs (red: the true cut-off)"),
            "RD at placebo cut-offs: each placebo uses only its own side of the true cut-off; "
            "robust 95% CIs. Jumps at placebo cut-offs would cast doubt on the true one",
            "run_rd_placebo (clusteratlas.causal.rd.rd_placebo)",
            "placebos at the 20/40/60/80th percentiles of x each side; HC1 SE",
        )
        shown = placebo.copy()
        shown["robust_ci"] = labels.ci_column(shown)
        shown["status"] = shown["status"].map(lambda t: "estimated" if t == "ok" else t)
        b.table(
            s,
            shown,
            "rd_placebo",
            "RD at placebo cut-offs (the true cut-off flagged)",
            "cluster_panel, run_outcome_growth (clusteratlas.causal.rd.rd_placebo)",
            "local linear, MSE-optimal h, HC1 SE (rd_placebo cannot subset a cluster vector), "
            "robust 95% CI",
            show=[
                "cutoff",
                "true_cutoff",
                "sample",
                "estimate",
                "robust_ci",
                "p_value",
                "status",
            ],
            key=["cutoff"],
            names={"p_value": labels.label("robust_p_value")},
            kinds={"estimate": "signed_pct"},
            export=placebo,
            folded=True,
        )
    sens = b.read("run_rd_sensitivity")
    if sens is not None and not sens.empty:
        b.chart(
            s,
            charts.rd_bandwidth(sens, "RD estimate by bandwidth"),
            "RD bandwidth sensitivity: the estimate from half to twice the optimal bandwidth, "
            "robust 95% CIs",
            "run_rd_sensitivity",
            "h × 0.5 … 2",
        )
        b.table(
            s,
            sens.assign(ci=labels.ci_column(sens)),
            "rd_bandwidth",
            "RD bandwidth sensitivity",
            "cluster_panel",
            "h × 0.5 … 2",
            show=["multiple", "h", "estimate", "ci", "n"],
            key=["multiple"],
            kinds={"estimate": "signed_pct"},
            export=sens,
            folded=True,
        )
    srdd = b.read("run_seed_rdd")
    if srdd is not None:
        b.table(
            s,
            srdd,
            "seed_rdd",
            "The seed's 'RDD' (an OLS of outcome growth on cluster quality factors), replicated; "
            "QP is CBP first-quarter payroll, not a concentration measure",
            "cluster_panel, run_outcome_growth",
            "OLS, SE clustered by region",
            show=["term", "estimate", "std_error", "p_value", "n_obs", "r2_adj"],
            key=["term"],
            kinds={"estimate": "number3", "std_error": "number3"},
            folded=True,
        )
    cho = b.read("run_cho2024")
    if cho is not None and not cho.empty:
        b.table(
            s,
            cho,
            "cho2024_tables",
            "Cho et al. (2024) Tables 3-6 at the paper's years, the seed study's own code on this "
            "run's data: Tables 3 and 5 as printed (annual growth, Idaho alone as the "
            "'non-cluster' group, state x subcluster rows), Tables 4 and 6 on the region x "
            "cluster rows; classical SEs as printed, region-clustered SEs beside",
            "cluster_panel, cluster_definitions, run_outcomes (clusteratlas.studies.cho2024.paper)",
            "Table 3: growth 2018->2019 vs 2019->2020; Table 5: 2019->2020 vs 2021->2022; "
            "Tables 4 and 6: OLS on 2020 and 2022 levels",
            show=["table", "dependent", "years", "term", "coef", "std_err_cluster_region", "p"],
            key=["table", "dependent", "term"],
            kinds={"coef": "number3", "std_err_cluster_region": "number3"},
            export=cho,
            folded=True,
        )
