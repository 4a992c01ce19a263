"""Our rdrobust/rdbwselect against the rdrobust package (2.1.1) on real public data.

Every case calls the reference inside the test and compares coefficients, standard errors,
confidence intervals, p-values, bandwidths (h, b per side) to 1e-6 relative and the effective
sample sizes (N, N_h, N_b) exactly. Datasets: see ``rd_datasets.py`` (all real).
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rd_datasets  # noqa: E402

from clusteratlas.causal.rd import rdbwselect, rdrobust  # noqa: E402
from clusteratlas.errors import ParameterWarning

ref = pytest.importorskip("rdrobust")
RTOL = 1e-6


def _reference(**kw):
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ref.rdrobust(**kw)


def _ours(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rdrobust(**kw, dropna=True)


def assert_matches(theirs, ours, fuzzy=False):
    np.testing.assert_allclose(ours.coef.to_numpy(), theirs.coef.to_numpy().ravel(), rtol=RTOL)
    np.testing.assert_allclose(ours.se.to_numpy(), theirs.se.to_numpy().ravel(), rtol=RTOL)
    np.testing.assert_allclose(ours.ci.to_numpy(), theirs.ci.to_numpy(), rtol=RTOL)
    # p-values below 1e-12 are at the floating-point floor of the normal cdf: compare absolutely.
    np.testing.assert_allclose(
        ours.pv.to_numpy(), theirs.pv.to_numpy().ravel(), rtol=RTOL, atol=1e-12
    )
    np.testing.assert_allclose([*ours.h, *ours.b], theirs.bws.to_numpy().ravel(), rtol=RTOL)
    assert list(ours.N) == [int(v) for v in theirs.N]
    assert list(ours.N_h) == [int(v) for v in theirs.N_h]
    assert list(ours.N_b) == [int(v) for v in theirs.N_b]
    assert ours.n_clusters == theirs.n_clust
    if theirs.n_clust is not None:
        assert ours.n_clusters_sides == (theirs.n_clust_l, theirs.n_clust_r)
    if fuzzy:
        fs = ours.first_stage
        # atol: with perfect compliance (gov) the first-stage s.e. is exactly zero up to rounding.
        np.testing.assert_allclose(
            fs["estimate"], theirs.tau_T.to_numpy().ravel(), rtol=RTOL, atol=1e-12
        )
        np.testing.assert_allclose(
            fs["std_error"], theirs.se_T.to_numpy().ravel(), rtol=RTOL, atol=1e-12
        )


def _compare(frame, fuzzy=None, **options):
    kw = {k: (frame[v] if k in ("y", "x", "cluster", "weights") else v) for k, v in options.items()}
    if fuzzy is not None:
        kw["fuzzy"] = frame[fuzzy]
    if isinstance(options.get("covs"), list):
        kw["covs"] = frame[options["covs"]]
    theirs = _reference(**kw)
    ours = _ours(**kw)
    assert_matches(theirs, ours, fuzzy=fuzzy is not None)
    return ours


# ----------------------------------------------------------------------------- sharp RD --

SENATE_CASES = [
    {},
    {"kernel": "uniform", "vce": "hc0"},
    {"kernel": "epanechnikov", "vce": "hc2"},
    {"kernel": "triangular", "vce": "hc3", "bwselect": "msetwo"},
    {"vce": "hc1", "bwselect": "msesum"},
    {"bwselect": "msecomb1"},
    {"bwselect": "msecomb2", "kernel": "epa"},
    {"bwselect": "cerrd"},
    {"bwselect": "certwo", "vce": "hc1"},
    {"bwselect": "cersum"},
    {"bwselect": "cercomb1"},
    {"bwselect": "cercomb2", "kernel": "uni"},
    {"p": 2, "q": 3},
    {"deriv": 1},
    {"h": 15.0, "rho": 0.5},
    {"h": (12.0, 18.0), "b": (20.0, 25.0), "vce": "hc2"},
    {"level": 90, "nnmatch": 5},
    {"scaleregul": 0},
    {"cluster": "state"},
    {"cluster": "state", "bwselect": "msetwo"},
    {"covs": ["population", "presdemvoteshlag1", "termshouse"]},
    {"covs": ["population", "presdemvoteshlag1"], "vce": "hc1", "cluster": "state"},
    {"weights": "population", "vce": "hc1"},
    {"weights": "weight_some_zero"},
    {"masspoints": "off", "stdvars": False},
]


@pytest.mark.realdata
@pytest.mark.parametrize("options", SENATE_CASES, ids=[str(o) for o in SENATE_CASES])
def test_senate_sharp(options):
    frame = rd_datasets.senate().dropna(
        subset=["vote", "margin", "population", "presdemvoteshlag1", "termshouse"]
    )
    # deterministic weights with zeros: zero-weight rows must drop out of every count and fit
    frame = frame.assign(
        weight_some_zero=np.where(
            np.arange(len(frame)) % 7 == 0, 0.0, 1.0 + np.arange(len(frame)) % 3
        )
    )
    _compare(frame, y="vote", x="margin", **options)


LMB_CASES = [
    {},
    {"vce": "hc1", "cluster": "state"},
    {"kernel": "uni", "bwselect": "certwo"},
    {"masspoints": "check"},
]


@pytest.mark.realdata
@pytest.mark.parametrize("options", LMB_CASES, ids=[str(o) for o in LMB_CASES])
def test_lmb_sharp(options):
    _compare(rd_datasets.lmb(), y="score", x="lagdemvoteshare", c=0.5, **options)


GOV_CASES = [{}, {"covs": ["Education", "Age"]}, {"vce": "hc3", "kernel": "epa"}]


@pytest.mark.realdata
@pytest.mark.parametrize("options", GOV_CASES, ids=[str(o) for o in GOV_CASES])
def test_gov_transfers_sharp(options):
    _compare(rd_datasets.gov(), y="Support", x="Income_Centered", **options)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "options",
    [{}, {"vce": "hc1", "cluster": "cluster_code_t"}, {"weights": "emp_tl", "vce": "hc0"}],
)
def test_uscm_location_quotient_sharp(shared_data, options):
    _compare(rd_datasets.uscm(shared_data), y="rel_wage", x="log_lq", **options)


# ----------------------------------------------------------------------------- fuzzy RD --

FUZZY = [
    ("senate_fuzzy", "vote", "margin", 0.0, "treated", {}),
    (
        "senate_fuzzy",
        "vote",
        "margin",
        0.0,
        "treated",
        {"kernel": "epa", "vce": "hc3", "bwselect": "cercomb2"},
    ),
    ("gov", "Support", "Income_Centered", 0.0, "Participation", {}),
    (
        "gov",
        "Support",
        "Income_Centered",
        0.0,
        "Participation",
        {"covs": ["Education", "Age"], "vce": "hc1"},
    ),
    ("gov", "Support", "Income_Centered", 0.0, "Participation", {"sharpbw": True, "kernel": "uni"}),
    ("lmb", "score", "lagdemvoteshare", 0.5, "democrat", {}),
    ("lmb", "score", "lagdemvoteshare", 0.5, "democrat", {"vce": "hc1", "cluster": "state"}),
    ("lmb", "score", "lagdemvoteshare", 0.5, "democrat", {"bwselect": "msetwo", "vce": "hc2"}),
    ("mortgages", "home_ownership", "qob_minus_kw", 0.0, "vet_wwko", {}),
    (
        "mortgages",
        "home_ownership",
        "qob_minus_kw",
        0.0,
        "vet_wwko",
        {"vce": "hc1", "masspoints": "off"},
    ),
    (
        "mortgages",
        "home_ownership",
        "qob_minus_kw",
        0.0,
        "vet_wwko",
        {"covs": ["nonwhite"], "vce": "hc0", "cluster": "bpl"},
    ),
    ("rcp", "log_cn", "elig_year", 0.0, "retired", {}),
    (
        "rcp",
        "log_cn",
        "elig_year",
        0.0,
        "retired",
        {"kernel": "uniform", "vce": "hc1", "bwselect": "msetwo"},
    ),
    (
        "rcp",
        "log_cn",
        "elig_year",
        0.0,
        "retired",
        {"kernel": "epa", "bwselect": "cerrd", "covs": ["family_size"], "cluster": "survey_year"},
    ),
]


@pytest.mark.realdata
@pytest.mark.parametrize("case", FUZZY, ids=[f"{c[0]}-{c[5]}" for c in FUZZY])
def test_fuzzy(case):
    """lmb, mortgages and rcp are real imperfect-compliance designs; senate_fuzzy has a treatment we
    constructed (ARTIFICIAL fuzzy, see rd_datasets.senate_fuzzy); gov has perfect compliance
    (Participation = 1 exactly left of the cutoff), exercising rdrobust's sharp-bandwidth path."""
    name, y, x, c, t, options = case
    frame = getattr(rd_datasets, name)()
    ours = _compare(frame, fuzzy=t, y=y, x=x, c=c, **options)
    assert ours.fuzzy and ours.first_stage is not None


# ----------------------------------------------------------------------------- rdbwselect --


@pytest.mark.realdata
@pytest.mark.parametrize(
    "options", [{}, {"vce": "hc1", "cluster": "state"}, {"kernel": "epa", "covs": ["population"]}]
)
def test_rdbwselect_all_selectors(options):
    frame = rd_datasets.senate().dropna(subset=["vote", "margin", "population"])
    kw = {"y": frame["vote"], "x": frame["margin"], "all": True}
    for key, val in options.items():
        kw[key] = frame[val] if key in ("cluster",) else (frame[val] if key == "covs" else val)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ref.rdbwselect(**kw)
    if options.get("vce") == "hc1":
        with pytest.warns(ParameterWarning, match="Switching to vce='cr1'"):
            ours = rdbwselect(**kw, dropna=True)
    else:
        ours = rdbwselect(**kw, dropna=True)
    assert list(ours.table.index) == list(theirs.bws.index)
    np.testing.assert_allclose(ours.table.to_numpy(), theirs.bws.to_numpy(), rtol=RTOL)


def test_data_frame_interface_equals_arrays():
    frame = rd_datasets.senate()
    by_name = rdrobust(data=frame, y="vote", x="margin", dropna=True)
    by_array = rdrobust(frame["vote"], frame["margin"], dropna=True)
    assert by_name.coef.equals(by_array.coef)
    assert by_name.tidy().shape == (3, 14)
    assert "Robust" in by_name.summary()
