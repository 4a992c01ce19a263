"""CBP readers on the real files in shared/data, checked against published Census figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusteratlas.data import cbp, clusters, uscm
from clusteratlas.schema import INDUSTRY_COUNTS

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def national_total(shared_data):
    return cbp.read_setzler_national_total(shared_data / "cbp/setzler_CBP_national_total.csv")


@pytest.fixture(scope="module")
def state_total(shared_data):
    return cbp.read_setzler_state_total(shared_data / "cbp/setzler_CBP_state_total.csv")


@pytest.fixture(scope="module")
def national_industry(shared_data):
    return cbp.read_setzler_national_industry(
        shared_data / "cbp/setzler_CBP_national_industry6.csv"
    )


def test_us_2021_total_matches_published_census_figures(national_total):
    """data.census.gov table CBP2021.CB2100CBP: 128,346,299 employees, 8,148,606 establishments."""
    row = national_total[national_total["year"] == 2021].iloc[0]
    assert row["emp"] == 128_346_299
    assert row["est"] == 8_148_606
    assert row["region_id"] == "US" and row["naics"] == "total"
    assert list(national_total.columns) == list(INDUSTRY_COUNTS)


def test_state_totals_sum_to_the_nation(state_total, national_total):
    """51 states + DC add up to the US total every year (2019: 132,989,396 vs 132,989,428).

    Establishments match exactly before 2017 and within 1e-6 after (noise infusion);
    employment within 0.2% (largest gap 2014) and within 2e-5 from 2017 on."""
    assert state_total.groupby("year")["region_id"].nunique().eq(51).all()
    by_year = state_total.groupby("year")[["emp", "est"]].sum()
    nation = national_total.set_index("year")[["emp", "est"]]
    relative = (by_year / nation - 1).abs()
    assert len(relative) == 21
    assert (relative["emp"] < 2e-3).all(), relative["emp"].max()
    assert (relative.loc[2017:, "emp"] < 2e-5).all()
    assert (relative.loc[:2016, "est"] == 0).all()
    assert (relative.loc[2017:, "est"] < 1e-6).all()
    assert by_year.loc[2019, "emp"] == 132_989_396


def test_county_totals_sum_to_state_totals(shared_data, state_total):
    county = cbp.read_setzler_county_total(shared_data / "cbp/setzler_CBP_county_total.csv.gz")
    assert county["region_id"].str.len().eq(5).all()
    withheld = county["emp_flag"] == "D"
    assert withheld.sum() > 0  # county totals withheld by Census are flagged, not silently NaN
    summed = (
        county.assign(state=county["region_id"].str[:2]).groupby(["year", "state"])["emp"].sum()
    )
    states = state_total.set_index(["year", "region_id"])["emp"]
    states.index.names = ["year", "state"]
    joined = pd.concat([summed.rename("county"), states.rename("state")], axis=1).dropna()
    # states with no withheld county add up exactly
    clean_states = set(county.loc[~withheld, "region_id"].str[:2]) - set(
        county.loc[withheld, "region_id"].str[:2]
    )
    exact = joined[joined.index.get_level_values("state").isin(clean_states)]
    assert len(exact) > 350
    assert (exact["county"] == exact["state"]).all()


def test_national_industries_sum_to_national_total(national_industry, national_total):
    """6-digit rows add to the US total within 2e-4 from 2017 on (noise, no suppression),
    3e-4 in 2015-2016, and within 2.5% before (withheld national cells count 0 in setzler's
    file, e.g. 21 cells = 2.4% in 2012)."""
    summed = national_industry.groupby("year")["emp"].sum()
    nation = national_total.set_index("year")["emp"]
    assert ((summed / nation - 1).abs().loc[2017:] < 2e-4).all()
    gap = (summed / nation - 1).abs()
    assert (gap.loc[2015:] < 3e-4).all()
    assert (gap < 2.5e-2).all()
    year_2016 = national_industry[national_industry["year"] == 2016]
    assert len(year_2016) == 978 and set(year_2016["naics_vintage"]) == {2012}
    assert set(national_industry.loc[national_industry["year"] == 2021, "naics_vintage"]) == {2017}


def test_qp1_is_in_thousands(national_total):
    """setzler stores payroll in dollars; the schema (CBP) uses $1,000."""
    row = national_total[national_total["year"] == 2001].iloc[0]
    assert row["qp1"] == pytest.approx(1_012_792_300)
    assert np.isnan(row["ap"])  # no annual payroll in the source, by construction


def test_alabama_2021_api_extract_vs_state_total(shared_data, state_total):
    counts = cbp.read_cbp_api_csv(shared_data / "cbp/modelearth_cbpapi_state_naics6_AL_2021.csv")
    assert set(counts["region_id"]) == {"01"} and set(counts["year"]) == {2021}
    assert set(counts["naics_vintage"]) == {2017}
    alabama = state_total[(state_total["region_id"] == "01") & (state_total["year"] == 2021)]
    assert alabama["emp"].iloc[0] == 1_719_114
    # the 6-digit extract covers 99.2% of the published state total
    assert counts["emp"].sum() / alabama["emp"].iloc[0] == pytest.approx(0.992, abs=0.001)


def test_national_cbp_through_definitions_matches_uscm_2016(shared_data, national_industry):
    """National CBP 2016 x USCM 2012 definitions vs the official clustermapping.us 2016 cluster
    employment summed over the 50 states: the gaps are DC (absent from the 50-state sum) and
    USCM's midpoint imputation of suppressed cells, so agreement is close but not exact."""
    year_2016 = national_industry[national_industry["year"] == 2016]
    mapped = clusters.cluster_coverage(year_2016, clusters.load_definition("uscm", 2012)).mapped
    ours = mapped.groupby("cluster_code")["emp"].sum()
    official = uscm.read_uscm(shared_data / "clusters/uscm_state_cluster_2016_inputs.csv.gz")
    theirs = official.groupby("cluster_code")["emp"].sum()
    ratio = (ours / theirs).dropna()
    assert len(ratio) == 67
    assert np.corrcoef(ours.loc[theirs.index], theirs)[0, 1] > 0.9999
    assert 0.99 < ratio.median() < 1.01
    assert ratio.between(0.85, 1.05).all(), ratio.sort_values()
    traded = official.drop_duplicates("cluster_code").set_index("cluster_code")["traded"]
    assert ours[traded[traded].index].sum() / theirs[traded[traded].index].sum() == pytest.approx(
        1, abs=0.005
    )


def test_alabama_2021_sectors_match_the_census_api_figures(shared_data):
    """PROVENANCE.md quotes the Census API for Alabama 2021: NAICS 322 = 10,648 and
    622 = 88,372 employees; our 6-digit rows add up to exactly these."""
    counts = cbp.read_cbp_api_csv(shared_data / "cbp/modelearth_cbpapi_state_naics6_AL_2021.csv")
    by_subsector = counts.groupby(counts["naics"].str[:3])["emp"].sum()
    assert by_subsector["322"] == 10_648
    assert by_subsector["622"] == 88_372
