"""The Cho et al. (2024) replication as one run: every table, the comparison and the narrative.

Owns the study's order and its conclusions: :func:`run` loads the inputs
(:mod:`.inputs`), builds the paper's tables as printed (:mod:`.paper`) and the state-level
design beside them (:mod:`.state_level`), the side-by-side comparison and the narrative text
explaining where and why they differ (:class:`Cho2024Result`). Writing the tables and the
report files is :func:`clusteratlas.report.cho2024.write`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data.fetch import Fetcher
from clusteratlas.errors import EstimationError, InputError
from clusteratlas.results import Result
from clusteratlas.studies.cho2024.inputs import QP_WARNING, Cho2024Inputs, load_inputs
from clusteratlas.studies.cho2024.paper import (
    MODELS,
    PAPER_OUTCOMES,
    PAPER_PRINTED,
    descriptive,
    equation2,
    outcome_years,
    paper_did,
    paper_rdd,
)
from clusteratlas.studies.cho2024.state_level import event_study, genuine_rd, proper_did


@dataclass
class Cho2024Result(Result):
    """All tables of the replication (``tables``: name -> frame) and the generated text."""

    tables: dict[str, pd.DataFrame]
    notes: list[str]
    text: str = ""

    caption = "Cho et al. (2024) replication: paper design vs state-level design"

    def summary(self) -> str:
        return self.text

    def tidy(self) -> pd.DataFrame:
        """The headline estimates side by side (paper design vs state-level design)."""
        return self.tables["comparison"].copy()


def run(
    data: str | Path | None = None,
    *,
    treatment: str = "strong",
    bootstrap: bool = True,
    fetch: bool = False,
    fetcher: Fetcher | None = None,
    api_root: str | None = None,
    trade_files: Sequence[str | Path] = (),
) -> Cho2024Result:
    """Run the whole study and return every table.

    Offline by default. ``fetch=True`` first asks the Census APIs for what the offline data
    lack (state exports/imports 2017-2022, CBP 2022; cached, and cache-only under
    ``CLUSTERATLAS_OFFLINE=1``): Tables 2-6 then gain the Export/Import columns and Model 2
    employment compares 2020 with 2022. A failed fetch leaves the offline run and says why in
    the notes. ``trade_files``: USA Trade Online state exports/imports downloads.
    """
    inputs = load_inputs(
        data, fetch=fetch, fetcher=fetcher, api_root=api_root, trade_files=trade_files
    )
    tables: dict[str, pd.DataFrame] = {}
    table2 = descriptive(inputs)
    tables["table2_descriptive"] = table2
    tables["table2_counts"] = pd.DataFrame(
        list(table2.attrs["counts"].items()), columns=["count", "value"]
    )
    for number, model in (("3", "shock"), ("5", "recovery")):
        summary, coefs, _ = paper_did(inputs, model, treatment=treatment)
        tables[f"table{number}_did_model"] = summary
        tables[f"table{number}_did_coefficients"] = coefs
    for number, year in (("4", 2020), ("6", 2022)):
        summary, coefs, _ = paper_rdd(inputs, year)
        tables[f"table{number}_rdd_model"] = summary
        tables[f"table{number}_rdd_coefficients"] = coefs
    tables["equation2_global_quadratic"] = pd.concat(
        [equation2(inputs, 2020), equation2(inputs, 2022)], ignore_index=True
    )
    notes = list(inputs.notes)
    try:
        tables["genuine_rd"] = pd.concat(
            [genuine_rd(inputs, 2020), genuine_rd(inputs, 2022)], ignore_index=True
        )
    except Exception as error:  # the RD can fail (e.g. too few units near the cut-off): say so
        notes.append(f"genuine RD not estimated: {error}")

    did_rows, es_tables, pre_tests = [], [], []
    present = set(inputs.outcomes["outcome"])
    proper_outcomes = [
        o for o in ("gdp", "mfg_gdp", "exports", "imports", "employment") if o in present
    ]
    for outcome in proper_outcomes:
        for model, (_, pre, post) in MODELS.items():
            years = sorted(inputs.outcomes[inputs.outcomes["outcome"] == outcome]["year"].unique())
            use = outcome_years(outcome, pre, post, years)
            if use is None:
                continue
            try:
                estimate = proper_did(inputs, outcome, *use, bootstrap=bootstrap)
            except (EstimationError, InputError) as error:
                # fetched data can be thin (a partial API answer): say so, keep the rest
                notes.append(
                    f"state-level DID for {outcome} {use[0]} vs {use[1]} not estimated: {error}"
                )
                continue
            did_rows.append({"model": model, **estimate})
        table, test = event_study(inputs, outcome)
        es_tables.append(table)
        pre_tests.append(test)
    tables["proper_did"] = pd.DataFrame(did_rows)
    tables["proper_event_study"] = pd.concat(es_tables, ignore_index=True)
    tables["proper_pretrend_tests"] = pd.DataFrame(pre_tests)
    tables["comparison"] = _comparison(tables)
    text = _narrative(tables, notes, inputs)
    return Cho2024Result(tables=tables, notes=notes, text=text)


def _comparison(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for number, model in (("3", "shock"), ("5", "recovery")):
        coefs = tables[f"table{number}_did_coefficients"]
        models = tables[f"table{number}_did_model"].set_index("dependent")
        proper = tables["proper_did"]
        for _, row in coefs[coefs["term"] == "Interaction"].iterrows():
            label = row["dependent"]
            printed = PAPER_PRINTED.get((f"table{number}", label), {})
            p_row = proper[
                (proper["model"] == model) & (proper["outcome"] == PAPER_OUTCOMES[label])
            ]
            rows.append(
                {
                    "table": f"Table {number}",
                    "model": model,
                    "dependent": label,
                    "years": models.loc[label, "years"],
                    "paper_printed_interaction": printed.get("interaction"),
                    "paper_printed_se": printed.get("se"),
                    "replication_interaction": row["coef"],
                    "replication_se_iid": row["std_err"],
                    "replication_se_cluster_state": row["std_err_cluster_state"],
                    "replication_n_rows": int(models.loc[label, "n"]),
                    "state_level_did_log": p_row["estimate"].iloc[0] if len(p_row) else np.nan,
                    "state_level_se_cluster": p_row["std_err"].iloc[0] if len(p_row) else np.nan,
                    "state_level_p_wild": p_row["p_wild_bootstrap"].iloc[0]
                    if len(p_row)
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _extra_sources(inputs: Cho2024Inputs) -> str:
    """The sources beyond the offline data, for the report's data line ("" when none)."""
    extra = inputs.outcomes[inputs.outcomes["source"].str.contains("API|Trade Online", na=False)]
    if extra.empty:
        return ""
    parts = []
    for outcome, group in extra.groupby("outcome"):
        first, last = int(group["year"].min()), int(group["year"].max())
        years = str(first) if first == last else f"{first}-{last}"
        parts.append(f"{outcome} {years} ({', '.join(sorted(group['source'].unique()))})")
    return "; fetched or given: " + "; ".join(parts)


def _narrative(tables: dict[str, pd.DataFrame], notes: list[str], inputs: Cho2024Inputs) -> str:
    comp = tables["comparison"]
    pre = tables["proper_pretrend_tests"]
    did_coefs = pd.concat([tables["table3_did_coefficients"], tables["table5_did_coefficients"]])
    ratio = did_coefs["std_err_cluster_state"] / did_coefs["std_err"]
    ratios = {
        term: (
            float(ratio[did_coefs["term"] == term].min()),
            float(ratio[did_coefs["term"] == term].max()),
        )
        for term in ("Period", "Interaction")
    }
    n_rows = len(inputs.rows)
    n_states = inputs.rows["region_id"].nunique()
    lines = [
        "# Cho et al. (2024) replicated, and the same questions done properly",
        "",
        f"Data: USCM 2016 state x cluster inputs ({n_rows:,} rows, {n_states} states), BEA SAGDP2N "
        "(GDP, manufacturing GDP), CBP state totals (employment), LAUS (2015-2018)"
        + _extra_sources(inputs)
        + ".",
        "",
        "## Where the two designs differ, and why",
        "",
        f"* **Unit of observation.** The paper's regressions use state x cluster rows, but every outcome is "
        f"a state value: each state's growth is repeated on its {n_rows // max(n_states, 1)} cluster rows. "
        f"Classical standard errors treat {n_rows:,} rows (x 2 years) as independent when there are "
        f"{n_states} states. Clustering the same regressions by state multiplies the standard errors by "
        f"{_fmt(ratios['Period'][0], 1)}-{_fmt(ratios['Period'][1], 1)} for Period and "
        f"{_fmt(ratios['Interaction'][0], 1)}-{_fmt(ratios['Interaction'][1], 1)} for the Interaction "
        "(tables table3/5_did_coefficients, column std_err_cluster_state). With the state as the unit "
        "the uncertainty is honest.",
        "* **Treatment.** Row-level 'cluster' (strong-cluster flag) varies inside a state, while the outcome "
        "does not: the paper's interaction compares states weighted by how many strong clusters they have. "
        "Here the treatment is a state property measured before the shock (2016 USCM cluster strength above "
        "the median).",
        "* **'RDD'.** Tables 4 and 6 are cross-sectional OLS of outcome levels on cluster size measures; large "
        "states have large clusters and large GDP, so EST, AP and WAGE 'explain' GDP levels without any "
        "resilience content. There is no cut-off in them. A genuine RD at the strong-cluster cut-off is "
        "reported in genuine_rd.",
        f"* **QP.** {QP_WARNING}.",
        "",
        "## Headline numbers",
        "",
        "Interaction coefficient (standard error). Paper design = growth rate on state x cluster "
        "rows; the same rows with SEs clustered by state; the state-level design = log outcome, "
        "state and year fixed effects, treatment = 2016 cluster region.",
        "",
        "| table | dependent | years | paper (printed) | replication (rows, iid SE) | same, SE clustered by state | state-level DID (log, cluster SE) | wild bootstrap p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in comp.iterrows():
        lines.append(
            f"| {r['table']} | {r['dependent']} | {r['years']} | {_fmt(r['paper_printed_interaction'])} "
            f"({_fmt(r['paper_printed_se'])}) | {_fmt(r['replication_interaction'])} ({_fmt(r['replication_se_iid'])}) "
            f"| ({_fmt(r['replication_se_cluster_state'])}) "
            f"| {_fmt(r['state_level_did_log'])} ({_fmt(r['state_level_se_cluster'])}) | {_fmt(r['state_level_p_wild'])} |"
        )
    lines += ["", "## Pre-trends (event study 2015-2022, reference 2019)", ""]
    for _, r in pre.iterrows():
        if r["p"] < 0.05:
            verdict = "pre-trends differ: the DID is not credible as is"
        elif r["p"] < 0.10:
            verdict = "weak evidence of differential pre-trends: read the DID with care"
        else:
            verdict = "no evidence of differential pre-trends"
        lines.append(
            f"* {r['outcome']}: joint F = {_fmt(r['f_stat'], 2)}, p = {_fmt(r['p'])} ({verdict})"
        )
    lines += ["", "## Limits of this run", ""] + [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"
