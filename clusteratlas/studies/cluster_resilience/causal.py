"""The main job's causal stage: DID (seed design as printed beside the corrected one), wild
cluster bootstrap, event study with a pre-trend test, and RD at the strong-cluster cut-off.

Owns the study's causal designs (which rows, windows, scales and standard errors) and calls the
estimators of :mod:`clusteratlas.causal` for every number: :func:`~clusteratlas.causal.did.did_2x2`,
:func:`~clusteratlas.causal.did.wild_cluster_bootstrap`,
:func:`~clusteratlas.causal.did.event_study`, :func:`~clusteratlas.causal.rd.rdrobust`,
:func:`~clusteratlas.causal.rd.rddensity` and :func:`~clusteratlas.causal.rd.rd_placebo`; the
seed's "RDD" is the statsmodels OLS it printed. Writes ``run_did``,
``run_did_wild_bootstrap``, ``run_event_study``, ``run_rd*``, ``run_seed_rdd`` and the causal
figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from clusteratlas.causal.did import did_2x2, event_study, wild_cluster_bootstrap
from clusteratlas.causal.rd import rd_placebo, rddensity, rdrobust
from clusteratlas.errors import ClusterAtlasError
from clusteratlas.studies.cluster_resilience.figures import causal_figures, save_figure
from clusteratlas.studies.cluster_resilience.stages import designs, window_for

if TYPE_CHECKING:
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience


def _did(data: pd.DataFrame, y: str, seed: bool) -> tuple[dict, object]:
    """2x2 DID through :func:`clusteratlas.causal.did.did_2x2`.

    Seed design: the paper's OLS table (HC1 here; the paper does not say); corrected: SE
    clustered by region (CRV1). Returns the table row and the library's result object, which
    the wild cluster bootstrap needs.
    """
    start, end = sorted(data["year"].unique().tolist())
    kwargs = {"vcov": "HC1"} if seed else {"cluster": "region_id"}
    res = did_2x2(
        data, y=y, treat="treated_i", time="year", pre=start, post=end, unit="region_id", **kwargs
    )
    low, high = res.ci
    row = res.table.set_index("term").loc[res.term]
    return {
        "estimate": res.estimate,
        "se": res.se,
        "t": res.estimate / res.se if res.se else float("nan"),
        "p_value": float(row["p_value"]) if "p_value" in row.index else float("nan"),
        "ci_low": float(low),
        "ci_high": float(high),
        "r2_adj": float(res.info.get("r2_adj", float("nan"))),
        "n_obs": int(res.nobs),
        "se_type": res.se_type,
        "estimator": res.method,
    }, res


#: wild cluster bootstrap of the corrected DID: draws and seed (recorded in run_did_wild_bootstrap)
BOOTSTRAP_REPS = 9999
BOOTSTRAP_SEED = 20240101
#: above this many clusters CRV1 is reliable and the bootstrap's G x G x draws cost is not worth it
BOOTSTRAP_MAX_CLUSTERS = 200


def _wild_bootstrap(result, row: dict, notes: list[str]) -> dict | None:
    """Restricted wild cluster bootstrap (WCR11, Rademacher, clusters = regions) of one DID.

    With ~50 states the CRV1 t(G-1) p-value can over-reject; the bootstrap p-value and its
    test-inversion CI (clusteratlas.causal.did.wild_cluster_bootstrap) go beside it.
    """
    label = f"wild bootstrap {row['outcome']} {row['phase']}"
    n_clusters = int(result.info.get("n_clusters") or 0)
    if n_clusters > BOOTSTRAP_MAX_CLUSTERS:
        notes.append(
            f"wild cluster bootstrap skipped: {n_clusters} region clusters "
            f"(> {BOOTSTRAP_MAX_CLUSTERS}), the CRV1 p-value is reliable with this many"
        )
        return None
    try:
        boot = wild_cluster_bootstrap(result, reps=BOOTSTRAP_REPS, seed=BOOTSTRAP_SEED)
    except ClusterAtlasError as error:
        notes.append(f"{label}: {error}")
        return None
    return {
        **{k: row[k] for k in ("outcome", "design", "phase", "start", "end", "scale")},
        "estimate": boot.estimate,
        "crv1_p_value": row["p_value"],
        "boot_p_value": boot.pvalue,
        "boot_ci_low": boot.ci[0],
        "boot_ci_high": boot.ci[1],
        "boot_t": boot.t_stat,
        "reps": boot.reps,
        "weights": boot.weights_type,
        "n_clusters": boot.n_clusters,
        "seed": BOOTSTRAP_SEED,
        "method": "WCR11 restricted wild cluster bootstrap, clusters = regions",
    }


def _event_study(
    p: ClusterResilience, outcomes: pd.DataFrame, treatment: pd.DataFrame, notes: list[str]
) -> pd.DataFrame:
    """Event study around the corrected shock: clusteratlas.causal.did.event_study (TWFE, CRV1 by
    region, joint Wald pre-trend test); reference year = the year before the shock year."""
    rows = []
    for outcome in p.config.outcomes["names"]:
        shock = p.config.windows[
            "employment_shock" if outcome == "employment" else "corrected_shock"
        ][1]
        frame = outcomes.loc[
            (outcomes["outcome"] == outcome)
            & (outcomes["value"] > 0)
            & (outcomes["year"].between(shock - 7, shock + 6))
        ]
        frame = frame.merge(treatment, on="region_id").assign(
            log_value=lambda f: np.log(f["value"]), treated_i=lambda f: f["treated"].astype(int)
        )
        if frame["region_id"].nunique() < 4:
            continue
        try:
            res = event_study(
                frame, "log_value", "region_id", "year", treat="treated_i", shock_year=shock
            )
        except ClusterAtlasError as error:
            notes.append(f"event study {outcome}: {error}")
            continue
        coefs = res.coefs
        part = pd.DataFrame(
            {
                "outcome": outcome,
                "year": shock + coefs["event_time"].astype(int),
                "base_year": shock - 1,
                "estimate": coefs["estimate"],
                "se": coefs["std_error"] if "std_error" in coefs else coefs["se"],
                "ci_low": coefs["conf_low"],
                "ci_high": coefs["conf_high"],
            }
        )
        base = pd.DataFrame(
            [
                {
                    "outcome": outcome,
                    "year": shock - 1,
                    "base_year": shock - 1,
                    "estimate": 0.0,
                    "se": 0.0,
                    "ci_low": 0.0,
                    "ci_high": 0.0,
                }
            ]
        )
        rows.append(
            pd.concat([part, base], ignore_index=True)
            .sort_values("year")
            .assign(
                pretrend_p=res.info.get("pretrend_p", np.nan),
                estimator=res.method,
                se_type=res.se_type,
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _did_frame(
    outcomes: pd.DataFrame, treatment: pd.DataFrame, start: int, end: int
) -> pd.DataFrame:
    rows = outcomes.loc[outcomes["year"].isin([start, end])].merge(treatment, on="region_id")
    rows = rows.loc[rows["value"] > 0]
    counts = rows.groupby("region_id")["year"].transform("nunique")
    rows = rows.loc[counts == 2].copy()  # balanced 2x2
    rows["post"] = (rows["year"] == end).astype(int)
    rows["treated_i"] = rows["treated"].astype(int)
    rows["log_value"] = np.log(rows["value"])
    # a fixed row order, so the bootstrap's cluster weights do not depend on the store's order
    rows = rows.sort_values(["region_id", "year"], kind="stable").reset_index(drop=True)
    rows["region_code"] = pd.factorize(rows["region_id"])[0]
    return rows


def stage_causal(p: ClusterResilience, store: Store) -> dict:
    """DID tables (seed as printed beside the corrected design), event study, pre-trend, RD."""
    outcomes = store.read("run_outcomes", where=f"region_type = '{p.config.region_type}'")
    treatment = store.read("run_treatment")[["region_id", "treated"]]
    rows, boots, notes = [], [], []
    for outcome in p.config.outcomes["names"]:
        frame = outcomes.loc[outcomes["outcome"] == outcome]
        for design in designs(p):
            start, end = window_for(p, design, outcome)
            data = _did_frame(frame, treatment, start, end)
            if data["region_id"].nunique() < 4:
                notes.append(f"DID {outcome} {start}->{end}: not enough regions with both years")
                continue
            seed = design["design"].startswith("seed")
            # seed: levels with HC1 as in its OLS tables; corrected: logs, SE clustered by region
            y = "value" if seed and not p.config.outcomes["log"] else "log_value"
            result, fitted = _did(data, y, seed)
            rows.append(
                {
                    "outcome": outcome,
                    "design": design["design"],
                    "phase": design["phase"],
                    "start": start,
                    "end": end,
                    "scale": "log" if y == "log_value" else "level",
                    **result,
                }
            )
            if not seed:
                boot = _wild_bootstrap(fitted, rows[-1], notes)
                if boot is not None:
                    boots.append(boot)
    did = pd.DataFrame(rows)
    store.write("run_did", did)
    if boots:
        store.write("run_did_wild_bootstrap", pd.DataFrame(boots))

    event = _event_study(p, outcomes, treatment, notes)
    store.write("run_event_study", event)

    rd_tables = _rd(p, store, notes)
    files = causal_figures(p.out_dir, event, rd_tables.get("points"), rd_tables.get("sensitivity"))
    files += rd_tables.get("files", [])
    produced = (
        "run_did_wild_bootstrap",
        "run_rd",
        "run_rd_sensitivity",
        "run_rd_density",
        "run_rd_placebo",
        "run_seed_rdd",
    )
    tables = ["run_did", "run_event_study"] + [t for t in produced if store.has(t)]
    return {"tables": tables, "files": files, "notes": notes}


def _rd(p: ClusterResilience, store: Store, notes: list[str]) -> dict:
    """Genuine RD at the strong-cluster cut-off (LQ percentile 75) plus the seed's 'RDD' OLS."""
    base = int(store.read("run_treatment")["base_year"].iloc[0])
    panel = store.read(
        "cluster_panel", where=f"region_type = '{p.config.region_type}' and year = {base}"
    )
    growth = store.read("run_outcome_growth")
    shock = growth.loc[
        (growth["design"] == "corrected")
        & (growth["phase"] == "shock")
        & (growth["outcome"] == p.config.outcomes["names"][0])
    ]
    rows = panel.loc[(panel["year"] == base) & panel["traded"] & (panel["emp"] > 0)].copy()
    rows["lq_pct"] = rows.groupby("cluster_code")["lq"].rank(pct=True) * 100.0
    rows["x"] = rows["lq_pct"] - 75.0
    rows = rows.merge(shock[["region_id", "log_growth"]], on="region_id")
    out: dict = {}
    if rows.empty:
        notes.append("RD: no region x cluster rows with outcome growth")
        return out
    # the seed's "RDD": OLS of outcome growth on cluster quality factors (QP is Q1 payroll!)
    seed = rows.assign(
        log_qp1=np.log1p(rows["qp1"]),
        log_est=np.log1p(rows["est"]),
        log_ap=np.log1p(rows["ap"]),
        wage_k=rows["wage"].fillna(0) / 1000.0,
    )
    fit = smf.ols("log_growth ~ log_qp1 + log_est + log_ap + wage_k + lq", data=seed).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(seed["region_id"])[0]}
    )
    store.write(
        "run_seed_rdd",
        pd.DataFrame(
            {
                "term": fit.params.index,
                "estimate": fit.params.to_numpy(),
                "se": fit.bse.to_numpy(),
                "p_value": fit.pvalues.to_numpy(),
            }
        ).assign(
            n_obs=int(fit.nobs),
            r2_adj=float(fit.rsquared_adj),
            note="QP = CBP first-quarter payroll ($1,000), not 'concentration'",
        ),
    )
    out["points"] = rows[["x", "log_growth"]]
    y, x = rows["log_growth"].to_numpy(float), rows["x"].to_numpy(float)
    cluster = pd.factorize(rows["region_id"])[0]
    try:
        res = rdrobust(y, x, c=0.0, cluster=cluster, vce="cr1")
        table = pd.DataFrame(
            {
                "row": res.coef.index,
                "estimate": res.coef.to_numpy(),
                "se": res.se.to_numpy(),
                "p_value": res.pv.to_numpy(),
                "ci_low": res.ci.iloc[:, 0].to_numpy(),
                "ci_high": res.ci.iloc[:, 1].to_numpy(),
            }
        ).assign(
            h=res.h[0],
            n_left=res.N_h[0],
            n_right=res.N_h[1],
            running="LQ percentile - 75",
            outcome=shock["outcome"].iloc[0] if len(shock) else "",
        )
        store.write("run_rd", table)
        sens = []
        for mult in (0.5, 0.75, 1.0, 1.5, 2.0):
            try:
                r = rdrobust(y, x, c=0.0, h=res.h[0] * mult, cluster=cluster, vce="cr1")
                sens.append(
                    {
                        "h": res.h[0] * mult,
                        "multiple": mult,
                        "estimate": float(r.coef.iloc[0]),
                        "ci_low": float(r.ci.iloc[2, 0]),
                        "ci_high": float(r.ci.iloc[2, 1]),
                        "n": int(sum(r.N_h)),
                    }
                )
            except ClusterAtlasError as error:
                notes.append(f"RD sensitivity h x {mult}: {error}")
        out["sensitivity"] = pd.DataFrame(sens)
        store.write("run_rd_sensitivity", out["sensitivity"])
    except ClusterAtlasError as error:
        notes.append(f"RD: {error}")
    out["files"] = _rd_falsification(p, store, y, x, notes)
    return out


def _rd_falsification(
    p: ClusterResilience, store: Store, y: np.ndarray, x: np.ndarray, notes: list[str]
) -> list[str]:
    """Manipulation (density) test of the running variable and RD estimates at placebo cutoffs.

    Density: Cattaneo, Jansson and Ma (2020) through clusteratlas.causal.rd.rddensity with its
    defaults (p=2, triangular kernel, jackknife variance, bandwidths "comb"). Placebo cutoffs:
    clusteratlas.causal.rd.rd_placebo at the 20/40/60/80th percentiles of x on each side, each
    fit using only its own side of the true cut-off; HC1 SEs (rd_placebo passes options
    unchanged to every side's subsample, so a region cluster vector cannot be passed).
    """
    files: list[str] = []
    try:
        density = rddensity(x, c=0.0)
        store.write(
            "run_rd_density",
            density.tidy().assign(
                running="LQ percentile - 75",
                cutoff=density.c,
                n_left=density.N[0],
                n_right=density.N[1],
                p=density.p,
                q=density.q,
                kernel=density.kernel,
                bwselect=density.bwselect,
            ),
        )
    except ClusterAtlasError as error:
        notes.append(f"RD density test: {error}")
    try:
        placebo = rd_placebo(y, x, c=0.0, vce="hc1")
    except ClusterAtlasError as error:
        notes.append(f"RD placebo cutoffs: {error}")
        return files
    store.write("run_rd_placebo", placebo.table.assign(running="LQ percentile - 75", vce="hc1"))
    files.append(save_figure(placebo.figure, p.out_dir, "figures/rd_placebo.png"))
    return files
