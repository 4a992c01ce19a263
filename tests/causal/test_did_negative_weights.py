"""Goodman-Bacon decomposition and de Chaisemartin-D'Haultfoeuille weights.

Real data: causaldata ``castle`` (castle-doctrine laws, staggered 2005-2010, 50 states x
11 years). Reference: diff-diff 3.13.0 ``BaconDecomposition`` (exact weights, R
``bacondecomp`` parity): every 2x2 estimate and weight to 1e-9; the identity
sum(weight x estimate) = TWFE coefficient (:func:`twfe`) to 1e-10. dCDH weights: on
SYNTHETIC data without noise the weighted sum of the true effects reproduces TWFE exactly,
and early cohorts' late periods get negative weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from did_synthetic import staggered_panel

from clusteratlas.causal.did import bacon_decomposition, twfe, twfe_weights
from clusteratlas.errors import InputError

dd = pytest.importorskip("diff_diff")
causaldata = pytest.importorskip("causaldata")

TYPES = {
    "treated_vs_never": "treated vs never",
    "earlier_vs_later": "earlier vs later",
    "later_vs_earlier": "later vs earlier",
}


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    data = causaldata.castle.load_pandas().data
    first = data.loc[data["post"] > 0].groupby("sid")["year"].min()
    data = data.assign(effyear=data["sid"].map(first).fillna(0).astype(int))
    return data.assign(D=((data["effyear"] > 0) & (data["year"] >= data["effyear"])).astype(float))


def test_bacon_matches_diff_diff_and_twfe(castle):
    ours = bacon_decomposition(castle, "l_homicide", "sid", "year", "effyear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = dd.BaconDecomposition().fit(
            castle, outcome="l_homicide", unit="sid", time="year", first_treat="effyear"
        )
    ref_rows = pd.DataFrame(
        [
            {
                "type": TYPES[c.comparison_type],
                "treated": float(c.treated_group),
                "control": "never"
                if c.control_group == "never_treated"
                else float(c.control_group),
                "ref_estimate": c.estimate,
                "ref_weight": c.weight,
            }
            for c in ref.comparisons
        ]
    )
    merged = ours.comparisons.merge(ref_rows, on=["type", "treated", "control"], how="outer")
    assert len(merged) == len(ours.comparisons) == len(ref_rows)
    np.testing.assert_allclose(merged["estimate"], merged["ref_estimate"], rtol=1e-9)
    np.testing.assert_allclose(merged["weight"], merged["ref_weight"], rtol=1e-9)
    assert ours.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    regression = twfe(castle, "l_homicide", "sid", "year", "D")
    assert ours.twfe_estimate == pytest.approx(regression.estimate, rel=1e-10)
    weighted = float(ours.comparisons["estimate"] @ ours.comparisons["weight"])
    assert weighted == pytest.approx(regression.estimate, rel=1e-10)
    by_type = ours.by_type.set_index("type")
    assert by_type.loc["later vs earlier", "weight"] == pytest.approx(
        ref.total_weight_later_vs_earlier, rel=1e-9
    )


def test_dcdh_weights_reproduce_twfe_and_show_negative_weights():
    """SYNTHETIC, no noise: TWFE = sum of w_it * effect_it exactly; with long exposure,
    early cohorts' late periods carry negative weight."""
    panel = staggered_panel(noise=0.0)
    weights = twfe_weights(panel, "y", "unit", "year", "cohort")
    merged = weights.weights.rename(columns={"time": "year"}).merge(
        panel[["unit", "year", "effect"]], on=["unit", "year"]
    )
    implied = float(merged["weight"] @ merged["effect"])
    regression = twfe(panel, "y", "unit", "year", "treated")
    assert weights.twfe_estimate == pytest.approx(regression.estimate, rel=1e-10)
    assert implied == pytest.approx(regression.estimate, rel=1e-9)
    assert weights.weights["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert weights.info["n_negative"] > 0
    negative = weights.weights.loc[weights.weights["weight"] < 0]
    assert negative["cohort"].min() == 2005 and negative["event_time"].min() >= 5


def test_bacon_needs_a_balanced_panel(castle):
    with pytest.raises(InputError, match="balanced"):
        bacon_decomposition(castle.iloc[1:], "l_homicide", "sid", "year", "effyear")
