"""The panel against US Cluster Mapping's PUBLISHED 2016 state values (real data).

Inputs: the USCM state x cluster 2016 download (measured columns only) and the national CBP
2016 6-digit file mapped with the NAICS-2012 definitions. Reference: USCM's own published
lq_tf / shares / strong flags for Alabama and Alaska (tests/panel/uscm_published_2016_reference.csv),
and lq_tf / flags of every traded cluster in all 50 states
(tests/panel/uscm_published_2016_traded_all_states.csv), both transcribed from
aousabdo/clustermapping@086a036, see their headers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusteratlas.data.suppression import read_setzler_national_parents
from clusteratlas.errors import SuppressedDataWarning
from clusteratlas.panel import flag_thresholds, national_coverage, panel_from_uscm, region_summary
from clusteratlas.panel.build import _table, connect

pytestmark = pytest.mark.realdata

FLAGS = ["qualifying", "significant", "strong", "strong10"]
#: float32 precision of the published file
PUBLISHED_RTOL = 2e-6
#: the issue's tolerance for the LQs computed with defaults
LQ_RTOL = 1e-6
#: states in uscm_published_2016_traded_all_states.csv (all 50; DC not included)
N_TRADED_REFERENCE_STATES = 50
#: national 4-digit CBP 2016 lines (provenance in tests/data/fixtures.md)
PARENTS_2016 = Path(__file__).parents[1] / "data" / "cbp_national_naics4_2016.csv"


@pytest.fixture(scope="module")
def reference(reference_csv) -> pd.DataFrame:
    ref = pd.read_csv(reference_csv, comment="#", dtype={"region_id": str, "cluster_code": str})
    assert len(ref) == 134 and set(ref["region_id"]) == {"01", "02"}
    return ref


@pytest.fixture(scope="module")
def panel(uscm_2016, national_2016, definitions_2012) -> pd.DataFrame:
    """The national 6-digit file alone: its two withheld cells cannot be derived."""
    with pytest.warns(SuppressedDataWarning, match="count as 0"):
        return panel_from_uscm(uscm_2016, national_2016, definitions_2012)


@pytest.fixture(scope="module")
def parents_2016() -> pd.DataFrame:
    return read_setzler_national_parents(PARENTS_2016)


@pytest.fixture(scope="module")
def panel_filled(uscm_2016, national_2016, parents_2016, definitions_2012) -> pd.DataFrame:
    """Defaults, with the national parent lines given: the withheld cells are filled by the
    USCM rule (clusteratlas.data.suppression), no value written by hand."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left unfilled
        return panel_from_uscm(
            uscm_2016, national_2016, definitions_2012, national_parents=parents_2016
        )


def _merged(panel: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    merged = reference.merge(panel, on=["region_id", "cluster_code"], how="left", validate="1:1")
    assert merged["lq"].notna().all()
    assert (merged["emp"] == merged["emp_tl"]).all()
    return merged


def test_strong_flags_equal_published(panel, reference):
    merged = _merged(panel, reference)
    traded = merged.loc[merged["traded"]]
    assert len(traded) == 102
    for flag in FLAGS:
        published = traded[f"{flag}_b"].astype(str).str.upper().eq("TRUE")
        wrong = traded.loc[traded[flag] != published, ["region_id", "cluster_code"]]
        assert wrong.empty, f"{flag} differs from USCM for {wrong.values.tolist()}"
    # local clusters are never flagged (USCM publishes NA)
    assert not merged.loc[~merged["traded"], FLAGS].any().any()
    assert traded["strong"].sum() == 26  # 22 in Alabama, 4 in Alaska: not a vacuous comparison


def test_lq_with_setzler_national_file(panel, reference):
    """With the raw national file: local LQs exact; traded LQs within 0.1% except cluster 44.

    The national file leaves 522190 (Financial Services) and 335224 (Trailers, Motor Homes and
    Appliances) suppressed; USCM's national record fills them, so every traded LQ here is
    0.02% low through E_US,traded, Financial Services 0.09% and cluster 44 5.5% high.
    """
    merged = _merged(panel, reference).loc[lambda m: m["emp_tl"] > 0]
    rel = merged["lq"] / merged["lq_tf"] - 1
    local = ~merged["traded"]
    assert rel[local].abs().max() < PUBLISHED_RTOL
    traded_not_44 = merged["traded"] & (merged["cluster_code"] != "44")
    assert rel[traded_not_44].abs().max() < 1e-3
    assert rel[merged["cluster_code"] == "44"].between(0.05, 0.06).all()


def test_lq_and_shares_exact_with_defaults(panel_filled, reference):
    """Alabama and Alaska, all 67 clusters: LQ, region share and national share within 1e-6."""
    merged = _merged(panel_filled, reference)
    for ours, theirs in [
        ("lq", "lq_tf"),
        ("region_share", "region_emp_per_tf"),
        ("national_share", "cluster_emp_per_tf"),
    ]:
        np.testing.assert_allclose(
            merged[ours], merged[theirs], rtol=LQ_RTOL, atol=1e-12, err_msg=ours
        )
    traded = merged.loc[merged["traded"]]
    for flag in FLAGS:
        assert (traded[flag] == traded[f"{flag}_b"].astype(str).str.upper().eq("TRUE")).all()


def test_wage_is_payroll_over_reported_employment(panel, uscm_2016):
    """USCM private_wage_tf = AP x 1000 / emp_reported (published column kept in the inputs)."""
    merged = uscm_2016.merge(panel, on=["region_id", "cluster_code"], suffixes=("_usc", ""))
    reported = merged["emp_reported"] > 0
    np.testing.assert_allclose(
        merged.loc[reported, "wage"], merged.loc[reported, "wage_usc"], rtol=1e-6
    )
    # USCM writes 0 where no employment is reported; we leave the wage undefined (NaN)
    assert merged.loc[~reported, "wage"].isna().all()


def test_quantiles_are_r_type7(panel):
    """Thresholds equal numpy's 'linear' percentiles (= R type 7 = d3.quantile) per cluster."""
    con = connect("duckdb")
    q = con.execute(flag_thresholds(_table(panel, "panel", con))).set_index("cluster_code")
    assert len(q) == 51 and (q["n_regions"] <= 50).all()
    for code, rows in panel.loc[panel["traded"] & (panel["emp"] > 0)].groupby("cluster_code"):
        for column, p, name in [
            ("lq", 25, "lq_q25"),
            ("lq", 50, "lq_q50"),
            ("lq", 75, "lq_q75"),
            ("lq", 90, "lq_q90"),
            ("emp", 25, "emp_q25"),
            ("est", 25, "est_q25"),
        ]:
            expected = np.percentile(rows[column].to_numpy(), p, method="linear")
            assert q.loc[code, name] == pytest.approx(expected, rel=1e-12), (code, name)


def test_cluster_strength_from_published_flags(panel, reference):
    """Cluster strength = employment in strong clusters / traded employment, from USCM's flags."""
    summary = region_summary(panel).set_index("region_id")
    traded = reference.loc[reference["strong_b"].notna()]
    for region, rows in traded.groupby("region_id"):
        strong = rows["strong_b"].astype(str).str.upper().eq("TRUE")
        expected = rows.loc[strong, "emp_tl"].sum() / rows["emp_tl"].sum()
        assert summary.loc[region, "cluster_strength"] == pytest.approx(expected, rel=1e-12)
    assert summary.loc["01", "n_strong"] == 22


def test_national_cluster_employment_vs_state_sums(
    panel, uscm_2016, national_2016, definitions_2012, shared_data
):
    """National CBP 2016 by traded cluster vs the sum over the 50 states of USCM's emp_tl,
    through :func:`national_coverage`, against an independent pandas computation.

    The issue asked for agreement within 1% for every traded cluster. The data do not allow
    it: only 27 of 51 agree. Every other cluster is explained, and the test checks each
    explanation with numbers: 22 exceed the nation by no more than the jobs USCM imputed to
    suppressed state cells (its size-class midpoints overshoot; e.g. Electric Power +7.9% with
    48% of its state employment imputed), and 2 fall short by no more than DC's employment in
    the cluster's 3-digit sectors (USCM's state file has no DC): Education and Knowledge
    Creation -1.76% (55,665 jobs; DC has 49,847 in NAICS 611 and 102,780 in 541) and
    Marketing, Design and Publishing -1.29%.
    """
    import warnings

    coverage = national_coverage(panel.loc[panel["traded"]])
    assert len(coverage) == 51 and set(coverage["year"]) == {2016}
    coverage = coverage.set_index("cluster_code")

    # independent: the national file mapped with the definitions; the states' USCM columns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapped = national_2016.merge(definitions_2012, on="naics")
    national = mapped.loc[mapped["traded"]].groupby("cluster_code")["emp"].sum()
    states = uscm_2016.loc[uscm_2016["traded"]].groupby("cluster_code")[["emp", "emp_reported"]]
    states = states.sum()
    np.testing.assert_allclose(coverage["emp_national"], national.loc[coverage.index], rtol=1e-12)
    np.testing.assert_allclose(coverage["regions_emp"], states.loc[coverage.index, "emp"])
    gap = states["emp"] / national - 1
    np.testing.assert_allclose(coverage["gap"], gap.loc[coverage.index], rtol=1e-12)
    assert coverage["n_regions"].max() == 50

    readings = coverage["reading"].value_counts().to_dict()
    assert readings == {"agrees": 27, "imputation": 22, "regions short": 2}
    # the traded total agrees far better than the clusters (errors of both signs cancel)
    total_gap = coverage["regions_emp"].sum() / coverage["emp_national"].sum() - 1
    assert abs(total_gap) < 0.002

    # imputation: the excess is at most what USCM imputed
    over = coverage.loc[coverage["reading"] == "imputation"]
    excess = over["regions_emp"] - over["emp_national"]
    assert (excess <= over["regions_emp"] - over["regions_emp_reported"]).all()
    assert over["imputed_share"].min() > 0.03  # clusters with few suppressed cells agree

    # regions short: at most DC's 2016 employment in the cluster's 3-digit sectors (setzler
    # state x NAICS-3 file, itself incomplete, so this bound is conservative)
    sectors = pd.read_csv(shared_data / "cbp" / "setzler_CBP_state_industry3.csv.gz")
    dc = sectors.loc[(sectors["state_fips"] == 11) & (sectors["year"] == 2016)]
    dc = dc.assign(naics=dc["naics"].astype(str)).set_index("naics")["employment_march"]
    short = coverage.loc[coverage["reading"] == "regions short"]
    for code, row in short.iterrows():
        three_digit = mapped.loc[mapped["cluster_code"] == code, "naics"].str[:3].unique()
        dc_bound = dc.reindex(three_digit).fillna(0).sum()
        missing = row["emp_national"] - row["regions_emp"]
        assert 0 < missing <= dc_bound, (code, row["cluster_name"], missing, dc_bound)


@pytest.fixture(scope="module")
def traded_reference(traded_reference_csv) -> pd.DataFrame:
    ref = pd.read_csv(
        traded_reference_csv, comment="#", dtype={"region_id": str, "cluster_code": str}
    )
    assert not ref.duplicated(["region_id", "cluster_code"]).any()
    assert (ref.groupby("region_id").size() == 51).all()  # every traded cluster of each state
    return ref


def test_all_states_traded_flags_and_lq_equal_published(panel_filled, traded_reference):
    """Every traded state x cluster row of USCM's published file, 2016, with defaults.

    Uses ``panel_filled``: defaults, the national 6-digit and 4-digit lines as inputs. With
    the 6-digit file alone the LQs do not match (2,494 of the 2,550 differ beyond float32
    precision, cluster 44 by 5.5%), although in 2016 no flag happens to change. With the
    parent lines: 0 flag mismatches, LQ max relative error 9.9e-8 (within 1e-6 asserted).
    """
    merged = _merged(panel_filled, traded_reference)
    assert merged["traded"].all()
    assert merged["region_id"].nunique() == N_TRADED_REFERENCE_STATES
    for flag in FLAGS:
        published = merged[f"{flag}_b"].astype(str).str.upper().eq("TRUE")
        wrong = merged.loc[merged[flag] != published, ["region_id", "cluster_code"]]
        assert wrong.empty, f"{flag} differs from USCM for {wrong.values.tolist()}"
    np.testing.assert_allclose(
        merged["lq"], merged["lq_tf"], rtol=LQ_RTOL, atol=1e-12, err_msg="lq"
    )
    assert len(merged) == 51 * N_TRADED_REFERENCE_STATES
    assert merged["strong"].sum() == 512  # published strong_b TRUE count: not vacuous


def test_filled_national_record_is_uscms(panel_filled, reference, national_2016, definitions_2012):
    """USCM's national employment per cluster, read off its published national shares
    (emp_tl / cluster_emp_per_tf, Alabama and Alaska), equals the filled national counts for
    all 67 clusters; 16 and 44 are the two that contain a withheld cell."""
    implied = (reference["emp_tl"] / reference["cluster_emp_per_tf"]).groupby(
        reference["cluster_code"]
    )
    implied = implied.mean()
    ours = panel_filled.groupby("cluster_code")["emp_national"].first()
    assert len(implied) == 67
    np.testing.assert_allclose(ours.loc[implied.index], implied, rtol=PUBLISHED_RTOL)
    raw = national_2016.merge(definitions_2012, on=["naics", "naics_vintage"])
    raw = raw.groupby("cluster_code")["emp"].sum()
    changed = (ours - raw.loc[ours.index]).loc[lambda gap: gap != 0]
    assert changed.to_dict() == {"16": 1750.0, "44": 7264.0}
    report = pd.DataFrame(panel_filled.attrs["suppression"]).set_index("cluster_code")
    assert report.loc["44", ["cells", "jobs", "exact_cells"]].tolist() == [1, 7264.0, 1]
    assert report.loc["16", ["cells", "jobs", "exact_cells"]].tolist() == [1, 1750.0, 0]


def test_parent_lines_inside_the_national_counts(
    uscm_2016, national_2016, parents_2016, definitions_2012, panel_filled
):
    """The parent lines may also come as rows of the national counts (as in cbp16us.txt)."""
    both = pd.concat([national_2016, parents_2016], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel = panel_from_uscm(uscm_2016, both, definitions_2012, growth=True)
    pd.testing.assert_frame_equal(panel, panel_filled)


def test_hierarchy_option_against_published(
    uscm_2016, national_2016, parents_2016, definitions_2012, traded_reference
):
    """suppressed="hierarchy" uses the exact residual for 522190 too (2,490 jobs, where USCM
    used the class midpoint 1,750): every traded LQ moves by 740 / E_US,traded (1.6e-5),
    Financial Services' by ~3.6e-4; the flags stay USCM's."""
    panel = panel_from_uscm(
        uscm_2016,
        national_2016,
        definitions_2012,
        national_parents=parents_2016,
        suppressed="hierarchy",
    )
    merged = _merged(panel, traded_reference)
    positive = merged.loc[merged["emp"] > 0]  # LQ 0 where the state has none of the cluster
    assert len(positive) == 2494
    rel = positive["lq"] / positive["lq_tf"] - 1
    others = positive["cluster_code"] != "16"
    assert rel[others].between(1.5e-5, 1.8e-5).all(), rel[others].describe()
    assert rel[~others].between(-4e-4, -3e-4).all()
    for flag in FLAGS:
        assert (merged[flag] == merged[f"{flag}_b"].astype(str).str.upper().eq("TRUE")).all()
