"""Interaction-weighted event study (Sun and Abraham 2021; fixest ``sunab``).

Owns :func:`sun_abraham`.

**Estimator.** One saturated two-way fixed-effects regression with a dummy for every
cohort x event-time cell of the treated cohorts (the control cohort and the reference event
time excluded),

.. math::

    Y_{it} = \\alpha_i + \\lambda_t + \\sum_{g \\ne C}\\sum_{e \\ne r}
    \\delta_{g,e}\\,1\\{G_i = g\\}1\\{t - G_i = e\\} + X_{it}'\\gamma + \\varepsilon_{it},

estimates each cohort's effect path :math:`CATT_{g,e}` free of the contamination that makes
TWFE leads and lags weighted sums of other periods' effects. The interaction-weighted
event-time effect is

.. math::

    \\hat\\beta_e = \\sum_g \\hat w_{g,e}\\hat\\delta_{g,e},\\qquad
    \\hat w_{g,e} = \\frac{N_{g,e}}{\\sum_{g'} N_{g',e}},

with :math:`N_{g,e}` the (weighted) number of observations of cohort :math:`g` at event time
:math:`e`, and the overall ATT weights every post cell by its size, as fixest's
``aggregate(..., "att")``. Controls :math:`C`: never-treated units (``control="never"``), or
the last-treated cohort (``control="last"``: it joins any never-treated units as control and
periods from its treatment on are dropped, as fixest ``sunab`` with that cohort as reference).

**Standard errors.** CRV1 by cluster (fixest convention, :mod:`clusteratlas.causal.
inference.vcov`) for :math:`\\hat\\delta` (computed without forming the dummies, see
:func:`_saturated_direct`; with covariates the regression runs in pyfixest); aggregates by
the delta method with the weights held fixed (fixest and pyfixest do the same); t(G-1)
inference.

Reference implementation: pyfixest ``event_study(estimator="saturated")`` and its
``aggregate()`` (the tests reproduce every cohort x event-time coefficient and the
aggregates).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from clusteratlas.causal.did.event_study import EventStudyResult, event_result
from clusteratlas.causal.did.untreated_model import TwoWaySolver, code_sums, first_treated
from clusteratlas.causal.frames import check_frame
from clusteratlas.causal.inference.vcov import count_clusters, feols, vcov_spec
from clusteratlas.errors import (
    DroppedObservationsWarning,
    EstimationError,
    EstimationWarning,
    ParameterError,
)

CONTROLS = ("never", "last")


def sun_abraham(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    control: str = "never",
    reference: int = -1,
    leads: int | None = None,
    lags: int | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> EventStudyResult:
    """Sun and Abraham (2021) interaction-weighted event study.

    ``cohort`` is the first treated period (0/NaN/inf = never treated). The regression is
    always fully saturated in event time (dropping cells would bring the contamination
    back); ``leads``/``lags`` only choose which aggregated event times are reported. The
    headline (``term="ATT"``) is the cell-size weighted mean of all post cells. The result's
    ``info["cohort_effects"]`` is not printed; ``result.cohort_effects`` holds every
    :math:`\\hat\\delta_{g,e}` with its SE.
    """
    if control not in CONTROLS:
        raise ParameterError("control", f"unknown {control!r}", allowed=", ".join(CONTROLS))
    if not data.index.is_unique:  # rows are matched by index below
        data = data.reset_index(drop=True)
    cluster = unit if cluster in (None, "unit") else cluster
    numeric = [y, time, *covariates] + ([weights] if weights else [])
    keys = [unit] + ([cluster] if cluster not in (unit, time) else [])
    frame = check_frame(data, numeric, keys, missing=missing, what="sun_abraham data")
    frame["_g"] = first_treated(data, frame, unit, time, cohort, "sun_abraham data")
    start = frame[time].min()
    always = frame["_g"] <= start
    if always.any():
        warnings.warn(
            f"dropped {frame.loc[always, unit].nunique()} units treated in the first period "
            "(no pre-treatment observation)",
            category=DroppedObservationsWarning,
            stacklevel=2,
        )
        frame = frame.loc[~always]
    cohorts = np.sort(frame.loc[np.isfinite(frame["_g"]), "_g"].unique())
    if cohorts.size == 0:
        raise EstimationError("no unit is ever treated")
    if control == "never":
        if not np.isinf(frame["_g"]).any():
            raise EstimationError("no never-treated units; use control='last'")
        control_cohort = np.inf
    else:
        control_cohort = cohorts[-1]
        frame = frame.loc[frame[time] < control_cohort]
        cohorts = cohorts[:-1]
        if cohorts.size == 0:
            raise EstimationError("control='last' leaves no treated cohort")
    event = (frame[time] - frame["_g"]).where(frame["_g"] != control_cohort)
    event = event.where(np.isfinite(event))
    in_cell = event.notna() & (event != reference)
    cell_keys = pd.MultiIndex.from_arrays(
        [frame.loc[in_cell, "_g"].to_numpy(), event[in_cell].astype(int).to_numpy()]
    )
    codes, cells = pd.factorize(cell_keys, sort=True)
    frame["_sa_cell"] = 0
    frame.loc[in_cell, "_sa_cell"] = codes + 1
    vc, se_type = vcov_spec("CRV1", cluster)
    direct = (
        None if covariates else _saturated_direct(frame, y, unit, time, cluster, weights, codes)
    )
    if direct is not None:
        delta, delta_vcov, nobs, df_t = direct
        cell_list = list(cells)
    else:  # covariates or collinear cells: pyfixest (drops collinear cells and says so)
        rhs = " + ".join(["i(_sa_cell, ref=0)", *covariates])
        fit = feols(f"{y} ~ {rhs} | {unit} + {time}", frame, vc, weights)
        names = [str(n) for n in fit._coefnames]
        cell_names = [f"_sa_cell::{k + 1}" for k in range(len(cells))]
        kept = [n in names for n in cell_names]
        if not all(kept):
            # (cohort, event time) as plain numbers: the message is read in reports
            dropped = [tuple(int(v) for v in cells[k]) for k in np.flatnonzero(~np.asarray(kept))]
            warnings.warn(
                f"cohort x event-time cells dropped as collinear: {dropped}",
                category=EstimationWarning,
                stacklevel=2,
            )
        index = [names.index(n) for n, ok in zip(cell_names, kept, strict=True) if ok]
        delta = np.asarray(fit._beta_hat, dtype=float)[index]
        delta_vcov = np.asarray(fit._vcov, dtype=float)[np.ix_(index, index)]
        cell_list = [cells[k] for k in range(len(cells)) if kept[k]]
        nobs, df_t = int(fit._N), float(fit._df_t)
    w = frame[weights].to_numpy(float) if weights else np.ones(len(frame))
    size = pd.Series(w[in_cell.to_numpy()], index=cell_keys).groupby(level=[0, 1]).sum()
    cell_size = np.array([size.loc[c] for c in cell_list])
    cell_event = np.array([c[1] for c in cell_list])
    event_times = sorted(set(cell_event.tolist()))
    agg = np.zeros((len(event_times), len(cell_list)))
    for row, e in enumerate(event_times):
        chosen = cell_event == e
        agg[row, chosen] = cell_size[chosen] / cell_size[chosen].sum()
    # the overall ATT weights each post cell by its size = each event time by its size
    event_size = np.array([cell_size[cell_event == e].sum() for e in event_times])
    post = np.array([e >= 0 for e in event_times])
    headline = np.where(post, event_size, 0.0) / event_size[post].sum()
    result = event_result(
        method=f"Sun-Abraham interaction-weighted event study ({control}-treated controls)",
        event_times=event_times,
        estimates=agg @ delta,
        vcov=agg @ delta_vcov @ agg.T,
        nobs=nobs,
        se_type=se_type,
        alpha=alpha,
        reference=reference,
        df=df_t,
        headline=("ATT", headline),
        info={"n_units": int(frame[unit].nunique()), "n_clusters": count_clusters(frame, cluster)},
    )
    if leads is not None or lags is not None:  # report a window; estimation stays saturated
        low = -leads if leads is not None else event_times[0]
        high = lags if lags is not None else event_times[-1]
        shown = result.coefs["event_time"].between(low, high)
        result.coefs = result.coefs.loc[shown].reset_index(drop=True)
        in_table = result.table["event_time"].between(low, high) | result.table["event_time"].isna()
        result.table = result.table.loc[in_table].reset_index(drop=True)
        names = list(result.coefs["term"])
        result.vcov = result.vcov.loc[names, names]
    ses = np.sqrt(np.diag(delta_vcov))
    result.cohort_effects = pd.DataFrame(  # type: ignore[attr-defined]
        {
            "cohort": [c[0] for c in cell_list],
            "event_time": cell_event,
            "estimate": delta,
            "std_error": ses,
            "n_obs": cell_size,
        }
    )
    return result


def _saturated_direct(
    frame: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    cluster: str,
    weights: str | None,
    codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int, float] | None:
    """The saturated regression without forming its dummies (no covariates).

    The cell dummies are mutually exclusive, so with :math:`P` the two-way fixed-effects
    projection (:class:`~.untreated_model.TwoWaySolver` on all rows) every block of
    :math:`\\tilde X'\\tilde X = X'X - X'PX` and :math:`\\tilde X'\\tilde y` is a grouped
    sum, and the CRV1 scores are cluster x unit / cluster x period sums of the residual.
    Small-sample factor as fixest: :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` with K the cells
    and the period effects, plus the unit effects unless they are nested in the clusters.
    Returns None when :math:`\\tilde X'\\tilde X` is singular (collinear cells).
    """
    n = len(frame)
    code = np.full(n, -1, dtype=np.int64)
    in_cell = frame["_sa_cell"].to_numpy() > 0
    code[in_cell] = codes
    k = int(codes.max() + 1)
    unit_codes = pd.factorize(frame[unit], sort=True)[0].astype(np.int64)
    time_codes = pd.factorize(frame[time], sort=True)[0].astype(np.int64)
    cluster_codes = pd.factorize(frame[cluster], sort=True)[0].astype(np.int64)
    n_clusters = int(cluster_codes.max() + 1)
    w = frame[weights].to_numpy(float) if weights else np.ones(n)
    yv = frame[y].to_numpy(float)
    solver = TwoWaySolver(unit_codes, time_codes, w, np.ones(n, dtype=bool))
    by_unit = code_sums(unit_codes, code, solver.n_units, k, w)  # weighted cell counts
    by_period = code_sums(time_codes, code, solver.n_periods, k, w)
    unit_x, period_x = solver.solve(by_unit, by_period)  # P X = unit_x[u] + period_x[t]
    unit_y, period_y = solver.solve(*solver.sums(yv, w))
    gram = np.diag(by_unit.sum(axis=0)) - (by_unit.T @ unit_x + by_period.T @ period_x)
    if np.linalg.cond(gram) > 1e10:
        return None
    cross = np.bincount(code[in_cell], (w * yv)[in_cell], minlength=k) - (
        by_unit.T @ unit_y[:, 0] + by_period.T @ period_y[:, 0]
    )
    gram_inv = np.linalg.inv(gram)
    delta = gram_inv @ cross
    fitted_fe = (
        solver.predict(unit_y, period_y)[:, 0]
        - solver.predict(unit_x @ delta[:, None], period_x @ delta[:, None])[:, 0]
    )
    resid = yv - fitted_fe - np.where(in_cell, delta[np.maximum(code, 0)], 0.0)
    we = w * resid
    scores = code_sums(cluster_codes, code, n_clusters, k, we)
    m_unit = sparse.csr_matrix(
        (we, (cluster_codes, unit_codes)), shape=(n_clusters, solver.n_units)
    )
    m_time = sparse.csr_matrix(
        (we, (cluster_codes, time_codes)), shape=(n_clusters, solver.n_periods)
    )
    scores -= np.asarray(m_unit @ unit_x + m_time @ period_x)
    nested = bool((pd.Series(cluster_codes).groupby(unit_codes).nunique() == 1).all())
    k_params = k + solver.n_periods + (0 if nested else solver.n_units - 1)
    factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k_params)
    vcov = factor * gram_inv @ (scores.T @ scores) @ gram_inv
    return delta, vcov, n, float(n_clusters - 1)
