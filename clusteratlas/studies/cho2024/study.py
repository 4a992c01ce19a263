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
    CONTROL_STATE,
    MODELS,
    PAPER_OUTCOMES,
    PAPER_PRINTED,
    as_printed_vs_paper,
    descriptive,
    equation2,
    outcome_years,
    paper_did,
    paper_errata,
    paper_rdd,
    state_growth,
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
    control: str = CONTROL_STATE,
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
    the notes. ``trade_files``: USA Trade Online state exports/imports downloads. ``control``:
    the state FIPS code of the paper's "non-cluster" group (Idaho, 16, as printed).
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
        summary, coefs, _ = paper_did(inputs, model, control=control)
        tables[f"table{number}_did_model"] = summary
        tables[f"table{number}_did_coefficients"] = coefs
    tables["as_printed_vs_paper"] = as_printed_vs_paper(tables)
    tables["paper_errata"] = paper_errata()
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
                    "state_level_se_cluster": p_row["std_error"].iloc[0] if len(p_row) else np.nan,
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
    vs = tables["as_printed_vs_paper"]
    models = pd.concat([tables["table3_did_model"], tables["table5_did_model"]])
    did_coefs = pd.concat([tables["table3_did_coefficients"], tables["table5_did_coefficients"]])
    inter = did_coefs[did_coefs["term"] == "Interaction"]
    ratio = inter["std_err_cluster_state"] / inter["std_err"]
    n_states = inputs.rows["region_id"].nunique()
    n_subclusters = 0 if inputs.subclusters is None else len(inputs.subclusters)
    control = str(models["control"].iloc[0]) if len(models) else "16"
    n_rows = int(models["n"].max()) if len(models) else 0
    lines = [
        "# Cho et al. (2024) rebuilt as printed, and the same questions done properly",
        "",
        f"Data: BEA SAGDP2N (GDP, manufacturing GDP), CBP state totals (employment), USCM 2016 "
        f"state x cluster inputs ({len(inputs.rows):,} rows, {n_states} states) and the USCM "
        f"definitions ({n_subclusters} subclusters)" + _extra_sources(inputs) + ".",
        "",
        "## How the paper's DID was built",
        "",
        "A 2x2 OLS with dummies returns the four group x period means: the intercept is the "
        "control group's first-period mean, the period effect its change. The printed control "
        "means are exactly Idaho's BEA growth rates (GDP 0.070 / 0.037 / 0.138 = Idaho's "
        "2019 / 2020 / 2022 growth). So, as rebuilt here:",
        "",
        "* **outcome**: the state's annual growth Y_t / Y_(t-1) - 1; the paper's period '2018' "
        "is the 2018->2019 growth, '2020' the 2019->2020 growth, '2022' the 2021->2022 growth;",
        f"* **'non-cluster' group**: Idaho alone (state {control}); 'cluster' group: every other "
        "state;",
        f"* **rows**: state x subcluster, every state with all {n_subclusters} USCM subclusters "
        f"(states equally weighted): {n_rows:,} rows per DID here; the paper's R2 and F imply "
        "about 20,000 = 32 states x 316 x 2 (its Table 2 counts 32 states);",
        "* classical OLS standard errors, as printed.",
        "",
        "## Tables 3 and 5 as printed, beside the paper",
        "",
        "Coefficient (SE, t). 'match' = ours rounds to the printed digits.",
        "",
        "| table | dependent | term | paper | rebuilt here (iid SE) | SE clustered by state | match |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in vs.iterrows():
        if pd.isna(r.get("coef")):
            continue
        lines.append(
            f"| {r['table']} | {r['dependent']} | {r['term']} | {_fmt(r['paper_coef'])} "
            f"({_fmt(r['paper_se'])}, {_fmt(r['paper_t'], 1)}) | {_fmt(r['coef'])} "
            f"({_fmt(r['se_iid'])}, {_fmt(r['t_iid'], 1)}) | {_fmt(r['se_cluster_state'])} "
            f"| {'yes' if r['matches_printed'] else 'no'} |"
        )
    gdp = vs[vs["dependent"].isin(["GDP", "GDP_manu"]) & vs["coef"].notna()]
    idaho = gdp[gdp["term"].isin(["Intercept", "Period"])]
    treated_gap = gdp.loc[gdp["term"] == "Treatment", "difference"].abs()
    emp = vs[(vs["dependent"] == "Employment") & (vs["table"] == "Table 3")].set_index("term")
    growth = state_growth(inputs.outcomes)
    growth = growth[growth["region_id"].astype(str).isin(set(inputs.rows["region_id"]))]
    ranks = {
        year: int(part.set_index("region_id")["gdp"].rank(ascending=False).get(control, 0))
        for year, part in growth[growth["year"].isin([2019, 2020])].groupby("year")
    }
    missing = sorted(set(vs.loc[vs["coef"].isna(), "dependent"]))
    emp_text = (
        f"Idaho's CBP growth is {_fmt(emp.loc['Intercept', 'coef'])} (2019) and "
        f"{_fmt(emp.loc['Intercept', 'coef'] + emp.loc['Period', 'coef'])} (2020) against the "
        "printed 0.029 and -0.007"
        if "Intercept" in emp.index and pd.notna(emp.loc["Intercept", "coef"])
        else "the printed Idaho growth rates (0.029, -0.007) are not CBP's"
    )
    lines += [
        "",
        "### Residual differences, explained",
        "",
        f"* **Intercepts and period effects (GDP, manufacturing GDP)**: "
        f"{int(idaho['matches_printed'].sum())} of {len(idaho)} match the printed digits. They are "
        "Idaho's own growth and its change: nothing else enters them.",
        "* **Treatment and interaction**: they also need the 'cluster' states' mean. Here that is "
        f"all {n_states - 1} other states; the paper's Table 2 counts 32 states and its R2 / F "
        "imply about 32 x 316 rows per period, so its treated group was about 31 states it does "
        "not name. The treatment effects differ from the printed ones by at most "
        f"{_fmt(float(treated_gap.max()))}, and the interactions keep the printed signs at "
        "roughly the printed size.",
        "* **Employment**: the paper's employment is not CBP's mid-March count (the only state "
        "employment series with 2019-2021 here): " + emp_text + " (an annual-average "
        "series, BLS or BEA, that the shared data do not have). CBP also stops in 2021 offline, so Model 2 "
        "compares 2020 with 2021.",
    ]
    if missing:
        lines.append(
            f"* **{', '.join(missing)}**: state trade by year is not in the offline data "
            "(`--fetch` or `--trade-file` adds it); the paper's 2022 trade figures are not annual "
            "anyway (see the internal errors below)."
        )
    lines += [
        "",
        "## Why the printed t-values of 6-35 mean nothing",
        "",
        "* **One control state.** The 'non-cluster' group is Idaho alone: every treatment and "
        "interaction effect compares the other states with one state's growth, so Idaho's own "
        f"idiosyncrasies are the effect (its GDP growth ranks {ranks.get(2019, 'n/a')} of "
        f"{n_states} states in 2019 and {ranks.get(2020, 'n/a')} in 2020). No standard error can "
        "account for that with a single control cluster (Conley and Taber 2011).",
        f"* **Repeated state outcomes.** The outcome is a state value copied onto each of a "
        f"state's {n_subclusters} subcluster rows; classical SEs count {n_rows:,} independent "
        f"rows where there are {n_states} states x 2 years. Idaho's {n_subclusters} rows per "
        "period are one number, so the intercept and period effect have a state-clustered SE "
        "of 0, and clustering by state multiplies the interaction's SE by "
        f"{_fmt(float(ratio.min()), 1)}-{_fmt(float(ratio.max()), 1)}.",
        "* **The honest SE** is clustered by state (column 'SE clustered by state'), and even "
        "it is unreliable with one control state: the corrected designs below use a "
        "treatment measured before the shock that splits the states in two.",
        "",
        "## The corrected designs beside it",
        "",
        "Interaction (SE). Paper design rebuilt = growth on state x subcluster rows, Idaho as "
        "control; state-level DID = log outcome, state and year fixed effects, treatment = 2016 "
        "USCM cluster strength above the median, SEs clustered by state, wild cluster bootstrap.",
        "",
        "| table | dependent | years | paper (printed) | rebuilt (iid SE) | same, SE by state | state-level DID (log, cluster SE) | wild bootstrap p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in comp.iterrows():
        lines.append(
            f"| {r['table']} | {r['dependent']} | {r['years']} | {_fmt(r['paper_printed_interaction'])} "
            f"({_fmt(r['paper_printed_se'])}) | {_fmt(r['replication_interaction'])} ({_fmt(r['replication_se_iid'])}) "
            f"| ({_fmt(r['replication_se_cluster_state'])}) "
            f"| {_fmt(r['state_level_did_log'])} ({_fmt(r['state_level_se_cluster'])}) | {_fmt(r['state_level_p_wild'])} |"
        )
    lines += ["", "### Pre-trends (event study 2015-2022, reference 2019)", ""]
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
    lines += [
        "",
        "## The other tables",
        "",
        "* **'RDD' (Tables 4, 6)**: cross-sectional OLS of outcome levels on cluster size "
        "measures; large states have large clusters and large GDP, so EST, AP and WAGE 'explain' "
        "GDP levels without any resilience content, and there is no cut-off. A genuine RD at the "
        "strong-cluster cut-off is in genuine_rd.",
        f"* **QP.** {QP_WARNING}.",
        "",
        "## The paper's internal errors",
        "",
    ]
    for _, r in tables["paper_errata"].iterrows():
        lines.append(
            f"* **{r['where']}** (printed {r['printed']}). Check: {r['check']}. "
            f"Reading: {r['meaning']}."
        )
    lines += ["", "## Limits of this run", ""] + [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"
