"""SYNTHETIC demo data: a national county panel with KNOWN cluster effects on resilience.

Nothing here is real data. Every row carries ``source = "synthetic-demo"`` and every report
page built from it says so. The demo exists so that a newcomer can run the whole pipeline
offline in seconds, and so that the tests can check the causal stage recovers effects whose
true size is known.

Generative model (documented so the truth is checkable):

1. Counties: the 3,142 county FIPS codes of the shipped map (real ids, synthetic numbers).
   Size ``N_i = exp(Normal(9.3, 1.4))`` jobs (at least 200).
2. Clusters: the real USCM cluster definition when clusteratlas.data can load it (one 6-digit
   NAICS stands in for each cluster), else 20 synthetic clusters (14 traded, 6 local).
   Local clusters take ~62% of jobs in fixed national proportions (+/- noise). Traded shares
   are national weights ``w_k ~ Dirichlet(2)`` times a county multiplier
   ``exp(Normal(0, 0.8))``, and ``Poisson(1.2)`` specialisations per county multiplied by 6.
   Establishments = emp / size_k (size_k ~ U(8, 40)); payroll = emp x wage (cluster x county
   factors around $48k); Q1 payroll = payroll / 4.
3. Treatment: the base-year (2016) USCM panel is built with :func:`clusteratlas.panel.build_panel`
   and :func:`clusteratlas.studies.cluster_resilience.config.cluster_regions` (over
   :func:`clusteratlas.panel.design.treatment_from_panel`) applies the configured rule
   (default: cluster strength at or above the median), exactly as the pipeline will.
4. Outcomes (log scale): ``log Y_it = a_i + lambda_t + effect_t * D_i + e_it``, e ~ N(0, 0.01)
   with the effect paths in :data:`EFFECTS` (0 before the shock). The true DID of a window
   [s, e] is ``effect_e - effect_s``: stored in table ``demo_truth``. County employment is the
   sum of the cluster counts, whose growth carries the employment effect path, a cluster shock
   sensitivity and noise; CBP-style March timing means the employment shock shows in 2021.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data.clusters import load_definition
from clusteratlas.data.shapes import county_names, shapes
from clusteratlas.panel import build_panel, region_summary
from clusteratlas.schema import (
    CLUSTER_DEFINITIONS,
    INDUSTRY_COUNTS,
    OUTCOMES,
    REGION_MEMBERS,
    REGIONS,
    conform,
)
from clusteratlas.store import Store
from clusteratlas.studies.cluster_resilience.config import cluster_regions, defaults

SOURCE = "synthetic-demo"
BASE_YEAR = 2016
#: the synthetic shock hits in 2020 (outcome paths dip there); treatment is measured before it
DEMO_SHOCK_YEAR = 2020
COUNT_YEARS = (2016, 2018, 2019, 2020, 2021, 2022)
OUTCOME_YEARS = tuple(range(2015, 2023))
#: national log path of each outcome (lambda_t)
YEAR_PATHS = {
    "gdp": {
        2015: -0.02,
        2016: 0.0,
        2017: 0.02,
        2018: 0.045,
        2019: 0.07,
        2020: 0.035,
        2021: 0.09,
        2022: 0.12,
    },
    "mfg_gdp": {
        2015: -0.01,
        2016: 0.0,
        2017: 0.015,
        2018: 0.03,
        2019: 0.04,
        2020: -0.02,
        2021: 0.05,
        2022: 0.08,
    },
    "employment": {2016: 0.0, 2018: 0.03, 2019: 0.045, 2020: 0.055, 2021: -0.01, 2022: 0.03},
}
#: KNOWN treatment effect paths (log points) of cluster regions vs the others
EFFECTS = {
    "gdp": {2020: 0.030, 2021: 0.040, 2022: 0.050},
    "mfg_gdp": {2020: 0.040, 2021: 0.045, 2022: 0.050},
    "employment": {2021: 0.020, 2022: 0.030},
}
NOISE_SD = 0.01


def true_effect(outcome: str, start: int, end: int) -> float:
    """The true 2x2 DID (log points) of ``outcome`` between ``start`` and ``end``."""
    path = EFFECTS[outcome]
    return path.get(end, 0.0) - path.get(start, 0.0)


def _definitions(rng: np.random.Generator) -> pd.DataFrame:
    try:
        defs = load_definition("uscm", naics_vintage=2012)
        defs = conform(defs, CLUSTER_DEFINITIONS, what="USCM definitions")
        defs["definition"] = "uscm"
        return defs
    except Exception:  # no shared data: a synthetic definition, labelled so
        rows = []
        for k in range(20):
            traded = k < 14
            code = str(k + 1) if traded else str(101 + k - 14)
            rows.append(
                {
                    "definition": SOURCE,
                    "naics_vintage": 2012,
                    "naics": f"9{k:05d}",
                    "cluster_code": code,
                    "cluster_name": f"Synthetic {'traded' if traded else 'local'} cluster {code}",
                    "traded": traded,
                    "subcluster_code": "1",
                    "subcluster_name": "synthetic",
                }
            )
        return conform(pd.DataFrame(rows), CLUSTER_DEFINITIONS, what="synthetic definitions")


def build_demo_store(
    path: str | Path | Store, seed: int = 20240101, treatment: dict | None = None
) -> dict:
    """Write the SYNTHETIC demo tables into the store at ``path``; return a summary dict.

    Tables: industry_counts (county + nation), cluster_definitions, regions, region_members
    (county -> state), outcomes (county, state, nation), demo_truth, demo_treatment.
    """
    rng = np.random.default_rng(seed)
    names = county_names()
    counties = names.index.to_numpy()
    n = len(counties)
    defs = _definitions(rng)
    one = defs.sort_values("naics").drop_duplicates("cluster_code")  # one NAICS per cluster
    traded = one["traded"].to_numpy(dtype=bool)
    k_all = len(one)

    size = np.maximum(np.exp(rng.normal(9.3, 1.4, n)), 200.0)
    weights = np.zeros(k_all)
    weights[~traded] = rng.dirichlet(np.full((~traded).sum(), 3.0)) * 0.62
    weights[traded] = rng.dirichlet(np.full(traded.sum(), 2.0)) * 0.38
    mult = np.exp(rng.normal(0.0, np.where(traded, 0.8, 0.15), (n, k_all)))
    n_special = rng.poisson(1.2, n)
    traded_idx = np.flatnonzero(traded)
    for i in np.flatnonzero(n_special):
        mult[i, rng.choice(traded_idx, size=min(n_special[i], len(traded_idx)), replace=False)] *= (
            6.0
        )
    shares = weights * mult
    shares /= shares.sum(axis=1, keepdims=True)
    emp0 = np.round(size[:, None] * shares)
    emp0[emp0 < 5] = 0.0
    est_size = rng.uniform(8, 40, k_all)
    wage = (
        48_000
        * np.exp(rng.normal(0, 0.25, k_all))[None, :]
        * np.exp(rng.normal(0, 0.15, n))[:, None]
    )
    sensitivity = rng.uniform(0.0, 2.0, k_all)

    def counts_for(year: int, emp: np.ndarray) -> pd.DataFrame:
        est = np.where(emp > 0, np.maximum(1.0, np.round(emp / est_size)), 0.0)
        ap = np.round(emp * wage / 1000.0)
        frame = pd.DataFrame(
            {
                "source": SOURCE,
                "year": year,
                "region_type": "county",
                "region_id": np.repeat(counties, k_all),
                "naics": np.tile(one["naics"].to_numpy(), n),
                "naics_vintage": 2012,
                "emp": emp.ravel(),
                "emp_reported": emp.ravel(),
                "emp_flag": "",
                "est": est.ravel(),
                "ap": ap.ravel(),
                "qp1": np.round(ap.ravel() / 4.0),
            }
        )
        return frame.loc[frame["emp"] > 0]

    def national(frame: pd.DataFrame) -> pd.DataFrame:
        sums = frame.groupby(["year", "naics"], as_index=False)[
            ["emp", "emp_reported", "est", "ap", "qp1"]
        ].sum()
        return sums.assign(
            source=SOURCE, region_type="nation", region_id="US", naics_vintage=2012, emp_flag=""
        )

    base = counts_for(BASE_YEAR, emp0)
    base_panel = build_panel(
        base, defs, region_type="county", national=national(base), growth=False
    )
    treatment = treatment or defaults().treatment
    assigned = cluster_regions(region_summary(base_panel), treatment, BASE_YEAR, DEMO_SHOCK_YEAR)
    treated = (
        pd.Series(assigned["treated"].to_numpy(), index=assigned["region_id"])
        .reindex(counties)
        .fillna(False)
    )
    d = treated.to_numpy(dtype=float)

    frames = [base]
    emp_total = {BASE_YEAR: emp0.sum(axis=1)}
    for year in COUNT_YEARS[1:]:
        shock = -0.06 * sensitivity[None, :] if year >= 2021 else 0.0
        log_growth = (
            YEAR_PATHS["employment"][year]
            + shock
            + EFFECTS["employment"].get(year, 0.0) * d[:, None]
            + rng.normal(0, 0.02, (n, k_all))
        )
        emp = np.round(emp0 * np.exp(log_growth))
        frames.append(counts_for(year, emp))
        emp_total[year] = emp.sum(axis=1)
    counts = pd.concat(frames, ignore_index=True)
    counts = pd.concat([counts, national(counts)], ignore_index=True)

    alpha = np.log(size * 0.13) + rng.normal(0, 0.1, n)  # GDP in $ million
    mfg_share = np.clip(rng.beta(2, 9, n), 0.01, 0.6)
    outcome_rows = []
    for outcome in ("gdp", "mfg_gdp"):
        level = alpha + (np.log(mfg_share) if outcome == "mfg_gdp" else 0.0)
        for year in OUTCOME_YEARS:
            value = np.exp(
                level
                + YEAR_PATHS[outcome][year]
                + EFFECTS[outcome].get(year, 0.0) * d
                + rng.normal(0, NOISE_SD, n)
            )
            outcome_rows.append(
                pd.DataFrame(
                    {
                        "region_id": counties,
                        "year": year,
                        "outcome": outcome,
                        "value": value,
                        "unit": "USD_million",
                    }
                )
            )
    for year, total in emp_total.items():
        outcome_rows.append(
            pd.DataFrame(
                {
                    "region_id": counties,
                    "year": year,
                    "outcome": "employment",
                    "value": total,
                    "unit": "jobs",
                }
            )
        )
    county_out = pd.concat(outcome_rows, ignore_index=True).assign(
        region_type="county", source=SOURCE
    )
    state_out = (
        county_out.assign(region_id=county_out["region_id"].str[:2])
        .groupby(["region_id", "year", "outcome", "unit"], as_index=False)["value"]
        .sum()
        .assign(region_type="state", source=SOURCE)
    )
    nation_out = (
        county_out.groupby(["year", "outcome", "unit"], as_index=False)["value"]
        .sum()
        .assign(region_type="nation", region_id="US", source=SOURCE)
    )
    outcomes = conform(
        pd.concat([county_out, state_out, nation_out], ignore_index=True),
        OUTCOMES,
        what="demo outcomes",
    )

    states = shapes("states")
    regions = pd.concat(
        [
            pd.DataFrame(
                {
                    "region_type": "county",
                    "region_id": counties,
                    "region_name": names.to_numpy(),
                    "state_fips": [c[:2] for c in counties],
                }
            ),
            pd.DataFrame(
                {
                    "region_type": "state",
                    "region_id": states["id"],
                    "region_name": states["name"],
                    "state_fips": states["id"],
                }
            ),
            pd.DataFrame(
                {
                    "region_type": ["nation"],
                    "region_id": ["US"],
                    "region_name": ["United States"],
                    "state_fips": [""],
                }
            ),
        ],
        ignore_index=True,
    )
    members = pd.DataFrame(
        {
            "region_type": "state",
            "region_id": [c[:2] for c in counties],
            "member_type": "county",
            "member_id": counties,
        }
    )
    truth = pd.DataFrame(
        [
            {"outcome": o, "start": s, "end": e, "true_effect": true_effect(o, s, e)}
            for o in EFFECTS
            for s, e in [(2018, 2020), (2019, 2020), (2019, 2021), (2020, 2022), (2018, 2022)]
        ]
    ).assign(source=SOURCE)

    store = path if isinstance(path, Store) else Store(path)
    try:
        store.write("industry_counts", conform(counts, INDUSTRY_COUNTS, what="demo counts"))
        store.write("cluster_definitions", defs)
        store.write("regions", conform(regions, REGIONS, what="demo regions"))
        store.write("region_members", conform(members, REGION_MEMBERS, what="demo members"))
        store.write("outcomes", outcomes)
        store.write("demo_truth", truth)
        store.write("demo_treatment", assigned.assign(source=SOURCE))
    finally:
        if not isinstance(path, Store):
            store.close()
    return {
        "source": SOURCE,
        "counties": n,
        "clusters": k_all,
        "treated": int(d.sum()),
        "seed": seed,
        "definition": str(defs["definition"].iloc[0]),
    }
