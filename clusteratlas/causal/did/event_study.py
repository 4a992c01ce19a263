"""Event study with leads and lags, unit and time fixed effects, and a joint pre-trend test.

Owns :func:`event_study` and :class:`EventStudyResult` (coefficients by event time, the
average post effect, the pre-trend Wald test and a plot), and the ONE event window every study
uses around a common shock (:func:`shock_window_years`, :func:`shock_event_study`): the report
of ``clusteratlas run``, the dashboard and ``clusteratlas replicate cho2024`` all get their
pre-trend p-values from it, so they agree.
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
from clusteratlas.causal.inference.vcov import (
    FitSpec,
    count_clusters,
    feols,
    tidy_from_fit,
    vcov_spec,
)
from clusteratlas.causal.results import EffectResult, figure_axes
from clusteratlas.errors import DesignWarning, EstimationError, InputError, ParameterError

#: The event window around a common shock year S: the :data:`SHOCK_YEARS_BEFORE` years before
#: it (S-5 .. S-1; S-1 is the reference, so the joint pre-trend test has 4 leads) and
#: :data:`SHOCK_YEARS_FROM` years from it (S .. S+5). Around COVID-19 (S = 2020) that is
#: 2015-2025, Cho et al. (2024)'s 2015-2022 as far as the data go. A longer pre-period (the
#: report once took 7 leads, 2012-2018) tests a different hypothesis (no differential trend
#: since the Great Recession's recovery) and gave manufacturing GDP p = 0.052 against 0.057.
SHOCK_YEARS_BEFORE, SHOCK_YEARS_FROM = 5, 6


def shock_window_years(shock_year: int) -> tuple[int, int]:
    """First and last year of the event window around ``shock_year`` (both included)."""
    return shock_year - SHOCK_YEARS_BEFORE, shock_year + SHOCK_YEARS_FROM - 1


def shock_event_study(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    *,
    treat: str,
    shock_year: int,
    cluster: str | None = "unit",
    **kwargs: Any,
) -> EventStudyResult:
    """:func:`event_study` of a time-invariant ``treat`` facing a common ``shock_year``, on the
    years of :func:`shock_window_years` (reference: the year before the shock)."""
    first, last = shock_window_years(shock_year)
    frame = data.loc[data[time].between(first, last)]
    return event_study(
        frame, y, unit, time, treat=treat, shock_year=shock_year, reference=-1, cluster=cluster,
        **kwargs,
    )  # fmt: skip


def _rel_name(k: int) -> str:
    return f"rel_m{-k}" if k < 0 else f"rel_p{k}"


@dataclass
class EventStudyResult(EffectResult):
    """Event-study coefficients by event time, the average post effect and a pre-trend test.

    :attr:`table` has one row per event time (``term`` = ``rel_m3``, ``rel_p0``...) with an
    ``event_time`` column, plus the row ``avg_post`` (mean of the post coefficients, the
    headline :attr:`estimate`). ``info`` holds the joint pre-trend Wald test
    (``pretrend_F``, ``pretrend_df``, ``pretrend_p``: all lead coefficients = 0, F with
    (q, G-1) degrees of freedom under CRV1).
    """

    reference: int = -1
    coefs: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: covariance of the event-time coefficients (rows/columns = ``coefs["term"]``), the
    #: input of :mod:`clusteratlas.causal.did.honest` sensitivity analysis
    vcov: pd.DataFrame | None = None

    def plot(self, ax: Any = None, title: str | None = None) -> Any:
        """Coefficients with confidence intervals against event time; returns the Figure."""
        fig, ax = figure_axes(ax)
        coefs = self.coefs
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(self.reference + 0.5, color="grey", lw=0.8, ls="--")
        ax.errorbar(
            coefs["event_time"],
            coefs["estimate"],
            yerr=[coefs["estimate"] - coefs["conf_low"], coefs["conf_high"] - coefs["estimate"]],
            fmt="o",
            capsize=3,
        )
        ax.plot([self.reference], [0.0], "o", mfc="white", color="C0")
        ax.set_xlabel("event time (periods since treatment)")
        ax.set_ylabel("effect")
        ax.set_title(title or f"Event study ({100 * (1 - self.alpha):.0f}% CI, {self.se_type})")
        fig.tight_layout()
        return fig


def event_study(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    *,
    cohort: str | None = None,
    treat: str | None = None,
    shock_year: int | None = None,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = False,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    vcov: str = "CRV1",
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> EventStudyResult:
    """Event study with leads and lags around treatment, unit and time fixed effects.

    .. math::

        y_{it} = \\alpha_i + \\lambda_t + \\sum_{k \\ne r} \\beta_k 1\\{t - G_i = k\\}
        + X_{it}'\\gamma + \\varepsilon_{it}

    Treatment timing :math:`G_i` comes from ``cohort`` (first treated period; 0, NaN or inf
    for never treated) or from a time-invariant 0/1 ``treat`` with a common ``shock_year``
    (the cluster-resilience design: treated regions all face the shock at once).
    ``reference`` (default -1) is the omitted event time. ``leads``/``lags`` limit the window
    to ``[-leads, lags]``; with ``bin_endpoints=True`` event times beyond the window are
    lumped into the endpoint bins, otherwise those treated observations are dropped.
    The pre-trend test is a joint Wald test of all lead coefficients (SE convention as in
    :func:`twfe`).
    """
    cluster = unit if cluster == "unit" else cluster
    if (cohort is None) == (treat is None):
        raise ParameterError("cohort/treat", "give exactly one of cohort= or treat=")
    if treat is not None and shock_year is None:
        raise ParameterError("shock_year", "treat= needs the common shock_year")
    timing = cohort or treat
    numeric = [y, *covariates] + ([weights] if weights else [])
    keys = [unit, time] + ([cluster] if cluster and cluster not in (unit, time) else [])
    frame = check_frame(data, numeric + [time], keys, missing=missing, what="event study data")
    frame[timing] = data.loc[frame.index, timing]
    if cohort is not None:
        first = pd.to_numeric(frame[cohort], errors="coerce")
        never = first.isna() | np.isinf(first) | (first == 0)
    else:
        flag = pd.to_numeric(frame[treat], errors="coerce")
        if flag.isna().any() or not set(flag.unique()) <= {0.0, 1.0}:
            raise InputError("treatment must be 0/1 without missing values", column=treat)
        never = flag == 0
        first = pd.Series(float(shock_year), index=frame.index)
    if never.all():
        raise EstimationError("no unit is ever treated")
    if (~never).all():
        warnings.warn(
            "no never-treated units: leads and lags rest on timing differences only",
            category=DesignWarning,
            stacklevel=2,
        )
    rel = (frame[time] - first).where(~never)
    observed = sorted(rel.dropna().astype(int).unique().tolist())
    low = -leads if leads is not None else observed[0]
    high = lags if lags is not None else observed[-1]
    if not low <= reference <= high:
        raise ParameterError("reference", f"{reference} outside the window [{low}, {high}]")
    outside = rel.notna() & ((rel < low) | (rel > high))
    if bin_endpoints:
        rel = rel.clip(lower=low, upper=high)
    elif outside.any():
        frame = frame.loc[~outside]
        rel = rel.loc[~outside]
    event_times = [k for k in range(low, high + 1) if k != reference and (rel == k).any()]
    if not event_times:
        raise EstimationError("no event times left besides the reference period")
    names = [_rel_name(k) for k in event_times]
    dummies = pd.DataFrame(
        {name: (rel == k).astype(float) for name, k in zip(names, event_times, strict=True)},
        index=frame.index,
    )
    frame = pd.concat([frame, dummies], axis=1)
    rhs = " + ".join([*names, *covariates])
    formula = f"{y} ~ {rhs} | {unit} + {time}"
    vc, se_type = vcov_spec(vcov, cluster)
    fit = feols(formula, frame, vc, weights)
    kept = [n for n in names if n in fit.coef().index]
    if not kept:
        raise EstimationError("every event-time dummy is collinear with the fixed effects")
    table = tidy_from_fit(fit, alpha)
    table = table.loc[table["term"].isin(kept)].reset_index(drop=True)
    by_name = dict(zip(names, event_times, strict=True))
    table.insert(1, "event_time", table["term"].map(by_name).astype(int))

    coef = fit.coef()
    vcov_matrix = pd.DataFrame(fit._vcov, index=fit._coefnames, columns=fit._coefnames)
    df_t = float(fit._df_t)
    crit = stats.t.ppf(1 - alpha / 2, df_t)
    post_terms = [n for n in kept if by_name[n] >= 0]
    info: dict[str, Any] = {"n_units": int(frame[unit].nunique())}
    rows = []
    if post_terms:
        weights_vec = np.full(len(post_terms), 1 / len(post_terms))
        est = float(weights_vec @ coef[post_terms].to_numpy())
        se = float(np.sqrt(weights_vec @ vcov_matrix.loc[post_terms, post_terms] @ weights_vec))
        tval = est / se
        rows.append(
            {
                "term": "avg_post",
                "event_time": np.nan,  # a combination of event times
                "estimate": est,
                "std_error": se,
                "statistic": tval,
                "p_value": 2 * stats.t.sf(abs(tval), df_t),
                "conf_low": est - crit * se,
                "conf_high": est + crit * se,
            }
        )
    lead_terms = [n for n in kept if by_name[n] < 0]
    if lead_terms:
        b = coef[lead_terms].to_numpy()
        v = vcov_matrix.loc[lead_terms, lead_terms].to_numpy()
        wald = float(b @ np.linalg.solve(v, b))
        q = len(lead_terms)
        info["pretrend_F"] = wald / q
        info["pretrend_df"] = f"({q}, {df_t:.0f})"
        info["pretrend_p"] = float(stats.f.sf(wald / q, q, df_t))
        info["pretrend_chi2_p"] = float(stats.chi2.sf(wald, q))
    if cluster:
        info["n_clusters"] = count_clusters(frame, cluster)
    coefs = table.copy()
    full = pd.concat([table, pd.DataFrame(rows)], ignore_index=True) if rows else table
    result = EventStudyResult(
        method="Event study (unit and time FE, leads and lags)",
        term="avg_post" if rows else kept[-1],
        table=full,
        nobs=int(fit._N),
        se_type=se_type,
        alpha=alpha,
        info=info,
        reference=reference,
        coefs=coefs,
        vcov=vcov_matrix.loc[kept, kept],
    )
    result._spec = FitSpec(formula, frame, y, cluster, weights)  # type: ignore[attr-defined]
    return result


def event_result(
    *,
    method: str,
    event_times: Sequence[int],
    estimates: np.ndarray,
    vcov: np.ndarray,
    nobs: int,
    se_type: str,
    alpha: float,
    reference: int = -1,
    df: float | None = None,
    headline: tuple[str, np.ndarray] | None = None,
    info: dict[str, Any] | None = None,
) -> EventStudyResult:
    """Assemble an :class:`EventStudyResult` from event-time estimates and their covariance.

    Shared by the heterogeneity-robust event studies (two-stage, imputation, Sun-Abraham).
    Inference uses a t distribution with ``df`` degrees of freedom, or the normal when
    ``df`` is None. The headline row is ``avg_post`` (mean of the post coefficients) unless
    ``headline=(term, weights)`` gives another linear combination of the coefficients. The
    joint Wald test of the lead coefficients goes to ``info`` as in :func:`event_study`.
    """
    estimates = np.asarray(estimates, dtype=float)
    vcov = np.asarray(vcov, dtype=float)
    names = [_rel_name(int(k)) for k in event_times]
    ses = np.sqrt(np.clip(np.diag(vcov), 0, None))
    dist = stats.norm if df is None else stats.t(df)
    crit = float(dist.ppf(1 - alpha / 2))

    def row(term: str, k: float, est: float, se: float) -> dict[str, Any]:
        stat = est / se if se > 0 else np.nan
        return {
            "term": term,
            "event_time": k,
            "estimate": est,
            "std_error": se,
            "statistic": stat,
            "p_value": float(2 * dist.sf(abs(stat))) if se > 0 else np.nan,
            "conf_low": est - crit * se,
            "conf_high": est + crit * se,
        }

    coefs = pd.DataFrame(
        [
            row(n, int(k), e, s)
            for n, k, e, s in zip(names, event_times, estimates, ses, strict=True)
        ]
    )
    info = dict(info or {})
    if headline is None:
        post = np.array([k >= 0 for k in event_times])
        headline = ("avg_post", post / post.sum()) if post.any() else None
    rows = []
    if headline is not None:
        term, weights_vec = headline
        est = float(weights_vec @ estimates)
        se = float(np.sqrt(weights_vec @ vcov @ weights_vec))
        rows.append(row(term, np.nan, est, se))
    leads = np.array([k < 0 for k in event_times])
    if leads.any():
        b = estimates[leads]
        v = vcov[np.ix_(leads, leads)]
        wald = float(b @ np.linalg.lstsq(v, b, rcond=None)[0])
        q = int(leads.sum())
        info["pretrend_chi2"] = wald
        info["pretrend_chi2_p"] = float(stats.chi2.sf(wald, q))
        if df is not None:
            info["pretrend_F"] = wald / q
            info["pretrend_df"] = f"({q}, {df:.0f})"
            info["pretrend_p"] = float(stats.f.sf(wald / q, q, df))
    table = pd.concat([coefs, pd.DataFrame(rows)], ignore_index=True) if rows else coefs
    return EventStudyResult(
        method=method,
        term=rows[0]["term"] if rows else names[-1],
        table=table,
        nobs=nobs,
        se_type=se_type,
        alpha=alpha,
        info=info,
        reference=reference,
        coefs=coefs,
        vcov=pd.DataFrame(vcov, index=names, columns=names),
    )
