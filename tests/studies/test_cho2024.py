"""Cho et al. (2024) replication on the real public data, every table checked against an
independent computation: raw files read with csv/pandas; the paper's tables refitted with
pyfixest; the state-level DID and event study (which use clusteratlas.causal.did, itself built on
pyfixest) refitted with statsmodels; the RD against the rdrobust package."""

from __future__ import annotations

import csv
import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.formula.api as smf

from clusteratlas.studies import cho2024

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def result(shared_data: Path) -> cho2024.Cho2024Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cho2024.run(shared_data)


@pytest.fixture(scope="module")
def inputs(shared_data: Path) -> cho2024.Cho2024Inputs:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cho2024.load_inputs(shared_data)


def _bea_line(shared_data: Path, line: str) -> pd.DataFrame:
    """Independent read of one SAGDP2N line: state fips (2 digits) x year -> $ million."""
    rows = []
    with gzip.open(
        shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz", "rt", encoding="latin-1"
    ) as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = next(reader)
        for row in reader:
            fips = row[0].strip().strip('"') if row else ""
            if (
                len(row) == len(header)
                and row[4] == line
                and fips.endswith("000")
                and 0 < int(fips[:2]) < 60
            ):
                for year in range(2015, 2023):
                    cell = row[header.index(str(year))]
                    if cell not in ("(D)", "(NA)"):
                        rows.append({"region_id": fips[:2], "year": year, "v": float(cell)})
    return pd.DataFrame(rows)


def _raw_uscm(shared_data: Path) -> pd.DataFrame:
    raw = pd.read_csv(
        shared_data / "clusters/uscm_state_cluster_2016_inputs.csv.gz",
        dtype={"region_code_t": str, "cluster_code_t": str},
    )
    return raw.rename(columns={"region_code_t": "region_id", "cluster_code_t": "cluster_code"})


def test_lq_and_strong_flags_recomputed_independently(shared_data, inputs):
    """USCM LQ (traded/local denominators) and strong flags (type-7 quartiles) from raw files."""
    raw = _raw_uscm(shared_data)
    defs = pd.read_csv(
        shared_data / "clusters/cluster_naics2012_definitions.csv",
        dtype={"naics2012": str, "cluster_code": str},
    )
    nat = pd.read_csv(shared_data / "cbp/setzler_CBP_national_industry6.csv", dtype={"naics": str})
    nat = nat[(nat.year == 2016)].merge(
        defs[["naics2012", "cluster_code", "traded"]], left_on="naics", right_on="naics2012"
    )
    nat_c = nat.groupby("cluster_code")["employment_march"].sum()
    nat_traded = nat.groupby("traded")["employment_march"].sum()
    raw["traded"] = raw["traded_b"].astype(str).str.upper() == "TRUE"
    region_group = raw.groupby(["region_id", "traded"])["emp_tl"].transform("sum")
    national_group = raw["traded"].map({True: nat_traded[1], False: nat_traded[0]})
    raw["lq_hand"] = (raw["emp_tl"] / region_group) / (
        raw["cluster_code"].map(nat_c) / national_group
    )
    merged = raw.merge(
        inputs.rows[["region_id", "cluster_code", "lq", "strong"]], on=["region_id", "cluster_code"]
    )
    assert len(merged) == 3350
    np.testing.assert_allclose(merged["lq"], merged["lq_hand"], rtol=1e-9)
    strong = []
    for _, group in merged[merged.traded].groupby("cluster_code"):
        live = group[group.emp_tl > 0]
        q_lq, q_e, q_est = (
            np.quantile(live.lq_hand, 0.75),
            np.quantile(live.emp_tl, 0.25),
            np.quantile(live.est_tl, 0.25),
        )
        flag = (
            (group.lq_hand >= q_lq)
            & (group.lq_hand >= 1)
            & (group.emp_tl > q_e)
            & (group.est_tl > q_est)
        )
        strong.append(group.assign(strong_hand=flag))
    strong = pd.concat(strong)
    assert (strong["strong"] == strong["strong_hand"]).all()
    assert not merged.loc[~merged.traded, "strong"].any()  # local clusters are never flagged


def test_table2_matches_paper_where_the_data_overlap(result):
    t2 = result.tables["table2_descriptive"].set_index("statistic")
    # the paper's printed maxima are California 2022 in the same BEA release
    assert round(t2.loc["Max.", "GDP"]) == 3_598_103
    assert t2.loc["Max.", "GDP_Manu"] == pytest.approx(423_698.6)
    counts = dict(result.tables["table2_counts"].values)
    assert counts["Count_industry (clusters)"] == 67  # paper: Count_industry 67
    assert counts["Count_state"] == 50
    assert "QP (= qp1, Q1 payroll $1000)" in t2.columns  # labelled truthfully


def _raw_subclusters(shared_data: Path) -> pd.DataFrame:
    """The 316 USCM subclusters, read independently from the definitions CSV."""
    defs = pd.read_csv(
        shared_data / "clusters/cluster_naics2012_definitions.csv",
        dtype={"cluster_code": str, "subcluster_code": str},
    )
    subs = defs.dropna(subset=["subcluster_code"])[["cluster_code", "subcluster_code"]]
    return subs.drop_duplicates().reset_index(drop=True)


#: (table, paper's pre / post period, the growth years they are)
TABLES_3_5 = [("3", 2019, 2020), ("5", 2020, 2022)]


@pytest.mark.parametrize("dependent,line", [("GDP", "1"), ("GDP_manu", "12")])
@pytest.mark.parametrize("number,pre,post", TABLES_3_5)
def test_printed_intercepts_and_period_effects_of_tables_3_and_5(
    shared_data, result, dependent, line, number, pre, post
):
    """Issue #18: the printed intercept and period effect are Idaho's SAGDP2N growth (the
    paper's "2018" = 2018 -> 2019) and its change: equal to the printed digits, i.e. within
    half a unit of the third decimal, both in our table and from the raw file directly."""
    printed = cho2024.PRINTED_DID[(f"table{number}", dependent)]
    coefs = (
        result.tables[f"table{number}_did_coefficients"]
        .query("dependent == @dependent")
        .set_index("term")
    )
    raw = _bea_line(shared_data, line).pivot(index="year", columns="region_id", values="v")
    idaho = raw["16"] / raw["16"].shift(1) - 1
    for term, value in (("Intercept", idaho[pre]), ("Period", idaho[post] - idaho[pre])):
        assert abs(coefs.loc[term, "coef"] - printed[term][0]) <= 0.0005
        assert coefs.loc[term, "coef"] == pytest.approx(value, rel=1e-12)
    vs = result.tables["as_printed_vs_paper"]
    part = vs[(vs["table"] == f"Table {number}") & (vs["dependent"] == dependent)]
    assert part.set_index("term").loc[["Intercept", "Period"], "matches_printed"].all()


@pytest.mark.parametrize("number,pre,post", TABLES_3_5)
def test_paper_did_tables_refit_with_pyfixest(shared_data, result, number, pre, post):
    """Tables 3 and 5 as printed, refitted with pyfixest on rows built from the raw files:
    50 USCM states x 316 subclusters, growth from SAGDP2N read with csv, Idaho = control."""
    gdp = _bea_line(shared_data, "1").sort_values(["region_id", "year"])
    gdp["y"] = gdp.groupby("region_id")["v"].pct_change()
    g = gdp[gdp.year.isin([pre, post])]
    states = _raw_uscm(shared_data)[["region_id"]].drop_duplicates()
    frame = states.merge(_raw_subclusters(shared_data), how="cross").merge(g, on="region_id")
    frame["period"] = (frame.year == post).astype(int)
    frame["treatment"] = (frame["region_id"] != "16").astype(int)
    fit = pf.feols("y ~ period * treatment", data=frame, vcov="iid")
    coefs = (
        result.tables[f"table{number}_did_coefficients"]
        .query("dependent == 'GDP'")
        .set_index("term")
    )
    ours = {
        "Intercept": "Intercept",
        "Period": "period",
        "Treatment": "treatment",
        "Interaction": "period:treatment",
    }
    for term, theirs in ours.items():
        assert coefs.loc[term, "coef"] == pytest.approx(fit.coef()[theirs], rel=1e-8, abs=1e-12)
        assert coefs.loc[term, "std_err"] == pytest.approx(fit.se()[theirs], rel=1e-6)
    # the cell means: treated = the 49 other states, equally weighted
    means = frame.groupby(["treatment", "period"])["y"].mean()
    did = (means[1, 1] - means[1, 0]) - (means[0, 1] - means[0, 0])
    assert coefs.loc["Interaction", "coef"] == pytest.approx(did, rel=1e-9)
    # the column beside it: the same regression with SEs clustered by state (CRV1)
    frame["state"] = frame["region_id"].astype(int)
    with warnings.catch_warnings():
        # Idaho's identical rows make the intercept's clustered variance 0 up to rounding; on
        # some BLAS builds it lands a hair below 0 and pyfixest warns taking its square root
        # (the intercept is not compared; ours is asserted to be 0 below)
        warnings.filterwarnings("ignore", "invalid value encountered in sqrt", RuntimeWarning)
        clustered = pf.feols("y ~ period * treatment", data=frame, vcov={"CRV1": "state"})
        clustered_se = clustered.se()
    assert coefs.loc["Interaction", "std_err_cluster_state"] == pytest.approx(
        clustered_se["period:treatment"], rel=1e-6
    )
    # Idaho's rows are one number repeated: state-clustered SE of its intercept is 0
    assert coefs.loc["Intercept", "std_err_cluster_state"] < 1e-12
    model = result.tables[f"table{number}_did_model"].set_index("dependent")
    assert model.loc["GDP", "r2"] == pytest.approx(fit._r2, rel=1e-8)
    assert model.loc["GDP", "n"] == 50 * 316 * 2


def test_interactions_keep_the_printed_signs_and_size(result):
    """Issue #18: with all 49 other states as the treated group the interactions have the
    printed sign and are within 0.015 of the printed value (GDP and manufacturing GDP)."""
    vs = result.tables["as_printed_vs_paper"]
    inter = vs[(vs["term"] == "Interaction") & vs["dependent"].isin(["GDP", "GDP_manu"])]
    assert len(inter) == 4
    assert (np.sign(inter["coef"]) == np.sign(inter["paper_coef"])).all()
    assert (inter["difference"].abs() < 0.015).all()


def test_paper_errata_checked_from_the_printed_numbers(result):
    errata = result.tables["paper_errata"].set_index("where")
    assert (
        "the same three numbers as Table 6's GDP LQ row"
        in errata.loc["Table 4, GDP_Manu, LQ row", "check"]
    )
    assert "0.043" in errata.loc["Table 4, Employment, AP row", "check"]
    # 2022 exports: Idaho's implied growth -0.915, about one month against a year
    assert "Idaho -0.915" in errata.loc["Table 5, Export, Period", "check"]
    assert "rows implied by F: 84" in errata.loc["Table 3, Employment, model summary", "check"]
    report = result.text
    assert "## The paper's internal errors" in report and "Why the printed t-values" in report


@pytest.mark.parametrize("number,year", [("4", 2020), ("6", 2022)])
def test_paper_rdd_tables_refit_with_pyfixest(shared_data, inputs, result, number, year):
    raw = _raw_uscm(shared_data)
    raw = raw.merge(
        inputs.rows[["region_id", "cluster_code", "lq"]], on=["region_id", "cluster_code"]
    )
    mfg = _bea_line(shared_data, "12")
    frame = raw.merge(mfg[mfg.year == year].rename(columns={"v": "y"}), on="region_id")
    frame = frame.rename(
        columns={
            "qp1_tl": "QP",
            "est_tl": "EST",
            "ap_tl": "AP",
            "private_wage_tf": "WAGE",
            "lq": "LQ",
        }
    )
    fit = pf.feols("y ~ QP + EST + AP + WAGE + LQ", data=frame, vcov="iid")
    coefs = (
        result.tables[f"table{number}_rdd_coefficients"]
        .query("dependent == 'GDP_manu'")
        .set_index("term")
    )
    for ours, theirs in (
        ("Const", "Intercept"),
        (cho2024.QP_LABEL, "QP"),
        ("EST", "EST"),
        ("AP", "AP"),
        ("WAGE", "WAGE"),
        ("LQ", "LQ"),
    ):
        assert coefs.loc[ours, "coef"] == pytest.approx(fit.coef()[theirs], rel=1e-7)
        assert coefs.loc[ours, "std_err"] == pytest.approx(fit.se()[theirs], rel=1e-6)


def _state_panel(shared_data, inputs) -> pd.DataFrame:
    strength = inputs.states.set_index("region_id")["cluster_strength"]
    gdp = _bea_line(shared_data, "1")
    gdp = gdp[gdp.region_id.isin(strength.index)].copy()  # USCM inputs have no DC
    gdp["treated"] = gdp.region_id.map(strength >= strength.median()).astype(int)
    gdp["y"] = np.log(gdp["v"])
    return gdp


def _fixest_scale(fit, n_states: int) -> float:
    """SE factor from statsmodels' CR1 (every dummy in K) to fixest's CRV1 convention, which
    does not count the state dummies because they are nested in the state clusters."""
    n, k_full = fit.nobs, len(fit.params)
    return float(np.sqrt((n - k_full) / (n - (k_full - (n_states - 1)))))


def test_state_level_did_against_statsmodels(shared_data, inputs, result):
    panel = _state_panel(shared_data, inputs)
    frame = panel[panel.year.isin([2018, 2020])].copy()
    frame["treat_post"] = (frame["treated"] * (frame.year == 2020)).astype(float)
    groups = frame["region_id"].astype(int)
    fit = smf.ols("y ~ treat_post + C(region_id) + C(year)", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    row = result.tables["proper_did"].query("outcome == 'gdp' and model == 'shock'").iloc[0]
    assert row["estimate"] == pytest.approx(fit.params["treat_post"], rel=1e-8)
    scale = _fixest_scale(fit, 50) if row["engine"].startswith("clusteratlas.causal.did") else 1.0
    assert row["std_error"] == pytest.approx(fit.bse["treat_post"] * scale, rel=1e-6)
    assert row["n_states"] == 50 and row["n_treated"] == 25
    # wild cluster bootstrap p-value: pyfixest's implementation, Monte Carlo tolerance
    numeric = frame.assign(state=groups)[["y", "treat_post", "state", "year"]].astype(float)
    boot = pf.feols(
        "y ~ treat_post | state + year", data=numeric, vcov={"CRV1": "state"}
    ).wildboottest(param="treat_post", reps=9999, seed=11)
    assert row["p_wild_bootstrap"] == pytest.approx(float(boot["Pr(>|t|)"]), abs=0.03)


def test_event_study_and_pretrend_against_statsmodels(shared_data, inputs, result):
    panel = _state_panel(shared_data, inputs)
    terms = []
    for year in range(2015, 2023):
        if year != 2019:
            panel[f"d_{year}"] = panel["treated"] * (panel.year == year)
            terms.append(f"d_{year}")
    fit = smf.ols("y ~ " + " + ".join(terms) + " + C(region_id) + C(year)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["region_id"].astype(int)}
    )
    test = result.tables["proper_pretrend_tests"].set_index("outcome").loc["gdp"]
    scale = _fixest_scale(fit, 50) if test["engine"].startswith("clusteratlas.causal.did") else 1.0
    es = result.tables["proper_event_study"].query("outcome == 'gdp'").set_index("year")
    assert sorted(es.index) == [2015, 2016, 2017, 2018, 2020, 2021, 2022]
    for term in terms:
        assert es.loc[int(term[2:]), "estimate"] == pytest.approx(fit.params[term], rel=1e-7)
        assert es.loc[int(term[2:]), "std_error"] == pytest.approx(fit.bse[term] * scale, rel=1e-6)
    pre = [t for t in terms if int(t[2:]) < 2019]
    b = fit.params[pre].to_numpy()
    vcov = fit.cov_params().loc[pre, pre].to_numpy() * scale**2
    f_hand = float(b @ np.linalg.solve(vcov, b)) / len(pre)
    assert test["f_stat"] == pytest.approx(f_hand, rel=1e-6)


def test_genuine_rd_matches_rdrobust_package(shared_data, inputs, result):
    import rdrobust as rdr

    gdp = _bea_line(shared_data, "1").sort_values(["region_id", "year"])
    gdp["y"] = gdp.groupby("region_id")["v"].pct_change()
    frame = inputs.rows[inputs.rows.traded].merge(gdp[gdp.year == 2020], on="region_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rdr.rdrobust(
            frame["y"].to_numpy(),
            frame["lq_percentile"].to_numpy() - 75.0,
            c=0,
            cluster=frame["region_id"].astype(int).to_numpy(),
            vce="cr1",
        )
    ours = (
        result.tables["genuine_rd"]
        .query("year == 2020 and rd_design.str.startswith('sharp')", engine="python")
        .set_index("term")
    )
    assert ours.loc["Conventional", "estimate"] == pytest.approx(
        float(ref.coef.iloc[0, 0]), rel=1e-6
    )
    assert ours.loc["Robust", "std_error"] == pytest.approx(float(ref.se.iloc[2, 0]), rel=1e-5)


def test_lq_percentile_cutoff_is_the_strong_rule(inputs):
    traded = inputs.rows[inputs.rows.traded]
    # every strong row is at or above the 75th percentile of its cluster's LQ (the RD cut-off)
    assert (traded.loc[traded.strong, "lq_percentile"] >= 74.0).all()


def test_cli_writes_every_table_and_the_report(shared_data, tmp_path):
    import typer
    from typer.testing import CliRunner

    from clusteratlas.cli.replicate import register as register_cho2024

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register_cho2024(app)
    out = tmp_path / "cho"
    run = CliRunner().invoke(
        app,
        [
            "replicate",
            "cho2024",
            "--data",
            str(shared_data),
            "--out",
            str(out),
            "--no-bootstrap",
            "--store",
            str(tmp_path / "s.duckdb"),
        ],
    )
    assert run.exit_code == 0, run.output
    for stem in (
        "table2_descriptive",
        "table3_did_coefficients",
        "table4_rdd_coefficients",
        "table5_did_model",
        "table6_rdd_model",
        "proper_did",
        "proper_event_study",
        "genuine_rd",
        "comparison",
    ):
        for ext in ("csv", "tex", "html"):
            assert (out / f"{stem}.{ext}").stat().st_size > 0
    report = (out / "cho2024_report.md").read_text()
    assert (
        "Why the printed t-values of 6-35 mean nothing" in report
        and "exports and imports by state are not" in report
    )
    assert "<table" in (out / "cho2024_report.html").read_text()
    from clusteratlas.store import Store

    with Store(tmp_path / "s.duckdb") as db:
        assert len(db.read("cho2024_proper_did")) == 6


def test_genuine_fuzzy_rd_is_ours_and_matches_rdrobust_package(inputs, result):
    import rdrobust as rdr

    table = result.tables["genuine_rd"]
    assert (table["engine"] == "clusteratlas.causal.rd").all(), table["engine"].unique()
    growth = cho2024.state_growth(inputs.outcomes)
    g = growth[growth["year"] == 2020][["region_id", "gdp"]].dropna()
    frame = inputs.rows[inputs.rows.traded].merge(g, on="region_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rdr.rdrobust(
            frame["gdp"].to_numpy(),
            frame["lq_percentile"].to_numpy() - 75.0,
            c=0,
            fuzzy=frame["treat_strong"].astype(float).to_numpy(),
            cluster=frame["region_id"].astype(int).to_numpy(),
            vce="cr1",
        )
    ours = table.query(
        "year == 2020 and outcome == 'gdp' and rd_design.str.startswith('fuzzy')", engine="python"
    ).set_index("term")
    assert ours.loc["Conventional", "estimate"] == pytest.approx(
        float(ref.coef.iloc[0, 0]), rel=1e-6
    )
    assert ours.loc["Robust", "std_error"] == pytest.approx(float(ref.se.iloc[2, 0]), rel=1e-6)


def test_unknown_control_state_is_a_clear_error(inputs):
    from clusteratlas.errors import ParameterError

    with pytest.raises(ParameterError, match="control state '99'"):
        cho2024.paper_did(inputs, "shock", control="99")
