"""CR2/CR3 cluster-robust RD variances (vce="cr2"/"cr3") and clustered placebo cutoffs.

Reference: the rdrobust package 2.1.1, called inside each test on real public data (senate,
lmb, mortgages, USCM; see ``rd_datasets.py``): coefficients, standard errors, CIs, p-values
and bandwidths to 1e-6 relative, with a fixed h (h = b and h != b) and data-driven bandwidths.
The per-cluster identities behind our vectorised estimator are checked against the textbook
n_g x n_g formulas. Where rdrobust is numerically fragile (clusters with leverage one) we
check our documented behaviour instead of its rounding noise.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import rd_datasets  # noqa: E402
from test_rd_reference import RTOL, _compare, _reference  # noqa: E402

from clusteratlas.causal.rd import rd_placebo, rdbwselect, rdrobust  # noqa: E402
from clusteratlas.causal.rd.core import cr_meat, kernel_weights, vander  # noqa: E402
from clusteratlas.cli.rd import register as register_rd  # noqa: E402
from clusteratlas.errors import EstimationWarning, ParameterError  # noqa: E402

ref = pytest.importorskip("rdrobust")
VCES = ["cr2", "cr3"]


# ----------------------------------------------------------------------------- vs rdrobust --

SENATE = [
    {},  # data-driven h, b (mserd)
    {"h": 15.0},  # h = b: leverage of the order-q fit at h
    {"h": 15.0, "b": 25.0},  # h != b: Q_q sandwich with the leverage of the q-fit at b
    {"bwselect": "msetwo", "kernel": "epa"},
    {"covs": ["population", "presdemvoteshlag1"]},  # several residual columns (d > 0)
    {"weights": "population", "h": 20.0, "b": 30.0},  # user weights enter W and the leverage
    {"p": 2, "deriv": 1, "kernel": "uni"},  # kink RD, larger design
]


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
@pytest.mark.parametrize("options", SENATE, ids=[str(o) for o in SENATE])
def test_senate_by_state(vce, options):
    frame = rd_datasets.senate().dropna(
        subset=["vote", "margin", "population", "presdemvoteshlag1"]
    )
    _compare(frame, y="vote", x="margin", cluster="state", vce=vce, **options)


LMB_FUZZY = [{}, {"h": 0.1, "b": 0.2}]


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
@pytest.mark.parametrize("options", LMB_FUZZY, ids=[str(o) for o in LMB_FUZZY])
def test_lmb_fuzzy_by_state(vce, options):
    """A real fuzzy design: the first-stage table is compared too."""
    frame = rd_datasets.lmb()
    _compare(frame, fuzzy="democrat", y="score", x="lagdemvoteshare", c=0.5, cluster="state",
             vce=vce, **options)  # fmt: skip


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
@pytest.mark.parametrize("options", [{}, {"h": 10.0}], ids=["mserd", "h=10"])
def test_mortgages_by_birth_state(vce, options):
    """214k observations, 52 birth-state clusters, a running variable with mass points."""
    frame = rd_datasets.mortgages()
    _compare(frame, y="home_ownership", x="qob_minus_kw", cluster="bpl", vce=vce, **options)


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
@pytest.mark.parametrize("options", [{}, {"h": 0.5}], ids=["mserd", "h=0.5"])
def test_uscm_by_state(shared_data, vce, options):
    frame = rd_datasets.uscm(shared_data)
    _compare(frame, y="rel_wage", x="log_lq", cluster="region_code_t", vce=vce, **options)


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
def test_rdbwselect_all_selectors(vce):
    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    kw = {"y": frame["vote"], "x": frame["margin"], "cluster": frame["state"], "vce": vce}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ref.rdbwselect(**kw, all=True)
    ours = rdbwselect(**kw, all=True)
    np.testing.assert_allclose(ours.table.to_numpy(), theirs.bws.to_numpy(), rtol=RTOL)


# ----------------------------------------------------------------------------- switching rules --


@pytest.mark.realdata
@pytest.mark.parametrize(("given", "used"), [("hc2", "cr2"), ("hc3", "cr3"), ("hc0", "cr1")])
def test_hc_with_cluster_switches_to_cr_with_a_warning(given, used):
    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    kw = {"y": frame["vote"], "x": frame["margin"], "cluster": frame["state"], "h": 15.0}
    with pytest.warns(UserWarning, match=f"Switching to vce='{used}'"):
        switched = rdrobust(**kw, vce=given)
    direct = rdrobust(**kw, vce=used)
    assert switched.vce == used.upper()
    pd.testing.assert_series_equal(switched.se, direct.se)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nn is the default: it switches to cr1 silently
        assert rdrobust(**kw, vce="nn").vce == "CR1"


@pytest.mark.realdata
@pytest.mark.parametrize(("given", "used"), [("cr1", "hc1"), ("cr2", "hc2"), ("cr3", "hc3")])
def test_cr_without_cluster_falls_back_to_hc(given, used):
    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    with pytest.warns(UserWarning, match=f"requires cluster. Switching to vce='{used}'"):
        fell_back = rdrobust(frame["vote"], frame["margin"], h=15.0, vce=given)
    direct = rdrobust(frame["vote"], frame["margin"], h=15.0, vce=used)
    assert fell_back.vce == used.upper()
    pd.testing.assert_series_equal(fell_back.se, direct.se)


def test_unknown_vce_names_the_allowed_values():
    x = np.linspace(-1, 1, 50)
    with pytest.raises(ParameterError, match="cr3"):
        rdrobust(x**2, x, vce="cr4")


# ----------------------------------------------------------------------------- the math --


def _explicit_scores(r, w, e, cluster, vce):
    """Textbook CR2/CR3 scores R_g'W^1/2 A_g W^1/2 e_g with the n_g x n_g matrix
    A_g = (I - H_gg)^-1/2 (CR2) or (I - H_gg)^-1 (CR3), H_gg = W^1/2 R_g G^-1 R_g' W^1/2."""
    inv_g = np.linalg.inv(r.T @ (r * w[:, None]))
    out = []
    for g in np.unique(cluster):
        idx = cluster == g
        b = r[idx] * np.sqrt(w[idx])[:, None]
        vals, vecs = np.linalg.eigh(np.eye(idx.sum()) - b @ inv_g @ b.T)
        power = -0.5 if vce == "cr2" else -1.0
        a = (vecs * vals**power) @ vecs.T
        out.append(b.T @ a @ (np.sqrt(w[idx]) * e[idx]))
    return np.array(out)


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
def test_vectorised_scores_equal_textbook_formulas(vce):
    """cr_meat avoids every n_g x n_g matrix (Woodbury / eigenvalues of C'L_gC): same numbers."""
    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    side = frame[(frame["margin"] >= 0) & (frame["margin"] < 20)]
    x, y = side["margin"].to_numpy(), side["vote"].to_numpy()
    w = kernel_weights(x / 20.0, 20.0, "Triangular")
    r = vander(x, 2)
    inv_g = np.linalg.inv(r.T @ (r * w[:, None]))
    e = y - r @ (inv_g @ (r * w[:, None]).T @ y)
    scores = _explicit_scores(r, w, e, side["state"].to_numpy(), vce)
    ours = cr_meat(None, r, w, inv_g, e[:, None], np.ones(1), side["state"].to_numpy(), vce)
    np.testing.assert_allclose(ours, scores.T @ scores, rtol=1e-9)
    # the leverage correction inflates the plain (CR0) meat, CR3 more than CR2
    plain = np.zeros_like(ours)
    for g in np.unique(side["state"]):
        u = (r * (w * e)[:, None])[side["state"].to_numpy() == g].sum(axis=0)
        plain += np.outer(u, u)
    assert np.all(np.diag(ours) > np.diag(plain))


@pytest.mark.realdata
@pytest.mark.parametrize("vce", VCES)
@pytest.mark.parametrize("bw", [{"h": 3.5}, {"h": 4.5, "b": 3.5}], ids=["h=b=3.5", "h=4.5,b=3.5"])
def test_clusters_with_leverage_one_give_stable_results(vce, bw):
    """Clustering mortgages by the quarter itself (x = +-0.5, +-1.5, ...) with b = 3.5 leaves
    three mass points (three clusters) per side for the quadratic bias fit: each has leverage
    one, G_q - L_g is singular and (I - H_gg)^-1/2 does not exist. rdrobust then returns
    rounding noise (its robust CR3 s.e. changes with the row order: 8.9-9.4 and 33-37 here); we
    apply its fallback in exact arithmetic (CR3: pseudo-inverse when h = b, no correction in
    the Q_q sandwich when h != b; CR2: no correction along the unit-leverage direction, where
    the residuals vanish), so the result does not depend on the row order."""
    frame = rd_datasets.mortgages()
    shuffled = frame.sample(frac=1.0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [
            rdrobust(f["home_ownership"], f["qob_minus_kw"], cluster=f["qob_minus_kw"], vce=vce,
                     **bw)
            for f in (frame, shuffled)
        ]  # fmt: skip
    np.testing.assert_allclose(fits[0].se.to_numpy(), fits[1].se.to_numpy(), rtol=1e-9, atol=1e-12)
    # the conventional order-1 fit has no unit-leverage cluster: rdrobust agrees there
    theirs = _reference(y=frame["home_ownership"], x=frame["qob_minus_kw"],
                        cluster=frame["qob_minus_kw"], vce=vce, **bw)  # fmt: skip
    np.testing.assert_allclose(fits[0].se["Conventional"], theirs.se.iloc[0, 0], rtol=RTOL)
    if "b" not in bw:
        # robust at h = b: the quadratic interpolates the three cluster means on each side, so
        # every cluster score is zero in exact arithmetic; we return (numerically) zero
        assert all(f.se["Robust"] < 1e-8 * f.se["Conventional"] for f in fits)


# ----------------------------------------------------------------------------- placebo --


@pytest.mark.realdata
def test_clustered_placebo_equals_rdrobust_on_the_subset():
    """Placebo fits cut cluster, covariates and weights with y and x (names via data=)."""
    frame = rd_datasets.senate()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        placebo = rd_placebo("vote", "margin", data=frame, dropna=True, cluster="state",
                             covs=["population"], vce="cr2")  # fmt: skip
    table = placebo.table
    assert (table["status"] == "ok").all()
    complete = frame.dropna(subset=["vote", "margin", "population"])
    for _, row in table.iterrows():
        side = (
            complete if row["true_cutoff"]
            else complete[complete["margin"] < 0] if row["cutoff"] < 0
            else complete[complete["margin"] >= 0]
        )  # fmt: skip
        theirs = _reference(y=side["vote"], x=side["margin"], c=row["cutoff"],
                            cluster=side["state"], covs=side[["population"]], vce="cr2")  # fmt: skip
        np.testing.assert_allclose(row["estimate"], theirs.coef.iloc[0, 0], rtol=RTOL)
        np.testing.assert_allclose(row["robust_ci_lower"], theirs.ci.iloc[2, 0], rtol=RTOL)
        np.testing.assert_allclose(row["robust_p_value"], theirs.pv.iloc[2, 0], rtol=RTOL)


@pytest.mark.realdata
def test_placebo_subsets_array_options_too():
    """Arrays (not names) for cluster and weights, and a fuzzy treatment, follow each subset."""
    frame = rd_datasets.senate_fuzzy()
    weights = np.where(np.arange(len(frame)) % 5 == 0, 2.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        placebo = rd_placebo(frame["vote"].to_numpy(), frame["margin"].to_numpy(),
                             cutoffs=[-20.0, 20.0], cluster=frame["state"].to_numpy(),
                             weights=weights, vce="cr3", h=15.0)  # fmt: skip
        above = frame["margin"] >= 0
        direct = rdrobust(frame["vote"][above], frame["margin"][above], c=20.0, h=15.0,
                          cluster=frame["state"][above], weights=weights[above], vce="cr3")  # fmt: skip
    row = placebo.table.set_index("cutoff").loc[20.0]
    assert row["estimate"] == pytest.approx(direct.coef["Conventional"], rel=1e-12)
    assert row["robust_ci_lower"] == pytest.approx(direct.ci.loc["Robust", "lower"], rel=1e-12)


# ----------------------------------------------------------------------------- CLI --


@pytest.mark.realdata
def test_cli_accepts_cr2(tmp_path):
    frame = rd_datasets.senate().dropna(subset=["vote", "margin"])
    csv = tmp_path / "senate.csv"
    frame.to_csv(csv, index=False)
    app = typer.Typer()
    register_rd(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "rd"
    args = ["rd", "--data", str(csv), "--y", "vote", "--x", "margin", "--cluster", "state"]
    with pytest.warns(EstimationWarning, match="Mass points detected"):  # in placebo cutoffs
        run = CliRunner().invoke(
            app, [*args, "--vce", "cr2", "--placebo", "auto", "--out", str(out)]
        )
    assert run.exit_code == 0, run.output
    assert "CR2" in run.output
    written = pd.read_csv(out.with_suffix(".csv"))
    direct = rdrobust(frame["vote"], frame["margin"], cluster=frame["state"], vce="cr2")
    assert written["std_error"].iloc[0] == pytest.approx(direct.se["Conventional"], rel=1e-12)
