"""The evidence section's staggered design: regions that turn into cluster regions in
different years, and the heterogeneity-robust DID estimates of what that did.

Owns how the ``run_staggered_*`` tables read: per outcome a sentence with the headline
(imputation) estimate, its 95% CI and p-value and the robustness estimators beside it; a
sentence on the Goodman-Bacon decomposition (how much of the plain TWFE estimate rests on
comparisons with already-treated regions); a sentence on HonestDiD's breakdown value; then
the tables. Where the design was not possible the section says why
(``run_staggered_design.reason``), never silently leaves it out.
"""

from __future__ import annotations

import pandas as pd

from clusteratlas.report import charts, labels
from clusteratlas.report.blocks import Section
from clusteratlas.report.context import Context

#: the headline estimator's name in run_staggered_did (role "headline")
HEADLINE_ROLE = "headline"
PARAMS = (
    "cohort = first cluster-panel year a region counts as a cluster region under the "
    "[treatment] rule (absorbing); log outcomes; standard errors clustered by region"
)


def _estimate(row) -> str:
    return (
        f"{labels.signed_pct(row.estimate)} (95% CI {labels.ci(row.conf_low, row.conf_high)}, "
        f"p = {labels.p_value(row.p_value)})"
    )


def _design_sentence(ctx: Context, row: pd.Series) -> str:
    first = str(row["years"]).split("-")[0].split(",")[0]
    if row["level"] == "region x cluster":
        return (
            f"Region x cluster: {labels.count(row['n_units'] - row['n_never'])} traded region x "
            f"cluster pairs have their cluster first turn strong after {first} (the year it does: "
            f"{row['cohorts']}); {labels.count(row['n_never'])} never do in {row['years']}; "
            f"{labels.count(row['dropped_at_start'])} were strong already in {first} and are left "
            "out. Outcome: the pair's share of its cluster's national jobs (log), standard errors "
            "clustered by region. Read it as descriptive: a cluster is strong because of its "
            "location quotient, which moves with this very share, so a gain is partly what "
            "makes the cluster strong rather than its effect."
        )
    rule = ctx.cfg.treatment["rule"].replace("_", " ")
    return (
        f"Staggered adoption: under the rule '{rule}', {labels.count(row['n_units'] - row['n_never'])} "
        f"{ctx.level(True)} first count as cluster regions after {first} (the year they do: "
        f"{row['cohorts']}); {labels.count(row['n_never'])} never do in {row['years']}; "
        f"{labels.count(row['dropped_at_start'])} already did in {first} and are left out (when "
        "they became one is not known). A cohort is the first cluster-panel year in which the "
        "region counts as one, so with gaps between panel years it may have turned a year earlier."
    )


def _outcome_sentence(name: str, part: pd.DataFrame) -> str:
    head = part.loc[part["role"] == HEADLINE_ROLE]
    if head.empty:
        return f"{name}: the imputation estimator could not be computed (see the notes)."
    h = head.iloc[0]
    words = (
        "raised"
        if h.conf_low > 0
        else "lowered"
        if h.conf_high < 0
        else "did not measurably change"
    )
    pairs = h["level"] == "region x cluster"
    subject = "a cluster turning strong in a region" if pairs else "becoming a cluster region"
    text = (
        f"{name}: {subject} {words} it: {_estimate(h)} on average over the treated "
        f"{'pair' if pairs else 'region'}-years (imputation estimator, Borusyak, Jaravel and "
        "Spiess 2024)."
    )
    others = part.loc[part["role"] == "robustness"]
    if not others.empty:
        items = [
            f"{r.estimator} {labels.signed_pct(r.estimate)} ({labels.ci(r.conf_low, r.conf_high)})"
            for r in others.itertuples(index=False)
            if str(r.kind).startswith(("static", "ATT"))
        ]
        text += " Robustness: " + "; ".join(items) + "."
    return text


def _bacon_sentence(name: str, part: pd.DataFrame) -> str:
    by = part.set_index("comparison")
    later = float(by.loc["later vs earlier", "weight"]) if "later vs earlier" in by.index else 0.0
    twfe = float(part["twfe_estimate"].iloc[0])
    return (
        f"{name}: the plain TWFE estimate ({labels.signed_pct(twfe)}) puts "
        f"{labels.share(later)} of its weight on 'later vs earlier' comparisons, whose controls "
        "were already treated (Goodman-Bacon decomposition); "
        + (
            "that share is small, so TWFE and the robust estimators should agree."
            if later < 0.1
            else "with effects that change over time that part biases TWFE: read the robust "
            "estimators."
        )
    )


def _honest_sentence(name: str, part: pd.DataFrame) -> str:
    pieces = []
    for restriction, rows in part.groupby("restriction", sort=False):
        r = rows.iloc[0]
        what = "M̄" if restriction.startswith("relative") else "M"
        if pd.isna(r.breakdown):
            pieces.append(
                f"under {restriction.split(' (')[0]} there is no breakdown value: the effect is "
                "not distinguishable from zero even with exactly parallel trends"
            )
        elif r.breakdown >= rows["M"].max():
            pieces.append(
                f"under {restriction.split(' (')[0]} it stays different from zero over the "
                f"whole grid, up to {what} = {labels.number(rows['M'].max(), 3)}"
            )
        else:
            pieces.append(
                f"under {restriction.split(' (')[0]} it stays different from zero for "
                f"violations of parallel trends up to {what} = {labels.number(r.breakdown, 3)} "
                "(the breakdown value)"
            )
    r = part.iloc[0]
    return (
        f"{name}, sensitivity to pre-trends (HonestDiD, Rambachan and Roth 2023): the effect in "
        f"the first year as a cluster region is {labels.signed_pct(r.estimate)} (95% CI "
        f"{labels.ci(r.original_low, r.original_high)}); " + "; ".join(pieces) + "."
    )


def staggered(ctx: Context, s: Section) -> None:
    """The staggered design's subsection of the evidence section."""
    b = ctx.b
    s.heading("Staggered adoption: regions that become cluster regions", anchor="staggered")
    design = b.read("run_staggered_design")
    if design is None or design.empty:
        s.text(
            "Staggered design: not estimated in this run (the causal stage wrote no "
            "run_staggered_design table).",
            "missing",
        )
        return
    missing = design.loc[design["status"] != "used"]
    for reason, rows in missing.groupby("reason", sort=False):
        names = ", ".join(rows["outcome"].map(charts.outcome_name))
        s.text(f"Staggered design ({names}): not possible with these data: {reason}.", "missing")
    if (design["status"] != "used").all():
        return
    did = b.read("run_staggered_did")
    bacon = b.read("run_staggered_bacon")
    honest = b.read("run_staggered_honest")
    used = design.loc[design["status"] == "used"]
    for level, rows in used.groupby("level", sort=False):
        s.text(_design_sentence(ctx, rows.iloc[0]))
        for outcome in rows["outcome"]:
            name = charts.outcome_name(outcome)
            for frame, sentence in (
                (did, _outcome_sentence),
                (bacon, _bacon_sentence),
                (honest, _honest_sentence),
            ):
                if frame is None or frame.empty:
                    continue
                part = frame.loc[(frame["outcome"] == outcome) & (frame["level"] == level)]
                if not part.empty:
                    s.text(sentence(name, part))
    _tables(ctx, s, design, did, bacon, honest)


def _tables(ctx: Context, s: Section, design, did, bacon, honest) -> None:
    b = ctx.b
    b.table(
        s,
        design.assign(outcome_name=design["outcome"].map(charts.outcome_name)),
        "staggered_design",
        "Staggered design per outcome: regions, cohorts (first year as a cluster region: "
        "regions), or why it was not possible",
        "cluster_panel, run_outcomes (clusteratlas.panel.design.cohort_from_panel)",
        PARAMS,
        show=[
            "outcome_name",
            "years",
            "n_units",
            "n_never",
            "cohorts",
            "dropped_at_start",
            "reason",
        ],
        key=["outcome"],
        names={
            "outcome_name": "Outcome",
            "n_units": "Units",
            "n_never": "Never treated",
            "cohorts": "Cohorts (first year treated: units)",
            "dropped_at_start": "Left out (treated in the first year)",
        },
    )
    if did is not None and not did.empty:
        shown = did.assign(
            outcome_name=did["outcome"].map(charts.outcome_name),
            estimate_text=did["estimate"].map(labels.signed_pct),
            ci=labels.ci_column(did),
        )
        b.table(
            s,
            shown,
            "staggered_did",
            "Staggered DID: the effect of becoming a cluster region (percent = 100 × log "
            "points); imputation is the headline, the others robustness, plain TWFE for comparison",
            "run_staggered_did (clusteratlas.causal.did: did_imputation, did2s, sun_abraham, "
            "att_gt, bacon_decomposition)",
            PARAMS,
            show=["outcome_name", "estimator", "kind", "estimate_text", "ci", "p_value"],
            key=["level", "outcome", "estimator", "kind"],
            names={"outcome_name": "Outcome", "estimate_text": "Estimate", "kind": "Quantity"},
            export=did,
        )
    event = b.read("run_staggered_event")
    if event is not None and not event.empty:
        b.table(
            s,
            event.assign(
                outcome_name=event["outcome"].map(charts.outcome_name),
                ci=labels.ci_column(event),
            ),
            "staggered_event",
            "Staggered event studies: the effect by years since becoming a cluster region "
            "(negative: years before, the pre-trend check)",
            "run_staggered_event",
            PARAMS,
            show=["outcome_name", "estimator", "event_time", "estimate", "ci"],
            key=["level", "outcome", "estimator", "event_time"],
            names={"outcome_name": "Outcome", "event_time": "Years since"},
            kinds={"estimate": "signed_pct", "event_time": "code"},
            export=event,
            folded=True,
        )
    if honest is not None and not honest.empty:
        b.table(
            s,
            honest.assign(
                outcome_name=honest["outcome"].map(charts.outcome_name),
                ci=labels.ci_column(honest),
            ),
            "staggered_honest",
            "HonestDiD: robust 95% confidence sets for the effect in the first year as a "
            "cluster region, by how far trends may depart from parallel (M)",
            "run_staggered_honest (clusteratlas.causal.did.honest_from on the imputation event study)",
            "smoothness: FLCI; relative magnitudes: conditional-least-favourable; R HonestDiD's M grids",
            show=["outcome_name", "restriction", "M", "ci", "breakdown"],
            key=["level", "outcome", "restriction", "M"],
            names={"outcome_name": "Outcome", "breakdown": "Breakdown value"},
            kinds={"M": "number3", "breakdown": "number3"},
            export=honest,
            folded=True,
        )
    if bacon is not None and not bacon.empty:
        b.table(
            s,
            bacon.assign(outcome_name=bacon["outcome"].map(charts.outcome_name)),
            "staggered_bacon",
            "Goodman-Bacon decomposition of the plain TWFE estimate: weight and mean 2x2 DID "
            "of each comparison type",
            "run_staggered_bacon (clusteratlas.causal.did.bacon_decomposition)",
            "balanced panel, no covariates",
            show=[
                "outcome_name",
                "comparison",
                "weight",
                "average_estimate",
                "n_comparisons",
            ],
            key=["level", "outcome", "comparison"],
            names={
                "outcome_name": "Outcome",
                "average_estimate": "Mean 2x2 DID",
                "n_comparisons": "Comparisons",
            },
            kinds={"weight": "share", "average_estimate": "signed_pct", "n_comparisons": "count"},
            export=bacon,
        )
