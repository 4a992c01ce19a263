"""Resilience indices near a zero reference change and for lower-is-better outcomes, on REAL
data (issue #21 items 5 and 6).

* Michigan GDP (BEA SAGDP2N, current dollars), window 2007-2009-2014: national growth
  2007 -> 2009 was +0.03%, so the ratio index is -377 (a 10-point gap divided by 0.03%). The
  result must keep the number but flag it unreliable, say why and offer the difference form.
* Michigan unemployment (BLS LAUS), same window: Michigan's unemployment rose 90%, the
  nation's (the sum of the states and DC) 102%: better than the nation, so the index is
  +0.118, not -0.118.

Expected values are computed here from the files read with plain pandas (GDP) or from the
growth rates (LAUS), with the formulas of the module docstring; tolerances stated per assert.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from clusteratlas.errors import ParameterError
from clusteratlas.resilience.indices import (
    MIN_REFERENCE_GROWTH,
    outcome_direction,
    resilience,
)

pytestmark = pytest.mark.realdata

WINDOW = (2007, 2009, 2014)
MICHIGAN = "26"


@pytest.fixture(scope="module")
def gdp(shared_data) -> pd.DataFrame:
    """SAGDP2N line 1 (all-industry GDP, millions of current dollars), read with plain pandas."""
    raw = pd.read_csv(
        shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz",
        encoding="latin-1",
        dtype=str,
        skipinitialspace=True,
    )
    raw = raw.loc[raw["LineCode"].str.strip() == "1"]
    raw["fips"] = raw["GeoFIPS"].str.strip().str.strip('"')
    states = raw.loc[raw["fips"].str.endswith("000") & (raw["fips"] < "57000")]
    rows = []
    for _, r in states.iterrows():
        for year in range(WINDOW[0], WINDOW[2] + 1):
            rows.append(
                {
                    "region_type": "nation" if r["fips"] == "00000" else "state",
                    "region_id": "US" if r["fips"] == "00000" else r["fips"][:2],
                    "year": year,
                    "value": float(r[str(year)]),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def unemployment(shared_data) -> pd.DataFrame:
    from clusteratlas.data.laus import read_laus_state_annual

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = read_laus_state_annual(
            shared_data / "qcew/laus_state_annual_1976_2018_staadata.xlsx"
        )
    return frame.loc[frame["outcome"] == "unemployment"].reset_index(drop=True)


def _row(result, region: str, phase: str) -> pd.Series:
    table = result.table
    return table.loc[(table["region_id"] == region) & (table["phase"] == phase)].iloc[0]


def test_michigan_gdp_near_zero_national_change_is_flagged(gdp):
    value = gdp.set_index(["region_id", "year"])["value"]
    g_mi = value[(MICHIGAN, 2009)] / value[(MICHIGAN, 2007)] - 1
    g_us = value[("US", 2009)] / value[("US", 2007)] - 1
    assert abs(g_us) < MIN_REFERENCE_GROWTH  # +0.03%: the situation of the issue
    with pytest.warns(UserWarning, match="reference change below 1%"):
        result = resilience(gdp, WINDOW, outcome=None, direction=outcome_direction("gdp"))
    row = _row(result, MICHIGAN, "resistance")
    # the number itself is kept (it is what the formula gives): -377.3 to 0.05
    assert row["resilience"] == pytest.approx((g_mi - g_us) / abs(g_us), rel=1e-10)
    assert row["resilience"] == pytest.approx(-377.3, abs=0.05)
    assert not row["index_reliable"]
    assert "reference change too small" in row["note"]
    # the difference form: regional minus national growth, percentage points (1e-10)
    assert row["difference_pp"] == pytest.approx(100 * (g_mi - g_us), rel=1e-10)
    assert row["difference_pp"] == pytest.approx(-10.0, abs=0.05)
    # the recovery (national +21%) is a reliable ratio
    recovery = _row(result, MICHIGAN, "recovery")
    assert recovery["index_reliable"] and recovery["note"] == ""
    # every state shares the national reference in the aggregate expectation: all flagged
    resist = result.table.loc[result.table["phase"] == "resistance"]
    assert not resist["index_reliable"].any()
    assert "unreliable" in result.summary()


def test_gdp_note_offers_real_gdp(gdp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = resilience(gdp.assign(outcome="gdp"), WINDOW, outcome="gdp")
    note = _row(result, MICHIGAN, "resistance")["note"]
    assert "SAGDP9N" in note and "chained" in note


def test_michigan_unemployment_lower_is_better(unemployment):
    value = unemployment.set_index(["region_id", "year"])["value"]
    g_mi = value[(MICHIGAN, 2009)] / value[(MICHIGAN, 2007)] - 1
    national = unemployment.groupby("year")["value"].sum()
    g_us = national[2009] / national[2007] - 1
    assert g_mi == pytest.approx(0.90, abs=0.005) and g_us == pytest.approx(1.02, abs=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no nation rows: the benchmark is the sum of states
        result = resilience(unemployment, WINDOW, outcome="unemployment")
        plain = resilience(unemployment, WINDOW, outcome="unemployment", direction=1)
    row = _row(result, MICHIGAN, "resistance")
    assert row["direction"] == "lower is better"
    # rose less than the nation: better, index +0.118 (1e-10 against the hand formula)
    assert row["resilience"] == pytest.approx(-(g_mi - g_us) / abs(g_us), rel=1e-10)
    assert row["resilience"] == pytest.approx(0.118, abs=0.0005)
    assert row["lagravinese"] == pytest.approx(row["resilience"], rel=1e-10)
    assert row["difference_pp"] == pytest.approx(-100 * (g_mi - g_us), rel=1e-10)
    assert row["index_reliable"]
    # the same data read as higher-is-better gives the wrong sign
    assert _row(plain, MICHIGAN, "resistance")["resilience"] == pytest.approx(-0.118, abs=0.0005)
    # Martin's beta is a ratio of growth rates: no direction
    assert row["sensitivity"] == pytest.approx(g_mi / g_us, rel=1e-10)


def test_direction_is_validated(gdp):
    with pytest.raises(ParameterError, match="direction"):
        resilience(gdp, WINDOW, direction=0)
    assert outcome_direction("unemployment_rate") == -1
    assert outcome_direction("gdp") == 1
