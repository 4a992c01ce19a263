"""The main job's staggered design (issue #14 wired in) and theory tables (issue #16 wired in).

The run's ``run_staggered_*`` tables must equal the estimators called directly on a panel
rebuilt here from the run's store (cluster panel -> cohorts, outcomes -> balanced log panel),
and the plain TWFE coefficient must equal pyfixest's (an independent implementation). The
theory stage's tables must equal the theory functions' output. The demo is SYNTHETIC data
(labelled so in its report); the real run (../shared/data) has one cluster-panel year, so its
report must say why the staggered design is not possible.
"""

from __future__ import annotations

import re
import warnings
from html import unescape

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from clusteratlas.causal.did import (
    att_gt,
    bacon_decomposition,
    did2s,
    did_imputation,
    honest_from,
    sun_abraham,
)
from clusteratlas.panel.design import cohort_from_panel
from clusteratlas.store import Store
from clusteratlas.studies.cluster_resilience.causal_staggered import honest_window
from clusteratlas.theory import audit_claims, boundary_table, corrected_table1, table2_columns

#: same inputs, same code path: only summation order could differ
RTOL = 1e-9


def _tables(out, *names):
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        return [store.read(n) if store.has(n) else None for n in names]


def _panel(out, outcome: str) -> pd.DataFrame:
    """The staggered panel rebuilt from the store: cohort = first panel year in which the
    county's cluster strength is at or above the median (the demo config's rule), balanced
    log outcome from the first panel year on, counties already treated then left out."""
    panel, outcomes = _tables(out, "cluster_panel", "run_outcomes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohorts = cohort_from_panel(
            panel, "strength_quantile", quantile=0.5, at_quantile=True, region_type="county"
        )
    first = int(panel["year"].min())
    rows = outcomes.loc[
        (outcomes["outcome"] == outcome)
        & (outcomes["region_type"] == "county")
        & (outcomes["value"] > 0)
        & (outcomes["year"] >= first)
    ]
    rows = rows.groupby(["region_id", "year"], as_index=False)["value"].sum()
    n_years = rows["year"].nunique()
    rows = rows.loc[rows.groupby("region_id")["year"].transform("nunique") == n_years]
    data = rows.merge(cohorts[["region_id", "first_treated"]], on="region_id")
    data = data.loc[data["first_treated"] != first]
    data = data.assign(
        unit=data["region_id"], y=np.log(data["value"]), cohort=data["first_treated"]
    )
    return data.sort_values(["unit", "year"]).reset_index(drop=True)


def _row(did: pd.DataFrame, outcome: str, estimator: str, kind: str) -> pd.Series:
    part = did.loc[
        (did["outcome"] == outcome)
        & did["estimator"].str.startswith(estimator)
        & (did["kind"].str.startswith(kind))
    ]
    assert len(part) == 1, (outcome, estimator, kind, part)
    return part.iloc[0]


@pytest.mark.parametrize("outcome", ["gdp", "employment"])
def test_staggered_tables_equal_direct_calls(demo_run, outcome):
    out, _ = demo_run
    did, event, honest, bacon, design = _tables(
        out,
        "run_staggered_did",
        "run_staggered_event",
        "run_staggered_honest",
        "run_staggered_bacon",
        "run_staggered_design",
    )
    data = _panel(out, outcome)
    # the design table counts what the panel holds
    d = design.set_index("outcome").loc[outcome]
    assert d["status"] == "used"
    assert d["n_units"] == data["unit"].nunique()
    assert d["n_never"] == data.loc[data["cohort"] == 0, "unit"].nunique()
    sizes = data.drop_duplicates("unit").query("cohort > 0")["cohort"].value_counts().sort_index()
    assert d["cohorts"] == ", ".join(f"{g}: {n}" for g, n in sizes.items())
    args = {"y": "y", "unit": "unit", "time": "year", "cohort": "cohort", "cluster": "region_id"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = {
            ("Imputation", "static"): did_imputation(data, **args),
            ("Two-stage", "static"): did2s(data, **args),
            ("Sun and Abraham", "ATT"): sun_abraham(data, **args, control="never"),
        }
        imputation_event = did_imputation(data, **args, horizons=True, pretrends=3)
    for (estimator, kind), result in direct.items():
        row = _row(did, outcome, estimator, kind)
        assert row["estimate"] == pytest.approx(result.estimate, rel=RTOL)
        assert row["std_error"] == pytest.approx(result.se, rel=RTOL)
        assert row["conf_low"] == pytest.approx(result.ci[0], rel=RTOL)
        assert row["n_obs"] == result.nobs
    # the imputation event study, coefficient by coefficient
    mine = event.loc[(event["outcome"] == outcome) & event["estimator"].str.startswith("Imput")]
    coefs = imputation_event.coefs.sort_values("event_time")
    assert mine["event_time"].tolist() == coefs["event_time"].astype(int).tolist()
    np.testing.assert_allclose(mine["estimate"], coefs["estimate"], rtol=RTOL)
    np.testing.assert_allclose(mine["std_error"], coefs["std_error"], rtol=RTOL)
    # HonestDiD on that event study: robust sets and breakdown values
    rm = honest_from(honest_window(imputation_event), method="relative_magnitude")
    mine = honest.loc[
        (honest["outcome"] == outcome) & honest["restriction"].str.startswith("relative")
    ]
    np.testing.assert_allclose(mine["M"], rm.table["M"], rtol=RTOL)
    np.testing.assert_allclose(mine["conf_low"], rm.table["lb"], rtol=1e-7)
    np.testing.assert_allclose(mine["conf_high"], rm.table["ub"], rtol=1e-7)
    assert mine["breakdown"].iloc[0] == pytest.approx(rm.breakdown, nan_ok=True)
    # Callaway-Sant'Anna needs equally spaced years: estimated on GDP, said not on employment
    cs = did.loc[(did["outcome"] == outcome) & did["estimator"].str.startswith("Callaway")]
    if outcome == "gdp":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gt = att_gt(data, "y", "unit", "year", "cohort", base_period="universal")
        simple, dynamic = gt.aggregate("simple"), gt.aggregate("dynamic", balance_e=1)
        row = _row(did, outcome, "Callaway", "ATT (simple)")
        assert row["estimate"] == pytest.approx(simple.estimate, rel=RTOL)
        assert row["std_error"] == pytest.approx(simple.se, rel=RTOL)
        row = _row(did, outcome, "Callaway", "event-study average")
        assert row["estimate"] == pytest.approx(dynamic.estimate, rel=RTOL)
    else:
        assert cs.empty
    # Bacon: the TWFE coefficient equals pyfixest's TWFE on the same panel (independent)
    bac = bacon_decomposition(data, "y", "unit", "year", "cohort")
    mine = bacon.loc[bacon["outcome"] == outcome].set_index("comparison")
    np.testing.assert_allclose(
        mine.loc[bac.by_type["type"], "weight"], bac.by_type["weight"], rtol=RTOL
    )
    treated = (data["cohort"] > 0) & (data["year"] >= data["cohort"])
    fit = pf.feols("y ~ d | unit + year", data.assign(d=treated.astype(float)))
    assert mine["twfe_estimate"].iloc[0] == pytest.approx(float(fit.coef()["d"]), rel=1e-7)
    assert mine["weight"].sum() == pytest.approx(1.0, abs=1e-9)


def test_region_x_cluster_staggered_equals_direct_calls(demo_run):
    out, _ = demo_run
    panel, did, design = _tables(out, "cluster_panel", "run_staggered_did", "run_staggered_design")
    # rebuilt here: traded pairs with jobs in every panel year; cohort = first year strong
    panel = panel.loc[panel["traded"] & (panel["emp"] > 0) & (panel["emp_national"] > 0)].copy()
    panel["unit"] = panel["region_id"].astype(str) + ":" + panel["cluster_code"].astype(str)
    years = sorted(panel["year"].unique())
    panel = panel.loc[panel.groupby("unit")["year"].transform("nunique") == len(years)]
    first = panel.loc[panel["strong"].astype(bool)].groupby("unit")["year"].min()
    panel["cohort"] = panel["unit"].map(first).fillna(0).astype(int)
    data = panel.loc[panel["cohort"] != years[0]].assign(
        y=lambda f: np.log(f["emp"] / f["emp_national"])
    )
    row = design.loc[design["level"] == "region x cluster"].iloc[0]
    assert row["n_units"] == data["unit"].nunique()
    assert row["dropped_at_start"] == (first == years[0]).sum()
    mine = did.loc[did["level"] == "region x cluster"]
    args = {"y": "y", "unit": "unit", "time": "year", "cohort": "cohort", "cluster": "region_id"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for estimator, result in (
            ("Imputation", did_imputation(data, **args)),
            ("Two-stage", did2s(data, **args)),
        ):
            got = _row(mine, "cluster_share", estimator, "static")
            assert got["estimate"] == pytest.approx(result.estimate, rel=RTOL)
            assert got["std_error"] == pytest.approx(result.se, rel=RTOL)
            assert got["n_clusters"] == data["region_id"].nunique()


def _section(html: str, anchor: str, end: str) -> str:
    start = html.index(f'id="{anchor}"')
    stop = html.index(end, start)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start:stop])))


def test_report_shows_the_staggered_design(demo_run):
    out, _ = demo_run
    html = (out / "report.html").read_text()
    text = _section(html, "staggered", 'id="rd"')
    (did,) = _tables(out, "run_staggered_did")
    head = did.loc[(did["outcome"] == "gdp") & (did["role"] == "headline")].iloc[0]
    # words first: the headline's number, its CI and p-value in the sentence
    from clusteratlas.report import labels

    sentence = (
        f"{labels.signed_pct(head['estimate'])} (95% CI "
        f"{labels.ci(head['conf_low'], head['conf_high'])}, p = {labels.p_value(head['p_value'])})"
    )
    assert (
        f"GDP (current dollars): becoming a cluster region did not measurably change it: {sentence}"
        in text
    )
    assert "Goodman-Bacon decomposition" in text and "HonestDiD" in text
    # where an estimator could not run, the report says why (employment: 2016, 2018-2022)
    assert "Callaway and Sant'Anna (2021): needs equally spaced years" in unescape(html)
    for word in ("NaN", "nan", "True", "False", "None"):
        assert not re.search(rf"\b{word}\b", text), word
    assert "[SYNTHETIC]" in text


def test_real_run_says_why_there_is_no_staggered_design(real_run):
    out, _ = real_run
    (design,) = _tables(out, "run_staggered_design")
    assert (design["status"] == "not possible").all()
    assert set(design["level"]) == {"region", "region x cluster"}
    assert design["reason"].str.contains("needs at least two panel years").all()
    text = _section((out / "report.html").read_text(), "staggered", 'id="rd"')
    assert "not possible with these data" in text and "at least two panel years" in text


def test_theory_tables_equal_the_theory_functions(demo_run):
    out, _ = demo_run
    audit, table2, boundaries, table1 = _tables(
        out,
        "run_theory_audit",
        "run_theory_table2",
        "run_theory_boundaries",
        "run_theory_table1_corrected",
    )
    expected = {
        "audit": (audit, audit_claims(n=2000)),  # the config's default audit_samples
        "table2": (table2, table2_columns()),
        "boundaries": (boundaries, boundary_table()),
        "table1": (table1, corrected_table1()),
    }
    for name, (stored, direct) in expected.items():
        assert stored is not None, name
        pd.testing.assert_frame_equal(
            stored.reset_index(drop=True),
            direct.reset_index(drop=True),
            check_dtype=False,
            rtol=1e-12,
            obj=name,
        )
    # the informative sweeps are counted and add up
    swept = audit.loc[audit["informative"].notna()]
    assert len(swept) > 0
    assert (
        swept["with_claim"] + swept["against_claim"] + swept["mixed"] == swept["informative"]
    ).all()
    html = (out / "report.html").read_text()
    text = _section(html, "theory", "</section>")
    n_informative = f"{int(swept['informative'].sum()):,} informative sweeps"
    assert n_informative in text
    assert "The paper's Table 2 checked column by column (12 regime columns" in text
    assert f"{len(boundaries)} regime boundaries have a closed form" in text
    assert "Table 1 corrected: of the 25 incomes and prices" in text
