"""Difference-in-differences on regional panels: treatment definitions, 2x2 DID, two-way fixed
effects, event studies and wild cluster bootstrap inference.

This module owns the regression-based DID estimators. Staggered adoption (Callaway and
Sant'Anna 2021) lives in :mod:`clusteratlas.causal.did_cs` and is re-exported here as
:func:`callaway_santanna`.

Regressions are fitted with pyfixest (``feols``), so standard errors follow fixest's
conventions:

* ``"iid"``: classical OLS, :math:`\\hat\\sigma^2 (X'X)^{-1}` with :math:`\\hat\\sigma^2 = e'e/(N-K)`.
* ``"HC1"``: heteroskedasticity-robust, scaled by :math:`N/(N-K)`.
* ``"CRV1"`` (with ``cluster=``): cluster-robust, scaled by
  :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` where fixed effects nested in the cluster are not
  counted in :math:`K` (fixest ``ssc(fixef.K = "nested")``); t tests and CIs use a
  t distribution with :math:`G-1` degrees of freedom.

With few clusters (50 US states is few) prefer :func:`wild_cluster_bootstrap` p-values and CIs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas.causal.results import TIDY_COLUMNS, EffectResult
from clusteratlas.errors import EstimationError, InputError, ParameterError

__all__ = [
    "EventStudyResult",
    "WildBootstrapResult",
    "callaway_santanna",
    "check_frame",
    "did_2x2",
    "event_study",
    "treatment_from_panel",
    "twfe",
    "wild_cluster_bootstrap",
]

TREATMENT_RULES = (
    "any_strong",
    "n_strong_at_least",
    "strength_quantile",
    "cluster_strong",
    "intensity",
)
VCOV_TYPES = ("iid", "HC1", "CRV1")


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def check_frame(
    data: pd.DataFrame,
    numeric: Sequence[str],
    keys: Sequence[str] = (),
    *,
    missing: str = "raise",
    what: str = "data",
) -> pd.DataFrame:
    """Check that columns exist, ``numeric`` ones are numeric and nothing is missing.

    ``missing="raise"`` raises :class:`InputError` naming the column and the first bad row;
    ``missing="drop"`` drops those rows with a warning saying how many. Returns a copy holding
    only the needed columns.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    if missing not in ("raise", "drop"):
        raise ParameterError("missing", f"unknown value {missing!r}", allowed="raise, drop")
    wanted = list(dict.fromkeys([*keys, *numeric]))
    absent = [c for c in wanted if c not in data.columns]
    if absent:
        raise InputError(
            f"{what} has no column(s) {', '.join(map(repr, absent))}",
            hint=f"available: {', '.join(map(str, data.columns))}",
        )
    frame = data.loc[:, wanted].copy()
    for column in numeric:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype(float)
        if not pd.api.types.is_numeric_dtype(frame[column]):
            converted = pd.to_numeric(frame[column], errors="coerce")
            bad = frame[column].notna() & converted.isna()
            if bad.any():
                row = bad.idxmax()
                raise InputError(
                    f"{what}: non-numeric value {frame[column][row]!r} in row {row}",
                    column=column,
                    hint="this column must hold numbers",
                )
            frame[column] = converted
        frame[column] = frame[column].astype(float)
        if np.isinf(frame[column]).any():
            raise InputError(f"{what}: infinite values", column=column)
    nulls = frame.isna()
    if nulls.any().any():
        counts = nulls.sum()
        named = ", ".join(f"{c!r} ({n} rows)" for c, n in counts.items() if n)
        if missing == "raise":
            first = nulls.any(axis=1).idxmax()
            raise InputError(
                f"{what}: missing values in {named}; first at row {first}",
                hint="clean them, or pass missing='drop' to drop those rows",
            )
        warnings.warn(
            f"{what}: dropped {int(nulls.any(axis=1).sum())} rows with missing {named}",
            stacklevel=3,
        )
        frame = frame.loc[~nulls.any(axis=1)]
    if frame.empty:
        raise InputError(f"{what} has no rows")
    return frame


def _vcov_spec(vcov: str, cluster: str | None) -> tuple[Any, str]:
    """pyfixest vcov argument and the human-readable SE convention."""
    if cluster is not None:
        if vcov not in ("CRV1", "HC1", "iid"):
            raise ParameterError("vcov", f"unknown type {vcov!r}", allowed=", ".join(VCOV_TYPES))
        return {"CRV1": cluster}, f"CRV1 clustered by {cluster} (fixest small-sample, t(G-1))"
    if vcov == "CRV1":
        raise ParameterError("cluster", "vcov='CRV1' needs a cluster column")
    if vcov == "HC1":
        return "hetero", "HC1 heteroskedasticity-robust (N/(N-K))"
    if vcov == "iid":
        return "iid", "iid (classical OLS)"
    raise ParameterError("vcov", f"unknown type {vcov!r}", allowed=", ".join(VCOV_TYPES))


@dataclass
class _FitSpec:
    """What is needed to refit a regression (wild bootstrap and its CI inversion)."""

    formula: str
    data: pd.DataFrame
    y: str
    cluster: str | None
    weights: str | None = None


def _feols(formula: str, data: pd.DataFrame, vcov: Any, weights: str | None = None) -> Any:
    import pyfixest as pf

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = pf.feols(formula, data=data, vcov=vcov, weights=weights)
        except Exception as error:  # pyfixest raises plain ValueErrors on singular designs
            if "collinear" in str(error):
                raise EstimationError(
                    f"singular design in {formula!r}: every regressor is collinear with the "
                    "fixed effects (e.g. a treatment fixed within units or periods)"
                ) from error
            raise EstimationError(f"regression {formula!r} failed: {error}") from error
    for item in caught:
        if "dropped" in str(item.message) and "multicollinearity" in str(item.message):
            warnings.warn(f"{formula}: {item.message}".strip(), stacklevel=3)
    return fit


def _tidy_from_fit(fit: Any, alpha: float, rename: dict[str, str] | None = None) -> pd.DataFrame:
    tidy = fit.tidy(alpha=alpha).reset_index()
    tidy.columns = TIDY_COLUMNS
    if rename:
        tidy["term"] = tidy["term"].replace(rename)
    return tidy


def _require_term(fit: Any, term: str, why: str) -> None:
    if term not in list(fit.coef().index):
        raise EstimationError(
            f"the treatment term {term!r} was dropped as collinear with the fixed effects: {why}"
        )


def _nclusters(data: pd.DataFrame, cluster: str | None) -> int | None:
    return int(data[cluster].nunique()) if cluster else None


# --------------------------------------------------------------------------------------------
# treatment definitions
# --------------------------------------------------------------------------------------------


def treatment_from_panel(
    panel: pd.DataFrame,
    rule: str = "any_strong",
    *,
    year: int,
    shock_year: int,
    quantile: float = 0.75,
    at_quantile: bool = False,
    min_strong: int = 1,
    cluster_code: str | None = None,
    region_type: str | None = None,
    require_both_groups: bool = False,
) -> pd.DataFrame:
    """Treatment indicator (or intensity) per region, measured in ``year`` before the shock.

    Parameters
    ----------
    panel
        A cluster panel (schema.CLUSTER_PANEL) or an already computed region summary
        (:func:`clusteratlas.panel.region_summary`, with ``cluster_strength`` and ``n_strong``).
    rule
        ``"any_strong"``: treated if the region has at least one strong traded cluster
        (Cho et al. 2024: "regions with industrial clusters"); ``"n_strong_at_least"``:
        treated if it has at least ``min_strong`` strong traded clusters;
        ``"strength_quantile"``: treated if cluster strength :math:`S_r` (share of traded
        employment in strong clusters, USCM ``str_emp_per``) exceeds its ``quantile``
        :math:`q` across regions, :math:`S_r > Q_q(S)` (:math:`S_r \\ge Q_q(S)` with
        ``at_quantile=True``); ``"cluster_strong"``: treated if cluster ``cluster_code`` is
        strong in the region; ``"intensity"``: continuous, the cluster strength (or, with
        ``cluster_code``, that cluster's location quotient).
    year, shock_year
        Treatment is measured in ``year`` which must be strictly before ``shock_year``, so the
        shock cannot have caused the treatment.
    require_both_groups
        A 0/1 rule that puts every region in one group warns by default; with ``True`` it
        raises :class:`~clusteratlas.errors.ParameterError` (a pipeline cannot go on).

    Returns a frame with ``region_type, region_id, measured_year`` and ``treated`` (0/1) or
    ``intensity``; the region-level rules also keep ``n_strong`` and ``cluster_strength``.
    """
    if rule not in TREATMENT_RULES:
        raise ParameterError("rule", f"unknown rule {rule!r}", allowed=", ".join(TREATMENT_RULES))
    if year >= shock_year:
        raise ParameterError(
            "year",
            f"treatment measured in {year} is not before the shock start {shock_year}; "
            "a treatment measured after the shock may itself be an outcome of the shock",
            allowed=f"a year < {shock_year}",
        )
    if not 0 < quantile < 1:
        raise ParameterError("quantile", f"{quantile} is not strictly between 0 and 1")
    if isinstance(min_strong, bool) or not isinstance(min_strong, int) or min_strong < 1:
        raise ParameterError("min_strong", f"must be a positive integer, got {min_strong!r}")
    for column in ("region_type", "region_id", "year"):
        if column not in panel.columns:
            raise InputError(f"panel has no column {column!r}")
    frame = panel.loc[panel["year"] == year]
    if region_type is not None:
        frame = frame.loc[frame["region_type"] == region_type]
    if frame.empty:
        years = sorted(panel["year"].unique().tolist())
        raise ParameterError("year", f"no panel rows for year {year}", allowed=str(years))
    if frame["region_type"].nunique() > 1:
        raise ParameterError(
            "region_type",
            "the panel mixes region types; choose one",
            allowed=", ".join(sorted(frame["region_type"].unique())),
        )
    keys = ["region_type", "region_id"]
    if rule == "cluster_strong" or (rule == "intensity" and cluster_code is not None):
        if cluster_code is None:
            raise ParameterError("cluster_code", f"rule {rule!r} needs a cluster_code")
        if "cluster_code" not in frame.columns:
            raise InputError("panel has no cluster_code column; pass the cluster panel")
        rows = frame.loc[frame["cluster_code"].astype(str) == str(cluster_code)]
        if rows.empty:
            raise ParameterError("cluster_code", f"cluster {cluster_code!r} not in the panel")
        regions = frame.loc[:, keys].drop_duplicates()
        column = "strong" if rule == "cluster_strong" else "lq"
        out = regions.merge(rows.loc[:, [*keys, column]], on=keys, how="left")
        if rule == "cluster_strong":
            out["treated"] = out[column].fillna(False).astype(bool).astype(int)
        else:
            # a region without the cluster has employment 0, hence LQ 0
            out["intensity"] = out[column].astype(float).fillna(0.0)
        out = out.drop(columns=column)
    else:
        if "cluster_strength" in frame.columns and "n_strong" in frame.columns:
            summary = frame
        else:
            from clusteratlas.panel.metrics import region_summary

            summary = region_summary(frame)
        out = summary.loc[:, [*keys, "n_strong", "cluster_strength"]].copy()
        strength = out["cluster_strength"].astype(float)
        if rule == "any_strong":
            out["treated"] = (out["n_strong"] > 0).astype(int)
        elif rule == "n_strong_at_least":
            out["treated"] = (out["n_strong"] >= min_strong).astype(int)
        elif rule == "strength_quantile":
            if strength.isna().any():
                raise InputError(
                    f"cluster_strength is missing for {int(strength.isna().sum())} regions in "
                    f"{year} (no traded employment)",
                    column="cluster_strength",
                )
            cut = strength.quantile(quantile)
            above = strength >= cut if at_quantile else strength > cut
            out["treated"] = above.astype(int)
        else:
            if strength.isna().any():
                raise InputError(
                    "cluster_strength is missing for some regions", column="cluster_strength"
                )
            out["intensity"] = strength
            out = out.drop(columns=["n_strong", "cluster_strength"])
    out.insert(2, "measured_year", int(year))
    if "treated" in out.columns and out["treated"].nunique() < 2:
        problem = (
            f"rule {rule!r} in {year} puts all {len(out)} regions in the same group "
            f"(treated = {int(out['treated'].iloc[0])}); a DID needs both groups"
        )
        if require_both_groups:
            raise ParameterError("rule", problem, allowed="another rule or threshold")
        warnings.warn(problem, stacklevel=2)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# 2x2 DID (Cho et al. 2024, Equation 1)
# --------------------------------------------------------------------------------------------


def did_2x2(
    data: pd.DataFrame,
    y: str,
    treat: str,
    time: str,
    *,
    pre: Any = None,
    post: Any = None,
    unit: str | None = None,
    cluster: str | None = None,
    vcov: str = "iid",
    unit_fe: bool = False,
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
    outcome_source: str | None = None,
) -> EffectResult:
    """Two-group, two-period difference in differences (Cho et al. 2024, Equation 1).

    .. math::

        y_{it} = \\gamma_{s(i)} + \\lambda_t + \\delta\\,(\\text{Cluster}_i \\times
        \\text{Post}_t) + \\varepsilon_{it}

    estimated by OLS as ``y ~ Intercept + Period + Treatment + Interaction`` (the rows of
    Cho et al.'s Table 3); :math:`\\delta` is the ``Interaction`` coefficient. With
    ``unit_fe=True`` the group intercept is replaced by unit fixed effects (same
    :math:`\\delta` in a balanced panel).

    ``time`` may hold more than two periods if ``pre`` and ``post`` pick two of them (Model 1
    of the paper: 2018 vs 2020; Model 2: 2020 vs 2022). ``treat`` is 0/1 and fixed per unit.
    Standard errors: ``vcov="iid"`` (the paper's OLS table), ``"HC1"``, or CRV1 with
    ``cluster=``.
    """
    numeric = [y, treat] + ([weights] if weights else [])
    keys = [time] + [c for c in (unit, cluster) if c and c not in (time,)]
    frame = check_frame(data, numeric, keys, missing=missing, what="did_2x2 data")
    periods = sorted(frame[time].unique().tolist())
    if pre is None and post is None:
        if len(periods) != 2:
            raise ParameterError(
                "pre/post",
                f"{time!r} has {len(periods)} periods; a 2x2 DID needs exactly two, "
                "or choose them with pre= and post=",
                allowed=", ".join(map(str, periods[:30])),
            )
        pre, post = periods
    if pre is None or post is None:
        raise ParameterError("pre/post", "give both pre= and post= (or neither)")
    for name, value in (("pre", pre), ("post", post)):
        if value not in periods:
            raise ParameterError(name, f"period {value!r} not in {time!r}", allowed=str(periods))
    if pre == post:
        raise ParameterError("post", "pre and post are the same period")
    if outcome_source and outcome_source.lower() == "cbp" and post == 2020:
        warnings.warn(
            "CBP employment is measured in the pay period including March 12, so CBP 2020 is "
            "essentially pre-lockdown: a 2018 vs 2020 CBP comparison measures almost nothing of "
            "COVID-19. Use CBP 2019 vs 2021, QCEW 2020Q2 or BEA GDP instead.",
            stacklevel=2,
        )
    frame = frame.loc[frame[time].isin([pre, post])].copy()
    values = set(frame[treat].unique().tolist())
    if not values <= {0.0, 1.0}:
        raise InputError(
            f"treatment must be 0/1, found {sorted(values)[:5]}",
            column=treat,
            hint="use twfe() for a continuous treatment",
        )
    if values == {1.0}:
        raise EstimationError("all units are treated: no control group to difference against")
    if values == {0.0}:
        raise EstimationError("no unit is treated: there is no treatment variation")
    if unit is not None:
        varying = frame.groupby(unit)[treat].nunique()
        if (varying > 1).any():
            raise InputError(
                f"treatment group changes over time for unit {varying.idxmax()!r}",
                column=treat,
                hint="the 2x2 design needs a fixed treated/control group per unit",
            )
    cells = frame.groupby([treat, time]).size()
    if len(cells) < 4:
        raise EstimationError(
            f"each group needs observations in both periods; cells present: {dict(cells)}"
        )
    frame["Treatment"] = frame[treat]
    frame["Period"] = (frame[time] == post).astype(float)
    frame["Interaction"] = frame["Treatment"] * frame["Period"]
    if unit_fe:
        if unit is None:
            raise ParameterError("unit", "unit_fe=True needs the unit column")
        formula = f"{y} ~ Interaction | {unit} + Period"
    else:
        formula = f"{y} ~ Treatment + Period + Interaction"
    vc, se_type = _vcov_spec(vcov, cluster)
    fit = _feols(formula, frame, vc, weights)
    _require_term(fit, "Interaction", "no treated-group change between the periods")
    table = _tidy_from_fit(fit, alpha)
    info: dict[str, Any] = {
        "pre": pre,
        "post": post,
        "r2": float(fit._r2),
        "adj_r2": float(fit._adj_r2),
        "n_treated_obs": int(frame["Treatment"].sum()),
    }
    if cluster:
        info["n_clusters"] = _nclusters(frame, cluster)
    result = EffectResult(
        method="2x2 DID (Cho et al. 2024, Eq. 1)",
        term="Interaction",
        table=table,
        nobs=int(fit._N),
        se_type=se_type,
        alpha=alpha,
        info=info,
    )
    result._spec = _FitSpec(formula, frame, y, cluster, weights)  # type: ignore[attr-defined]
    return result


# --------------------------------------------------------------------------------------------
# two-way fixed effects
# --------------------------------------------------------------------------------------------


def twfe(
    data: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treat: str,
    *,
    covariates: Sequence[str] = (),
    cluster: str | None = "unit",
    vcov: str = "CRV1",
    weights: str | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> EffectResult:
    """Two-way fixed effects regression.

    .. math::

        y_{it} = \\alpha_i + \\lambda_t + \\beta D_{it} + X_{it}'\\gamma + \\varepsilon_{it}

    ``treat`` is :math:`D_{it}` (0/1 or a continuous dose). ``cluster="unit"`` (default)
    clusters by ``unit``; pass another column, or ``None`` with ``vcov="HC1"``/``"iid"``.
    SEs are fixest CRV1 (unit FE nested in the cluster are not counted as parameters).
    With staggered adoption and heterogeneous effects :math:`\\beta` is a weighted average that
    can have negative weights: use :func:`callaway_santanna` there.
    """
    cluster = unit if cluster == "unit" else cluster
    numeric = [y, treat, *covariates] + ([weights] if weights else [])
    keys = [unit, time] + ([cluster] if cluster and cluster not in (unit, time) else [])
    frame = check_frame(data, numeric, keys, missing=missing, what="twfe data")
    _check_panel_variation(frame, unit, time, treat)
    rhs = " + ".join([treat, *covariates])
    formula = f"{y} ~ {rhs} | {unit} + {time}"
    vc, se_type = _vcov_spec(vcov, cluster)
    fit = _feols(formula, frame, vc, weights)
    _require_term(fit, treat, "treatment varies only by unit or only by time")
    info: dict[str, Any] = {
        "n_units": int(frame[unit].nunique()),
        "n_periods": int(frame[time].nunique()),
        "r2_within": float(getattr(fit, "_r2_within", np.nan)),
    }
    if cluster:
        info["n_clusters"] = _nclusters(frame, cluster)
    result = EffectResult(
        method="Two-way fixed effects (unit and time FE)",
        term=treat,
        table=_tidy_from_fit(fit, alpha),
        nobs=int(fit._N),
        se_type=se_type,
        alpha=alpha,
        info=info,
    )
    result._spec = _FitSpec(formula, frame, y, cluster, weights)  # type: ignore[attr-defined]
    return result


def _check_panel_variation(frame: pd.DataFrame, unit: str, time: str, treat: str) -> None:
    if frame[time].nunique() < 2:
        raise EstimationError(f"{time!r} has a single period: no time variation")
    if frame[unit].nunique() < 2:
        raise EstimationError(f"{unit!r} has a single unit: no cross-sectional variation")
    if frame[treat].nunique() < 2:
        raise EstimationError(f"treatment {treat!r} never varies ({frame[treat].iloc[0]})")
    duplicated = frame.duplicated([unit, time])
    if duplicated.any():
        row = duplicated.idxmax()
        raise InputError(
            f"unit {frame.loc[row, unit]!r} appears twice in period {frame.loc[row, time]!r}",
            line=int(row) if isinstance(row, (int, np.integer)) else None,
            hint="a panel needs one row per unit and period",
        )
    ever = frame.groupby(unit)[treat].max()
    if (ever > 0).all() and (frame.groupby(time)[treat].nunique() == 1).all():
        raise EstimationError("every unit is treated at the same time: no control units")
    if (ever > 0).all():
        warnings.warn(
            "every unit is eventually treated: identification rests on not-yet-treated units",
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------------
# event study
# --------------------------------------------------------------------------------------------


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

    def plot(self, ax: Any = None, title: str | None = None) -> Any:
        """Coefficients with confidence intervals against event time; returns the Figure."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 4))
        else:
            fig = ax.figure
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
            "no never-treated units: leads and lags rest on timing differences only", stacklevel=2
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
    vc, se_type = _vcov_spec(vcov, cluster)
    fit = _feols(formula, frame, vc, weights)
    kept = [n for n in names if n in fit.coef().index]
    if not kept:
        raise EstimationError("every event-time dummy is collinear with the fixed effects")
    table = _tidy_from_fit(fit, alpha)
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
        info["n_clusters"] = _nclusters(frame, cluster)
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
    )
    result._spec = _FitSpec(formula, frame, y, cluster, weights)  # type: ignore[attr-defined]
    return result


# --------------------------------------------------------------------------------------------
# wild cluster bootstrap
# --------------------------------------------------------------------------------------------


@dataclass
class WildBootstrapResult:
    """Wild cluster bootstrap test of one coefficient (WCR11: restricted, Roodman et al. 2019).

    ``pvalue`` is the symmetric bootstrap p-value of H0: coefficient = 0; ``ci`` inverts the
    test over the null value (the set of values not rejected at level ``alpha``).
    """

    term: str
    estimate: float
    pvalue: float
    ci: tuple[float, float]
    reps: int
    weights_type: str
    n_clusters: int
    alpha: float = 0.05
    t_stat: float = np.nan

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "term": self.term,
                    "estimate": self.estimate,
                    "t_stat": self.t_stat,
                    "boot_p_value": self.pvalue,
                    "boot_conf_low": self.ci[0],
                    "boot_conf_high": self.ci[1],
                    "reps": self.reps,
                    "weights": self.weights_type,
                    "n_clusters": self.n_clusters,
                }
            ]
        )

    def summary(self) -> str:
        return (
            f"Wild cluster bootstrap (restricted WCR11, {self.weights_type} weights, "
            f"{self.reps} reps, {self.n_clusters} clusters)\n"
            f"{self.term}: {self.estimate:.6g}  bootstrap p = {self.pvalue:.4g}  "
            f"{100 * (1 - self.alpha):.0f}% CI [{self.ci[0]:.6g}, {self.ci[1]:.6g}]"
        )


def wild_cluster_bootstrap(
    result: EffectResult | str,
    *,
    param: str | None = None,
    reps: int = 9999,
    weights_type: str = "rademacher",
    cluster: str | None = None,
    seed: int = 20240101,
    ci: bool = True,
    alpha: float = 0.05,
    data: pd.DataFrame | None = None,
    B: int | None = None,  # noqa: N803 - boottest's name, accepted as an alias of reps
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap (WCR11) p-value and CI for one DID coefficient.

    Works on results of :func:`did_2x2`, :func:`twfe` and :func:`event_study` (``param``
    defaults to the headline term; for an event study pick one event time such as
    ``"rel_p0"``). Fixed effects are partialled out first (Frisch-Waugh-Lovell, valid when
    they are nested in the clusters or the regressors are already demeaned, as boottest does).

    For the null :math:`\beta_k = r`: fit the restricted model, draw
    :math:`y^*_{g} = \\hat y^{R}_g + v_g \\hat u^{R}_g` with cluster weights :math:`v_g`
    (Rademacher, or Webb's six-point weights for fewer than ~12 clusters), and compare the
    bootstrap CRV1 t statistics :math:`|t^*|` with the sample :math:`|t|`; the p-value is
    the share with :math:`|t^*| \\ge |t|`. When :math:`2^G \\le` ``reps`` Rademacher draws are
    enumerated exactly. The CI is the set of :math:`r` not rejected at ``alpha`` (test
    inversion by bisection). The computation is closed-form in the weights (one
    reps x G matrix product per null value), so thousands of draws take milliseconds.
    """
    reps = B if B is not None else reps
    if isinstance(result, str):
        # a formula (pyfixest syntax, "y ~ x + C(state) | fe") with data= and cluster=
        if data is None or cluster is None or param is None:
            raise ParameterError("data", "a formula needs data=, cluster= and param=")
        fit = _feols(result, data, {"CRV1": cluster})
        table = _tidy_from_fit(fit, alpha)
        formula = result
        result = EffectResult("formula", param, table, int(fit._N), "CRV1", alpha)
        lhs = formula.split("~")[0].strip()
        result._spec = _FitSpec(formula, data, lhs, cluster)  # type: ignore[attr-defined]
    spec: _FitSpec | None = getattr(result, "_spec", None)
    if spec is None:
        raise ParameterError("result", "needs a result of did_2x2, twfe or event_study")
    param = param or result.term
    if param == "avg_post":
        raise ParameterError("param", "avg_post is a combination; choose one event time")
    if weights_type not in ("rademacher", "webb"):
        raise ParameterError(
            "weights_type", f"unknown {weights_type!r}", allowed="rademacher, webb"
        )
    cluster = cluster or spec.cluster
    if cluster is None:
        raise ParameterError("cluster", "the wild cluster bootstrap needs a cluster column")
    if reps < 99:
        raise ParameterError("reps", f"{reps} is too few", allowed=">= 99 (9999 recommended)")
    fit = _feols(spec.formula, spec.data, "iid", spec.weights)
    names = [str(c) for c in fit._coefnames]
    if param not in names:
        raise ParameterError("param", f"{param!r} is not a coefficient", allowed=", ".join(names))
    x = np.asarray(fit._X, dtype=float)
    yv = np.asarray(fit._Y, dtype=float).ravel()
    if len(yv) != len(spec.data):
        raise EstimationError("the regression dropped rows (singletons?); cannot align clusters")
    groups = pd.factorize(spec.data[cluster])[0]
    n_clusters = int(groups.max() + 1)
    if n_clusters < 12 and weights_type == "rademacher":
        warnings.warn(
            f"only {n_clusters} clusters: Rademacher weights allow just 2^{n_clusters} distinct "
            "draws; consider weights_type='webb'",
            stacklevel=2,
        )
    k = names.index(param)
    draws = _wild_weights(n_clusters, reps, weights_type, seed)
    estimate = float(np.linalg.lstsq(x, yv, rcond=None)[0][k])

    def pvalue_at(null_value: float) -> tuple[float, float]:
        return _wcr_pvalue(x, yv, groups, n_clusters, k, null_value, draws)

    pvalue, t_stat = pvalue_at(0.0)
    interval = (np.nan, np.nan)
    if ci:
        se = float(result.table.set_index("term").loc[param, "std_error"])
        interval = (
            _invert(pvalue_at, estimate, -se, alpha),
            _invert(pvalue_at, estimate, se, alpha),
        )
    return WildBootstrapResult(
        term=param,
        estimate=estimate,
        pvalue=pvalue,
        ci=interval,
        reps=int(draws.shape[0]),
        weights_type=weights_type,
        n_clusters=n_clusters,
        alpha=alpha,
        t_stat=t_stat,
    )


def _wild_weights(n_clusters: int, reps: int, weights_type: str, seed: int) -> np.ndarray:
    """reps x G weight matrix; full enumeration of Rademacher signs when 2^G <= reps."""
    if weights_type == "rademacher" and 2**n_clusters <= reps:
        codes = np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :] & 1
        return 2.0 * codes - 1.0
    rng = np.random.default_rng(seed)
    if weights_type == "rademacher":
        return rng.choice([-1.0, 1.0], size=(reps, n_clusters))
    webb = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return rng.choice(webb, size=(reps, n_clusters))


def _wcr_pvalue(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_clusters: int,
    k: int,
    null_value: float,
    draws: np.ndarray,
) -> tuple[float, float]:
    r"""WCR11 bootstrap p-value of H0: beta_k = null_value (closed form in the weights).

    With :math:`R=(X'X)^{-1}` and cluster scores, the bootstrap score of cluster g for
    coefficient k is linear in the weights: :math:`s^*_g = c_g + v_g b_g - \sum_h v_h M_{gh}`,
    and :math:`\hat\beta^*_k = r + \sum_h v_h b_h`.
    """
    xtx_inv = np.linalg.inv(x.T @ x)
    r_k = xtx_inv[k]
    others = [j for j in range(x.shape[1]) if j != k]

    def cluster_sum(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_clusters,) + values.shape[1:])
        np.add.at(out, groups, values)
        return out

    # sample t statistic (CRV1 without small-sample factor: it cancels in |t*| >= |t|)
    beta = xtx_inv @ (x.T @ y)
    resid = y - x @ beta
    scores = cluster_sum(x * resid[:, None]) @ r_k
    t_stat = (beta[k] - null_value) / np.sqrt(np.sum(scores**2))

    # restricted fit under the null
    y_null = y - null_value * x[:, k]
    if others:
        coef = np.linalg.lstsq(x[:, others], y_null, rcond=None)[0]
        fitted = x[:, others] @ coef + null_value * x[:, k]
    else:
        fitted = null_value * x[:, k]
    u = y - fitted
    xu = cluster_sum(x * u[:, None])  # G x K: X_g' u_g
    xf = cluster_sum(x * fitted[:, None])  # G x K: X_g' yhat_g
    xgxg = np.zeros((n_clusters, x.shape[1], x.shape[1]))
    np.add.at(xgxg, groups, x[:, :, None] * x[:, None, :])
    h = np.einsum("k,gkl,lm->gm", r_k, xgxg, xtx_inv)  # G x K: R_k X_g'X_g R
    q = xf.sum(axis=0)
    b = xu @ r_k
    c = xf @ r_k - h @ q
    m = h @ xu.T  # G x G
    s_star = c[None, :] + draws * b[None, :] - draws @ m.T
    beta_star = null_value + draws @ b
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = (beta_star - null_value) / np.sqrt(np.sum(s_star**2, axis=1))
    return _exceedance_pvalue(t_star, float(t_stat), draws), float(t_stat)


#: Relative distance below which a bootstrap |t*| is a tie with the sample |t|. Genuine
#: draws differ from |t| by far more; rounding (CPU, BLAS build, summation order) moves
#: the identity draw by ~1e-15 relative.
TIE_RTOL = 1e-9


def _exceedance_pvalue(t_star: np.ndarray, t_stat: float, draws: np.ndarray) -> float:
    r"""Symmetric p-value :math:`\frac1B\#\{b: |t^*_b| > |t|\}` with ties made explicit.

    Convention (boottest, fwildclusterboot ``mean(abs(t) < abs(t_boot))``, wildboottest
    ``np.mean(np.abs(t_stat) < abs(t_boot))``): strict exceedance, so a draw that only
    reproduces the sample statistic does not count. The constant weight vectors
    :math:`v = \pm 1` reproduce :math:`|t|` by construction (with :math:`v = 1`,
    :math:`y^* = y`); whether floating-point rounding puts their computed :math:`|t^*|` a hair
    above or below :math:`|t|` depends on the machine, so they are set to ties structurally,
    and any other draw within ``TIE_RTOL`` of :math:`|t|` is treated the same way. The
    p-value therefore does not depend on rounding.
    """
    magnitude = np.abs(t_star)
    threshold = abs(t_stat)
    constant = np.all(draws == draws[:, :1], axis=1) & (np.abs(draws[:, 0]) == 1.0)
    tie = constant | (np.abs(magnitude - threshold) <= TIE_RTOL * threshold)
    exceeds = (magnitude > threshold) & ~tie
    return float(np.count_nonzero(exceeds) / len(t_star))


def _invert(pvalue_at: Any, estimate: float, step: float, alpha: float) -> float:
    """Find the null value on one side of ``estimate`` where the bootstrap p-value hits alpha."""
    inside, outside = estimate, estimate + 2 * step
    expansions = 0
    while pvalue_at(outside)[0] > alpha:
        inside, outside = outside, outside + 2 * step
        expansions += 1
        if expansions > 20:
            return float(np.sign(step) * np.inf)
    for _ in range(30):
        middle = 0.5 * (inside + outside)
        if pvalue_at(middle)[0] > alpha:
            inside = middle
        else:
            outside = middle
    return 0.5 * (inside + outside)


def callaway_santanna(*args: Any, **kwargs: Any) -> Any:
    """Callaway and Sant'Anna (2021) group-time ATTs; see :func:`clusteratlas.causal.did_cs.att_gt`."""
    from clusteratlas.causal.did_cs import att_gt

    return att_gt(*args, **kwargs)
