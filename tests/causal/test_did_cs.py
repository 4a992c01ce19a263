"""Callaway-Sant'Anna against R ``did``'s published numbers, moderndid and csdid.

Real data (read in place from installed PyPI packages):
* ``mpdta`` (county teen employment and minimum wages, Callaway & Sant'Anna 2021), shipped in
  moderndid. Published: R did vignette "Introduction to DiD with Multiple Time Periods"
  (bcallaway11.github.io/did/articles/multi-period-did.html), ``att_gt(yname="lemp",
  gname="first.treat", idname="countyreal", tname="year", xformla=~1, data=mpdta)`` and
  ``aggte``. Their SEs are multiplier-bootstrap draws, so SEs are compared loosely there
  and exactly with the analytic SEs of moderndid / csdid.
* causaldata ``castle`` (castle-doctrine laws, staggered 2005-2009).
* ``favara_imbs`` (interstate bank branching deregulation, Favara & Imbs 2015), shipped in
  moderndid: cohort = first year with a positive deregulation index.
"""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd
import pytest

from clusteratlas.causal.did import callaway_santanna, twfe
from clusteratlas.causal.did.cs import att_gt
from clusteratlas.errors import (
    DroppedObservationsWarning,
    EstimationError,
    InputError,
    ParameterError,
)

md = pytest.importorskip("moderndid")

#: R did vignette, ATT(g,t) point estimates (4 decimals) for mpdta, DR, never treated.
R_ATT_GT = {
    (2004, 2004): -0.0105,
    (2004, 2005): -0.0704,
    (2004, 2006): -0.1373,
    (2004, 2007): -0.1008,
    (2006, 2004): 0.0065,
    (2006, 2005): -0.0028,
    (2006, 2006): -0.0046,
    (2006, 2007): -0.0412,
    (2007, 2004): 0.0305,
    (2007, 2005): -0.0027,
    (2007, 2006): -0.0311,
    (2007, 2007): -0.0261,
}
#: R did vignette aggregates (overall ATT): simple, dynamic, group, calendar.
R_AGGREGATES = {
    "simple": (-0.0400, 0.0118),
    "dynamic": (-0.0772, 0.0200),
    "group": (-0.0310, 0.0126),
    "calendar": (-0.0417, 0.0167),
}
#: bootstrap SEs (R) vs analytic (ours): same asymptotic variance, Monte Carlo noise only
BOOT_SE_RTOL = 0.12


def _dataset(name: str) -> pd.DataFrame:
    root = importlib.resources.files("moderndid.core.datasets")
    if name.endswith(".pkl.gz"):
        return pd.read_pickle(root / name)
    return pd.read_csv(root / name)


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return _dataset("mpdta_long.pkl.gz")


def _moderndid(data, y, unit, time, group, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.att_gt(data=data, yname=y, tname=time, idname=unit, gname=group, boot=False, **kw)


@pytest.mark.realdata
def test_mpdta_matches_r_did_published(mpdta):
    result = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat")
    table = result.tidy()
    got = {(int(g), int(t)): e for g, t, e in table[["group", "time", "estimate"]].to_numpy()}
    assert set(got) == set(R_ATT_GT)
    for cell, published in R_ATT_GT.items():
        assert got[cell] == pytest.approx(published, abs=5e-5), cell
    for kind, (estimate, se) in R_AGGREGATES.items():
        agg = result.aggregate(kind)
        assert agg.estimate == pytest.approx(estimate, abs=5e-5), kind
        assert agg.se == pytest.approx(se, rel=BOOT_SE_RTOL), kind


@pytest.mark.realdata
@pytest.mark.parametrize("est_method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("covariates", [(), ("lpop",)])
def test_mpdta_matches_moderndid(mpdta, est_method, control_group, covariates):
    ours = att_gt(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "first.treat",
        covariates=covariates,
        est_method=est_method,
        control_group=control_group,
    )
    ref = _moderndid(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "first.treat",
        xformla="~" + "+".join(covariates) if covariates else None,
        est_method=est_method,
        control_group=control_group,
    )
    np.testing.assert_allclose(ours.table["estimate"], ref.att_gt, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.table["std_error"], ref.se_gt, rtol=1e-9)
    for kind in ("simple", "group", "dynamic", "calendar"):
        mine = ours.aggregate(kind)
        theirs = md.aggte(ref, type=kind)
        assert mine.estimate == pytest.approx(theirs.overall_att, rel=1e-9), kind
        assert mine.se == pytest.approx(theirs.overall_se, rel=1e-9), kind
        if kind != "simple":
            np.testing.assert_allclose(mine.by["estimate"], theirs.att_by_event, rtol=1e-9)
            np.testing.assert_allclose(mine.by["std_error"], theirs.se_by_event, rtol=1e-9)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "window",
    [
        {"balance_e": 0},
        {"balance_e": 1},
        {"balance_e": 2, "min_e": -2, "max_e": 1},
        {"balance_e": 1, "max_e": 0},
    ],
)
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_dynamic_balance_e_matches_moderndid(mpdta, window, base_period):
    """R did's ``aggte(type="dynamic", balance_e=...)`` (with min_e/max_e) on mpdta, against
    moderndid 0.2.0's aggte (a port of R did 2.x): every event-time effect, the overall ATT
    and all analytic SEs to 1e-9 relative."""
    ours = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", base_period=base_period)
    ref = _moderndid(mpdta, "lemp", "countyreal", "year", "first.treat", base_period=base_period)
    got = ours.aggregate("dynamic", **window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = md.aggte(ref, type="dynamic", **window)
    assert got.estimate == pytest.approx(expected.overall_att, rel=1e-9)
    assert got.se == pytest.approx(expected.overall_se, rel=1e-9)
    assert got.by["event_time"].tolist() == [int(e) for e in expected.event_times]
    np.testing.assert_allclose(got.by["estimate"], expected.att_by_event, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(got.by["std_error"], expected.se_by_event, rtol=1e-9)


def test_balance_e_only_for_dynamic(mpdta):
    result = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(ParameterError, match="balance_e"):
        result.aggregate("group", balance_e=1)
    with pytest.raises(ParameterError, match="balance_e"):
        result.aggregate("dynamic", balance_e=-1)


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    causaldata = pytest.importorskip("causaldata")
    data = causaldata.castle.load_pandas().data
    first = data.loc[data["post"] > 0].groupby("sid")["year"].min()
    return data.assign(effyear=data["sid"].map(first).fillna(0).astype(int))


@pytest.mark.realdata
def test_castle_matches_moderndid_and_csdid(castle):
    ours = callaway_santanna(castle, "l_homicide", "sid", "year", "effyear")
    ref = _moderndid(castle, "l_homicide", "sid", "year", "effyear")
    # l_homicide is stored as float32: the packages differ in when they upcast (~1e-9)
    np.testing.assert_allclose(ours.table["estimate"], ref.att_gt, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.table["std_error"], ref.se_gt, rtol=1e-6)
    csdid = pytest.importorskip("csdid.att_gt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = csdid.ATTgt(
            yname="l_homicide",
            gname="effyear",
            idname="sid",
            tname="year",
            data=castle.loc[:, ["l_homicide", "effyear", "sid", "year"]].copy(),
        ).fit(est_method="dr", bstrap=False)
    np.testing.assert_allclose(ours.table["estimate"], other.results["att"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.table["std_error"], other.results["se"], rtol=1e-6)
    simple = ours.aggregate("simple")
    assert simple.estimate == pytest.approx(md.aggte(ref, type="simple").overall_att, rel=1e-6)


@pytest.mark.realdata
def test_favara_imbs_bank_deregulation(recwarn):
    data = _dataset("favara_imbs.csv.gz")
    # counties with a missing outcome year are left out (a balanced panel, as did requires)
    incomplete = data.loc[data["Dl_vloans_b"].isna(), "county"].unique()
    data = data.loc[~data["county"].isin(incomplete)]
    first = data.loc[data["inter_bra"] > 0].groupby("county")["year"].min()
    data = data.assign(cohort=data["county"].map(first).fillna(0).astype(int))
    ours = att_gt(data, "Dl_vloans_b", "county", "year", "cohort", control_group="notyettreated")
    kept = data.loc[~data["cohort"].between(1, data["year"].min())]
    kept = kept.loc[kept.groupby("county")["year"].transform("size") == data["year"].nunique()]
    ref = _moderndid(kept, "Dl_vloans_b", "county", "year", "cohort", control_group="notyettreated")
    np.testing.assert_allclose(ours.table["estimate"], ref.att_gt, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.table["std_error"], ref.se_gt, rtol=1e-8)
    dyn = ours.aggregate("dynamic")
    assert dyn.estimate == pytest.approx(md.aggte(ref, type="dynamic").overall_att, rel=1e-8)


@pytest.mark.realdata
def test_multiplier_bootstrap_close_to_analytic(mpdta):
    analytic = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat")
    boot = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=999, seed=3)
    np.testing.assert_allclose(boot.table["std_error"], analytic.table["std_error"], rtol=0.15)
    # uniform band is wider than the pointwise one
    width_boot = boot.table["conf_high"] - boot.table["conf_low"]
    assert (width_boot > 2 * 1.96 * boot.table["std_error"]).all()
    agg = boot.aggregate("dynamic")
    assert agg.se == pytest.approx(analytic.aggregate("dynamic").se, rel=0.15)


def _staggered(seed=2):
    """SYNTHETIC: cohorts 4, 6, never; effect grows with exposure and differs by cohort."""
    rng = np.random.default_rng(seed)
    n, periods = 1500, 8
    unit = np.repeat(np.arange(n), periods)
    time = np.tile(np.arange(1, periods + 1), n)
    cohort = np.repeat(rng.choice([4, 6, 0], size=n, p=[0.3, 0.3, 0.4]), periods)
    exposure = np.where((cohort > 0) & (time >= cohort), time - cohort + 1, 0)
    scale = np.where(cohort == 4, 1.0, 2.0)
    effect = scale * exposure
    y = (
        np.repeat(rng.normal(size=n), periods)
        + 0.3 * time
        + effect
        + rng.normal(scale=0.5, size=n * periods)
    )
    frame = pd.DataFrame(
        {
            "y": y,
            "unit": unit,
            "time": time,
            "cohort": cohort,
            "d": (exposure > 0).astype(float),
            "effect": effect,
        }
    )
    return frame


def test_recovers_heterogeneous_staggered_effects():
    """SYNTHETIC: every ATT(g,t) within 4 SE of its truth; simple ATT close, TWFE biased."""
    data = _staggered()
    result = att_gt(data, "y", "unit", "time", "cohort")
    truth = data.loc[data["cohort"] > 0].groupby(["cohort", "time"])["effect"].mean()
    for _, row in result.table.iterrows():
        true = truth[(row["group"], row["time"])] if row["time"] >= row["group"] else 0.0
        assert abs(row["estimate"] - true) < 4 * row["std_error"] + 1e-9, row.to_dict()
    post = data.loc[(data["cohort"] > 0) & (data["time"] >= data["cohort"])]
    simple = result.aggregate("simple")
    assert abs(simple.estimate - post["effect"].mean()) < 4 * simple.se
    # TWFE with heterogeneous dynamic effects is off by far more than its SE (illustration)
    naive = twfe(data, "y", "unit", "time", "d")
    assert abs(naive.estimate - post["effect"].mean()) > 4 * naive.se


def test_bad_inputs(mpdta):
    with pytest.raises(ParameterError, match="est_method"):
        att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", est_method="tmle")
    never = mpdta.loc[mpdta["first.treat"] > 0]
    with pytest.raises(EstimationError, match="notyettreated"):
        att_gt(never, "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(EstimationError, match="ever treated"):
        att_gt(mpdta.assign(g=0), "lemp", "countyreal", "year", "g")
    broken = mpdta.copy()
    broken.loc[3, "lemp"] = np.nan
    with pytest.raises(InputError, match="missing values in 'lemp'"):
        att_gt(broken, "lemp", "countyreal", "year", "first.treat")
    with (
        pytest.warns(DroppedObservationsWarning, match="not observed in all"),
        pytest.warns(DroppedObservationsWarning, match="dropped 1 rows with missing 'lemp'"),
    ):
        att_gt(broken, "lemp", "countyreal", "year", "first.treat", missing="drop")
    with pytest.raises(InputError, match="varies within a unit"):
        att_gt(
            mpdta.assign(g=mpdta["first.treat"] + (mpdta["year"] == 2004) * 1),
            "lemp",
            "countyreal",
            "year",
            "g",
        )
