"""The untreated-outcome model shared by the two-stage and imputation estimators.

Owns :func:`prepare_staggered` (a staggered-adoption panel as arrays: unit, period, cohort,
event time, the treated flag, weights, covariates, clusters) and :class:`TwoWaySolver`, which
solves the normal equations of a two-way fixed-effects regression restricted to a subset of
observations (the untreated ones) for any right-hand side.

Model fitted on the untreated observations :math:`\\Omega_0 = \\{(i,t): t < G_i\\}`:

.. math::

    Y_{it}(0) = \\alpha_i + \\lambda_t + X_{it}'\\beta + \\varepsilon_{it}.

**Solver.** With :math:`D` the units x periods matrix of weights on :math:`\\Omega_0`,
:math:`n_i = \\sum_t D_{it}` and :math:`m_t = \\sum_i D_{it}`, the normal equations for unit
sums :math:`s_i` and period sums :math:`r_t` are :math:`n_i\\alpha_i + \\sum_t D_{it}\\lambda_t
= s_i` and :math:`\\sum_i D_{it}\\alpha_i + m_t\\lambda_t = r_t`. Eliminating
:math:`\\alpha` leaves the periods x periods Schur system

.. math::

    \\big(\\operatorname{diag}(m) - D'\\operatorname{diag}(1/n)D\\big)\\lambda
    = r - D'(s/n),

solved directly (it has rank :math:`T-1`; the minimum-norm solution is used, and fitted
values :math:`\\alpha_i+\\lambda_t` do not depend on that normalisation), then
:math:`\\alpha = (s - D\\lambda)/n`. One pass over the data per right-hand side, no
iteration, exact to rounding: the same matrix also gives the projections that the GMM
(two-stage) and Borusyak-Jaravel-Spiess variances need, where the right-hand side sums run
over observations other than the untreated ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from clusteratlas.causal.frames import check_frame
from clusteratlas.errors import (
    DroppedObservationsWarning,
    EstimationError,
    InputError,
    ParameterError,
)


@dataclass
class StaggeredPanel:
    """A staggered-adoption panel as aligned arrays (one entry per kept observation)."""

    frame: pd.DataFrame  # the kept rows (original index), for error messages and refits
    y: np.ndarray
    unit: np.ndarray  # codes 0..n_units-1
    time: np.ndarray  # codes 0..n_periods-1
    periods: np.ndarray  # period values by code
    cohort: np.ndarray  # first treated period (np.inf for never treated)
    event_time: np.ndarray  # t - G_i (NaN for never treated)
    treated: np.ndarray  # bool: t >= G_i - anticipation
    weights: np.ndarray  # regression weights (ones when none)
    covariates: np.ndarray  # n x p (p may be 0)
    cluster: np.ndarray  # codes
    n_units: int
    n_clusters: int
    cluster_name: str
    weighted: bool


def prepare_staggered(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    weights: str | None = None,
    anticipation: int = 0,
    missing: str = "raise",
    what: str = "data",
) -> StaggeredPanel:
    """Validate a staggered panel and return its arrays.

    ``cohort`` is the first treated period (0, NaN or inf for never treated). Units with no
    untreated observation (treated from their first period) and treated observations in
    periods without any untreated observation cannot be imputed: they are dropped with a
    warning saying how many.
    """
    if not data.index.is_unique:  # rows are matched by index below
        data = data.reset_index(drop=True)
    cluster = unit if cluster in (None, "unit") else cluster
    if anticipation < 0:
        raise ParameterError("anticipation", "must be >= 0")
    numeric = [y, time, *covariates] + ([weights] if weights else [])
    keys = [unit] + ([cluster] if cluster not in (unit, time) else [])
    frame = check_frame(data, numeric, keys, missing=missing, what=what)
    frame["_cohort"] = first_treated(data, frame, unit, time, cohort, what)
    if weights and (frame[weights] < 0).any():
        raise InputError("weights must be non-negative", column=weights)
    treated = frame[time].to_numpy(float) >= frame["_cohort"].to_numpy() - anticipation
    if not treated.any():
        raise EstimationError("no treated observation: every unit is untreated throughout")
    frame["_treated"] = treated
    # units never untreated, then treated periods without any untreated observation
    has_untreated = ~frame.groupby(unit)["_treated"].transform("all")
    if (~has_untreated).any():
        warnings.warn(
            f"dropped {frame.loc[~has_untreated, unit].nunique()} units treated in every "
            "observed period: their untreated outcome cannot be imputed",
            category=DroppedObservationsWarning,
            stacklevel=3,
        )
        frame = frame.loc[has_untreated]
    period_has_untreated = ~frame.groupby(time)["_treated"].transform("all")
    if (~period_has_untreated).any():
        warnings.warn(
            f"dropped {int((~period_has_untreated).sum())} treated observations in periods "
            "with no untreated unit (no period effect to impute with)",
            category=DroppedObservationsWarning,
            stacklevel=3,
        )
        frame = frame.loc[period_has_untreated]
    if not frame["_treated"].any():
        raise EstimationError("no imputable treated observation left")
    unit_codes, _ = pd.factorize(frame[unit], sort=True)
    time_codes, periods = pd.factorize(frame[time], sort=True)
    cluster_codes, cluster_levels = pd.factorize(frame[cluster], sort=True)
    cohort_values = frame["_cohort"].to_numpy()
    time_values = frame[time].to_numpy(dtype=float)
    event_time = np.where(np.isfinite(cohort_values), time_values - cohort_values, np.nan)
    x = frame[list(covariates)].to_numpy(dtype=float) if covariates else np.empty((len(frame), 0))
    w = frame[weights].to_numpy(dtype=float) if weights else np.ones(len(frame))
    return StaggeredPanel(
        frame=frame,
        y=frame[y].to_numpy(dtype=float),
        unit=unit_codes.astype(np.int64),
        time=time_codes.astype(np.int64),
        periods=np.asarray(periods, dtype=float),
        cohort=cohort_values,
        event_time=event_time,
        treated=frame["_treated"].to_numpy(bool),
        weights=w,
        covariates=x,
        cluster=cluster_codes.astype(np.int64),
        n_units=int(unit_codes.max() + 1),
        n_clusters=len(cluster_levels),
        cluster_name=cluster,
        weighted=weights is not None,
    )


def first_treated(
    data: pd.DataFrame, frame: pd.DataFrame, unit: str, time: str, cohort: str, what: str
) -> pd.Series:
    """First treated period of each row of ``frame`` (np.inf = never treated: 0, NaN or inf).

    Checks that it is constant within units and that no unit appears twice in a period.
    """
    if cohort not in data.columns:
        raise InputError(f"{what} has no column {cohort!r}", hint="the first-treated period")
    first = pd.to_numeric(data.loc[frame.index, cohort], errors="coerce")
    never = first.isna() | np.isinf(first) | (first == 0)
    first = first.where(~never, np.inf).astype(float)
    if first.groupby(frame[unit]).nunique().gt(1).any():
        raise InputError("the first treated period varies within a unit", column=cohort)
    duplicated = frame.duplicated([unit, time])
    if duplicated.any():
        row = duplicated.idxmax()
        raise InputError(
            f"unit {frame.loc[row, unit]!r} appears twice in period {frame.loc[row, time]!r}",
            hint="a panel needs one row per unit and period",
        )
    return first


class TwoWaySolver:
    """Two-way (unit + period) fixed-effects normal equations on a subset of observations.

    ``mask`` marks the observations the regression uses (the untreated ones); right-hand side
    sums may come from any observations. See the module docstring for the algebra.
    """

    def __init__(
        self, unit: np.ndarray, time: np.ndarray, weights: np.ndarray, mask: np.ndarray
    ) -> None:
        self.unit = unit
        self.time = time
        self.n_units = int(unit.max() + 1)
        self.n_periods = int(time.max() + 1)
        w0 = np.where(mask, weights, 0.0)
        self.mask_weights = w0
        self.unit_total = np.bincount(unit, w0, minlength=self.n_units)
        self.period_total = np.bincount(time, w0, minlength=self.n_periods)
        if (self.unit_total <= 0).any() or (self.period_total <= 0).any():
            raise EstimationError("a unit or period has no untreated observation with weight")
        self.design = sparse.csr_matrix(
            (w0[mask], (unit[mask], time[mask])), shape=(self.n_units, self.n_periods)
        )
        scaled = sparse.diags(1.0 / np.sqrt(self.unit_total)) @ self.design
        gram = (scaled.T @ scaled).toarray()
        self.schur = np.diag(self.period_total) - gram

    def solve(self, unit_rhs: np.ndarray, period_rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit and period coefficients for right-hand sides (columns of the two arrays)."""
        unit_rhs = unit_rhs.reshape(self.n_units, -1)
        period_rhs = period_rhs.reshape(self.n_periods, -1)
        reduced = period_rhs - self.design.T @ (unit_rhs / self.unit_total[:, None])
        period_coef = np.linalg.lstsq(self.schur, reduced, rcond=None)[0]
        unit_coef = (unit_rhs - self.design @ period_coef) / self.unit_total[:, None]
        return unit_coef, period_coef

    def sums(self, values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted unit and period sums of each column of ``values`` (n x k)."""
        values = values.reshape(len(self.unit), -1)
        k = values.shape[1]
        unit_rhs = np.empty((self.n_units, k))
        period_rhs = np.empty((self.n_periods, k))
        for j in range(k):
            weighted = weights * values[:, j]
            unit_rhs[:, j] = np.bincount(self.unit, weighted, minlength=self.n_units)
            period_rhs[:, j] = np.bincount(self.time, weighted, minlength=self.n_periods)
        return unit_rhs, period_rhs

    def predict(self, unit_coef: np.ndarray, period_coef: np.ndarray) -> np.ndarray:
        """Fitted :math:`\\alpha_i + \\lambda_t` for every observation (n x k)."""
        return unit_coef[self.unit] + period_coef[self.time]

    def project(self, values: np.ndarray) -> np.ndarray:
        """Fixed-effects fit (on the masked observations) of each column, at every row."""
        return self.predict(*self.solve(*self.sums(values, self.mask_weights)))


@dataclass
class UntreatedFit:
    """First stage: the untreated-outcome model and its residuals at every observation."""

    solver: TwoWaySolver
    y0_hat: np.ndarray  # imputed untreated outcome at every observation
    residual: np.ndarray  # y - y0_hat (first-stage residual on untreated rows)
    beta: np.ndarray  # covariate coefficients (empty without covariates)
    x_within: np.ndarray  # covariates net of the fixed effects (fit on untreated rows)
    xtx_inv: np.ndarray  # (X~0' W X~0)^{-1}


def fit_untreated(panel: StaggeredPanel) -> UntreatedFit:
    """Fit :math:`Y = \\alpha_i + \\lambda_t + X'\\beta` on the untreated rows (WLS)."""
    untreated = ~panel.treated
    solver = TwoWaySolver(panel.unit, panel.time, panel.weights, untreated)
    w0 = solver.mask_weights
    y = panel.y
    beta = np.empty(0)
    x_within = np.empty((len(y), 0))
    xtx_inv = np.empty((0, 0))
    if panel.covariates.shape[1]:
        x = panel.covariates
        x_within = x - solver.project(x)
        y_within = y - solver.project(y)[:, 0]
        xtx = (x_within * w0[:, None]).T @ x_within
        if np.linalg.matrix_rank(xtx) < x.shape[1]:
            raise EstimationError(
                "covariates are collinear with the unit and period effects among the "
                "untreated observations"
            )
        xtx_inv = np.linalg.inv(xtx)
        beta = xtx_inv @ ((x_within * w0[:, None]).T @ y_within)
        y_net = y - x @ beta
    else:
        y_net = y
    y0_hat = solver.project(y_net)[:, 0] + (panel.covariates @ beta if beta.size else 0.0)
    return UntreatedFit(solver, y0_hat, y - y0_hat, beta, x_within, xtx_inv)


def code_sums(
    index: np.ndarray, code: np.ndarray, n_index: int, k: int, weights: np.ndarray
) -> np.ndarray:
    """n_index x k sums of ``weights`` by (index, code); rows with code < 0 are left out.

    The treatment variables of the second stage (the treated dummy, event-time dummies, the
    effect weights of each estimand) are mutually exclusive columns, so they are carried as
    one code per row (the column, -1 for none) and a weight, never as an n x k matrix.
    """
    on = code >= 0
    flat = np.bincount(index[on] * k + code[on], weights[on], minlength=n_index * k)
    return flat.reshape(n_index, k)


@dataclass
class Projection:
    """:math:`\\gamma` with :math:`(X_{10}'W_0X_{10})\\gamma = \\sum_{rows} w\\,X_1 Z`:
    unit and period parts and the covariate part (rows evaluate to
    :math:`\\alpha_i + \\lambda_t + \\tilde X\\gamma_x`)."""

    unit: np.ndarray  # n_units x k
    period: np.ndarray  # n_periods x k
    covariate: np.ndarray  # p x k


def projection(
    fit: UntreatedFit, panel: StaggeredPanel, code: np.ndarray, k: int, weights: np.ndarray
) -> Projection:
    """Projection of the code columns :math:`Z` (weights ``weights``) on the untreated model.

    :math:`X_1` stacks the covariates and the unit and period dummies, :math:`X_{10}` keeps its
    untreated rows. Evaluated at an untreated row, :math:`X_{10}\\gamma` is that outcome's
    influence on :math:`\\sum w Z \\hat Y(0)` (the two-stage GMM correction, the imputation
    weights). Covariates enter by Frisch-Waugh-Lovell: :math:`X_1\\gamma = P_{FE}(Z) +
    \\tilde X\\gamma_x`.
    """
    solver = fit.solver
    unit_coef, period_coef = solver.solve(
        code_sums(panel.unit, code, solver.n_units, k, weights),
        code_sums(panel.time, code, solver.n_periods, k, weights),
    )
    x = panel.covariates
    gamma_x = np.zeros((x.shape[1], k))
    if fit.beta.size:
        w0 = solver.mask_weights
        cross_all = np.column_stack(
            [
                code_sums(np.zeros(len(x), np.int64), code, 1, k, weights * x[:, j])[0]
                for j in range(x.shape[1])
            ]
        ).T
        unit_x = np.column_stack(
            [
                np.bincount(panel.unit, w0 * x[:, j], minlength=solver.n_units)
                for j in range(x.shape[1])
            ]
        )
        period_x = np.column_stack(
            [
                np.bincount(panel.time, w0 * x[:, j], minlength=solver.n_periods)
                for j in range(x.shape[1])
            ]
        )
        cross_untreated = unit_x.T @ unit_coef + period_x.T @ period_coef
        gamma_x = fit.xtx_inv @ (cross_all - cross_untreated)
    return Projection(unit_coef, period_coef, gamma_x)


def projected_cluster_sums(
    fit: UntreatedFit, panel: StaggeredPanel, proj: Projection, row_weights: np.ndarray
) -> np.ndarray:
    """:math:`\\sum_{(i,t)\\in c} r_{it}\\,X_{1,it}\\gamma` for every cluster c (C x k),
    through cluster x unit and cluster x period sums of ``row_weights`` (no n x k matrix)."""
    shape_u = (panel.n_clusters, fit.solver.n_units)
    shape_t = (panel.n_clusters, fit.solver.n_periods)
    by_unit = sparse.csr_matrix((row_weights, (panel.cluster, panel.unit)), shape=shape_u)
    by_period = sparse.csr_matrix((row_weights, (panel.cluster, panel.time)), shape=shape_t)
    out = by_unit @ proj.unit + by_period @ proj.period
    if fit.beta.size:
        out += (
            cluster_sums(fit.x_within * row_weights[:, None], panel.cluster, panel.n_clusters)
            @ proj.covariate
        )
    return np.asarray(out)


def cluster_sums(values: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Column sums of ``values`` (n x k) within clusters: n_clusters x k."""
    values = values.reshape(len(cluster), -1)
    out = np.empty((n_clusters, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(cluster, values[:, j], minlength=n_clusters)
    return out


def event_window(event_time: np.ndarray, leads: int | None, lags: int | None) -> tuple[int, int]:
    """The event-time window [-leads, lags] (defaults: everything observed)."""
    observed = event_time[np.isfinite(event_time)]
    low = -leads if leads is not None else int(observed.min())
    high = lags if lags is not None else int(observed.max())
    if leads is not None and leads < 0:
        raise ParameterError("leads", "must be >= 0")
    if lags is not None and lags < 0:
        raise ParameterError("lags", "must be >= 0")
    return low, high
