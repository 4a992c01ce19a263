"""Two-stage DID (Gardner 2021) against pyfixest's ``did2s`` on the panel pyfixest ships.

Reference: pyfixest 0.60.0 ``did2s`` and ``event_study(estimator="did2s")`` (a translation of
Kyle Butts' R ``did2s``) on ``pyfixest/did/data/df_het.csv`` (simulated staggered panel,
1,500 units x 31 years, clustered by state). pyfixest demeans iteratively (tolerance ~1e-8);
ours solves the first stage directly, so agreement is to 1e-6 relative unweighted. With
weights pyfixest is 2.4e-6 off the exact WLS (checked here against a dense dummy regression,
which ours equals to 1e-10).
"""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from did_synthetic import staggered_panel, true_att, true_event_effects

from clusteratlas.causal.did import did2s, did_imputation, sun_abraham, twfe
from clusteratlas.errors import InputError, ParameterError

RTOL = 1e-6


@pytest.fixture(scope="module")
def df_het() -> pd.DataFrame:
    return pd.read_csv(importlib.resources.files("pyfixest") / "did/data/df_het.csv")


def _ref(df, second, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.did2s(
            df,
            yname="dep_var",
            first_stage=kw.pop("first", "~ 0 | unit + year"),
            second_stage=second,
            treatment="treat",
            cluster="state",
            **kw,
        )


def test_static_matches_pyfixest_did2s(df_het):
    ours = did2s(df_het, "dep_var", "unit", "year", "g", cluster="state")
    ref = _ref(df_het, "~i(treat)")
    assert ours.estimate == pytest.approx(float(ref.coef().iloc[0]), rel=RTOL)
    assert ours.se == pytest.approx(float(ref.se().iloc[0]), rel=RTOL)
    assert ours.nobs == len(df_het)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = pf.event_study(
            df_het,
            yname="dep_var",
            idname="unit",
            tname="year",
            gname="g",
            estimator="did2s",
            cluster="state",
        )
    assert ours.estimate == pytest.approx(float(es.coef().iloc[0]), rel=RTOL)
    assert ours.se == pytest.approx(float(es.se().iloc[0]), rel=RTOL)


def test_event_study_matches_pyfixest_coefficient_by_coefficient(df_het):
    ours = did2s(df_het, "dep_var", "unit", "year", "g", cluster="state", event_study=True)
    ref = _ref(df_het, "~i(rel_year, ref=-1.0)")
    coef, se = ref.coef(), ref.se()
    # pyfixest's iterative demeaning leaves ~5e-8 absolute error in each coefficient (its
    # never-treated coefficient, exactly 0 by the first-stage normal equations, is -5.8e-8),
    # so small coefficients are compared to 1e-6 of the largest one
    assert abs(float(coef["rel_year::-inf"])) < 1e-7
    scale = float(np.abs(coef).max())
    compared = 0
    for row in ours.coefs.itertuples():
        name = f"rel_year::{float(row.event_time)}"
        assert row.estimate == pytest.approx(float(coef[name]), rel=RTOL, abs=RTOL * scale)
        assert row.std_error == pytest.approx(float(se[name]), rel=RTOL)
        compared += 1
    assert compared == 40  # -20..20 without -1
    assert ours.vcov.shape == (40, 40)


def test_weights_and_covariates(df_het):
    data = df_het.assign(w=1.0 + (df_het["unit"] % 3), x=np.sin(df_het["unit"] + df_het["year"]))
    ours = did2s(data, "dep_var", "unit", "year", "g", cluster="state", weights="w")
    # exact WLS first stage with dense dummies (the definition of the estimator)
    units = pd.factorize(data["unit"])[0]
    years = pd.factorize(data["year"])[0]
    dummies = np.zeros((len(data), units.max() + years.max() + 1))
    dummies[np.arange(len(data)), units] = 1
    later = years > 0
    dummies[np.flatnonzero(later), units.max() + years[later]] = 1
    untreated = ~data["treat"].to_numpy()
    root_w = np.sqrt(data["w"].to_numpy())
    coef = np.linalg.lstsq(
        dummies[untreated] * root_w[untreated, None],
        data["dep_var"].to_numpy()[untreated] * root_w[untreated],
        rcond=None,
    )[0]
    resid = data["dep_var"].to_numpy() - dummies @ coef
    treated = ~untreated
    exact = np.sum(data["w"][treated] * resid[treated]) / data["w"][treated].sum()
    assert ours.estimate == pytest.approx(exact, rel=1e-10)
    ref = _ref(data, "~i(treat)", weights="w")
    assert ours.estimate == pytest.approx(float(ref.coef().iloc[0]), rel=1e-5)
    assert ours.se == pytest.approx(float(ref.se().iloc[0]), rel=1e-5)

    ours_x = did2s(data, "dep_var", "unit", "year", "g", cluster="state", covariates=["x"])
    ref_x = _ref(data, "~i(treat)", first="~ x | unit + year")
    assert ours_x.estimate == pytest.approx(float(ref_x.coef().iloc[0]), rel=RTOL)
    assert ours_x.se == pytest.approx(float(ref_x.se().iloc[0]), rel=RTOL)


def test_static_equals_imputation_point_estimate(df_het):
    """Unweighted, both are the mean imputed effect over treated observations."""
    two_stage = did2s(df_het, "dep_var", "unit", "year", "g")
    imputation = did_imputation(df_het, "dep_var", "unit", "year", "g")
    assert two_stage.estimate == pytest.approx(imputation.estimate, rel=1e-12)


def test_synthetic_heterogeneous_effects_twfe_biased_robust_estimators_not():
    """SYNTHETIC: growing, cohort-specific effects. TWFE misses the ATT by far more than its
    SE; two-stage, imputation and Sun-Abraham recover the ATT and the event-time path."""
    panel = staggered_panel()
    truth = true_att(panel)
    naive = twfe(panel, "y", "unit", "year", "treated")
    assert abs(naive.estimate - truth) > 10 * naive.se  # biased (here downward)
    assert naive.estimate < truth
    for result in (
        did2s(panel, "y", "unit", "year", "cohort"),
        did_imputation(panel, "y", "unit", "year", "cohort"),
    ):
        assert abs(result.estimate - truth) < 4 * result.se
        assert abs(result.estimate - truth) < 0.03  # TWFE is off by more than 1.0
    path = true_event_effects(panel)
    for es in (
        did2s(panel, "y", "unit", "year", "cohort", event_study=True),
        did_imputation(panel, "y", "unit", "year", "cohort", horizons=True),
        sun_abraham(panel, "y", "unit", "year", "cohort"),
    ):
        post = es.coefs.loc[es.coefs["event_time"] >= 0].set_index("event_time")
        gap = (post["estimate"] - path.reindex(post.index)).abs()
        assert (gap < 4 * post["std_error"]).all(), es.method
        assert gap.max() < 0.08, es.method  # effects reach 4.5 by event time 14
        pre = es.coefs.loc[es.coefs["event_time"] < 0]
        assert (pre["estimate"].abs() < 4 * pre["std_error"]).all(), es.method


def test_bad_input(df_het):
    with pytest.raises(InputError, match="no column"):
        did2s(df_het, "dep_var", "unit", "year", "nope")
    with pytest.raises(ParameterError, match="reference"):
        did2s(
            df_het, "dep_var", "unit", "year", "g", event_study=True, leads=3, lags=2, reference=-5
        )
    with pytest.raises(InputError, match="twice"):
        did2s(pd.concat([df_het, df_het.head(1)]), "dep_var", "unit", "year", "g")
    always = df_het.assign(g=np.where(df_het["unit"] == 1, 1990, df_het["g"]))
    with pytest.warns(UserWarning, match="treated in every observed period"):
        did2s(always, "dep_var", "unit", "year", "g")
