"""Sun-Abraham interaction-weighted event study against pyfixest's saturated event study.

Reference: pyfixest 0.60.0 ``event_study(estimator="saturated")`` (fixest ``sunab``'s
regression: every cohort x event-time cell, never-treated controls, reference -1) and its
``aggregate()`` (cohort-share weights held fixed, as fixest) on ``df_het``: every
:math:`\\delta_{g,e}` and every aggregated event-time effect with its SE to 1e-6 relative.
Last-treated controls: the same regression after recoding the last cohort as never treated and
dropping the periods from its treatment on.
"""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from clusteratlas.causal.did import sun_abraham
from clusteratlas.errors import EstimationError, ParameterError

RTOL = 1e-6


@pytest.fixture(scope="module")
def df_het() -> pd.DataFrame:
    return pd.read_csv(importlib.resources.files("pyfixest") / "did/data/df_het.csv")


def _saturated(data, cluster="state"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.event_study(
            data,
            yname="dep_var",
            idname="unit",
            tname="year",
            gname="g",
            estimator="saturated",
            cluster=cluster,
        )
        return fit, fit.aggregate()


def _compare(ours, fit, agg):
    coef, se = fit.coef(), fit.se()
    cells = ours.cohort_effects
    for row in cells.itertuples():
        name = f"rel_time::{float(row.event_time)}:first_treated_period::{int(row.cohort)}"
        assert row.estimate == pytest.approx(float(coef[name]), rel=RTOL, abs=1e-10)
        assert row.std_error == pytest.approx(float(se[name]), rel=RTOL)
    assert len(cells) == len(coef)
    got = ours.coefs.set_index("event_time")
    ref = agg.set_index(agg.index.astype(float))
    assert list(got.index.astype(float)) == list(ref.index)
    np.testing.assert_allclose(got["estimate"], ref["Estimate"].astype(float), rtol=RTOL)
    np.testing.assert_allclose(got["std_error"], ref["Std. Error"].astype(float), rtol=RTOL)


@pytest.mark.parametrize("cluster", ["state", "unit"])
def test_never_treated_controls_match_pyfixest(df_het, cluster):
    """Ours solves the saturated regression without dummies; pyfixest demeans them."""
    ours = sun_abraham(df_het, "dep_var", "unit", "year", "g", cluster=cluster)
    fit, agg = _saturated(df_het, cluster)
    _compare(ours, fit, agg)
    # headline ATT: cell-size weighted post cells (fixest aggregate(..., "att"))
    cells = ours.cohort_effects.loc[ours.cohort_effects["event_time"] >= 0]
    expected = float(cells["estimate"] @ cells["n_obs"] / cells["n_obs"].sum())
    assert ours.estimate == pytest.approx(expected, rel=1e-12)


def test_last_treated_controls_match_pyfixest(df_het):
    ours = sun_abraham(df_het, "dep_var", "unit", "year", "g", cluster="state", control="last")
    last = df_het["g"].max()
    recoded = df_het.loc[df_het["year"] < last].copy()
    recoded.loc[recoded["g"] == last, "g"] = 0  # the last cohort joins the controls
    fit, agg = _saturated(recoded.reset_index(drop=True))
    _compare(ours, fit, agg)


def test_report_window_and_errors(df_het):
    ours = sun_abraham(df_het, "dep_var", "unit", "year", "g", leads=3, lags=2)
    assert ours.coefs["event_time"].tolist() == [-3, -2, 0, 1, 2]
    full = sun_abraham(df_het, "dep_var", "unit", "year", "g")
    assert ours.estimate == pytest.approx(full.estimate, rel=1e-12)  # estimation unchanged
    # with a covariate the regression runs in pyfixest (same cells, same aggregation)
    noise = np.sin(df_het["unit"] * 1.7 + df_het["year"])
    with_x = sun_abraham(df_het.assign(x=noise), "dep_var", "unit", "year", "g", covariates=["x"])
    assert with_x.estimate == pytest.approx(full.estimate, abs=5 * full.se)
    with pytest.raises(ParameterError, match="control"):
        sun_abraham(df_het, "dep_var", "unit", "year", "g", control="notyet")
    with pytest.raises(EstimationError, match="never-treated"):
        sun_abraham(df_het.loc[df_het["g"] > 0], "dep_var", "unit", "year", "g")
