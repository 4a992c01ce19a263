"""Callaway and Sant'Anna (2021) difference in differences with staggered adoption.

Owns :func:`att_gt` (group-time average treatment effects on panel data) and
:meth:`ATTgtResult.aggregate` (simple, group, dynamic and calendar aggregates), written from the
paper and the estimators of Sant'Anna and Zhao (2020) as implemented by R's ``did``/``DRDID``
packages, whose published numbers the tests reproduce.

For a cohort :math:`g` (units first treated in period :math:`g`) and period :math:`t`,
with base period :math:`b` (``g-1-anticipation`` for post periods; ``t-1`` before treatment
with ``base_period="varying"``, R's default), the ATT is a 2x2 comparison of
:math:`\\Delta Y = Y_t - Y_b` between cohort :math:`g` (:math:`D=1`) and the controls
(never treated, or not yet treated by :math:`\\max(t,b)+\\text{anticipation}`):

* outcome regression (``"reg"``):
  :math:`\\widehat{ATT} = \\bar{\\Delta Y}_{D=1} - \\overline{X'\\hat\\beta}_{D=1}`,
  :math:`\\hat\\beta` from OLS of :math:`\\Delta Y` on :math:`X` among controls;
* normalised IPW (``"ipw"``): controls weighted by :math:`\\hat p(X)/(1-\\hat p(X))`
  (logit propensity score), weights normalised to one;
* doubly robust (``"dr"``, default): IPW applied to :math:`\\Delta Y - X'\\hat\\beta`.

Without covariates all three equal the simple difference of mean changes. Inference uses
each estimator's influence function :math:`\\psi_i` (scaled to the full sample):
analytic SE :math:`\\sqrt{\\tfrac{1}{n^2}\\sum_i \\psi_i^2}`, or the multiplier bootstrap with
Mammen weights and the interquartile-range SE (R ``did`` with ``bstrap=TRUE``), which also
gives uniform confidence bands. Aggregates add the estimation error of the cohort-share
weights (R ``did``'s ``wif``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas.causal.frames import check_frame
from clusteratlas.causal.results import EffectResult, figure_axes
from clusteratlas.errors import (
    DroppedObservationsWarning,
    EstimationError,
    InputError,
    ParameterError,
)
from clusteratlas.results import EstimatorResult

__all__ = ["ATTgtResult", "AggregateResult", "att_gt"]

EST_METHODS = ("dr", "ipw", "reg")
CONTROL_GROUPS = ("nevertreated", "notyettreated")
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


# --------------------------------------------------------------------------------------------
# 2x2 panel estimators with influence functions (Sant'Anna and Zhao 2020)
# --------------------------------------------------------------------------------------------


def _logit(d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit MLE by Newton-Raphson; returns fitted probabilities and (X'WX)^{-1}."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ beta)))
        w = p * (1 - p)
        hessian = (x * w[:, None]).T @ x
        step = np.linalg.solve(hessian, x.T @ (d - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        raise EstimationError("the propensity-score logit did not converge (perfect separation?)")
    p = 1 / (1 + np.exp(-(x @ beta)))
    hessian = (x * (p * (1 - p))[:, None]).T @ x
    return p, np.linalg.inv(hessian)


def _ols_controls(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of dy on x among controls: fitted values for everyone and the OLS influence function."""
    n = len(dy)
    controls = 1 - d
    xpx = (x * controls[:, None]).T @ x / n
    if np.linalg.matrix_rank(xpx) < x.shape[1]:
        raise EstimationError("the outcome regression among controls is singular (collinear X)")
    beta = np.linalg.solve(xpx, (x * (controls * dy)[:, None]).sum(axis=0) / n)
    fitted = x @ beta
    lin_rep = (x * (controls * (dy - fitted))[:, None]) @ np.linalg.inv(xpx)
    return fitted, lin_rep


def _did_panel(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, method: str
) -> tuple[float, np.ndarray]:
    """ATT and influence function of one 2x2 comparison (R DRDID's *_did_panel)."""
    n = len(dy)
    if method == "reg":
        fitted, lin_ols = _ols_controls(dy, d, x)
        w_treat = d
        att_treat = w_treat * dy
        att_cont = w_treat * fitted
        eta_treat = att_treat.mean() / w_treat.mean()
        eta_cont = att_cont.mean() / w_treat.mean()
        inf_treat = (att_treat - w_treat * eta_treat) / w_treat.mean()
        inf_cont = att_cont - w_treat * eta_cont + lin_ols @ (w_treat[:, None] * x).mean(axis=0)
        return eta_treat - eta_cont, inf_treat - inf_cont / w_treat.mean()

    ps, ps_vcov = _logit(d, x)
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(d == 1, 1.0, (ps < 0.995).astype(float))
    w_treat = trim * d
    w_cont = trim * ps * (1 - d) / (1 - ps)
    lin_ps = ((d - ps)[:, None] * x) @ (ps_vcov * n)
    if method == "ipw":
        resid = dy
        lin_ols = None
    else:
        fitted, lin_ols = _ols_controls(dy, d, x)
        resid = dy - fitted
    att_treat = w_treat * resid
    att_cont = w_cont * resid
    eta_treat = att_treat.mean() / w_treat.mean()
    eta_cont = att_cont.mean() / w_cont.mean()
    inf_treat = att_treat - w_treat * eta_treat
    inf_cont = (
        att_cont
        - w_cont * eta_cont
        + lin_ps @ (w_cont[:, None] * (resid - eta_cont)[:, None] * x).mean(axis=0)
    )
    if lin_ols is not None:
        inf_treat = inf_treat - lin_ols @ (w_treat[:, None] * x).mean(axis=0)
        inf_cont = inf_cont - lin_ols @ (w_cont[:, None] * x).mean(axis=0)
    return eta_treat - eta_cont, inf_treat / w_treat.mean() - inf_cont / w_cont.mean()


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


def _mboot(inf: np.ndarray, reps: int, seed: int, alpha: float) -> tuple[np.ndarray, float]:
    """Multiplier bootstrap (Mammen weights): IQR-based SEs and the uniform-band critical value."""
    n = inf.shape[0]
    rng = np.random.default_rng(seed)
    sqrt5 = np.sqrt(5.0)
    k1, k2 = (1 - sqrt5) / 2, (1 + sqrt5) / 2
    p_k1 = (1 + sqrt5) / (2 * sqrt5)
    draws = np.empty((reps, inf.shape[1]))
    for start in range(0, reps, 256):
        size = min(256, reps - start)
        v = np.where(rng.random((size, n)) < p_k1, k1, k2)
        draws[start : start + size] = v @ inf / np.sqrt(n)
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    scale = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se = scale / np.sqrt(n)
    ok = scale > np.sqrt(np.finfo(float).eps) * 10
    tmax = np.max(np.abs(draws[:, ok] / scale[ok]), axis=1) if ok.any() else np.array([np.nan])
    crit = float(np.quantile(tmax, 1 - alpha))
    se = np.where(ok, se, np.nan)
    return se, crit


@dataclass
class AggregateResult(EffectResult):
    """An aggregate of ATT(g,t): overall effect plus one row per group / event time / period."""

    kind: str = "simple"
    by: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: influence functions of the rows of :attr:`by` (units x rows; HonestDiD covariance)
    by_influence: np.ndarray | None = None

    def plot(self, ax: Any = None) -> Any:
        """Dynamic (or group/calendar) effects with pointwise CIs; returns the Figure."""
        if self.by.empty:
            raise ParameterError("kind", "the simple aggregate has nothing to plot")
        fig, ax = figure_axes(ax)
        by = self.by
        x = by[by.columns[0]]
        ax.axhline(0, color="grey", lw=0.8)
        ax.errorbar(
            x,
            by["estimate"],
            yerr=[by["estimate"] - by["conf_low"], by["conf_high"] - by["estimate"]],
            fmt="o",
            capsize=3,
        )
        ax.set_xlabel(by.columns[0])
        ax.set_ylabel("ATT")
        ax.set_title(f"Callaway-Sant'Anna {self.kind} aggregation")
        fig.tight_layout()
        return fig


@dataclass
class ATTgtResult(EstimatorResult):
    """Group-time average treatment effects ATT(g,t) with their influence functions.

    :attr:`table` has columns group, time, estimate, std_error, conf_low, conf_high
    (pointwise, or uniform bands when bootstrapped with ``cband=True``). :meth:`tidy` names
    each row ``ATT(g,t)`` and adds the pointwise normal z statistic and p-value
    (:math:`z = \\widehat{ATT}/se`), then group and time.
    """

    tidy_extras = ("group", "time")

    table: pd.DataFrame
    influence: np.ndarray  # n_units x n_cells, scaled to the full sample
    unit_groups: np.ndarray  # cohort of each unit (0 = never treated)
    n_units: int
    nobs: int
    est_method: str
    control_group: str
    base_period: str
    anticipation: int
    se_type: str
    alpha: float = 0.05
    bootstrap: int | None = None
    seed: int = 0

    caption = "Callaway-Sant'Anna ATT(g,t)"

    def _tidy(self) -> pd.DataFrame:
        out = self.table.copy()
        out["term"] = [f"ATT({g},{t})" for g, t in zip(out["group"], out["time"], strict=True)]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["statistic"] = out["estimate"] / out["std_error"]
        out["p_value"] = 2 * stats.norm.sf(np.abs(out["statistic"]))
        return out

    def summary(self) -> str:
        head = (
            f"Callaway-Sant'Anna ATT(g,t): {self.est_method.upper()}, control = "
            f"{self.control_group}, base period = {self.base_period}, anticipation = "
            f"{self.anticipation}\nUnits: {self.n_units}  Observations: {self.nobs}  "
            f"SE: {self.se_type}"
        )
        return head + "\n" + self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}")

    def _se(self, inf: np.ndarray) -> tuple[np.ndarray, float]:
        if self.bootstrap:
            return _mboot(inf, self.bootstrap, self.seed, self.alpha)
        se = np.sqrt((inf**2).sum(axis=0)) / self.n_units
        return se, float(stats.norm.ppf(1 - self.alpha / 2))

    def _wif(self, keepers: np.ndarray, pg: np.ndarray) -> np.ndarray:
        """Influence function of estimated cohort-share weights (R did's ``wif``)."""
        groups = self.table["group"].to_numpy()
        indicator = (self.unit_groups[:, None] == groups[keepers][None, :]).astype(float)
        total = pg[keepers].sum()
        if1 = (indicator - pg[keepers]) / total
        if2 = np.outer((indicator - pg[keepers]).sum(axis=1), pg[keepers] / total**2)
        return if1 - if2

    def aggregate(
        self,
        kind: str = "simple",
        *,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        balance_e: int | None = None,
    ) -> AggregateResult:
        """Aggregate ATT(g,t) (R ``did::aggte``).

        ``simple``: cohort-size weighted mean of post-treatment ATT(g,t); ``group``: mean over
        each cohort's post periods, then cohort-size weighted; ``dynamic``: by event time
        :math:`e=t-g` (overall = mean over :math:`e \\ge 0`); ``calendar``: by period
        (overall = mean over periods).

        ``balance_e`` (dynamic only, R's ``balance_e``): keep only cohorts observed at least
        ``balance_e`` periods after treatment (:math:`T_{max} - g \\ge` ``balance_e``), and
        event times in :math:`[\\text{balance\\_e} - (T_{max} - T_{min}),\\ \\text{balance\\_e}]`,
        so every event time averages the same cohorts and dynamics are not composition
        changes. ``min_e``/``max_e`` then trim the event times, as in R.
        """
        if kind not in AGGREGATIONS:
            raise ParameterError("kind", f"unknown {kind!r}", allowed=", ".join(AGGREGATIONS))
        if balance_e is not None and (kind != "dynamic" or int(balance_e) != balance_e):
            raise ParameterError("balance_e", "a non-negative integer, with kind='dynamic' only")
        if balance_e is not None and balance_e < 0:
            raise ParameterError("balance_e", f"{balance_e} is negative")
        table = self.table
        group = table["group"].to_numpy(dtype=float)
        time = table["time"].to_numpy(dtype=float)
        att = table["estimate"].to_numpy()
        inf = self.influence
        glist = np.unique(group)
        share = {g: float(np.mean(self.unit_groups == g)) for g in glist}
        pg = np.array([share[g] for g in group])
        post = (group <= time) & (time - group <= max_e)

        def combine(
            which: np.ndarray, weights: np.ndarray, with_wif: bool
        ) -> tuple[float, np.ndarray]:
            est = float(att[which] @ weights)
            agg_inf = inf[:, which] @ weights
            if with_wif:
                agg_inf = agg_inf + self._wif(which, pg) @ att[which]
            return est, agg_inf

        rows: list[tuple[Any, float, np.ndarray]] = []
        if kind == "simple":
            which = np.flatnonzero(post)
            est, agg_inf = combine(which, pg[which] / pg[which].sum(), True)
            label = "event time"
        elif kind == "group":
            label = "group"
            for g in glist:
                which = np.flatnonzero(post & (group == g))
                if which.size:
                    e, i = combine(which, np.full(which.size, 1 / which.size), False)
                    rows.append((g, e, i))
            g_est = np.array([r[1] for r in rows])
            g_inf = np.column_stack([r[2] for r in rows])
            g_pg = np.array([share[r[0]] for r in rows])
            # the overall weights are cohort shares: add their estimation error
            indicator = self.unit_groups[:, None] == np.array([r[0] for r in rows])[None, :]
            total = g_pg.sum()
            wif = (indicator - g_pg) / total - np.outer(
                (indicator - g_pg).sum(axis=1), g_pg / total**2
            )
            est = float(g_est @ (g_pg / total))
            agg_inf = g_inf @ (g_pg / total) + wif @ g_est
        elif kind == "dynamic":
            label = "event_time"
            event = time - group
            balanced = np.ones(len(event), dtype=bool)
            event_list = np.unique(event)
            if balance_e is not None:
                last, first_period = float(time.max()), float(time.min())
                balanced = last - group >= balance_e
                event_list = np.unique(event[balanced])
                event_list = event_list[
                    (event_list >= balance_e - (last - first_period)) & (event_list <= balance_e)
                ]
            for e in event_list:
                if e < min_e or e > max_e:
                    continue
                which = np.flatnonzero((event == e) & balanced)
                if not which.size:
                    continue
                e_est, e_inf = combine(which, pg[which] / pg[which].sum(), True)
                rows.append((int(e), e_est, e_inf))
            positive = [r for r in rows if r[0] >= 0]
            if not positive:
                raise EstimationError("no post-treatment event times to aggregate")
            est = float(np.mean([r[1] for r in positive]))
            agg_inf = np.mean(np.column_stack([r[2] for r in positive]), axis=1)
        else:
            label = "time"
            for t in np.unique(time):
                which = np.flatnonzero((time == t) & (group <= t))
                if which.size:
                    t_est, t_inf = combine(which, pg[which] / pg[which].sum(), True)
                    rows.append((t, t_est, t_inf))
            est = float(np.mean([r[1] for r in rows]))
            agg_inf = np.mean(np.column_stack([r[2] for r in rows]), axis=1)

        overall_se, _ = self._se(agg_inf[:, None])
        crit = stats.norm.ppf(1 - self.alpha / 2)
        se0 = float(overall_se[0])
        z = est / se0
        overall = pd.DataFrame(
            [
                {
                    "term": f"ATT ({kind})",
                    "estimate": est,
                    "std_error": se0,
                    "statistic": z,
                    "p_value": 2 * stats.norm.sf(abs(z)),
                    "conf_low": est - crit * se0,
                    "conf_high": est + crit * se0,
                }
            ]
        )
        by = pd.DataFrame()
        if rows:
            by_inf = np.column_stack([r[2] for r in rows])
            by_se, by_crit = self._se(by_inf)
            # a normalised row (universal base period: ATT = 0 by construction) has no SE
            by_se = np.where(np.abs(by_inf).sum(axis=0) == 0, np.nan, by_se)
            by_est = np.array([r[1] for r in rows])
            by = pd.DataFrame(
                {
                    label: [r[0] for r in rows],
                    "estimate": by_est,
                    "std_error": by_se,
                    "conf_low": by_est - by_crit * by_se,
                    "conf_high": by_est + by_crit * by_se,
                }
            )
        return AggregateResult(
            method=f"Callaway-Sant'Anna {kind} aggregate ({self.est_method.upper()}, "
            f"{self.control_group})",
            term=f"ATT ({kind})",
            table=overall,
            nobs=self.nobs,
            se_type=self.se_type,
            alpha=self.alpha,
            info={"n_units": self.n_units},
            kind=kind,
            by=by,
            by_influence=np.column_stack([r[2] for r in rows]) if rows else None,
        )


# --------------------------------------------------------------------------------------------
# estimation
# --------------------------------------------------------------------------------------------


def att_gt(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    group: str,
    *,
    covariates: Sequence[str] = (),
    control_group: str = "nevertreated",
    est_method: str = "dr",
    base_period: str = "varying",
    anticipation: int = 0,
    bootstrap: int | None = None,
    seed: int = 20210101,
    alpha: float = 0.05,
    missing: str = "raise",
) -> ATTgtResult:
    """Callaway and Sant'Anna (2021) group-time average treatment effects on a panel.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (unbalanced units are dropped with a warning).
    y, unit, time
        Outcome, unit id and (numeric, equally spaced) period columns.
    group
        First treated period of the unit; 0 (or NaN/inf) for never treated. Units treated in
        the first period are dropped (no pre-period), as in R ``did``.
    covariates
        Time-invariant covariates (values of the base period are used), or none.
    control_group
        ``"nevertreated"`` or ``"notyettreated"``.
    est_method
        ``"dr"`` (doubly robust), ``"ipw"`` (normalised IPW) or ``"reg"`` (outcome regression).
    bootstrap
        ``None`` for analytic SEs from the influence function; a number of draws for the
        multiplier bootstrap (Mammen weights, IQR SE, uniform bands as R ``did``).

    SE convention: clustered at the unit level by construction (influence function per unit).
    """
    if est_method not in EST_METHODS:
        raise ParameterError(
            "est_method", f"unknown {est_method!r}", allowed=", ".join(EST_METHODS)
        )
    if control_group not in CONTROL_GROUPS:
        raise ParameterError(
            "control_group", f"unknown {control_group!r}", allowed=", ".join(CONTROL_GROUPS)
        )
    if base_period not in ("varying", "universal"):
        raise ParameterError(
            "base_period", f"unknown {base_period!r}", allowed="varying, universal"
        )
    if anticipation < 0:
        raise ParameterError("anticipation", "must be >= 0")
    frame = check_frame(data, [y, time, *covariates], [unit], missing=missing, what="att_gt data")
    first = pd.to_numeric(data.loc[frame.index, group], errors="coerce")
    frame["_g"] = first.where(~(first.isna() | np.isinf(first)), 0.0).astype(float)
    if (frame.groupby(unit)["_g"].nunique() > 1).any():
        raise InputError("the group (first treatment period) varies within a unit", column=group)
    if frame.duplicated([unit, time]).any():
        raise InputError("a unit appears twice in the same period", column=time)

    periods = np.sort(frame[time].unique())
    counts = frame.groupby(unit)[time].size()
    unbalanced = counts.index[counts < len(periods)]
    if len(unbalanced):
        warnings.warn(
            f"dropped {len(unbalanced)} units not observed in all {len(periods)} periods",
            category=DroppedObservationsWarning,
            stacklevel=2,
        )
        frame = frame.loc[~frame[unit].isin(unbalanced)]
    always = frame["_g"].between(1e-12, periods[0], inclusive="right") & (frame["_g"] != 0)
    if always.any():
        warnings.warn(
            f"dropped {frame.loc[always, unit].nunique()} units treated in the first period",
            category=DroppedObservationsWarning,
            stacklevel=2,
        )
        frame = frame.loc[~always]
    wide_y = frame.pivot(index=unit, columns=time, values=y)
    unit_g = frame.groupby(unit)["_g"].first().reindex(wide_y.index).to_numpy()
    n = len(unit_g)
    glist = np.sort(np.unique(unit_g[unit_g > 0]))
    if glist.size == 0:
        raise EstimationError("no unit is ever treated")
    if control_group == "nevertreated" and not (unit_g == 0).any():
        raise EstimationError("there are no never-treated units; use control_group='notyettreated'")
    if covariates:
        wide_x = {
            c: frame.pivot(index=unit, columns=time, values=c).reindex(wide_y.index)
            for c in covariates
        }
    y_mat = wide_y.to_numpy()

    cells: list[dict[str, Any]] = []
    influences: list[np.ndarray] = []
    for g in glist:
        for ti, t in enumerate(periods):
            if base_period == "varying" and ti == 0:
                continue
            pre_pos = _base_position(periods, g, ti, base_period, anticipation)
            if pre_pos is None:
                continue
            b = periods[pre_pos]
            if base_period == "universal" and pre_pos == ti:
                cells.append({"group": g, "time": t, "estimate": 0.0})
                influences.append(np.zeros(n))
                continue
            treated = unit_g == g
            if control_group == "nevertreated":
                control = unit_g == 0
            else:
                control = (unit_g == 0) | ((unit_g > max(t, b) + anticipation) & (unit_g != g))
            keep = treated | control
            if not control.any():
                continue
            d = treated[keep].astype(float)
            dy = y_mat[keep, ti] - y_mat[keep, pre_pos]
            x = np.ones((keep.sum(), 1))
            if covariates:
                x = np.column_stack([x] + [wide_x[c].to_numpy()[keep, pre_pos] for c in covariates])
            att, inf_sub = _did_panel(dy, d, x, est_method)
            inf_full = np.zeros(n)
            inf_full[keep] = inf_sub * n / keep.sum()
            cells.append({"group": g, "time": t, "estimate": att})
            influences.append(inf_full)
    if not cells:
        raise EstimationError("no estimable (group, time) cell: check the timing columns")
    influence = np.column_stack(influences)
    table = pd.DataFrame(cells)
    se_type = (
        f"multiplier bootstrap ({bootstrap} Mammen draws, IQR SE, uniform band)"
        if bootstrap
        else "analytic (influence function, clustered by unit)"
    )
    result = ATTgtResult(
        table=table,
        influence=influence,
        unit_groups=unit_g,
        n_units=n,
        nobs=int(n * len(periods)),
        est_method=est_method,
        control_group=control_group,
        base_period=base_period,
        anticipation=anticipation,
        se_type=se_type,
        alpha=alpha,
        bootstrap=bootstrap,
        seed=seed,
    )
    se, crit = result._se(influence)
    zero = (table["estimate"] == 0) & (np.abs(influence).sum(axis=0) == 0)
    se = np.where(zero, np.nan, se)
    table["std_error"] = se
    table["conf_low"] = table["estimate"] - crit * se
    table["conf_high"] = table["estimate"] + crit * se
    table["group"] = table["group"].astype(periods.dtype if periods.dtype.kind == "i" else float)
    return result


def _base_position(
    periods: np.ndarray, g: float, ti: int, base_period: str, anticipation: int
) -> int | None:
    """Position of the base period for cell (g, periods[ti]); None when the cell is skipped."""
    t = periods[ti]
    reference = g - 1 - anticipation
    ref_positions = np.flatnonzero(periods <= reference)
    if ref_positions.size == 0:
        return None
    ref_pos = int(ref_positions[-1])
    if base_period == "universal":
        return ref_pos
    if t < g - anticipation:  # pre-treatment: compare with the previous period
        return ti - 1 if ti > 0 else None
    return ref_pos
