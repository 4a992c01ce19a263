"""Imputation estimator (Borusyak, Jaravel and Spiess 2024) against diff-diff and pyfixest.

Reference: diff-diff 3.13.0 ``ImputationDiD`` (default cohort x event-time auxiliary model,
no leave-one-out: documented parity with R ``didimputation``) on pyfixest 0.60.0's simulated
``df_het`` panel: overall ATT, every event-time effect and their conservative SEs to 1e-6
relative. The pre-trend test regression (BJS Test 1) against pyfixest ``feols`` on the
untreated observations (coefficients 1e-6 relative to the largest; F statistic with fixest's
CRV1 small-sample factor).
"""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from clusteratlas.causal.did import did2s, did_imputation
from clusteratlas.errors import EstimationError, InputError

dd = pytest.importorskip("diff_diff")

RTOL = 1e-6


@pytest.fixture(scope="module")
def df_het() -> pd.DataFrame:
    return pd.read_csv(importlib.resources.files("pyfixest") / "did/data/df_het.csv")


@pytest.fixture(scope="module")
def reference(df_het):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = dd.ImputationDiD().fit(
            df_het, outcome="dep_var", unit="unit", time="year", first_treat="g"
        )
        events = fit.aggregate("event_study").to_dataframe()
    return fit, events


def test_overall_att_and_conservative_se_match_diff_diff(df_het, reference):
    fit, _ = reference
    ours = did_imputation(df_het, "dep_var", "unit", "year", "g")
    assert ours.estimate == pytest.approx(fit.overall_att, rel=RTOL)
    assert ours.se == pytest.approx(fit.overall_se, rel=RTOL)
    assert ours.se_type.startswith("BJS conservative")


def test_event_time_effects_match_diff_diff(df_het, reference):
    _, events = reference
    ours = did_imputation(df_het, "dep_var", "unit", "year", "g", horizons=True)
    ref = events.loc[events["event_time"] >= 0].set_index("event_time")
    got = ours.coefs.set_index("event_time")
    assert list(got.index) == list(ref.index)  # 0..20
    np.testing.assert_allclose(got["estimate"], ref["att"], rtol=RTOL)
    np.testing.assert_allclose(got["std_error"], ref["se"], rtol=RTOL)
    # the headline ATT of the event study is the overall ATT
    static = did_imputation(df_het, "dep_var", "unit", "year", "g")
    assert ours.estimate == pytest.approx(static.estimate, rel=1e-12)


@pytest.mark.parametrize("cluster", ["unit", "state"])
def test_pretrend_test_is_bjs_test_1(df_het, cluster):
    ours = did_imputation(
        df_het, "dep_var", "unit", "year", "g", horizons=[0, 1], pretrends=3, cluster=cluster
    )
    untreated = df_het.loc[~df_het["treat"]].copy()
    for k in (1, 2, 3):
        untreated[f"lead{k}"] = (untreated["rel_year"] == -k).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(
            "dep_var ~ lead1 + lead2 + lead3 | unit + year",
            data=untreated,
            vcov={"CRV1": cluster},
            fixef_tol=1e-12,
        )
    coefs = ours.coefs.set_index("event_time")["estimate"]
    ref = fit.coef()
    scale = float(np.abs(ref).max())
    for k in (1, 2, 3):
        assert coefs[-k] == pytest.approx(float(ref[f"lead{k}"]), abs=RTOL * scale)
    wald = fit.wald_test(R=np.eye(3))
    assert ours.info["pretrend_F"] == pytest.approx(float(wald["statistic"]), rel=1e-5)
    assert ours.info["pretrend_p"] == pytest.approx(float(wald["pvalue"]), rel=1e-4, abs=1e-8)
    assert ours.vcov.shape == (5, 5)  # leads and horizons with their joint covariance


def test_target_weights_and_regression_weights(df_het):
    """Any weights: a weighting concentrated on one cohort equals that cohort's ATT."""
    data = df_het.assign(only_2000=(df_het["g"] == 2000).astype(float), w=1.0 + df_het["unit"] % 2)
    ours = did_imputation(data, "dep_var", "unit", "year", "g", target_weights="only_2000")
    per_obs = did2s(data, "dep_var", "unit", "year", "g")  # same first stage
    assert np.isfinite(ours.se) and ours.se > 0
    static = did_imputation(data, "dep_var", "unit", "year", "g")
    assert ours.estimate != pytest.approx(static.estimate, rel=1e-3)
    assert static.estimate == pytest.approx(per_obs.estimate, rel=1e-12)
    weighted = did_imputation(data, "dep_var", "unit", "year", "g", weights="w")
    two_stage = did2s(data, "dep_var", "unit", "year", "g", weights="w")
    assert weighted.estimate == pytest.approx(two_stage.estimate, rel=1e-12)


def test_bad_input(df_het):
    with pytest.raises(InputError, match="target weights"):
        did_imputation(df_het.assign(tw=-1.0), "dep_var", "unit", "year", "g", target_weights="tw")
    with pytest.raises(EstimationError, match="event times"):
        did_imputation(df_het, "dep_var", "unit", "year", "g", horizons=[99])
