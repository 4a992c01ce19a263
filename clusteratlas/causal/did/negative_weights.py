"""What a TWFE coefficient averages: the Goodman-Bacon decomposition and the de Chaisemartin-
D'Haultfoeuille weights.

Owns :func:`bacon_decomposition` and :func:`twfe_weights`, the diagnostics that show when a
plain two-way fixed-effects estimate of a staggered design misleads.

**Goodman-Bacon (2021), Theorem 1.** In a balanced panel with absorbing treatment and timing
groups :math:`k` (first treated :math:`t_k`, share of units :math:`n_k`, share of periods
treated :math:`\\bar D_k`), the TWFE coefficient is a weighted average of all 2x2 DIDs:

.. math::

    \\hat\\beta^{TWFE} = \\sum_{k} s_{kU}\\hat\\beta_{kU}
    + \\sum_{k<\\ell}\\big(s^k_{k\\ell}\\hat\\beta^k_{k\\ell} + s^\\ell_{k\\ell}\\hat\\beta^\\ell_{k\\ell}\\big),

with :math:`\\hat\\beta_{kU}` treated vs never treated (the whole span),
:math:`\\hat\\beta^k_{k\\ell}` earlier vs later-treated controls (before :math:`t_\\ell`),
:math:`\\hat\\beta^\\ell_{k\\ell}` later vs earlier-treated "controls" (from :math:`t_k`: the
comparison that turns heterogeneous dynamic effects into bias), and weights (eq. 10a-c)
:math:`s_{kU} = (n_k+n_U)^2 n_{kU}(1-n_{kU})\\bar D_k(1-\\bar D_k)/\\hat V^D`,
:math:`s^k_{k\\ell} = ((n_k+n_\\ell)(1-\\bar D_\\ell))^2 n_{k\\ell}(1-n_{k\\ell})
\\frac{\\bar D_k-\\bar D_\\ell}{1-\\bar D_\\ell}\\frac{1-\\bar D_k}{1-\\bar D_\\ell}/\\hat V^D`,
:math:`s^\\ell_{k\\ell} = ((n_k+n_\\ell)\\bar D_k)^2 n_{k\\ell}(1-n_{k\\ell})
\\frac{\\bar D_\\ell}{\\bar D_k}\\frac{\\bar D_k-\\bar D_\\ell}{\\bar D_k}/\\hat V^D`, where
:math:`\\hat V^D` is the variance of the two-way demeaned treatment. Units treated in every
period have constant treatment like never-treated ones and join :math:`U` (footnote 11).

**de Chaisemartin and D'Haultfoeuille (2020), Theorem 1.** With :math:`\\varepsilon_{it}` the
residual of :math:`D_{it}` on unit and period effects, :math:`\\hat\\beta^{TWFE} =
\\sum_{D_{it}=1} w_{it}\\,\\Delta_{it}` in expectation, :math:`w_{it} = \\varepsilon_{it} /
\\sum_{D=1}\\varepsilon`. Negative :math:`w_{it}` (typically late periods of early cohorts)
mean TWFE can have the wrong sign even when every effect is positive; the smallest
effect-heterogeneity standard deviation compatible with that is
:math:`\\underline\\sigma = |\\hat\\beta^{TWFE}| / \\sigma(w)` (their Corollary 1).

Reference implementations: diff-diff ``BaconDecomposition`` (exact weights; R
``bacondecomp`` parity), and the identities themselves (the weighted sums reproduce
:func:`~clusteratlas.causal.did.twfe`'s coefficient exactly).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas.causal.did.untreated_model import TwoWaySolver, first_treated
from clusteratlas.causal.frames import check_frame
from clusteratlas.causal.results import figure_axes
from clusteratlas.errors import DesignWarning, EstimationError, InputError
from clusteratlas.results import EstimatorResult, Result

COMPARISONS = ("treated vs never", "earlier vs later", "later vs earlier")


@dataclass
class BaconResult(EstimatorResult):
    """The 2x2 comparisons behind a TWFE estimate (:attr:`comparisons`) and their totals.

    :meth:`tidy`: one row per 2x2 comparison (``term`` = ``<treated> vs <control>``), its
    estimate (no standard error: the decomposition is an identity), then type, treated,
    control and its weight in the TWFE estimate.
    """

    tidy_extras = ("type", "treated", "control", "weight")
    caption = "Goodman-Bacon decomposition"

    twfe_estimate: float
    comparisons: pd.DataFrame  # type, treated, control, estimate, weight
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted mean estimate of each comparison type."""
        rows = []
        for kind in COMPARISONS:
            part = self.comparisons.loc[self.comparisons["type"] == kind]
            weight = float(part["weight"].sum())
            mean = float(part["estimate"] @ part["weight"] / weight) if weight > 0 else np.nan
            rows.append({"type": kind, "weight": weight, "average_estimate": mean})
        return pd.DataFrame(rows)

    def _tidy(self) -> pd.DataFrame:
        out = self.comparisons.copy()
        out["term"] = [f"{t} vs {c}" for t, c in zip(out["treated"], out["control"], strict=True)]
        return out

    def summary(self) -> str:
        return "\n".join(
            [
                "Goodman-Bacon decomposition of the TWFE estimate",
                f"TWFE estimate: {self.twfe_estimate:.6g}   weighted sum of 2x2 DIDs: "
                f"{float(self.comparisons['estimate'] @ self.comparisons['weight']):.6g}",
                self.by_type.to_string(index=False, float_format=lambda v: f"{v:.6g}"),
                "'later vs earlier' uses already-treated units as controls: with effects that "
                "change over time its estimates are biased, and so is TWFE.",
            ]
        )

    def plot(self, ax: Any = None) -> Any:
        """Each 2x2 estimate against its weight, by comparison type; returns the Figure."""
        fig, ax = figure_axes(ax)
        for kind, marker in zip(COMPARISONS, "osx", strict=True):
            part = self.comparisons.loc[self.comparisons["type"] == kind]
            ax.scatter(part["weight"], part["estimate"], marker=marker, label=kind)
        ax.axhline(self.twfe_estimate, color="grey", ls="--", lw=0.8, label="TWFE")
        ax.set_xlabel("weight")
        ax.set_ylabel("2x2 DID estimate")
        ax.legend()
        fig.tight_layout()
        return fig


def _staggered_frame(
    data: pd.DataFrame, y: str, unit: str, time: str, cohort: str, what: str
) -> pd.DataFrame:
    if not data.index.is_unique:  # rows are matched by index below
        data = data.reset_index(drop=True)
    frame = check_frame(data, [y, time], [unit], what=what)
    frame["_g"] = first_treated(data, frame, unit, time, cohort, what)
    return frame


def bacon_decomposition(
    data: pd.DataFrame, y: str, unit: str, time: str, cohort: str
) -> BaconResult:
    """Goodman-Bacon (2021) decomposition of the TWFE coefficient on :math:`1\\{t \\ge G_i\\}`.

    Needs a balanced panel (the theorem's setting), no covariates, no weights. ``cohort`` is
    the first treated period (0/NaN/inf = never treated).
    """
    frame = _staggered_frame(data, y, unit, time, cohort, "bacon_decomposition data")
    periods = np.sort(frame[time].unique())
    n_periods = len(periods)
    if frame.groupby(unit)[time].size().lt(n_periods).any():
        raise InputError(
            "the Bacon decomposition needs a balanced panel (every unit in every period)",
            hint="use twfe_weights() for unbalanced panels",
        )
    always = frame["_g"] <= periods[0]
    if always.any():
        warnings.warn(
            f"{frame.loc[always, unit].nunique()} units are treated in every period: their "
            "treatment is constant, so TWFE treats them like never-treated units (they join U)",
            category=DesignWarning,
            stacklevel=2,
        )
        frame.loc[always, "_g"] = np.inf
    frame.loc[frame["_g"] > periods[-1], "_g"] = np.inf  # treated after the panel ends
    wide = frame.pivot(index=unit, columns=time, values=y).reindex(columns=periods)
    unit_g = frame.groupby(unit)["_g"].first().reindex(wide.index).to_numpy()
    y_mat = wide.to_numpy()
    n_units = len(unit_g)
    groups = np.sort(np.unique(unit_g[np.isfinite(unit_g)]))
    if groups.size == 0:
        raise EstimationError("no unit is treated within the panel")
    share = {g: float(np.mean(unit_g == g)) for g in groups}
    share_u = float(np.mean(~np.isfinite(unit_g)))
    d_bar = {g: float(np.mean(periods >= g)) for g in groups}
    treat = (periods[None, :] >= unit_g[:, None]).astype(float)
    demeaned = treat - treat.mean(axis=1, keepdims=True) - treat.mean(axis=0) + treat.mean()
    v_d = float(np.mean(demeaned**2))

    def did(treated_g: float, control: np.ndarray, window: np.ndarray, post: np.ndarray) -> float:
        tr = y_mat[unit_g == treated_g][:, window]
        co = y_mat[control][:, window]
        p = post[window]
        return float((tr[:, p].mean() - tr[:, ~p].mean()) - (co[:, p].mean() - co[:, ~p].mean()))

    rows = []
    all_periods = np.ones(n_periods, dtype=bool)
    for k in groups:
        if share_u > 0:
            n_ku = share[k] / (share[k] + share_u)
            weight = (share[k] + share_u) ** 2 * n_ku * (1 - n_ku) * d_bar[k] * (1 - d_bar[k])
            rows.append(
                {
                    "type": COMPARISONS[0],
                    "treated": k,
                    "control": "never",
                    "estimate": did(k, ~np.isfinite(unit_g), all_periods, periods >= k),
                    "weight": weight / v_d,
                }
            )
    for i, k in enumerate(groups):  # k earlier than l
        for l_group in groups[i + 1 :]:
            n_kl = share[k] / (share[k] + share[l_group])
            dk, dl = d_bar[k], d_bar[l_group]
            early = (
                ((share[k] + share[l_group]) * (1 - dl)) ** 2
                * n_kl
                * (1 - n_kl)
                * (dk - dl)
                / (1 - dl)
                * (1 - dk)
                / (1 - dl)
            )
            late = (
                ((share[k] + share[l_group]) * dk) ** 2
                * n_kl
                * (1 - n_kl)
                * dl
                / dk
                * (dk - dl)
                / dk
            )
            before_l = periods < l_group
            rows.append(
                {
                    "type": COMPARISONS[1],
                    "treated": k,
                    "control": l_group,
                    "estimate": did(k, unit_g == l_group, before_l, periods >= k),
                    "weight": early / v_d,
                }
            )
            from_k = periods >= k
            rows.append(
                {
                    "type": COMPARISONS[2],
                    "treated": l_group,
                    "control": k,
                    "estimate": did(l_group, unit_g == k, from_k, periods >= l_group),
                    "weight": late / v_d,
                }
            )
    comparisons = pd.DataFrame(rows)
    comparisons = comparisons.loc[comparisons["weight"] > 0].reset_index(drop=True)
    twfe_estimate = _twfe_coefficient(y_mat, treat)
    return BaconResult(
        twfe_estimate=twfe_estimate,
        comparisons=comparisons,
        info={"n_units": n_units, "n_periods": n_periods, "n_timing_groups": int(groups.size)},
    )


def _twfe_coefficient(y_mat: np.ndarray, treat: np.ndarray) -> float:
    """TWFE slope in a balanced panel: two-way demeaned outcome on demeaned treatment."""

    def demean(m: np.ndarray) -> np.ndarray:
        return m - m.mean(axis=1, keepdims=True) - m.mean(axis=0) + m.mean()

    d = demean(treat)
    return float((d * demean(y_mat)).sum() / (d * d).sum())


@dataclass
class TWFEWeights(Result):
    """de Chaisemartin-D'Haultfoeuille weights of the treated cells in the TWFE coefficient.

    Weights, not estimates: :meth:`tidy` is the table unit, time, cohort, event_time, weight.
    """

    caption = "TWFE weights (de Chaisemartin-D'Haultfoeuille)"

    weights: pd.DataFrame  # unit, time, cohort, event_time, weight
    twfe_estimate: float
    info: dict[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return self.weights.copy()

    def summary(self) -> str:
        lines = ["de Chaisemartin-D'Haultfoeuille weights of TWFE (treated observations)"]
        for key, value in self.info.items():
            lines.append(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")
        return "\n".join(lines)


def twfe_weights(data: pd.DataFrame, y: str, unit: str, time: str, cohort: str) -> TWFEWeights:
    """Weights :math:`w_{it}` of the treated observations in the TWFE coefficient (dCDH 2020).

    Works on unbalanced panels. ``info`` reports the number and total of negative weights and
    :math:`\\underline\\sigma = |\\hat\\beta| / \\sigma(w)`.
    """
    frame = _staggered_frame(data, y, unit, time, cohort, "twfe_weights data")
    treated = (frame[time].to_numpy(float) >= frame["_g"].to_numpy()).astype(float)
    if treated.min() == treated.max():
        raise EstimationError("the treatment never varies")
    unit_codes = pd.factorize(frame[unit], sort=True)[0]
    time_codes = pd.factorize(frame[time], sort=True)[0]
    solver = TwoWaySolver(unit_codes, time_codes, np.ones(len(frame)), np.ones(len(frame), bool))
    resid = treated - solver.project(treated)[:, 0]
    y_vals = frame[y].to_numpy(float)
    y_within = y_vals - solver.project(y_vals)[:, 0]
    beta = float(resid @ y_within / (resid @ resid))
    on = treated == 1
    w = resid[on] / resid[on].sum()
    n1 = int(on.sum())
    sigma_w = float(np.sqrt(np.sum((w * n1 - 1) ** 2) / n1))  # weights per unit of N_1
    table = pd.DataFrame(
        {
            "unit": frame.loc[on, unit].to_numpy(),
            "time": frame.loc[on, time].to_numpy(),
            "cohort": frame.loc[on, "_g"].to_numpy(),
            "event_time": (frame.loc[on, time] - frame.loc[on, "_g"]).to_numpy(),
            "weight": w,
        }
    )
    negative = w < 0
    info = {
        "twfe_estimate": beta,
        "n_treated_obs": n1,
        "n_negative": int(negative.sum()),
        "share_negative": float(negative.mean()),
        "sum_negative": float(w[negative].sum()),
        "sigma_fe": abs(beta) / sigma_w if sigma_w > 0 else np.inf,
    }
    return TWFEWeights(weights=table, twfe_estimate=beta, info=info)
