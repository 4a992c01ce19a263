"""The report's evidence section: wild cluster bootstrap beside the corrected DID, RD density
test and placebo cut-offs equal direct calls of the library on the same real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusteratlas.errors import EstimationWarning, SuppressedDataWarning
from clusteratlas.store import Store

pytestmark = pytest.mark.realdata
BEA = ("bea", "SAGDP2N__ALL_AREAS_1997_2022.csv.gz")


def test_wild_bootstrap_equals_a_direct_call(real_run, shared_data):
    # GDP shock (2019 -> 2020), corrected design: the 2x2 DID rebuilt from BEA's raw file,
    # then clusteratlas.causal.did.wild_cluster_bootstrap with the report's draws and seed.
    from clusteratlas.causal.did import did_2x2, wild_cluster_bootstrap
    from clusteratlas.data.bea import read_gdp_csv

    out, _ = real_run
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        treated = store.read("run_treatment").set_index("region_id")["treated"]
        boot = store.read("run_did_wild_bootstrap")
    row = boot.loc[(boot["outcome"] == "gdp") & (boot["phase"] == "shock")].iloc[0]
    with pytest.warns(SuppressedDataWarning, match="2 suppressed BEA cells"):
        gdp = read_gdp_csv(shared_data.joinpath(*BEA))
    gdp = gdp.loc[
        (gdp["outcome"] == "gdp")
        & (gdp["region_type"] == "state")
        & gdp["year"].isin([2019, 2020])
        & gdp["region_id"].isin(treated.index)  # the study's 50 states (no DC)
    ]
    data = (
        gdp.assign(
            log_value=np.log(gdp["value"]),
            treated_i=gdp["region_id"].map(treated).astype(int),
        )
        .sort_values(["region_id", "year"])  # the cluster order fixes which weight goes where
        .reset_index(drop=True)
    )
    assert data["region_id"].nunique() == 50 and len(data) == 100
    fit = did_2x2(
        data,
        y="log_value",
        treat="treated_i",
        time="year",
        pre=2019,
        post=2020,
        unit="region_id",
        cluster="region_id",
    )
    direct = wild_cluster_bootstrap(fit, reps=int(row["reps"]), seed=int(row["seed"]))
    assert int(row["n_clusters"]) == 50 and int(row["reps"]) == 9999
    assert 0.0 < direct.pvalue < 1.0
    assert row["p_value"] == direct.pvalue
    assert row["estimate"] == pytest.approx(fit.estimate, abs=1e-12)
    assert (row["conf_low"], row["conf_high"]) == pytest.approx(direct.ci, abs=1e-9)
    # and the exported corrected-DID table carries it beside the CRV1 columns
    table = pd.read_csv(out / "tables" / "did_corrected.csv").set_index(["outcome", "phase"])
    assert table.loc[("gdp", "shock"), "boot_p_value"] == pytest.approx(direct.pvalue, abs=1e-15)
    assert table.loc[("gdp", "shock"), "p_value"] == pytest.approx(fit.pvalue, abs=1e-12)


def _rd_sample(out) -> pd.DataFrame:
    """The RD's sample rebuilt from the store: traded region x cluster rows of the base year,
    running variable = LQ percentile within the cluster - 75, outcome = corrected GDP shock growth."""
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        base = int(store.read("run_treatment")["base_year"].iloc[0])
        panel = store.read("cluster_panel", where=f"region_type = 'state' and year = {base}")
        growth = store.read("run_outcome_growth")
    shock = growth.loc[
        (growth["design"] == "corrected")
        & (growth["phase"] == "shock")
        & (growth["outcome"] == "gdp")
    ]
    rows = panel.loc[panel["traded"] & (panel["emp"] > 0)].copy()
    rows["x"] = rows.groupby("cluster_code")["lq"].rank(pct=True) * 100.0 - 75.0
    return rows.merge(shock[["region_id", "log_growth"]], on="region_id")


def test_density_test_equals_a_direct_call(real_run):
    from clusteratlas.causal.rd import rddensity

    out, _ = real_run
    sample = _rd_sample(out)
    assert len(sample) > 2000
    direct = rddensity(sample["x"].to_numpy(float), c=0.0)
    table = pd.read_csv(out / "tables" / "rd_density.csv").iloc[0]
    assert (table["n_left"], table["n_right"]) == direct.N
    for column, value in [
        ("statistic", direct.t),
        ("p_value", direct.p_value),
        ("f_left", direct.f_left),
        ("f_right", direct.f_right),
        ("h_left", direct.h[0]),
    ]:
        assert table[column] == pytest.approx(value, rel=1e-12, abs=1e-15), column


def test_placebo_true_cutoff_equals_rdrobust(real_run):
    # the placebo table's row at the true cut-off is a plain rdrobust fit (HC1) on all rows
    from clusteratlas.causal.rd import rdrobust

    out, _ = real_run
    sample = _rd_sample(out)
    with pytest.warns(EstimationWarning, match="Mass points detected"):
        direct = rdrobust(
            sample["log_growth"].to_numpy(float), sample["x"].to_numpy(float), vce="hc1"
        )
    table = pd.read_csv(out / "tables" / "rd_placebo.csv")
    assert table["true_cutoff"].sum() == 1 and len(table) >= 5
    true = table.loc[table["true_cutoff"]].iloc[0]
    assert true["estimate"] == pytest.approx(direct.coef["Conventional"], rel=1e-10)
    assert true["p_value"] == pytest.approx(direct.pv["Robust"], rel=1e-10)
    placebos = table.loc[~table["true_cutoff"] & (table["status"] == "ok")]
    assert ((placebos["cutoff"] < 0) == (placebos["sample"] == "below c")).all()


def test_evidence_sections_in_the_report(real_run):
    out, _ = real_run
    html = (out / "report.html").read_text()
    evidence = html[html.index('<section id="evidence">') : html.index('<section id="theory">')]
    for text in (
        "wild cluster bootstrap",
        "boot_p_value",
        "RD manipulation test",
        "RD at placebo cut-offs",
        "RD estimates at placebo cut-offs",
    ):
        assert text in evidence, text
    for stem in ("did_corrected", "rd_density", "rd_placebo"):
        assert (out / "tables" / f"{stem}.csv").is_file()
        assert (out / "tables" / f"{stem}.tex").is_file()
    assert (out / "figures" / "rd_placebo.png").stat().st_size > 1000
