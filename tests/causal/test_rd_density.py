"""Our rddensity/rdbwdensity against the rddensity package (3.0) on real public data.

Compared: test statistic, p-value, bandwidths (left/right), density estimates on each side to
1e-6 relative, effective sample sizes exactly; for rdbwdensity all four bandwidth rows.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rd_datasets  # noqa: E402

from clusteratlas.causal.rd.density import rdbwdensity, rddensity  # noqa: E402
from clusteratlas.errors import EstimationError, InputError  # noqa: E402

ref = pytest.importorskip("rddensity")
RTOL = 1e-6

OPTIONS = [
    {},
    {"vce": "plugin"},
    {"fitselect": "restricted"},
    {"fitselect": "restricted", "vce": "plugin", "bwselect": "sum"},
    {"kernel": "uniform", "bwselect": "each"},
    {"kernel": "epanechnikov", "p": 1, "bwselect": "diff"},
    {"p": 3},
]


def _running(name, shared_data=None):
    if name == "senate":
        return rd_datasets.senate()["margin"].dropna().to_numpy(), 0.0
    if name == "lmb":
        return rd_datasets.lmb()["lagdemvoteshare"].to_numpy(), 0.5
    if name == "gov":
        return rd_datasets.gov()["Income_Centered"].to_numpy(), 0.0
    if name == "mortgages":  # quarters of birth: mass points
        return rd_datasets.mortgages()["qob_minus_kw"].to_numpy(), 0.0
    return rd_datasets.uscm(shared_data)["log_lq"].to_numpy(), 0.0


def _compare(x, c, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_options = {("massPoints" if k == "masspoints" else k): v for k, v in options.items()}
        theirs = ref.rddensity(x, c=c, bino_flag=False, **ref_options)
    ours = rddensity(x, c=c, **options)
    jack = options.get("vce", "jackknife") == "jackknife"
    t_col, p_col = ("t_jk", "p_jk") if jack else ("t_asy", "p_asy")
    np.testing.assert_allclose(
        [ours.t, ours.p_value, *ours.h, ours.f_left, ours.f_right],
        [
            theirs.test[t_col],
            theirs.test[p_col],
            theirs.h["left"],
            theirs.h["right"],
            theirs.hat["left"],
            theirs.hat["right"],
        ],
        rtol=RTOL,
    )
    assert ours.N_h == (int(theirs.n["eff_left"]), int(theirs.n["eff_right"]))
    return ours


@pytest.mark.realdata
@pytest.mark.parametrize("dataset", ["senate", "lmb", "gov"])
@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_rddensity_matches_reference(dataset, options):
    x, c = _running(dataset)
    _compare(x, c, **options)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "options", [{}, {"masspoints": False}, {"fitselect": "restricted", "vce": "plugin"}]
)
def test_rddensity_mass_points(options):
    x, c = _running("mortgages")
    _compare(x, c, **options)


@pytest.mark.realdata
def test_rddensity_uscm_location_quotient(shared_data):
    x, c = _running("uscm", shared_data)
    ours = _compare(x, c)
    assert 0 <= ours.p_value <= 1 and "T =" in ours.summary()


@pytest.mark.realdata
@pytest.mark.parametrize("fitselect", ["unrestricted", "restricted"])
def test_rdbwdensity_all_rows(fitselect):
    x, c = _running("senate")
    theirs = ref.rdbwdensity(x, c=c, fitselect=fitselect).h
    ours = rdbwdensity(x, c=c, fitselect=fitselect)
    np.testing.assert_allclose(ours["bw"].to_numpy(), theirs["bw"].to_numpy(), rtol=RTOL)


def test_manual_bandwidth_and_errors():
    x, c = _running("senate")
    _compare(x, c, h=10.0)
    with pytest.raises(EstimationError, match="both sides"):
        rddensity(np.abs(x) + 1, c=0.5)
    with pytest.raises(InputError, match="missing"):
        rddensity(np.r_[x, np.nan], c=c)
    with pytest.raises(EstimationError, match="too few"):
        rddensity(x, c=c, h=0.01)


def test_no_manipulation_in_uniform_draws_is_not_rejected_too_often():
    """SYNTHETIC: x ~ U(-1, 1) has no density jump at 0; the 5% test should reject rarely."""
    rng = np.random.default_rng(20240501)
    rejections = sum(rddensity(rng.uniform(-1, 1, 1500)).p_value < 0.05 for _ in range(40))
    assert rejections <= 6  # expected 2 of 40; P(>6 | 5% size) < 0.3%


def test_heaping_on_one_side_is_detected():
    """SYNTHETIC: extra mass just right of the cutoff (manipulation) must be detected."""
    rng = np.random.default_rng(7)
    x = np.r_[rng.uniform(-1, 1, 3000), rng.uniform(0, 0.1, 400)]
    assert rddensity(x).p_value < 0.01
