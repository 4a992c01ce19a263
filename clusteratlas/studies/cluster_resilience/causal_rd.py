"""The RD estimator of the main job's evidence section, at region and region x cluster level.

Owns the RD designs at the strong-cluster cut-off (running variable = the region's LQ
percentile within the cluster in the year before the shock, minus 75) and their checks, all
through :mod:`clusteratlas.causal.rd`:

* **region level** (outcome = the region's log growth over the shock's corrected window, the
  first outcome of the run): :func:`~clusteratlas.causal.rd.rdrobust` with SE clustered by
  region, bandwidth sensitivity, the Cattaneo-Jansson-Ma density test
  (:func:`~clusteratlas.causal.rd.rddensity`), placebo cut-offs
  (:func:`~clusteratlas.causal.rd.rd_placebo`) and the seed study's "RDD" (an OLS of outcome
  growth on the cluster quality factors, replicated) for the COVID-19 shock;
* **region x cluster level** (outcome = the unit's own log growth of its national cluster
  share over the shock's CBP resistance phase): rdrobust with SE clustered by region.

Rows go to ``run_rd`` (with ``level`` and ``shock``); the checks to ``run_rd_sensitivity``,
``run_rd_density``, ``run_rd_placebo``, ``run_seed_rdd``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from clusteratlas.causal.rd import rd_placebo, rddensity, rdrobust
from clusteratlas.errors import ClusterAtlasError
from clusteratlas.results import TIDY_COLUMNS
from clusteratlas.studies.cluster_resilience.config import shocks
from clusteratlas.studies.cluster_resilience.evidence import (
    CLUSTER_OUTCOME,
    REGION,
    REGION_CLUSTER,
    Evidence,
)
from clusteratlas.studies.cluster_resilience.figures import save_figure, source_line

RUNNING = "LQ percentile - 75"
#: placebo cut-offs split each side in five: fewer rows than this on a side leave no sample
MIN_SIDE = 50


def _running(ev: Evidence, base: int) -> pd.DataFrame:
    """Traded region x cluster rows of ``base`` with x = LQ percentile within cluster - 75."""
    rt = ev.p.config.region_type
    panel = ev.store.read("cluster_panel", where="region_type = ? and year = ?", params=[rt, base])
    rows = panel.loc[panel["traded"] & (panel["emp"] > 0)].copy()
    rows["lq_pct"] = rows.groupby("cluster_code")["lq"].rank(pct=True) * 100.0
    rows["x"] = rows["lq_pct"] - 75.0
    return rows


def _fit(y: np.ndarray, x: np.ndarray, cluster: np.ndarray, labels: dict) -> pd.DataFrame:
    res = rdrobust(y, x, c=0.0, cluster=cluster, vce="cr1")
    # the result's own table, one row per rdrobust row (Conventional, Bias-Corrected, Robust)
    tidy = pd.DataFrame(res.tidy())[list(TIDY_COLUMNS)]
    return tidy.assign(h=res.h[0], n_left=res.N_h[0], n_right=res.N_h[1], running=RUNNING, **labels)


def rd_rows(ev: Evidence) -> pd.DataFrame:
    """RD estimates at both levels for every shock with a treatment year and the data."""
    parts = []
    first = ev.p.config.outcomes["names"][0]
    growth = ev.store.read("run_outcome_growth")
    for shock in reversed(shocks(ev.p.config)):
        treatment = ev.treatment(shock.name)
        if treatment.empty:
            continue
        base = int(treatment["base_year"].iloc[0])
        running = _running(ev, base)
        # region level: the region's growth over the corrected shock window
        mine = growth.loc[
            (growth["design"] == "corrected")
            & (growth["shock"] == shock.label)
            & (growth["phase"] == "shock")
            & (growth["outcome"] == first)
        ]
        rows = running.merge(mine[["region_id", "log_growth"]], on="region_id")
        if len(rows):
            labels = {"level": REGION, "shock": shock.label, "outcome": first}
            y, x = rows["log_growth"].to_numpy(float), rows["x"].to_numpy(float)
            cluster = pd.factorize(rows["region_id"])[0]
            try:
                fit = _fit(y, x, cluster, labels)
                parts.append(fit)
                if shock.name == "covid19":
                    _sensitivity(ev, y, x, cluster, float(fit["h"].iloc[0]))
            except ClusterAtlasError as error:
                ev.notes.append(f"RD {shock.label} (region): {error}")
            if shock.name == "covid19":
                ev.figures["rd_points"] = rows[["x", "log_growth"]]
                _seed_rdd(ev, rows)
                _falsification(ev, y, x)
        # region x cluster level: the unit's own growth of its national share, CBP window
        window = shock.cbp
        units = ev.cluster_units(shock.name, {window.peak, window.trough})
        if units is None:
            continue
        wide = units.pivot_table(
            index=["unit", "region_id", "cluster_code"], columns="year", values="y"
        )
        if not {window.peak, window.trough} <= set(wide.columns):
            continue
        wide = (wide[window.trough] - wide[window.peak]).dropna().rename("dy").reset_index()
        rows = running.merge(wide, on=["region_id", "cluster_code"])
        if len(rows) < 20:
            continue
        try:
            parts.append(
                _fit(
                    rows["dy"].to_numpy(float),
                    rows["x"].to_numpy(float),
                    pd.factorize(rows["region_id"])[0],
                    {"level": REGION_CLUSTER, "shock": shock.label, "outcome": CLUSTER_OUTCOME},
                )
            )
        except ClusterAtlasError as error:
            ev.notes.append(f"RD {shock.label} (region x cluster): {error}")
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _sensitivity(ev: Evidence, y: np.ndarray, x: np.ndarray, cluster: np.ndarray, h: float) -> None:
    sens = []
    for mult in (0.5, 0.75, 1.0, 1.5, 2.0):
        try:
            r = rdrobust(y, x, c=0.0, h=h * mult, cluster=cluster, vce="cr1")
        except ClusterAtlasError as error:
            ev.notes.append(f"RD sensitivity h x {mult}: {error}")
            continue
        sens.append(
            {
                "h": h * mult,
                "multiple": mult,
                # rdrobust's own display (as rd_bandwidth_sensitivity): the conventional
                # estimate and standard error, the robust bias-corrected p-value and interval
                "estimate": float(r.coef.iloc[0]),
                "std_error": float(r.se.iloc[0]),
                "p_value": float(r.pv.iloc[2]),
                "conf_low": float(r.ci.iloc[2, 0]),
                "conf_high": float(r.ci.iloc[2, 1]),
                "n": int(sum(r.N_h)),
            }
        )
    ev.extra["run_rd_sensitivity"] = pd.DataFrame(sens)
    ev.figures["rd_sensitivity"] = ev.extra["run_rd_sensitivity"]


def _seed_rdd(ev: Evidence, rows: pd.DataFrame) -> None:
    """The seed's "RDD": OLS of outcome growth on cluster quality factors (QP is Q1 payroll!)."""
    seed = rows.assign(
        log_qp1=np.log1p(rows["qp1"].fillna(0)),
        log_est=np.log1p(rows["est"]),
        log_ap=np.log1p(rows["ap"].fillna(0)),
        wage_k=rows["wage"].fillna(0) / 1000.0,
    )
    try:
        fit = smf.ols("log_growth ~ log_qp1 + log_est + log_ap + wage_k + lq", data=seed).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(seed["region_id"])[0]}
        )
    except (ValueError, np.linalg.LinAlgError) as error:
        ev.notes.append(f"seed RDD regression: {error}")
        return
    # statsmodels' own coefficient table in the vocabulary (t statistic, t-based interval)
    ci = fit.conf_int(alpha=0.05)
    ev.extra["run_seed_rdd"] = pd.DataFrame(
        {
            "term": fit.params.index,
            "estimate": fit.params.to_numpy(),
            "std_error": fit.bse.to_numpy(),
            "statistic": fit.tvalues.to_numpy(),
            "p_value": fit.pvalues.to_numpy(),
            "conf_low": ci[0].to_numpy(),
            "conf_high": ci[1].to_numpy(),
        }
    ).assign(
        n_obs=int(fit.nobs),
        r2_adj=float(fit.rsquared_adj),
        note="QP = CBP first-quarter payroll ($1,000), not 'concentration'",
    )


def _falsification(ev: Evidence, y: np.ndarray, x: np.ndarray) -> None:
    """Manipulation (density) test of the running variable and RD estimates at placebo cutoffs.

    Density: Cattaneo, Jansson and Ma (2020) through clusteratlas.causal.rd.rddensity with its
    defaults (p=2, triangular kernel, jackknife variance, bandwidths "comb"). Placebo cutoffs:
    clusteratlas.causal.rd.rd_placebo at the 20/40/60/80th percentiles of x on each side, each
    fit using only its own side of the true cut-off; HC1 SEs (rd_placebo passes options
    unchanged to every side's subsample, so a region cluster vector cannot be passed).
    """
    try:
        density = rddensity(x, c=0.0)
        ev.extra["run_rd_density"] = density.tidy().assign(
            running=RUNNING,
            cutoff=density.c,
            n_left=density.N[0],
            n_right=density.N[1],
            p=density.p,
            q=density.q,
            kernel=density.kernel,
            bwselect=density.bwselect,
        )
    except ClusterAtlasError as error:
        ev.notes.append(f"RD density test: {error}")
    if min((x < 0).sum(), (x >= 0).sum()) < MIN_SIDE:
        ev.notes.append(
            f"RD placebo cut-offs not estimated: fewer than {MIN_SIDE} rows on a side of the cut-off"
        )
        return
    try:
        placebo = rd_placebo(y, x, c=0.0, vce="hc1")
    except (ClusterAtlasError, KeyError, ValueError) as error:
        ev.notes.append(f"RD placebo cutoffs: {type(error).__name__}: {error}")
        return
    ev.extra["run_rd_placebo"] = pd.DataFrame(placebo.tidy()).assign(running=RUNNING, vce="hc1")
    ev.files.append(
        save_figure(
            placebo.figure,
            ev.p.out_dir,
            "figures/rd_placebo.png",
            source_line(ev.p, "run_rd_placebo (clusteratlas.causal.rd.rd_placebo)"),
        )
    )
