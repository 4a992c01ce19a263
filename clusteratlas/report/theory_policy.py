"""The report's "Theory" and "Policy" sections, in the same style as the evidence.

Owns how theory tables are shown (:data:`THEORY_TABLES`: a store table, its caption, the
columns shown and one sentence; any other ``run_theory_*`` table the study writes is shown too,
with labels from :mod:`clusteratlas.report.labels`, so a new theory table is one more entry)
and the policy diagnostics per APEC guideline area, where an area without data reads "not
measured: needs X" instead of a row of blanks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from clusteratlas.report import labels
from clusteratlas.report.blocks import Section
from clusteratlas.report.context import Context


@dataclass(frozen=True)
class TheoryTable:
    caption: str
    inputs: str
    show: tuple[str, ...] | None = None
    key: tuple[str, ...] = ()
    sentence: Callable[[pd.DataFrame], str] | None = None


def _regimes(frame: pd.DataFrame) -> str:
    top = frame.sort_values("share_of_map", ascending=False)
    parts = [
        f"{r.structure} on {labels.share(r.share_of_map)}" for r in top.itertuples(index=False)
    ]
    return (
        "Over the calibrated parameter range the equilibrium structure is "
        + ", ".join(parts)
        + " of the map."
    )


def _audit(frame: pd.DataFrame) -> str:
    counts = frame["verdict"].value_counts()
    parts = [f"{int(n)} {v}" for v, n in counts.items()]
    text = (
        f"Of the {len(frame)} claims of the paper audited on the derived model: "
        + ", ".join(parts)
        + "."
    )
    if "informative" in frame.columns:
        swept = frame.loc[frame["informative"].notna()]
        if not swept.empty:
            text += (
                f" {len(swept)} claims are judged on parameter sweeps, only on the sweeps along "
                f"which the equilibrium structure changes ({labels.count(swept['informative'].sum())} "
                f"informative sweeps in all: {labels.count(swept['with_claim'].sum())} move with the "
                f"claim, {labels.count(swept['against_claim'].sum())} against it); the others "
                "are signs of closed-form derivatives."
            )
    return text


def _table2(frame: pd.DataFrame) -> str:
    counts = frame["verdict"].value_counts()
    parts = [f"{int(n)} {v}" for v, n in counts.items()]
    return (
        f"The paper's Table 2 checked column by column ({len(frame)} regime columns, each "
        "parameter region sampled uniformly): " + ", ".join(parts) + "."
    )


def _boundaries(frame: pd.DataFrame) -> str:
    pairs = frame[["first", "second"]].drop_duplicates()
    signed = int((frame["gain_sign"].isin(["+", "-"])).sum())
    return (
        f"{len(frame)} regime boundaries have a closed form ({len(pairs)} pairs of structures); "
        f"for {signed} of them the sign of the income gain along the parameter is proved."
    )


def _table1(frame: pd.DataFrame) -> str:
    difference = frame["difference"].astype(str)
    agrees = int((difference == "agrees").sum())
    unprinted = int((difference == "not printed").sum())
    illegible = int(difference.str.startswith("printed form illegible").sum())
    differs = len(frame) - agrees - unprinted - illegible
    return (
        f"Table 1 corrected: of the {len(frame)} incomes and prices of the paper's structures, "
        f"{agrees} agree with the printed formula, {differs} differ (the difference is named in "
        f"each row), {illegible} are illegible in print and {unprinted} are not printed."
    )


#: store table -> how the theory section shows it (in this order; others follow)
THEORY_TABLES: dict[str, TheoryTable] = {
    "run_theory": TheoryTable(
        "Share of the regime map where each structure is the equilibrium",
        "clusteratlas.theory.regime_map",
        ("structure", "share_of_map"),
        ("structure",),
        _regimes,
    ),
    "run_theory_audit": TheoryTable(
        "Audit of the paper's claims (Li Ke): derived model, random admissible parameters",
        "clusteratlas.theory.audit_claims",
        (
            "claim_id",
            "statement",
            "verdict",
            "share_holding",
            "evaluated",
            "informative",
            "with_claim",
            "against_claim",
        ),
        ("claim_id", "forms", "design"),
        _audit,
    ),
    "run_theory_table2": TheoryTable(
        "The paper's Table 2 column by column: its region, what the model gives there, verdict",
        "clusteratlas.theory.table2_columns",
        ("column", "paper_region", "paper_structure", "model_structures", "verdict"),
        ("column",),
        _table2,
    ),
    "run_theory_boundaries": TheoryTable(
        "Closed-form regime boundaries between pairs of structures",
        "clusteratlas.theory.boundary_table",
        ("first", "second", "parameter", "kind", "boundary", "gain_sign"),
        ("first", "second", "parameter"),
        _boundaries,
    ),
    "run_theory_table1_corrected": TheoryTable(
        "Table 1 corrected: derived corner-equilibrium incomes and prices beside the printed ones",
        "clusteratlas.theory.corrected_table1",
        ("structure", "quantity", "derived", "printed", "difference"),
        ("structure", "quantity"),
        _table1,
    ),
}


def theory(ctx: Context, s: Section) -> None:
    b, t = ctx.b, ctx.cfg.theory
    for sentence in ctx.not_possible("theory"):
        s.text(sentence, "missing")
    th = b.read("run_theory")
    if th is None or list(th.columns) == ["note"]:
        s.text(th["note"].iloc[0] if th is not None else "Theory: not run.", "missing")
        return
    params = (
        f"calibration {t['params'] or 'model defaults'}; {t['x']} in {t['x_range']}, "
        f"{t['y']} in {t['y_range']}, {t['resolution']}x{t['resolution']} grid"
    )
    b.figure(
        s,
        "figures/regime_map.png",
        "Regime map: the general-equilibrium structure with the highest per-capita real income",
        "clusteratlas.theory.regime_map",
        params,
    )
    names = [n for n in THEORY_TABLES if ctx.store.has(n)]
    names += sorted(
        n for n in ctx.store.tables() if n.startswith("run_theory_") and n not in THEORY_TABLES
    )
    for name in names:
        frame = ctx.store.read(name)
        spec = THEORY_TABLES.get(name) or TheoryTable(
            labels.humanise(name.removeprefix("run_")), f"clusteratlas.theory ({name})"
        )
        show = [c for c in spec.show if c in frame.columns] if spec.show else None
        if spec.sentence is not None:
            with contextlib.suppress(KeyError, AttributeError):
                s.text(spec.sentence(frame))
        b.table(
            s,
            frame,
            "theory_regimes" if name == "run_theory" else name.removeprefix("run_"),
            spec.caption,
            spec.inputs,
            params if name == "run_theory" else f"{t['audit_samples']} samples",
            show=show,
            key=[k for k in spec.key if k in frame.columns],
            folded=len(frame) > 15,
        )
    b.notes(s, "theory")


#: words in an indicator's name -> how its value prints
_VALUE_KINDS = (
    ("($)", "money"),
    ("LQ", "number2"),
    ("share", "share"),
    ("coverage", "share"),
    ("count", "count"),
    ("CAGR", "signed_pct"),
    ("rate", "signed_pct"),
)


def _value_kind(indicator: str) -> str:
    for word, kind in _VALUE_KINDS:
        if word in str(indicator):
            return kind
    return "general"


def policy(ctx: Context, s: Section) -> None:
    b = ctx.b
    for sentence in ctx.not_possible("policy"):
        s.text(sentence, "missing")
    pol = b.read("run_policy")
    if pol is None:
        s.text("Policy diagnostics: not run.", "missing")
        return
    s.text(
        "Each APEC cluster-policy guideline area is read through the indicators the data can "
        "measure, placed as a percentile among all regions and among the peers (100 = highest). "
        "Areas the public files cannot measure say which data would be needed."
    )
    for region in ctx.regions:
        part = pol.loc[pol["region_id"].astype(str) == region].copy()
        if part.empty:
            continue
        measured = part["measured"].astype(bool)
        part["value_text"] = [
            labels.fmt(v, _value_kind(i)) if m else labels.not_measured(n)
            for v, i, m, n in zip(
                part["value"], part["indicator"], measured, part["data_needed"], strict=True
            )
        ]
        # an area's "(further data)" row reads "further data"; a named indicator the data
        # cannot measure here (e.g. exports per worker without exports) keeps its name
        generic = part["indicator"].astype(str).str.startswith("(")
        part["indicator"] = part["indicator"].where(measured | ~generic, "further data")
        part["area"] = part["area"].str.slice(0, 1).str.upper() + part["area"].str.slice(1)
        part["key"] = part["area"] + "|" + part.groupby("area").cumcount().astype(str)
        areas = part.groupby("area", sort=False)["measured"].any()
        weakest = part.loc[measured].sort_values("percentile_all").head(1)
        name = ctx.name(region)
        sentence = f"{name}: {int(areas.sum())} of {len(areas)} areas have a measured indicator"
        if len(weakest):
            w = weakest.iloc[0]
            sentence += (
                f"; the lowest reading is {w['indicator']} ({w['area']}), at percentile "
                f"{labels.number(w['percentile_all'], 0)} of all {ctx.level(True)}"
            )
        s.heading(name, anchor=f"policy-{region}")
        s.text(sentence + ".")
        ctx.refs[("policy", region)] = b.table(
            s,
            part,
            f"policy_{region}",
            f"Policy diagnostics for {name}: measurable proxies per APEC area",
            "cluster_panel, outcomes, related clusters",
            "percentile = 100 (rank − 0.5)/n among all regions and among peers",
            show=["area", "indicator", "value_text", "percentile_all", "percentile_peers"],
            key=["key"],
            names={"value_text": "Value"},
            export=pol.loc[pol["region_id"].astype(str) == region].drop(columns=["region_id"]),
        )
        ctx.facts[("policy", region)] = part
    b.notes(s, "policy")
