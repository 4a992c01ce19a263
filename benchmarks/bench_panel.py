"""Benchmark: the county cluster panel with clusteratlas vs plain pandas vs one hand-written
DuckDB SQL query, on a SYNTHETIC full-US county file.

The data are synthetic (labelled so everywhere): about 3,200 counties x 1,000 six-digit
industries x N years with CBP-like sparsity (most county-industry cells empty; presence
grows with county size and industry ubiquity) and heavy-tailed employment (lognormal x
Pareto). Industries map to 67 clusters (51 traded, 16 local) like the USCM definitions.

Each implementation runs in its own subprocess, reads the same Parquet files and returns the
same panel (county x cluster x year: sums, LQ with the traded/local denominator, type-7
quantile strong flags) as a pandas frame; we report wall time, peak RSS (ru_maxrss) and a
checksum that must agree. clusteratlas runs twice: like-for-like (``complete=False,
growth=False``) and with its defaults (all clusters per county, growth columns).

    python benchmarks/bench_panel.py --years 1 8 25
"""

from __future__ import annotations

import argparse
import json
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
def run_clusteratlas(folder: Path, defaults: bool = False) -> pd.DataFrame:
    import ibis

    from clusteratlas.panel import build_panel

    # imports happen before the clock starts (see child); the rest is timed
    con = ibis.duckdb.connect()
    counts = con.read_parquet(str(folder / "counts.parquet"))
    national = con.read_parquet(str(folder / "national.parquet"))
    definitions = con.read_parquet(str(folder / "definitions.parquet"))
    options = {} if defaults else {"complete": False, "growth": False}
    return build_panel(
        counts, definitions, region_type="county", national=national, connection=con, **options
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
       p.est, p.ap, p.qp1, p.wage, p.lq, p.region_share, p.national_share,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq > q.lq25, false) as qualifying,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq > q.lq50, false) as significant,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq >= q.lq75 and p.lq >= 1, false) as strong,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq >= q.lq90 and p.lq >= 1, false) as strong10
from p left join q using (year, cluster_code)
"""


def run_sql(folder: Path) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    query = HAND_SQL.format(
        counts=folder / "counts.parquet",
        national=folder / "national.parquet",
        defs=folder / "definitions.parquet",
    )
    return con.execute(query).df()


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
    return p.drop(columns=["lq25", "lq50", "lq75", "lq90", "e25", "s25", "emp_national_group"])


IMPLEMENTATIONS = {
    "clusteratlas": lambda f: run_clusteratlas(f),
    "clusteratlas-defaults": lambda f: run_clusteratlas(f, defaults=True),
    "pandas": run_pandas,
    "duckdb-sql": run_sql,
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
    }
    print(json.dumps(result))


def measure(name: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--data", str(folder)],
        check=True,
        capture_output=True,
        text=True,
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
            # interleaved repeats (A B C A B C ...) so that changing load hits all alike;
            # the best wall time and the best CPU time of each implementation are kept
            runs: dict[str, list[dict]] = {name: [] for name in args.only}
            for _ in range(args.repeat):
                for name in args.only:
                    runs[name].append(measure(name, folder))
            results = []
            for name in args.only:
                best = dict(min(runs[name], key=lambda r: r["seconds"]))
                best["cpu_seconds"] = min(r["cpu_seconds"] for r in runs[name])
                results.append(best)
            reference = next((r for r in results if r["impl"] == "duckdb-sql"), results[0])
            print(f"\n{years} year(s): {n_rows:,} synthetic county x industry rows")
            print(
                f"{'implementation':<24}{'wall s':>8}{'x SQL':>7}{'CPU s':>8}{'x SQL':>7}"
                f"{'peak MB':>9}{'rows':>11}{'strong':>9}{'sum LQ':>16}"
            )
            for r in results:
                ratio = r["seconds"] / reference["seconds"]
                cpu_ratio = r["cpu_seconds"] / reference["cpu_seconds"]
                print(
                    f"{r['impl']:<24}{r['seconds']:>8.2f}{ratio:>7.2f}{r['cpu_seconds']:>8.2f}"
                    f"{cpu_ratio:>7.2f}{r['max_rss_mb']:>9.0f}{r['rows']:>11,}{r['n_strong']:>9,}"
                    f"{r['sum_lq']:>16.6f}"
                )
            agree = {(r["rows"], r["n_strong"], round(r["sum_lq"], 3)) for r in results}
            print(
                "results agree across implementations"
                if len(agree) == 1
                else f"RESULTS DIFFER: {agree}"
            )


if __name__ == "__main__":
    main()
