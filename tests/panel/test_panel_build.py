"""build_panel on real CBP data: Alabama 2021 (NAICS 2017), growth and job creation, subclusters,
region aggregation, the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from clusteratlas.cli import app
from clusteratlas.errors import (
    DataCoverageWarning,
    ParameterError,
    SmallSampleWarning,
    SuppressedDataWarning,
)
from clusteratlas.panel import (
    build_panel,
    change_between,
    load_related_pairs,
    panel_from_uscm,
    region_summary,
    related_clusters,
    strong_flags,
    unmapped_industries,
)
from clusteratlas.schema import CLUSTER_PANEL
from clusteratlas.store import Store


@pytest.fixture(scope="module")
def alabama_panel(alabama_2021, national_2021, definitions_2017) -> pd.DataFrame:
    with pytest.warns(SmallSampleWarning, match="only 1 state region"):
        return build_panel(
            alabama_2021, definitions_2017, region_type="state", national=national_2021
        )


@pytest.mark.realdata
def test_alabama_2021_accounts_for_every_job(alabama_panel, alabama_2021, definitions_2017):
    assert list(alabama_panel.columns[: len(CLUSTER_PANEL)]) == list(CLUSTER_PANEL)
    assert len(alabama_panel) == 67 and alabama_panel["cluster_code"].is_unique
    unmapped = unmapped_industries(alabama_2021, definitions_2017)
    # every industry either lands in a cluster or is listed as outside the definitions
    total = alabama_2021["emp"].sum()
    assert alabama_panel["emp"].sum() + unmapped["emp"].sum() == pytest.approx(total, abs=0.5)
    assert alabama_panel["est"].sum() + unmapped["est"].sum() == pytest.approx(
        alabama_2021["est"].sum(), abs=0.5
    )
    # CBP covers none of the industries the NAICS-2017 crosswalk leaves out (crop and animal
    # production, public administration, rail, postal service, private households...)
    assert unmapped.empty, unmapped
    # ...whereas a code outside the definitions is reported, not silently dropped
    extra = pd.concat([alabama_2021, alabama_2021.head(1).assign(naics="921110", emp=5.0)])
    listed = unmapped_industries(extra, definitions_2017)
    assert listed["naics"].tolist() == ["921110"] and listed["emp"].item() == 5.0
    with (
        pytest.warns(DataCoverageWarning, match="5 jobs are in industry codes"),
        pytest.warns(SmallSampleWarning, match="only 1 state region"),
    ):
        build_panel(extra, definitions_2017, region_type="state", national=alabama_2021)


@pytest.mark.realdata
def test_alabama_2021_metrics_by_hand(alabama_panel, alabama_2021, national_2021, definitions_2017):
    """LQ, shares and wage recomputed independently with plain pandas from the raw files."""
    defs = definitions_2017[["naics", "cluster_code", "traded"]]
    region = (
        alabama_2021.merge(defs, on="naics")
        .groupby(["cluster_code", "traded"])[["emp", "emp_reported", "ap"]]
        .sum()
        .reset_index()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nat = (
            national_2021.merge(defs, on="naics")
            .groupby(["cluster_code", "traded"])["emp"]
            .sum()
            .rename("us")
            .reset_index()
        )
    merged = region.merge(nat, on=["cluster_code", "traded"])
    group_total = merged.groupby("traded")["emp"].transform("sum")
    us_group_total = nat.groupby("traded")["us"].sum()
    merged["lq_hand"] = (merged["emp"] / group_total) / (
        merged["us"] / merged["traded"].map(us_group_total)
    )
    merged["wage_hand"] = merged["ap"] * 1000 / merged["emp_reported"]
    out = alabama_panel.merge(merged, on="cluster_code", suffixes=("", "_h"))
    np.testing.assert_allclose(out["lq"], out["lq_hand"], rtol=1e-12)
    np.testing.assert_allclose(out["national_share"], out["emp"] / out["us"], rtol=1e-12)
    np.testing.assert_allclose(out["wage"], out["wage_hand"], rtol=1e-12)
    # Alabama's automotive cluster (Mercedes, Honda, Hyundai plants) is strong-level specialised
    assert out.loc[out["cluster_code"] == "4", "lq"].item() > 3


@pytest.mark.realdata
def test_growth_columns_on_national_panel(national_panel_years, definitions_2012):
    """Nation as its own region, 2013-2016: LQ = 1, expected = actual job creation, CAGR by hand."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = build_panel(
            national_panel_years,
            definitions_2012,
            region_type="nation",
            national=national_panel_years,
        )
    assert len(panel) == 67 * 4
    present = panel["emp"] > 0
    np.testing.assert_allclose(panel.loc[present, "lq"], 1.0, rtol=1e-12)
    later = panel.loc[panel["year"] > 2013].copy()
    assert (later["prev_year"] == later["year"] - 1).all()
    np.testing.assert_allclose(
        later["expected_emp_change"], later["emp_change"], rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(later["competitive_effect"], 0.0, atol=1e-6)
    wide = panel.pivot(index="cluster_code", columns="year", values="emp")
    by_hand = (wide[2016] / wide[2015] - 1).rename("g")
    got = later.loc[later["year"] == 2016].set_index("cluster_code")["emp_growth"]
    np.testing.assert_allclose(got.sort_index(), by_hand.sort_index(), rtol=1e-12)
    window = change_between(panel, 2013, 2016).set_index("cluster_code")
    np.testing.assert_allclose(
        window["emp_cagr"].sort_index(),
        ((wide[2016] / wide[2013]) ** (1 / 3) - 1).sort_index(),
        rtol=1e-12,
    )


@pytest.mark.realdata
def test_job_creation_alabama_2016_to_2021(
    uscm_2016, national_2016, definitions_2012, alabama_panel, national_2021, definitions_2017
):
    """USCM report.js jobCreation across the NAICS 2012 -> 2017 vintage change, checked by hand."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p2016 = panel_from_uscm(
            uscm_2016.loc[uscm_2016["region_id"] == "01"], national_2016, definitions_2012
        )
    both = pd.concat([p2016, alabama_panel], ignore_index=True)
    change = change_between(both, 2016, 2021).set_index("cluster_code")
    a = p2016.set_index("cluster_code")
    b = alabama_panel.set_index("cluster_code")
    expected = a["emp"] * (b["emp_national"] / a["emp_national"] - 1)
    np.testing.assert_allclose(change["emp_change"], (b["emp"] - a["emp"]).loc[change.index])
    np.testing.assert_allclose(
        change["expected_emp_change"], expected.loc[change.index], rtol=1e-12
    )
    np.testing.assert_allclose(
        change["competitive_effect"],
        (b["emp"] - a["emp"] - expected).loc[change.index],
        rtol=1e-9,
        atol=1e-6,
    )
    assert change.loc["4", "emp_change"] > 0  # Alabama automotive grew 2016-2021


@pytest.mark.realdata
def test_subcluster_panel_sums_to_clusters(
    alabama_2021, national_2021, definitions_2017, alabama_panel
):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sub = build_panel(
            alabama_2021,
            definitions_2017,
            region_type="state",
            national=national_2021,
            level="subcluster",
            growth=False,
        )
    assert not sub[["strong", "strong10", "qualifying", "significant"]].any().any()
    sums = sub.groupby("cluster_code")["emp"].sum()
    np.testing.assert_allclose(
        sums.loc[alabama_panel["cluster_code"]].to_numpy(), alabama_panel["emp"].to_numpy()
    )
    # a subcluster's LQ uses its parent's traded/local denominators
    row = sub.loc[sub["emp"] > 0].iloc[0]
    assert row["lq"] == pytest.approx(
        row["region_share"]
        / (
            row["emp_national"]
            / sub.loc[sub["traded"] == row["traded"]]
            .drop_duplicates(["cluster_code", "subcluster_code"])["emp_national"]
            .sum()
        ),
        rel=1e-9,
    )


@pytest.mark.realdata
def test_related_clusters_status(uscm_2016, national_2016, definitions_2012, shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = panel_from_uscm(uscm_2016, national_2016, definitions_2012)
    related = load_related_pairs()
    # 256 related ordered pairs (128 unordered) at the 90th relatedness percentile
    assert len(related) == 256
    assert set(zip(related.cluster_code, related.related_cluster_code, strict=True)) == set(
        zip(related.related_cluster_code, related.cluster_code, strict=True)
    )
    table = related_clusters(panel, related, region_id="01")
    strong = set(strong_flags(panel.loc[panel["region_id"] == "01"])["cluster_code"])
    assert set(table["cluster_code"]) <= strong and len(table) > 0
    lookup = panel.loc[panel["region_id"] == "01"].set_index("cluster_code")
    for r in table.itertuples():
        truth = (
            "strong"
            if lookup.loc[r.related_cluster_code, "strong"]
            else "present"
            if lookup.loc[r.related_cluster_code, "emp"] > 0
            else "missing"
        )
        assert r.status == truth


def test_custom_regions_flagged_in_the_economic_area_pool():
    """SYNTHETIC: 6 counties, 4 EAs, 1 custom region -> custom flags use the EA quantiles."""
    rng = np.random.default_rng(7)
    counties = [f"{i:05d}" for i in range(1, 7)]
    rows = []
    for county in counties:
        for naics, emp in [
            ("100001", rng.integers(10, 500)),
            ("100002", rng.integers(10, 500)),
            ("200001", rng.integers(100, 900)),
        ]:
            rows.append(
                dict(
                    year=2020,
                    region_type="county",
                    region_id=county,
                    naics=naics,
                    emp=float(emp),
                    est=float(emp // 10 + 1),
                    ap=float(emp) * 40,
                    qp1=float(emp) * 10,
                )
            )
    counts = pd.DataFrame(rows)
    defs = pd.DataFrame(
        dict(
            naics=["100001", "100002", "200001"],
            naics_vintage=2017,
            cluster_code=["1", "2", "101"],
            cluster_name=["A", "B", "L"],
            traded=[True, True, False],
        )
    )
    ea = {
        "00001": "EA1",
        "00002": "EA1",
        "00003": "EA2",
        "00004": "EA3",
        "00005": "EA4",
        "00006": "EA4",
    }
    members = pd.DataFrame(
        [
            dict(region_type="economic_area", region_id=v, member_type="county", member_id=k)
            for k, v in ea.items()
        ]
        + [
            dict(region_type="custom", region_id="C1", member_type="county", member_id=c)
            for c in ("00002", "00003")
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        custom = build_panel(counts, defs, region_type="custom", members=members, growth=False)
        eas = build_panel(counts, defs, region_type="economic_area", members=members, growth=False)
    assert set(custom["region_id"]) == {"C1"} and set(eas["region_id"]) == {
        "EA1",
        "EA2",
        "EA3",
        "EA4",
    }
    pool = pd.concat([custom, eas])
    for code in ("1", "2"):
        rows_c = pool.loc[(pool["cluster_code"] == code) & (pool["emp"] > 0)]
        q75 = np.percentile(rows_c["lq"], 75)
        e25, s25 = np.percentile(rows_c["emp"], 25), np.percentile(rows_c["est"], 25)
        c = rows_c.loc[rows_c["region_id"] == "C1"].iloc[0]
        assert c["strong"] == bool(
            c["lq"] >= q75 and c["lq"] >= 1 and c["emp"] > e25 and c["est"] > s25
        )
    # the EA flags are unchanged by pooling only if computed with the custom region too: same pool
    both = pd.concat([custom, eas]).set_index(["region_id", "cluster_code"])
    assert (
        both.loc[("C1", "1"), "emp"]
        == counts.loc[
            counts["region_id"].isin(["00002", "00003"]) & (counts["naics"] == "100001"), "emp"
        ].sum()
    )


def test_bad_parameters_are_named():
    frame = pd.DataFrame(
        dict(
            year=[2020], region_type=["state"], region_id=["01"], naics=["1"], emp=[1.0], est=[1.0]
        )
    )
    with pytest.raises(ParameterError, match="region_type"):
        build_panel(frame, frame, region_type="planet")
    with pytest.raises(ParameterError, match="backend"):
        build_panel(frame, frame, region_type="state", backend="oracle")


@pytest.mark.realdata
def test_cli_build_and_show(tmp_path, alabama_2021, national_2021, definitions_2017):
    path = tmp_path / "atlas.duckdb"
    counts = pd.concat([alabama_2021, national_2021.assign(naics_vintage=2017)], ignore_index=True)
    with Store(path) as store:
        store.write("industry_counts", counts)
        store.write("cluster_definitions", definitions_2017)
    runner = CliRunner()
    build = ["panel", "build", "--store", str(path), "--region-type", "state"]
    with pytest.warns(SmallSampleWarning, match="only 1 state region"):
        result = runner.invoke(app, build)
    assert result.exit_code == 0, result.output
    with Store(path, read_only=True) as store:
        panel = store.read("cluster_panel")
        summary = store.read("region_summary")
    assert len(panel) == 67 and len(summary) == 1
    assert summary["cluster_strength"].iloc[0] == pytest.approx(
        region_summary(panel)["cluster_strength"].iloc[0]
    )
    shown = runner.invoke(app, ["panel", "show", "01", "--store", str(path), "--all"])
    assert shown.exit_code == 0, shown.output
    assert "cluster strength" in shown.output and "Automotive" in shown.output
    # building again replaces the state rows instead of failing on duplicate keys
    with pytest.warns(SmallSampleWarning, match="only 1 state region"):
        again = runner.invoke(app, build)
    assert again.exit_code == 0, again.output


@pytest.mark.realdata
def test_cli_build_from_uscm_download(tmp_path, shared_data, national_2016, definitions_2012):
    path = tmp_path / "atlas.duckdb"
    with Store(path) as store:
        store.write("industry_counts", national_2016)
        store.write("cluster_definitions", definitions_2012)
    download = shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz"
    with pytest.warns(SuppressedDataWarning, match="2 withheld cell"):
        result = CliRunner().invoke(
            app, ["panel", "build", "--store", str(path), "--uscm", str(download)]
        )
    assert result.exit_code == 0, result.output
    with Store(path, read_only=True) as store:
        panel = store.read("cluster_panel")
        summary = store.read("region_summary")
    assert len(panel) == 3350 and len(summary) == 50
    # Alabama's 22 strong clusters as published by USCM (see test_panel_uscm_reference)
    assert int(summary.loc[summary["region_id"] == "01", "n_strong"].item()) == 22
    # the states against the nation, cluster by cluster (numbers: test_panel_uscm_reference)
    out = tmp_path / "coverage.csv"
    shown = CliRunner().invoke(
        app,
        ["panel", "coverage", "--store", str(path), "--csv", str(out)],
        env={"COLUMNS": "200"},
    )
    assert shown.exit_code == 0, shown.output
    assert "27 of 51 traded clusters within 1.0%" in shown.output
    assert "Education and Knowledge Creation" in shown.output and "-1.76%" in shown.output
    assert pd.read_csv(out)["reading"].value_counts()["imputation"] == 22
    wrong_year = CliRunner().invoke(
        app, ["panel", "coverage", "--store", str(path), "--year", "1990"]
    )
    assert wrong_year.exit_code != 0 and "no state rows in 1990" in str(wrong_year.exception)


def test_vintage_rule_matches_the_data_module():
    """Counts without naics_vintage get USCM's _naics_year rule, same as clusteratlas.data."""
    import ibis

    from clusteratlas.data.clusters import naics_vintage_for_year
    from clusteratlas.panel.expressions import _vintage_expr

    years = pd.DataFrame({"year": list(range(1998, 2023))})
    table = ibis.memtable(years)
    got = ibis.duckdb.connect().execute(table.select(v=_vintage_expr(table.year)))["v"].tolist()
    assert got == [naics_vintage_for_year(y) for y in years["year"]]


def test_national_coverage_readings_and_errors():
    """Each reading on a hand-made panel (two regions; constructed numbers, not data)."""
    from clusteratlas.errors import InputError, ParameterError
    from clusteratlas.panel import national_coverage

    rows = []
    #           cluster, national, (emp, reported) of regions A and B
    for code, national, a, b in [
        ("1", 100.0, (60.0, 60.0), (40.5, 40.5)),  # +0.5%: agrees
        ("2", 100.0, (70.0, 50.0), (40.0, 40.0)),  # +10%, reported 90 <= 100: imputation
        ("3", 100.0, (50.0, 50.0), (40.0, 40.0)),  # -10%: regions short
        ("4", 100.0, (70.0, 70.0), (40.0, 40.0)),  # +10% in reported jobs too: inconsistent
        ("5", 0.0, (0.0, 0.0), (0.0, 0.0)),  # nothing anywhere: agrees
    ]:
        for region, (emp, reported) in zip("AB", (a, b), strict=True):
            rows.append(
                {
                    "region_type": "state",
                    "region_id": region,
                    "year": 2020,
                    "cluster_code": code,
                    "cluster_name": f"cluster {code}",
                    "traded": True,
                    "emp": emp,
                    "emp_reported": reported,
                    "emp_national": national,
                }
            )
    panel = pd.DataFrame(rows)
    coverage = national_coverage(panel).set_index("cluster_code")
    assert coverage["reading"].to_dict() == {
        "1": "agrees",
        "2": "imputation",
        "3": "regions short",
        "4": "inconsistent",
        "5": "agrees",
    }
    assert coverage.loc["2", "gap"] == pytest.approx(0.10)
    assert coverage.loc["2", "imputed_share"] == pytest.approx(20 / 110)
    assert (
        national_coverage(panel, tolerance=0.2).loc[lambda t: t["reading"] == "agrees"].shape[0]
        == 5
    )
    with pytest.raises(InputError, match="one region type"):
        national_coverage(pd.concat([panel, panel.assign(region_type="county")]))
    with pytest.raises(ParameterError, match="tolerance"):
        national_coverage(panel, tolerance=1.5)


@pytest.mark.realdata
def test_cli_build_runs_in_the_store_with_years(tmp_path, national_panel_years, definitions_2012):
    """`panel build` on DuckDB queries the store's industry_counts in place; --years filters
    them; the panel equals build_panel on the same rows as a frame (national 2013-2016)."""
    path = tmp_path / "atlas.duckdb"
    with Store(path) as store:
        store.write("industry_counts", national_panel_years)
        store.write("cluster_definitions", definitions_2012)
    runner = CliRunner()
    args = ["panel", "build", "--store", str(path), "--region-type", "nation"]
    with (
        pytest.warns(SuppressedDataWarning, match="4 withheld cell"),
        pytest.warns(SmallSampleWarning, match="only 1 nation region"),
    ):
        result = runner.invoke(app, [*args, "--years", "2015-2016"])
    assert result.exit_code == 0, (result.output, result.exception)
    with Store(path, read_only=True) as store:
        panel = store.read("cluster_panel")
    assert sorted(panel["year"].unique()) == [2015, 2016] and len(panel) == 2 * 67
    rows = national_panel_years.loc[national_panel_years["year"] >= 2015]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = build_panel(rows, definitions_2012, region_type="nation")
    key = ["year", "cluster_code"]
    got = panel.sort_values(key).reset_index(drop=True)[expected.columns]
    expected = expected.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, check_dtype=False)
    bad = runner.invoke(app, [*args, "--years", "20x6"])
    assert bad.exit_code != 0 and "cannot read '20x6'" in str(bad.exception)
