"""A SYNTHETIC store in the canonical schema, for the dashboard's tests and load benchmark.

Everything here is made up (names say "Synthetic", sources say ``synthetic-web``): it exists
so the dashboard can be exercised at any size, from a handful of regions to a county-level
national panel (~3,200 counties x 67 clusters x several years), without real data.

Only the raw cluster aggregates (employment, establishments, payroll by county, state and
nation) are made up here. Every metric is computed by the panel engine exactly as for real
data: LQ, shares, wage, flags and growth by :func:`clusteratlas.panel.panel_from_uscm` (the
synthetic aggregates play the part of a USCM download, national denominators from synthetic
6-digit national counts), region totals by :func:`clusteratlas.panel.region_summary`. So the
pages show plausible numbers, but they are not a reference for anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.panel import panel_from_uscm, region_summary
from clusteratlas.schema import (
    CLUSTER_DEFINITIONS,
    INDUSTRY_COUNTS,
    OUTCOMES,
    REGION_MEMBERS,
    REGIONS,
)
from clusteratlas.store import Store

SOURCE = "synthetic-web"


def _industry_rows(
    clusters: pd.DataFrame, definitions: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Split region x cluster rows over each cluster's 6-digit industries (random weights, so
    the industries of a cluster add up to it) as :data:`~clusteratlas.schema.INDUSTRY_COUNTS`."""
    merged = clusters.merge(definitions[["cluster_code", "naics"]], on="cluster_code")
    weight = pd.Series(rng.uniform(0.5, 1.5, len(merged)), index=merged.index)
    share = weight / weight.groupby(
        [merged["region_type"], merged["region_id"], merged["year"], merged["cluster_code"]]
    ).transform("sum")
    out = pd.DataFrame(
        {
            "source": SOURCE,
            "year": merged["year"],
            "region_type": merged["region_type"],
            "region_id": merged["region_id"],
            "naics": merged["naics"],
            "naics_vintage": 2012,
            "emp": merged["emp"] * share,
            "emp_reported": merged["emp_reported"] * share,
            "emp_flag": "",
            "est": merged["est"] * share,
            "ap": merged["ap"] * share,
            "qp1": merged["qp1"] * share,
        }
    )
    return out.astype(INDUSTRY_COUNTS)


def _synthetic_definitions(clusters: pd.DataFrame) -> pd.DataFrame:
    """Six made-up 6-digit industries per cluster, two per subcluster."""
    return pd.DataFrame(
        [
            (
                "synthetic",
                2012,
                f"{int(code) * 100 + k:06d}",
                code,
                name,
                traded,
                f"{code}.{k // 3 + 1}",
                f"{name} sub {k // 3 + 1}",
            )
            for code, name, traded in clusters.itertuples(index=False)
            for k in range(6)
        ],
        columns=list(CLUSTER_DEFINITIONS),
    ).astype(CLUSTER_DEFINITIONS)


def synthetic_panel(
    *,
    n_states: int = 4,
    counties_per_state: int = 5,
    n_clusters: int = 10,
    years: tuple[int, ...] = (2014, 2015, 2016, 2017),
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Canonical tables (cluster_panel, regions, region_members, outcomes, ...) of a synthetic nation."""
    rng = np.random.default_rng(seed)
    n_traded = max(1, round(n_clusters * 0.76))
    clusters = pd.DataFrame(
        {
            "cluster_code": [str(i + 1) for i in range(n_clusters)],
            "cluster_name": [
                f"Synthetic {'traded' if i < n_traded else 'local'} cluster {i + 1}"
                for i in range(n_clusters)
            ],
            "traded": [i < n_traded for i in range(n_clusters)],
        }
    )
    states = [f"{s + 1:02d}" for s in range(n_states)]
    counties = [(st, f"{st}{c + 1:03d}") for st in states for c in range(counties_per_state)]
    n_counties, n_years = len(counties), len(years)
    # county size x cluster specialisation x growth path
    size = rng.lognormal(8, 1.2, n_counties)
    special = rng.lognormal(0, 0.9, (n_counties, n_clusters)) * (
        rng.random((n_counties, n_clusters)) > 0.15
    )
    growth = 1 + rng.normal(0.01, 0.04, (n_years, n_counties, n_clusters)).cumsum(axis=0)
    emp = np.round(size[None, :, None] * special[None] * growth / n_clusters * 3)
    emp = np.maximum(emp, 0)
    wage = rng.uniform(35_000, 90_000, n_clusters)
    idx = pd.MultiIndex.from_product(
        [range(n_years), range(n_counties), range(n_clusters)], names=["t", "r", "c"]
    )
    t, r, c = (idx.get_level_values(k).to_numpy() for k in ("t", "r", "c"))
    e = emp.ravel()
    county = pd.DataFrame(
        {
            "region_type": "county",
            "region_id": np.array([cid for _, cid in counties])[r],
            "state": np.array([st for st, _ in counties])[r],
            "year": np.array(years)[t],
            "cluster_code": clusters["cluster_code"].to_numpy()[c],
            "emp": e,
            "emp_reported": np.where(rng.random(e.size) < 0.2, 0.0, e),
            "est": np.ceil(e / rng.uniform(8, 25, e.size)),
        }
    )
    county["ap"] = county["emp_reported"] * wage[c] * rng.uniform(0.8, 1.2, e.size) / 1000
    county["qp1"] = county["ap"] / 4
    measures = ["emp", "emp_reported", "est", "ap", "qp1"]
    state = (
        county.groupby(["state", "year", "cluster_code"], as_index=False)[measures]
        .sum()
        .rename(columns={"state": "region_id"})
    )
    state["region_type"] = "state"
    national = county.groupby(["year", "cluster_code"], as_index=False)[measures].sum()
    national["region_id"], national["region_type"] = "US", "nation"
    aggregates = pd.concat(
        [county.drop(columns="state"), state, national], ignore_index=True
    ).merge(clusters, on="cluster_code")
    definitions = _synthetic_definitions(clusters)
    # every metric (LQ, shares, wage, flags, growth) by the panel engine, as for real data;
    # national denominators from 6-digit national counts, as panel_from_uscm expects
    national_counts = _industry_rows(
        aggregates.loc[aggregates["region_type"] == "nation"],
        definitions,
        np.random.default_rng(seed + 2),
    )
    panel = panel_from_uscm(aggregates, national_counts, definitions)

    regions = pd.DataFrame(
        [("nation", "US", "Synthetic Nation", None)]
        + [("state", st, f"Synthetic State {st}", st) for st in states]
        + [("county", cid, f"Synthetic County {cid}", st) for st, cid in counties],
        columns=list(REGIONS),
    ).astype(REGIONS)
    members = pd.DataFrame(
        [("state", st, "county", cid) for st, cid in counties]
        + [("nation", "US", "state", st) for st in states],
        columns=list(REGION_MEMBERS),
    ).astype(REGION_MEMBERS)
    totals = region_summary(panel)
    outcomes = pd.concat(
        [
            totals.assign(outcome="employment", value=totals["emp"], unit="jobs"),
            totals.assign(
                outcome="gdp",
                value=totals["emp"] * rng.uniform(90, 130, len(totals)),
                unit="thousand USD",
            ),
        ]
    ).assign(source=SOURCE)
    outcomes = outcomes.loc[:, list(OUTCOMES)].astype(OUTCOMES)
    resilience = pd.DataFrame(
        {
            "region_type": regions["region_type"],
            "region_id": regions["region_id"],
            "shock_year": 2015,
            "resistance": rng.normal(0, 0.05, len(regions)),
            "recovery": rng.normal(0, 0.05, len(regions)),
            "source": SOURCE,
        }
    )
    causal = pd.DataFrame(
        {
            "term": ["event -2", "event -1", "event 0", "event 1", "event 2"],
            "estimate": [0.01, 0.0, -0.05, -0.02, 0.01],
            "std_error": [0.02, 0.0, 0.02, 0.02, 0.02],
            "source": SOURCE,
        }
    ).assign(
        conf_low=lambda f: f["estimate"] - 1.96 * f["std_error"],
        conf_high=lambda f: f["estimate"] + 1.96 * f["std_error"],
    )
    traded_codes = clusters.loc[clusters["traded"], "cluster_code"].tolist()
    related = pd.DataFrame(
        [
            (code, other, f"Synthetic traded cluster {other}", float(rng.uniform(90, 99)), SOURCE)
            for i, code in enumerate(traded_codes)
            for other in traded_codes[i + 1 : i + 3]
        ],
        columns=[
            "cluster_code",
            "related_cluster_code",
            "related_cluster_name",
            "relatedness_pct",
            "source",
        ],
    )
    related = pd.concat(
        [
            related,
            related.rename(
                columns={
                    "cluster_code": "related_cluster_code",
                    "related_cluster_code": "cluster_code",
                }
            ),
        ],
        ignore_index=True,
    )
    return {
        "related_clusters": related,
        "cluster_panel": panel,
        "regions": regions,
        "region_members": members,
        "outcomes": outcomes,
        "cluster_definitions": definitions,
        "resilience_indices": resilience,
        "causal_event_study": causal,
    }


def synthetic_industry_counts(tables: dict[str, pd.DataFrame], seed: int = 0) -> pd.DataFrame:
    """6-digit counts consistent with the cluster panel (each cluster split over its industries)."""
    rng = np.random.default_rng(seed + 1)
    return _industry_rows(tables["cluster_panel"], tables["cluster_definitions"], rng)


def build_synthetic_store(path: str | Path, *, industry_counts: bool = True, **sizes: int) -> Path:
    """Write a synthetic store to ``path`` (replaced) and return the path. Sizes: see :func:`synthetic_panel`."""
    path = Path(path)
    if path.exists():
        path.unlink()
    tables = synthetic_panel(**sizes)
    if industry_counts:
        tables["industry_counts"] = synthetic_industry_counts(tables)
    with Store(path) as store:
        for name, frame in tables.items():
            store.write(name, frame)
    return path
