"""Benchmark: clusteratlas DID estimators vs reference tools on a large SYNTHETIC county panel.

The panel is synthetic (labelled so): ``--units`` counties x ``--years`` years, staggered
adoption in three cohorts plus never-treated counties, state clusters (50), log-employment-
like outcome. In the same run we time:

* TWFE: clusteratlas ``twfe`` vs pyfixest ``feols`` (called directly) vs linearmodels
  ``PanelOLS`` (both FE, clustered by county);
* event study (leads/lags, binned): clusteratlas ``event_study`` vs pyfixest with the same
  dummies vs linearmodels;
* Callaway-Sant'Anna (DR, never treated, analytic SEs): clusteratlas ``att_gt`` vs moderndid
  ``att_gt`` vs csdid ``ATTgt``;
* wild cluster bootstrap (``--boot-reps`` Rademacher draws, 50 state clusters): clusteratlas vs
  pyfixest's ``wildboottest`` (the wildboottest package);
* heterogeneity-robust estimators (section "robust", paired and interleaved: each repetition
  runs ours then the reference, wall and CPU time per call, median of the paired ratios):
  two-stage DID vs pyfixest ``did2s`` (with its GMM SEs where its dense first-stage design
  fits in memory, and its point estimate alone -- feols first stage + second stage -- on any
  panel), imputation vs diff-diff ``ImputationDiD``, Sun-Abraham vs pyfixest's saturated event
  study, CS dynamic ``balance_e`` vs moderndid, HonestDiD vs moderndid, Bacon vs diff-diff.

It prints wall times, the ratio ours / reference (< 1 = we are faster) and the largest
difference in the estimates, so speed is never bought with different numbers.

    python benchmarks/bench_did.py --units 3000 --years 20
    python benchmarks/bench_did.py --units 100000 --years 20 --robust-only   # national size
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def synthetic_panel(units: int, years: int, seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC county panel with staggered adoption (cohorts at 40%, 55%, 70% of the span)."""
    rng = np.random.default_rng(seed)
    first_year = 2000
    cohorts = [first_year + int(years * f) for f in (0.4, 0.55, 0.7)]
    county = np.repeat(np.arange(units), years)
    year = np.tile(np.arange(first_year, first_year + years), units)
    cohort = np.repeat(rng.choice([*cohorts, 0], size=units, p=[0.2, 0.2, 0.2, 0.4]), years)
    state = np.repeat(rng.integers(0, 50, units), years)
    exposure = np.where((cohort > 0) & (year >= cohort), year - cohort + 1, 0)
    baseline = (
        np.repeat(rng.normal(8, 1, units), years)
        + 0.01 * (year - first_year)
        + np.repeat(rng.normal(scale=0.02, size=50), units * years // 50 + 1)[: units * years]
        + rng.normal(scale=0.05, size=units * years)
    )
    y = baseline + 0.02 * np.minimum(exposure, 5)
    return pd.DataFrame(
        {
            "county": county,
            "year": year,
            "state": state,
            "cohort": cohort,
            "treated": (exposure > 0).astype(float),
            "y": y,
            "y_placebo": baseline,  # no treatment effect: bootstrap p-values are informative
        }
    )


def timed(function: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best-of-``repeat`` wall time (the first call also warms caches and JIT compilers)."""
    best, value = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def report(name: str, ours: tuple[float, float], refs: dict[str, tuple[float, float]]) -> None:
    print(f"\n{name}: clusteratlas {ours[0]:.3f}s (estimate {ours[1]:.6f})")
    for ref_name, (seconds, estimate) in refs.items():
        print(
            f"  vs {ref_name:<14} {seconds:8.3f}s  ratio ours/ref = {ours[0] / seconds:6.2f}  "
            f"|diff| = {abs(ours[1] - estimate):.2e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--boot-reps", type=int, default=999, help="wildboottest holds N x reps in memory"
    )
    parser.add_argument("--skip-cs-refs", action="store_true", help="skip moderndid/csdid")
    parser.add_argument("--robust-only", action="store_true", help="only the robust section")
    parser.add_argument("--skip-robust", action="store_true", help="skip the robust section")
    parser.add_argument(
        "--dense-limit",
        type=int,
        default=3000,
        help="largest unit count for pyfixest did2s with SEs (its vcov builds dense unit dummies)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.robust_only:
        data = synthetic_panel(args.units, args.years)
        print(f"SYNTHETIC panel: {args.units} counties x {args.years} years = {len(data):,} rows")
        robust_section(data, args)
        return

    import pyfixest as pf
    from linearmodels.panel import PanelOLS

    from clusteratlas.causal.did import did_2x2, event_study, twfe, wild_cluster_bootstrap
    from clusteratlas.causal.did.cs import att_gt

    data = synthetic_panel(args.units, args.years)
    print(f"SYNTHETIC panel: {args.units} counties x {args.years} years = {len(data):,} rows")
    indexed = data.set_index(["county", "year"])

    # ---- TWFE
    t_ours, res = timed(lambda: twfe(data, "y", "county", "year", "treated"), args.repeat)
    t_pf, fit = timed(
        lambda: pf.feols("y ~ treated | county + year", data=data, vcov={"CRV1": "county"}),
        args.repeat,
    )
    t_lm, lm = timed(
        lambda: PanelOLS(
            indexed["y"], indexed[["treated"]], entity_effects=True, time_effects=True
        ).fit(cov_type="clustered", cluster_entity=True),
        args.repeat,
    )
    report(
        "TWFE",
        (t_ours, res.estimate),
        {
            "pyfixest": (t_pf, float(fit.coef()["treated"])),
            "linearmodels": (t_lm, float(lm.params["treated"])),
        },
    )

    # ---- event study
    t_ours, es = timed(
        lambda: event_study(
            data, "y", "county", "year", cohort="cohort", leads=5, lags=5, bin_endpoints=True
        ),
        args.repeat,
    )
    frame = data.copy()
    rel = (frame["year"] - frame["cohort"]).where(frame["cohort"] > 0).clip(-5, 5)
    names = list(es.coefs["term"])
    for name in names:
        k = int(name[5:]) * (-1 if name.startswith("rel_m") else 1)
        frame[name] = (rel == k).astype(float)
    formula = f"y ~ {' + '.join(names)} | county + year"
    t_pf, fit = timed(lambda: pf.feols(formula, data=frame, vcov={"CRV1": "county"}), args.repeat)
    frame_ix = frame.set_index(["county", "year"])
    t_lm, lm = timed(
        lambda: PanelOLS(
            frame_ix["y"], frame_ix[names], entity_effects=True, time_effects=True
        ).fit(cov_type="clustered", cluster_entity=True),
        args.repeat,
    )
    ours_p0 = float(es.coefs.set_index("term").loc["rel_p0", "estimate"])
    report(
        "Event study (rel_p0)",
        (t_ours, ours_p0),
        {
            "pyfixest": (t_pf, float(fit.coef()["rel_p0"])),
            "linearmodels": (t_lm, float(lm.params["rel_p0"])),
        },
    )

    # ---- wild cluster bootstrap (state clusters) on a 2x2 (two years, no fixed effects):
    # pyfixest's wildboottest expands fixed effects into dummies (N x units in memory), so the
    # comparison uses the design it handles; ours partials FE out and scales to the full panel
    last = int(data["year"].max())
    two = data.loc[data["year"].isin([last - 10, last])].copy()
    two["group"] = (two["cohort"] > 0).astype(float)
    two["state"] = two["state"].astype(np.int64)
    state_res = did_2x2(two, "y_placebo", "group", "year", cluster="state", vcov="CRV1")
    t_ours, boot = timed(
        lambda: wild_cluster_bootstrap(state_res, reps=args.boot_reps, ci=False), args.repeat
    )
    frame2 = two.assign(Treatment=two["group"], Period=(two["year"] == last).astype(float))
    frame2["Interaction"] = frame2["Treatment"] * frame2["Period"]
    pf_fit = pf.feols(
        "y_placebo ~ Treatment + Period + Interaction", data=frame2, vcov={"CRV1": "state"}
    )
    t_ref, ref = timed(
        lambda: pf_fit.wildboottest(
            reps=args.boot_reps, param="Interaction", cluster="state", seed=1
        ),
        args.repeat,
    )
    report(
        f"Wild cluster bootstrap p-value (2x2, {len(two):,} rows, {args.boot_reps} draws, "
        "50 clusters)",
        (t_ours, boot.pvalue),
        {"wildboottest": (t_ref, float(ref["Pr(>|t|)"]))},
    )
    full = twfe(data, "y", "county", "year", "treated", cluster="state")
    t_full, boot_full = timed(lambda: wild_cluster_bootstrap(full, reps=9999, ci=True), 1)
    print(
        f"  ours on the full TWFE panel ({len(data):,} rows, county+year FE, 9,999 draws, "
        f"with test-inversion CI): {t_full:.3f}s, p = {boot_full.pvalue:.4f}"
    )

    # ---- Callaway-Sant'Anna
    t_ours, cs = timed(lambda: att_gt(data, "y", "county", "year", "cohort"), args.repeat)
    ours_simple = cs.aggregate("simple").estimate
    refs: dict[str, tuple[float, float]] = {}
    if not args.skip_cs_refs:
        try:
            import moderndid as md

            t_md, m = timed(
                lambda: md.att_gt(
                    data=data, yname="y", tname="year", idname="county", gname="cohort", boot=False
                ),
                args.repeat,
            )
            refs["moderndid"] = (t_md, float(md.aggte(m, type="simple").overall_att))
        except ImportError:
            print("moderndid not installed")
        try:
            from csdid.att_gt import ATTgt

            small = data.loc[:, ["y", "cohort", "county", "year"]].copy()
            t_cs, c = timed(
                lambda: ATTgt(
                    yname="y", gname="cohort", idname="county", tname="year", data=small
                ).fit(est_method="dr", bstrap=False),
                1,
            )
            att = np.asarray(c.results["att"], dtype=float)
            diff = np.max(np.abs(cs.table["estimate"].to_numpy() - att))
            print(
                f"\ncsdid ATT(g,t): {t_cs:.3f}s  ratio ours/ref = {t_ours / t_cs:6.2f}  "
                f"max |diff| over ATT(g,t) = {diff:.2e}"
            )
        except ImportError:
            print("csdid not installed")
    report("Callaway-Sant'Anna (simple ATT)", (t_ours, ours_simple), refs)
    if not args.skip_robust:
        robust_section(data, args)


def paired(
    name: str,
    ours: Callable[[], Any],
    reference: Callable[[], Any],
    value: Callable[[Any], float],
    ref_value: Callable[[Any], float],
    repeat: int,
) -> None:
    """Interleaved paired timing (ours, then the reference, ``repeat`` times) of one task.

    Prints median wall and CPU seconds of each side, the median of the paired wall and CPU
    ratios (ours / reference; < 1 = we are faster) and the difference of the estimates.
    """
    rows = []
    ours_out = ref_out = None
    for _ in range(repeat):
        pair = []
        for function in (ours, reference):
            wall, cpu = time.perf_counter(), time.process_time()
            out = function()
            pair.append((time.perf_counter() - wall, time.process_time() - cpu, out))
        ours_out, ref_out = pair[0][2], pair[1][2]
        rows.append([pair[0][0], pair[0][1], pair[1][0], pair[1][1]])
    t = np.array(rows)
    med = np.median(t, axis=0)
    wall_ratio = float(np.median(t[:, 0] / t[:, 2]))
    cpu_ratio = float(np.median(t[:, 1] / t[:, 3]))
    diff = abs(value(ours_out) - ref_value(ref_out))
    print(
        f"{name:<58} ours {med[0]:8.3f}s (cpu {med[1]:8.3f}s)  ref {med[2]:8.3f}s "
        f"(cpu {med[3]:8.3f}s)  ratio wall {wall_ratio:6.3f} cpu {cpu_ratio:6.3f}  "
        f"|diff| {diff:.1e}"
    )


def robust_section(data: pd.DataFrame, args: argparse.Namespace) -> None:
    """Heterogeneity-robust estimators against their references, paired and interleaved."""
    import pyfixest as pf
    from pyfixest.did.did2s import _did2s_estimate

    from clusteratlas.causal.did import (
        bacon_decomposition,
        did2s,
        did_imputation,
        honest_from,
        sun_abraham,
    )
    from clusteratlas.causal.did.cs import att_gt

    print("\nrobust estimators (ratio = ours / reference, median of paired runs)")
    frame = data.assign(
        treat=(data["cohort"] > 0) & (data["year"] >= data["cohort"]),
        rel=np.where(data["cohort"] > 0, data["year"] - data["cohort"], -np.inf),
    )
    units = data["county"].nunique()
    repeat = args.repeat

    def pf_point() -> Any:  # pyfixest did2s's own two steps, without its vcov
        fit, _, _ = _did2s_estimate(
            frame.copy(), "y", "~ 0 | county + year", "~ 0 + treat", treatment="treat"
        )
        return fit

    paired(
        "did2s static (pyfixest: point estimate only)",
        lambda: did2s(data, "y", "county", "year", "cohort"),
        pf_point,
        lambda r: r.estimate,
        lambda f: float(f.coef().iloc[0]),
        repeat,
    )

    def pf_point_event() -> Any:
        fit, _, _ = _did2s_estimate(
            frame.copy(), "y", "~ 0 | county + year", "~ i(rel, ref=-1.0)", treatment="treat"
        )
        return fit

    paired(
        "did2s event study (pyfixest: point estimates only)",
        lambda: did2s(data, "y", "county", "year", "cohort", event_study=True),
        pf_point_event,
        lambda r: float(r.coefs.set_index("event_time").loc[0, "estimate"]),
        lambda f: float(f.coef()["rel::0.0"]),
        repeat,
    )
    if units <= args.dense_limit:
        paired(
            "did2s static with GMM SEs (pyfixest did2s)",
            lambda: did2s(data, "y", "county", "year", "cohort"),
            lambda: pf.did2s(
                frame,
                yname="y",
                first_stage="~ 0 | county + year",
                second_stage="~i(treat)",
                treatment="treat",
                cluster="county",
            ),
            lambda r: r.se,
            lambda f: float(f.se().iloc[0]),
            repeat,
        )
        paired(
            "did2s event study with GMM SEs (pyfixest did2s)",
            lambda: did2s(data, "y", "county", "year", "cohort", event_study=True),
            lambda: pf.did2s(
                frame,
                yname="y",
                first_stage="~ 0 | county + year",
                second_stage="~i(rel, ref=-1.0)",
                treatment="treat",
                cluster="county",
            ),
            lambda r: float(r.coefs.set_index("event_time").loc[0, "estimate"]),
            lambda f: float(f.coef()["rel::0.0"]),
            repeat,
        )
    else:
        print(
            f"  (pyfixest did2s with SEs skipped at {units:,} units: its GMM vcov builds a "
            "dense N x units dummy matrix)"
        )
    paired(
        "did2s vs pyfixest plain TWFE feols (its cheapest fit here)",
        lambda: did2s(data, "y", "county", "year", "cohort"),
        lambda: pf.feols("y ~ treat | county + year", data=frame, vcov={"CRV1": "county"}),
        lambda r: 0.0,
        lambda f: 0.0,
        repeat,
    )
    try:
        import diff_diff as dd

        paired(
            "imputation static, BJS SEs (diff-diff ImputationDiD)",
            lambda: did_imputation(data, "y", "county", "year", "cohort"),
            lambda: dd.ImputationDiD().fit(
                data, outcome="y", unit="county", time="year", first_treat="cohort"
            ),
            lambda r: r.se,
            lambda f: f.overall_se,
            repeat,
        )
    except ImportError:
        print("  diff-diff not installed")
    # Sun-Abraham at any size (ours never forms the dummies; pyfixest does)
    paired(
        "Sun-Abraham (pyfixest saturated event study + aggregate)",
        lambda: sun_abraham(data, "y", "county", "year", "cohort"),
        lambda: pf.event_study(
            data,
            yname="y",
            idname="county",
            tname="year",
            gname="cohort",
            estimator="saturated",
            cluster="county",
        ).aggregate(),
        lambda r: float(r.coefs.set_index("event_time").loc[0, "estimate"]),
        lambda agg: float(agg.loc[0.0, "Estimate"]) if 0.0 in agg.index else np.nan,
        max(1, repeat - 1),
    )
    try:
        import moderndid as md

        ours_gt = att_gt(data, "y", "county", "year", "cohort", base_period="universal")
        ref_gt = md.att_gt(
            data=data,
            yname="y",
            tname="year",
            idname="county",
            gname="cohort",
            boot=False,
            base_period="universal",
        )
        paired(
            "CS dynamic aggregate, balance_e=2 (moderndid aggte)",
            lambda: ours_gt.aggregate("dynamic", balance_e=2),
            lambda: md.aggte(ref_gt, type="dynamic", balance_e=2),
            lambda r: r.estimate,
            lambda r: r.overall_att,
            repeat,
        )
        dynamic = ours_gt.aggregate("dynamic", min_e=-4, max_e=3)
        from clusteratlas.causal.did.honest import _event_inputs

        betas, sigma, times = _event_inputs(dynamic)
        n_pre = sum(k < 0 for k in times)
        paired(
            "HonestDiD smoothness FLCI, 3 values of M (moderndid)",
            lambda: honest_from(dynamic, method="smoothness", m_grid=[0.0, 0.01, 0.02]),
            lambda: md.create_sensitivity_results_sm(
                betahat=betas,
                sigma=sigma,
                num_pre_periods=n_pre,
                num_post_periods=len(times) - n_pre,
                m_vec=[0.0, 0.01, 0.02],
            ),
            lambda r: float(r.table["ub"].iloc[-1]),
            lambda r: float(r["ub"][-1]),
            max(1, repeat - 1),
        )
        paired(
            "HonestDiD relative magnitudes C-LF, Mbar = 1 (moderndid)",
            lambda: honest_from(dynamic, method="relative_magnitude", m_grid=[1.0]),
            lambda: md.create_sensitivity_results_rm(
                betahat=betas,
                sigma=sigma,
                num_pre_periods=n_pre,
                num_post_periods=len(times) - n_pre,
                m_bar_vec=[1.0],
            ),
            lambda r: float(r.table["ub"].iloc[0]),
            lambda r: float(r["ub"][0]),
            1,
        )
    except ImportError:
        print("  moderndid (with cvxpy) not installed")
    try:
        import diff_diff as dd

        paired(
            "Bacon decomposition (diff-diff BaconDecomposition)",
            lambda: bacon_decomposition(data, "y", "county", "year", "cohort"),
            lambda: dd.BaconDecomposition().fit(
                data, outcome="y", unit="county", time="year", first_treat="cohort"
            ),
            lambda r: r.twfe_estimate,
            lambda r: r.twfe_estimate,
            repeat,
        )
    except ImportError:
        pass


if __name__ == "__main__":
    main()
