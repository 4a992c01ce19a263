"""Treatment definitions from a cluster panel (treatment_from_panel).

The small panel here is SYNTHETIC (hand-made, 4 regions x 3 traded clusters x 2 years) so that
each rule's answer can be worked out by hand; the real-data test reads the USCM 2016 state
download from ../shared/data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusteratlas.causal.did import treatment_from_panel
from clusteratlas.data import cbp, clusters, uscm
from clusteratlas.errors import DesignWarning, ParameterError, SuppressedDataWarning
from clusteratlas.panel import panel_from_uscm


@pytest.fixture()
def panel() -> pd.DataFrame:
    rows = []
    # region -> (emp per cluster, strong flags) ; cluster 3 is local (never counts)
    spec = {
        "01": ([100, 50, 30], [True, False, False]),
        "02": ([10, 200, 30], [False, True, False]),
        "04": ([40, 40, 30], [False, False, False]),
        "05": ([300, 300, 30], [True, True, False]),
    }
    for year in (2018, 2019):
        for region, (emps, strong) in spec.items():
            for code, (emp, flag) in enumerate(zip(emps, strong, strict=True), start=1):
                rows.append(
                    {
                        "region_type": "state",
                        "region_id": region,
                        "year": year,
                        "cluster_code": str(code),
                        "cluster_name": f"c{code}",
                        "traded": code != 3,
                        "emp": float(emp),
                        "emp_reported": float(emp),
                        "est": 1.0,
                        "ap": 1.0,
                        "qp1": 1.0,
                        "wage": 1.0,
                        "lq": emp / 100.0,
                        "region_share": 0.0,
                        "national_share": 0.0,
                        "qualifying": flag,
                        "significant": flag,
                        "strong": flag,
                        "strong10": flag,
                    }
                )
    return pd.DataFrame(rows)


def test_any_strong(panel):
    out = treatment_from_panel(panel, "any_strong", year=2019, shock_year=2020)
    assert dict(zip(out["region_id"], out["treated"], strict=True)) == {
        "01": 1,
        "02": 1,
        "04": 0,
        "05": 1,
    }
    assert (out["measured_year"] == 2019).all()


def test_strength_quantile(panel):
    # strength = strong traded emp / traded emp: 01 100/150, 02 200/210, 04 0, 05 1.0
    out = treatment_from_panel(panel, "strength_quantile", year=2019, shock_year=2020, quantile=0.5)
    strength = np.array([100 / 150, 200 / 210, 0.0, 1.0])
    expected = (strength > np.quantile(strength, 0.5)).astype(int)
    assert out["treated"].tolist() == expected.tolist() == [0, 1, 0, 1]


def test_cluster_strong_and_intensity(panel):
    out = treatment_from_panel(
        panel, "cluster_strong", year=2018, shock_year=2020, cluster_code="2"
    )
    assert out["treated"].tolist() == [0, 1, 0, 1]
    dose = treatment_from_panel(panel, "intensity", year=2018, shock_year=2020)
    np.testing.assert_allclose(dose["intensity"], [100 / 150, 200 / 210, 0.0, 1.0])
    lq = treatment_from_panel(panel, "intensity", year=2018, shock_year=2020, cluster_code="1")
    np.testing.assert_allclose(lq["intensity"], [1.0, 0.1, 0.4, 3.0])


def test_treatment_after_shock_is_refused(panel):
    with pytest.raises(ParameterError, match="not before the shock"):
        treatment_from_panel(panel, "any_strong", year=2020, shock_year=2020)
    with pytest.raises(ParameterError, match="rule"):
        treatment_from_panel(panel, "biggest", year=2019, shock_year=2020)
    with pytest.raises(ParameterError, match="no panel rows"):
        treatment_from_panel(panel, "any_strong", year=2015, shock_year=2020)
    with pytest.raises(ParameterError, match="cluster_code"):
        treatment_from_panel(panel, "cluster_strong", year=2019, shock_year=2020)


def test_everyone_treated_warns(panel):
    everyone = panel.assign(strong=panel["traded"])
    with pytest.warns(DesignWarning, match="same group"):
        treatment_from_panel(everyone, "any_strong", year=2019, shock_year=2020)


@pytest.mark.realdata
def test_real_state_panel_2016(shared_data):
    """Real USCM 2016 state panel: 50+ states, both groups."""
    frame = uscm.read_uscm(shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz")
    national = cbp.read_setzler_national_industry(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    )
    definitions = clusters.load_definition("uscm", naics_vintage=2012)
    national = national.loc[national["year"] == 2016]
    with pytest.warns(SuppressedDataWarning, match="withheld cell"):
        panel = panel_from_uscm(frame, national, definitions)
    # every US state has at least one strong cluster in 2016: "any strong cluster" puts all
    # states in the treated group, so a state-level DID needs a finer rule
    with pytest.warns(DesignWarning, match="same group"):
        everyone = treatment_from_panel(
            panel, "any_strong", year=2016, shock_year=2020, region_type="state"
        )
    assert len(everyone) >= 50 and everyone["treated"].all()
    top = treatment_from_panel(
        panel, "strength_quantile", year=2016, shock_year=2020, region_type="state", quantile=0.75
    )
    assert 0.2 <= top["treated"].mean() <= 0.3
    dose = treatment_from_panel(panel, "intensity", year=2016, shock_year=2020, region_type="state")
    assert dose["intensity"].between(0, 1).all() and dose["intensity"].std() > 0


def test_n_strong_at_least_at_quantile_and_required_groups(panel):
    # n_strong: 01 1, 02 1, 04 0, 05 2
    two = treatment_from_panel(panel, "n_strong_at_least", year=2019, shock_year=2020, min_strong=2)
    assert two["treated"].tolist() == [0, 0, 0, 1]
    # every traded cluster strong in 01, 02, 05: strengths 1, 1, 0, 1, median 1 = the cut itself
    tied = panel.assign(strong=panel["region_id"].isin(["01", "02", "05"]) & panel["traded"])
    with pytest.warns(DesignWarning, match="same group"):
        strict = treatment_from_panel(
            tied, "strength_quantile", year=2019, shock_year=2020, quantile=0.5
        )
    at = treatment_from_panel(
        tied, "strength_quantile", year=2019, shock_year=2020, quantile=0.5, at_quantile=True
    )
    assert strict["treated"].tolist() == [0, 0, 0, 0]
    assert at["treated"].tolist() == [1, 1, 0, 1]
    with pytest.raises(ParameterError, match="same group"):
        treatment_from_panel(
            panel,
            "n_strong_at_least",
            year=2019,
            shock_year=2020,
            min_strong=3,
            require_both_groups=True,
        )
    with pytest.raises(ParameterError, match="min_strong"):
        treatment_from_panel(panel, "n_strong_at_least", year=2019, shock_year=2020, min_strong=0)


def test_cohort_from_panel_first_year_strong(panel):
    """SYNTHETIC: region 04 turns strong in 2019, 01/02/05 are strong from 2018 (the first
    year), and a region strong only in 2018 stays treated (absorbing)."""
    from clusteratlas.panel.design import cohort_from_panel

    later = panel.copy()
    turns = (later["region_id"] == "04") & (later["year"] == 2019) & (later["cluster_code"] == "1")
    later.loc[turns, "strong"] = True
    drops = (later["region_id"] == "02") & (later["year"] == 2019)
    later.loc[drops, "strong"] = False
    out = cohort_from_panel(later, "any_strong")
    assert dict(zip(out["region_id"], out["first_treated"], strict=True)) == {
        "01": 2018,
        "02": 2018,
        "04": 2019,
        "05": 2018,
    }
    never = cohort_from_panel(panel, "n_strong_at_least", min_strong=2)
    assert dict(zip(never["region_id"], never["first_treated"], strict=True)) == {
        "01": 0,
        "02": 0,
        "04": 0,
        "05": 2018,
    }
    with pytest.raises(ParameterError, match="0/1 rule"):
        cohort_from_panel(panel, "intensity")
