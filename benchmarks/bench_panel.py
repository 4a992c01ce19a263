"""Benchmark: the county cluster panel with clusteratlas vs plain pandas vs one hand-written
DuckDB SQL query, on a SYNTHETIC full-US county file.

The data are synthetic (labelled so everywhere): about 3,200 counties x 1,000 six-digit
industries x N years with CBP-like sparsity (most county-industry cells empty; presence
grows with county size and industry ubiquity) and heavy-tailed employment (lognormal x
Pareto). Industries map to 67 clusters (51 traded, 16 local) like the USCM definitions.

Each implementation runs in its own subprocess, reads the same Parquet files and returns the
same panel (county x cluster x year: sums, traded/local and national totals, LQ, shares,
wage, type-7 quantile flags) as a pandas frame in the same row order (region, year, cluster
code in natural order, as build_panel documents), fetched from DuckDB through Arrow (DuckDB's
``.df()`` is ~0.1 s slower at one year, which would flatter clusteratlas). We report wall time,
CPU time, peak RSS (ru_maxrss) and checksums that must agree (row count, flag counts, sums of
LQ, wage and the totals, and the first rows' keys, which checks the order).

Rows: ``clusteratlas`` like-for-like (``complete=False, growth=False``, the Parquet paths
passed to build_panel, which DuckDB then reads itself as the hand-written query does) with
its compiled-SQL cache warm (an untimed run compiled it first, as any earlier call on the
machine does); ``clusteratlas-ibis-inputs`` the same with the files opened as Ibis tables
first (Ibis' ``read_parquet`` creates a view and asks for its schema: ~30 ms);
``clusteratlas-cold`` the same with the cache off (the first call ever: Ibis builds and
compiles the expression, ~0.1 s); ``clusteratlas-defaults`` (all clusters per county, growth
columns); ``pandas``; ``duckdb-sql`` the hand-written query (the reference of the ratios);
``duckdb-sql-unsorted`` the same without ORDER BY (a lower bound: unordered output).
The compiled-SQL cache lives in the benchmark's temporary folder (CLUSTERATLAS_CACHE).

Runs are interleaved (one round = every implementation once). Ratios to the hand-written
query: best time over best time, and the median (range) of the per-round ratios, steadier on
a shared machine because the runs of a round see the same load.

    python benchmarks/bench_panel.py --years 1 8 25
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_COUNTIES = 3200
N_INDUSTRIES = 1000
N_CLUSTERS_TRADED = 51
N_CLUSTERS_LOCAL = 16
FIRST_YEAR = 2000


# -------------------------------------------------------------------------------------------
# synthetic data
# -------------------------------------------------------------------------------------------
def synthetic_definitions(seed: int = 1) -> pd.DataFrame:
    """SYNTHETIC: 1,000 industries -> 67 clusters (codes 1-51 traded, 101-116 local)."""
    rng = np.random.default_rng(seed)
    codes = [str(c) for c in range(1, N_CLUSTERS_TRADED + 1)] + [
        str(100 + c) for c in range(1, N_CLUSTERS_LOCAL + 1)
    ]
    cluster = rng.integers(0, len(codes), N_INDUSTRIES)
    return pd.DataFrame(
        {
            "definition": "synthetic",
            "naics_vintage": 2017,
            "naics": [f"{100000 + i:06d}" for i in range(N_INDUSTRIES)],
            "cluster_code": [codes[k] for k in cluster],
            "cluster_name": [f"Synthetic cluster {codes[k]}" for k in cluster],
            "traded": cluster < N_CLUSTERS_TRADED,
        }
    )


def synthetic_counts(years: int, seed: int = 2) -> pd.DataFrame:
    """SYNTHETIC county x industry x year counts with CBP-like sparsity and heavy tails."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 1.2, N_COUNTIES)  # county size
    ubiquity = rng.beta(0.6, 1.4, N_INDUSTRIES)  # how common an industry is
    p = np.clip(0.45 * (size[:, None] / np.median(size)) ** 0.6 * ubiquity[None, :], 0, 1)
    present = rng.random(p.shape) < p
    scale = (size[:, None] * 8.0) * rng.pareto(1.6, p.shape)
    frames = []
    counties = np.array([f"{i:05d}" for i in range(1, N_COUNTIES + 1)])
    naics = np.array([f"{100000 + i:06d}" for i in range(N_INDUSTRIES)])
    for t in range(years):
        churn = rng.random(p.shape) < 0.03
        present = np.where(churn, rng.random(p.shape) < p, present)
        ci, ii = np.nonzero(present)
        emp = np.round(1 + scale[ci, ii] * rng.lognormal(0.0, 0.1, ci.size))
        est = np.maximum(1.0, np.round(emp / rng.lognormal(2.0, 0.7, ci.size)))
        suppressed = rng.random(ci.size) < 0.25
        frames.append(
            pd.DataFrame(
                {
                    "year": np.int64(FIRST_YEAR + t),
                    "region_type": "county",
                    "region_id": counties[ci],
                    "naics": naics[ii],
                    "naics_vintage": np.int64(2017),
                    "emp": emp,
                    "emp_reported": np.where(suppressed, 0.0, emp),
                    "est": est,
                    "ap": np.where(suppressed, 0.0, emp * rng.lognormal(3.8, 0.3, ci.size)),
                    "qp1": emp * 10.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def national_from(counts: pd.DataFrame) -> pd.DataFrame:
    nat = counts.groupby(["year", "naics", "naics_vintage"], as_index=False)[
        ["emp", "emp_reported", "est", "ap", "qp1"]
    ].sum()
    return nat.assign(region_type="nation", region_id="US")


# -------------------------------------------------------------------------------------------
# the three implementations (each run in a subprocess)
# -------------------------------------------------------------------------------------------
def run_clusteratlas(
    folder: Path, defaults: bool = False, sql_cache: bool = True, ibis_inputs: bool = False
) -> pd.DataFrame:
    import ibis

    from clusteratlas.panel import build_panel

    # imports happen before the clock starts (see child); the rest is timed
    if not sql_cache:
        os.environ["CLUSTERATLAS_SQL_CACHE"] = "off"
    files = {name: folder / f"{name}.parquet" for name in ("counts", "national", "definitions")}
    connection = None
    if ibis_inputs:  # the files opened as Ibis tables first (Ibis' read_parquet, ~30 ms)
        connection = ibis.duckdb.connect()
        files = {name: connection.read_parquet(str(path)) for name, path in files.items()}
    options = {} if defaults else {"complete": False, "growth": False}
    return build_panel(
        files["counts"],
        files["definitions"],
        region_type="county",
        national=files["national"],
        connection=connection,
        **options,
    )


HAND_SQL = """
with counts as (select * from read_parquet('{counts}')),
national as (select * from read_parquet('{national}')),
defs as (select * from read_parquet('{defs}')),
rc as (
  select c.region_id, c.year, d.cluster_code, any_value(d.cluster_name) as cluster_name,
         d.traded, sum(c.emp) as emp, sum(c.emp_reported) as emp_reported, sum(c.est) as est,
         sum(c.ap) as ap, sum(c.qp1) as qp1
  from counts c join defs d on c.naics = d.naics and c.naics_vintage = d.naics_vintage
  group by c.region_id, c.year, d.cluster_code, d.traded),
nc0 as (
  select n.year, d.cluster_code, d.traded, sum(n.emp) as emp_national
  from national n join defs d on n.naics = d.naics and n.naics_vintage = d.naics_vintage
  group by n.year, d.cluster_code, d.traded),
nc as (
  select *, sum(emp_national) over (partition by year, traded) as emp_national_group from nc0),
m as (
  select rc.*,
         sum(rc.emp) over (partition by rc.region_id, rc.year, rc.traded) as emp_region_group,
         nc.emp_national, nc.emp_national_group
  from rc join nc using (year, cluster_code, traded)),
p as (
  select *, ap * 1000 / nullif(emp_reported, 0) as wage,
         emp / nullif(emp_region_group, 0) as region_share,
         emp / nullif(emp_national, 0) as national_share,
         (emp / nullif(emp_region_group, 0)) / (emp_national / nullif(emp_national_group, 0)) as lq
  from m),
q as (
  select year, cluster_code,
         quantile_cont(lq, 0.25) as lq25, quantile_cont(lq, 0.5) as lq50,
         quantile_cont(lq, 0.75) as lq75, quantile_cont(lq, 0.9) as lq90,
         quantile_cont(emp, 0.25) as e25, quantile_cont(est, 0.25) as s25
  from p where traded and emp > 0 group by year, cluster_code)
select p.region_id, p.year, p.cluster_code, p.cluster_name, p.traded, p.emp, p.emp_reported,
       p.est, p.ap, p.qp1, p.wage, p.lq, p.region_share, p.national_share, p.emp_region_group,
       p.emp_national,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq > q.lq25, false) as qualifying,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq > q.lq50, false) as significant,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq >= q.lq75 and p.lq >= 1, false) as strong,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq >= q.lq90 and p.lq >= 1, false) as strong10
from p left join q using (year, cluster_code)
"""

#: build_panel's row order (cluster codes in natural order: "2" < "10")
ORDER_BY = "order by p.region_id, p.year, length(p.cluster_code), p.cluster_code"


def run_sql(folder: Path, ordered: bool = True) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    query = HAND_SQL.format(
        counts=folder / "counts.parquet",
        national=folder / "national.parquet",
        defs=folder / "definitions.parquet",
    )
    # through Arrow, as clusteratlas fetches its result
    return con.sql(query + (ORDER_BY if ordered else "")).to_arrow_table().to_pandas()


def run_pandas(folder: Path) -> pd.DataFrame:
    counts = pd.read_parquet(folder / "counts.parquet")
    national = pd.read_parquet(folder / "national.parquet")
    defs = pd.read_parquet(folder / "definitions.parquet")[
        ["naics", "naics_vintage", "cluster_code", "cluster_name", "traded"]
    ]
    measures = ["emp", "emp_reported", "est", "ap", "qp1"]
    rc = (
        counts.merge(defs, on=["naics", "naics_vintage"])
        .groupby(
            ["region_id", "year", "cluster_code", "cluster_name", "traded"],
            as_index=False,
            observed=True,
        )[measures]
        .sum()
    )
    nc = (
        national.merge(defs, on=["naics", "naics_vintage"])
        .groupby(["year", "cluster_code", "traded"], as_index=False)["emp"]
        .sum()
        .rename(columns={"emp": "emp_national"})
    )
    nc["emp_national_group"] = nc.groupby(["year", "traded"])["emp_national"].transform("sum")
    p = rc.merge(nc, on=["year", "cluster_code", "traded"])
    p["emp_region_group"] = p.groupby(["region_id", "year", "traded"])["emp"].transform("sum")
    p["wage"] = p["ap"] * 1000 / p["emp_reported"].where(p["emp_reported"] != 0)
    p["region_share"] = p["emp"] / p["emp_region_group"]
    p["national_share"] = p["emp"] / p["emp_national"]
    p["lq"] = p["region_share"] / (p["emp_national"] / p["emp_national_group"])
    pos = p.loc[p["traded"] & (p["emp"] > 0)]
    g = pos.groupby(["year", "cluster_code"])
    q = pd.concat(
        {
            "lq25": g["lq"].quantile(0.25),
            "lq50": g["lq"].quantile(0.5),
            "lq75": g["lq"].quantile(0.75),
            "lq90": g["lq"].quantile(0.9),
            "e25": g["emp"].quantile(0.25),
            "s25": g["est"].quantile(0.25),
        },
        axis=1,
    ).reset_index()
    p = p.merge(q, on=["year", "cluster_code"], how="left")
    base = p["traded"] & (p["emp"] > p["e25"]) & (p["est"] > p["s25"])
    p["qualifying"] = base & (p["lq"] > p["lq25"])
    p["significant"] = base & (p["lq"] > p["lq50"])
    p["strong"] = base & (p["lq"] >= p["lq75"]) & (p["lq"] >= 1)
    p["strong10"] = base & (p["lq"] >= p["lq90"]) & (p["lq"] >= 1)
    p = p.drop(columns=["lq25", "lq50", "lq75", "lq90", "e25", "s25", "emp_national_group"])
    p["_code_length"] = p["cluster_code"].str.len()
    p = p.sort_values(["region_id", "year", "_code_length", "cluster_code"], ignore_index=True)
    return p.drop(columns="_code_length")


IMPLEMENTATIONS = {
    "clusteratlas": lambda f: run_clusteratlas(f),
    "clusteratlas-cold": lambda f: run_clusteratlas(f, sql_cache=False),
    "clusteratlas-defaults": lambda f: run_clusteratlas(f, defaults=True),
    "clusteratlas-ibis-inputs": lambda f: run_clusteratlas(f, ibis_inputs=True),
    "pandas": run_pandas,
    "duckdb-sql": run_sql,
    "duckdb-sql-unsorted": lambda f: run_sql(f, ordered=False),
}


def child(name: str, folder: Path) -> None:
    import warnings

    warnings.simplefilter("ignore")
    import duckdb  # noqa: F401  - library imports are not part of the measured work
    import ibis  # noqa: F401

    import clusteratlas.panel  # noqa: F401

    _ = ibis.duckdb  # Ibis loads its backends lazily: load it before the clock, like the imports

    start_usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_at_start = start_usage.ru_utime + start_usage.ru_stime
    start = time.perf_counter()
    panel = IMPLEMENTATIONS[name](folder)
    seconds = time.perf_counter() - start
    present = panel.loc[panel["emp"] > 0]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "impl": name,
        "seconds": seconds,
        # CPU seconds of the measured work: much less sensitive than wall time to other jobs
        "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_at_start,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": int(len(present)),
        "sum_lq": float(present["lq"].sum()),
        "n_strong": int(present["strong"].sum()),
        "checks": _checks(present),
    }
    print(json.dumps(result))


def _checks(present: pd.DataFrame) -> list:
    """Rounded sums and counts of every computed column, and the first rows' keys (order)."""
    sums = [
        round(float(present[c].sum()), 3)
        for c in (
            "lq",
            "wage",
            "region_share",
            "national_share",
            "emp_region_group",
            "emp_national",
        )
    ]
    flags = [int(present[c].sum()) for c in ("qualifying", "significant", "strong", "strong10")]
    head = present[["region_id", "year", "cluster_code"]].head(3).astype(str).values.tolist()
    return [*sums, *flags, head]


def measure(name: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--data", str(folder)],
        check=True,
        capture_output=True,
        text=True,
        # the compiled-SQL cache of this benchmark run only (never the user's)
        env={**os.environ, "CLUSTERATLAS_CACHE": str(folder / "cache")},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--years", type=int, nargs="+", default=[1, 8], help="panel lengths to run (1..25)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per implementation (best time kept)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(IMPLEMENTATIONS), default=list(IMPLEMENTATIONS)
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data)
        return
    for years in args.years:
        if not 1 <= years <= 25:
            parser.error("--years must be between 1 and 25")
    print("SYNTHETIC data (see module docstring); machine shared with other jobs, times are noisy.")
    for years in args.years:
        with tempfile.TemporaryDirectory(prefix="bench_panel_") as tmp:
            folder = Path(tmp)
            counts = synthetic_counts(years)
            counts.to_parquet(folder / "counts.parquet", index=False)
            national_from(counts).to_parquet(folder / "national.parquet", index=False)
            synthetic_definitions().to_parquet(folder / "definitions.parquet", index=False)
            n_rows = len(counts)
            del counts
            # untimed: compiles into the SQL cache (and brings the files into the OS cache)
            for name in ("clusteratlas", "clusteratlas-defaults"):
                measure(name, folder)
            # interleaved repeats (A B C A B C ...) so that changing load hits all alike;
            # the best and median wall times and the best CPU time of each are kept
            runs: dict[str, list[dict]] = {name: [] for name in args.only}
            for _ in range(args.repeat):
                for name in args.only:
                    runs[name].append(measure(name, folder))
            results = []
            for name in args.only:
                best = dict(min(runs[name], key=lambda r: r["seconds"]))
                best["cpu_seconds"] = min(r["cpu_seconds"] for r in runs[name])
                best["median"] = float(np.median([r["seconds"] for r in runs[name]]))
                best["worst"] = max(r["seconds"] for r in runs[name])
                results.append(best)
            reference = next((r for r in results if r["impl"] == "duckdb-sql"), results[0])
            print(f"\n{years} year(s): {n_rows:,} synthetic county x industry rows")
            print(
                f"{'implementation':<22}{'best s':>8}{'x SQL':>7}{'median':>8}{'worst':>7}"
                f"{'paired x SQL':>18}{'CPU s':>7}{'x SQL':>7}{'peak MB':>9}{'rows':>10}"
                f"{'strong':>8}{'sum LQ':>15}"
            )
            for r in results:
                ratio = r["seconds"] / reference["seconds"]
                # per-round ratios (the runs of one round are back to back, so under the same
                # load): their median, and their range as the spread
                paired = [
                    a["seconds"] / b["seconds"]
                    for a, b in zip(runs[r["impl"]], runs[reference["impl"]], strict=True)
                ]
                spread = f"{np.median(paired):.2f} ({min(paired):.2f}-{max(paired):.2f})"
                cpu_ratio = r["cpu_seconds"] / reference["cpu_seconds"]
                print(
                    f"{r['impl']:<22}{r['seconds']:>8.2f}{ratio:>7.2f}{r['median']:>8.2f}"
                    f"{r['worst']:>7.2f}{spread:>18}{r['cpu_seconds']:>7.2f}"
                    f"{cpu_ratio:>7.2f}{r['max_rss_mb']:>9.0f}{r['rows']:>10,}"
                    f"{r['n_strong']:>8,}{r['sum_lq']:>15.6f}"
                )
            # same numbers everywhere, and the same row order wherever an order is promised
            agree = {json.dumps([r["rows"], r["checks"][:-1]]) for r in results}
            order = {
                json.dumps(r["checks"][-1]) for r in results if not r["impl"].endswith("unsorted")
            }
            print(
                "results agree across implementations (values; order where sorted)"
                if len(agree) == 1 and len(order) <= 1
                else f"RESULTS DIFFER: {agree | order}"
            )


if __name__ == "__main__":
    main()
