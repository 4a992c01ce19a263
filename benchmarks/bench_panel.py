"""Benchmark: the county cluster panel, file to file, clusteratlas's command line against one
hand-written DuckDB query, on a SYNTHETIC full-US county x 6-digit file.

The data are SYNTHETIC (labelled so everywhere): 3,200 counties x the 978 real NAICS-2012
codes of the USCM definitions (so the real cluster map: 51 traded, 16 local clusters) x N
years, with CBP-like sparsity (most county-industry cells empty; presence grows with county
size and industry ubiquity) and heavy-tailed employment (lognormal x Pareto); about 0.64 M
rows a year. The definitions come from ../shared/data (clusteratlas.data.clusters).

**Whole processes, file to file** (the issue's measure). Each run is a fresh child process;
its wall time is taken from spawn to exit, its CPU time and peak RSS from ``os.wait4`` (that
child's own rusage). All read the same Parquet files and write a Parquet file:

- ``cli`` - ``clusteratlas panel build --counts ... --national ... --definitions ...
  --metrics est,lq,national_share,strong --no-complete --out panel.parquet`` (the root
  command; it loads only the command group it runs);
- ``cli-panel`` - the same command as ``python -m clusteratlas.cli panel build ...`` (the same
  root command through ``python -m``);
- ``lean-sql`` - a Python script running one hand-written DuckDB statement: join the
  definitions, group to county x year x cluster, traded/local LQ, national share, the
  per cluster-year quantiles (LQ 75th, employment and establishments 25th), the strong flag,
  ``COPY`` to Parquet, no ORDER BY. The reference of the ratios. It checks nothing: the
  engine also refuses negative, infinite and duplicate-key counts and NaN-guards the
  measures (a statistics-pruned value check; one checks statement, with the exact key
  check, on a second cursor beside the panel's COPY), which the ratios include;
- ``engine`` - the same work as a two-line script calling
  ``clusteratlas.panel.engine.write_files`` (no command-line parsing): isolates the fixed cost
  of the command-line framework (typer is pinned below 0.29, whose pydantic coercion of
  every option cost ~0.1 s a command);
- ``cli-all`` - ``panel build`` with its defaults (every metric, all 67 clusters per county,
  growth columns): what the full panel costs, for scale.

The compiled SQL is cached (an untimed run fills the cache, as any earlier run on the machine
would); ``cli-cold`` turns the cache off (the first run ever: Ibis imports and compiles).

**In process** (the earlier comparison, kept): ``build_panel(..., metrics=..., complete=False,
sort=False)`` returning pandas, against the hand-written query fetched through Arrow into
pandas, timed after the imports.

Runs are interleaved (one round = every implementation once), so load from other jobs hits
all alike. Reported: best wall time, the median (range) of the per-round wall ratios to
``lean-sql`` (paired), the ratio of best CPU times, and peak RSS and its ratio. Outputs are
checked to agree (rows, flags, sums of LQ and national share).

    python benchmarks/bench_panel.py --years 1 8 25 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_COUNTIES = 3200
FIRST_YEAR = 2012
REPO = Path(__file__).resolve().parents[1]
METRICS = "est,lq,national_share,strong"


# -------------------------------------------------------------------------------------------
# SYNTHETIC data
# -------------------------------------------------------------------------------------------
def definitions() -> pd.DataFrame:
    """The USCM NAICS-2012 definitions (real codes; the counts below are SYNTHETIC)."""
    from clusteratlas.data.clusters import load_definition

    return load_definition("uscm", naics_vintage=2012)


def synthetic_counts(years: int, naics: np.ndarray, seed: int = 2) -> pd.DataFrame:
    """SYNTHETIC county x industry x year counts with CBP-like sparsity and heavy tails."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 1.2, N_COUNTIES)  # county size
    ubiquity = rng.beta(0.6, 1.4, len(naics))  # how common an industry is
    p = np.clip(0.56 * (size[:, None] / np.median(size)) ** 0.6 * ubiquity[None, :], 0, 1)
    present = rng.random(p.shape) < p
    scale = (size[:, None] * 8.0) * rng.pareto(1.6, p.shape)
    counties = np.array([f"{i:05d}" for i in range(1, N_COUNTIES + 1)])
    frames = []
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
                    # the loaders' key (source, year, region, NAICS): the duplicate-key
                    # check runs on it, as on real files
                    "source": "cbp",
                    "year": np.int64(FIRST_YEAR + t),
                    "region_type": "county",
                    "region_id": counties[ci],
                    "naics": naics[ii],
                    "naics_vintage": np.int64(2012),
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
    return nat.assign(source="cbp", region_type="nation", region_id="US")


# -------------------------------------------------------------------------------------------
# the hand-written query
# -------------------------------------------------------------------------------------------
LEAN_SQL = """
copy (
with rc as (
  select c.region_id, c.year, d.cluster_code, any_value(d.cluster_name) as cluster_name,
         d.traded, sum(c.emp) as emp, sum(c.est) as est
  from read_parquet('{counts}') c
  join read_parquet('{defs}') d on c.naics = d.naics and c.naics_vintage = d.naics_vintage
  group by all),
nc as (
  select n.year, d.cluster_code, d.traded, sum(n.emp) as emp_national
  from read_parquet('{national}') n
  join read_parquet('{defs}') d on n.naics = d.naics and n.naics_vintage = d.naics_vintage
  group by all),
ng as (select *, sum(emp_national) over (partition by year, traded) as emp_national_group
       from nc),
p as (
  select rc.*, rc.emp / ng.emp_national as national_share,
         (rc.emp / sum(rc.emp) over (partition by rc.region_id, rc.year, rc.traded))
         / (ng.emp_national / ng.emp_national_group) as lq
  from rc join ng using (year, cluster_code, traded)),
q as (
  select year, cluster_code, quantile_cont(lq, 0.75) as lq75,
         quantile_cont(emp, 0.25) as e25, quantile_cont(est, 0.25) as s25
  from p where traded and emp > 0 group by all)
select 'county' as region_type, p.region_id, p.year, p.cluster_code, p.cluster_name, p.traded,
       p.emp, p.est, p.lq, p.national_share,
       coalesce(p.traded and p.emp > q.e25 and p.est > q.s25 and p.lq >= q.lq75
                and p.lq >= 1, false) as strong
from p left join q using (year, cluster_code)
) to '{out}' (format parquet)
"""


def lean_script(folder: Path, out: Path) -> str:
    query = LEAN_SQL.format(
        counts=folder / "counts.parquet",
        national=folder / "national.parquet",
        defs=folder / "definitions.parquet",
        out=out,
    )
    return f"import duckdb\nduckdb.connect().execute({query!r}).fetchall()\n"


# -------------------------------------------------------------------------------------------
# whole processes
# -------------------------------------------------------------------------------------------
def commands(folder: Path) -> dict[str, list[str]]:
    files = [
        "--counts",
        str(folder / "counts.parquet"),
        "--national",
        str(folder / "national.parquet"),
        "--definitions",
        str(folder / "definitions.parquet"),
        "--region-type",
        "county",
    ]
    lean = ["--metrics", METRICS, "--no-complete"]
    root = [str(Path(sys.executable).with_name("clusteratlas")), "panel", "build"]
    module = [sys.executable, "-m", "clusteratlas.cli", "panel", "build"]
    (folder / "lean.py").write_text(lean_script(folder, folder / "out-lean-sql.parquet"))
    script = (
        "from clusteratlas.panel import engine\n"
        f"engine.write_files(counts={str(folder / 'counts.parquet')!r}, "
        f"national={str(folder / 'national.parquet')!r}, "
        f"definitions={str(folder / 'definitions.parquet')!r}, region_type='county', "
        f"metrics={METRICS!r}, complete=False, out={str(folder / 'out-engine.parquet')!r})\n"
    )
    (folder / "engine.py").write_text(script)
    return {
        "cli": [*root, *files, *lean, "--out", str(folder / "out-cli.parquet")],
        "cli-panel": [*module, *files, *lean, "--out", str(folder / "out-cli-panel.parquet")],
        "lean-sql": [sys.executable, str(folder / "lean.py")],
        "engine": [sys.executable, str(folder / "engine.py")],
        "cli-all": [*module, *files, "--out", str(folder / "out-cli-all.parquet")],
        "cli-cold": [*module, *files, *lean, "--out", str(folder / "out-cli-cold.parquet")],
    }


TIME = "/usr/bin/time"


def run_process(command: list[str], env: dict[str, str]) -> dict:
    """Wall time from spawn to exit; CPU time and peak RSS of the command's own process.

    The command is started by ``/usr/bin/time`` (a tiny process): a child forked straight
    from this benchmark would count this process's memory in its peak RSS (the pages it
    shares until ``exec``); without ``/usr/bin/time`` ``os.wait4`` is used (peak RSS then
    includes that)."""
    start = time.perf_counter()
    if os.path.exists(TIME):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
            done = subprocess.run(
                [TIME, "-f", "%U %S %M", "-o", report.name, *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            seconds = time.perf_counter() - start
            fields = report.read().split()
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
        user, system, rss_kb = (float(v) for v in fields[-3:])
        return {"seconds": seconds, "cpu_seconds": user + system, "max_rss_mb": rss_kb / 1024}
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        errors = child.stderr.read().decode() if child.stderr else ""
        raise RuntimeError(f"{' '.join(command)} failed:\n{errors}")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,
    }


# -------------------------------------------------------------------------------------------
# in process
# -------------------------------------------------------------------------------------------
def inprocess_child(name: str, folder: Path) -> None:
    import resource
    import warnings

    warnings.simplefilter("ignore")
    import duckdb
    import ibis

    from clusteratlas.panel import build_panel

    _ = ibis.duckdb  # Ibis loads its backends lazily: before the clock, like the imports

    files = {name: folder / f"{name}.parquet" for name in ("counts", "national", "definitions")}
    start_usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if name == "inproc-clusteratlas":
        panel = build_panel(
            str(files["counts"]),
            str(files["definitions"]),
            region_type="county",
            national=str(files["national"]),
            metrics=METRICS,
            complete=False,
            sort=False,
        )
    else:
        query = LEAN_SQL.format(
            counts=files["counts"], national=files["national"], defs=files["definitions"],
            out="x",
        )  # fmt: skip
        query = query[query.index("(") + 1 : query.rindex(") to")]
        panel = duckdb.connect().sql(query).to_arrow_table().to_pandas()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - start_usage.ru_utime - start_usage.ru_stime
    result = {"seconds": seconds, "cpu_seconds": cpu, "rows": len(panel)}
    result["n_strong"] = int(panel["strong"].sum())
    (folder / f"{name}.json").write_text(json.dumps(result))


def run_inprocess(name: str, folder: Path, env: dict[str, str]) -> dict:
    """The child times its own work (after imports); peak RSS is the whole child's."""
    result_file = folder / f"{name}.json"
    measured = run_process([sys.executable, __file__, "--child", name, "--data", str(folder)], env)
    result = json.loads(result_file.read_text())
    result["max_rss_mb"] = measured["max_rss_mb"]
    return result


# -------------------------------------------------------------------------------------------
def check_outputs(folder: Path, names: list[str]) -> str:
    """Rows, strong flags and sums of LQ / national share of each written file."""
    import duckdb

    seen = {}
    for name in names:
        path = folder / f"out-{name}.parquet"
        if not path.exists() or name == "cli-all":
            continue
        seen[name] = duckdb.sql(
            f"select count(*), sum(strong::int), round(sum(lq), 4), round(sum(national_share), 6) "
            f"from read_parquet('{path}') where emp > 0"
        ).fetchall()[0]
    values = set(seen.values())
    return (
        f"outputs agree: {next(iter(values))} (rows, strong, sum LQ, sum share)"
        if len(values) == 1
        else f"OUTPUTS DIFFER: {seen}"
    )


def summarize(runs: dict[str, list[dict]], reference: str) -> None:
    print(
        f"{'run':<22}{'best s':>8}{'paired x ref':>20}{'CPU s':>8}{'x ref':>7}"
        f"{'peak MiB':>10}{'x ref':>7}"
    )
    ref = runs[reference]
    ref_cpu = min(r["cpu_seconds"] for r in ref)
    ref_rss = max(r["max_rss_mb"] for r in ref)
    for name, rows in runs.items():
        paired = [a["seconds"] / b["seconds"] for a, b in zip(rows, ref, strict=True)]
        cpu = min(r["cpu_seconds"] for r in rows)
        rss = max(r["max_rss_mb"] for r in rows)
        spread = f"{np.median(paired):.2f} ({min(paired):.2f}-{max(paired):.2f})"
        print(
            f"{name:<22}{min(r['seconds'] for r in rows):>8.2f}{spread:>20}{cpu:>8.2f}"
            f"{cpu / ref_cpu:>7.2f}{rss:>10.0f}{rss / ref_rss:>7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, nargs="+", default=[1, 8, 25])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    parser.add_argument(
        "--only", nargs="+", help="whole-process runs to time (default: all of them)"
    )
    parser.add_argument("--no-inprocess", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        inprocess_child(args.child, args.data)
        return
    print(
        "SYNTHETIC county data (see the module docstring); the machine may be shared with "
        "other jobs: compare the paired and CPU ratios, not absolute times."
    )
    defs = definitions()
    naics = defs["naics"].to_numpy()
    per_million: dict[str, list[tuple[int, float]]] = {}
    for years in args.years:
        with tempfile.TemporaryDirectory(prefix="bench_panel_") as tmp:
            folder = Path(tmp)
            counts = synthetic_counts(years, naics)
            counts.to_parquet(folder / "counts.parquet", index=False)
            national_from(counts).to_parquet(folder / "national.parquet", index=False)
            defs.to_parquet(folder / "definitions.parquet", index=False)
            n_rows = len(counts)
            del counts
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "CLUSTERATLAS_CACHE": str(folder / "cache"),  # never the user's cache
            }
            cold_env = {**env, "CLUSTERATLAS_SQL_CACHE": "off"}
            cmds = commands(folder)
            names = args.only or list(cmds)
            for name in ("cli-panel", "cli-all"):  # untimed: compiles into the SQL cache
                run_process(cmds[name], env)
            runs: dict[str, list[dict]] = {name: [] for name in names}
            for _ in range(args.repeat):
                for name in names:
                    runs[name].append(
                        run_process(cmds[name], cold_env if name == "cli-cold" else env)
                    )
            print(f"\n{years} year(s): {n_rows:,} SYNTHETIC county x industry rows")
            print("whole process, file to file:")
            summarize(runs, "lean-sql")
            print(check_outputs(folder, names))
            for name, rows in runs.items():
                best = min(r["seconds"] for r in rows)
                per_million.setdefault(name, []).append((n_rows, best / (n_rows / 1e6)))
            if not args.no_inprocess:
                inproc = {"inproc-sql": [], "inproc-clusteratlas": []}
                for _ in range(args.repeat):
                    for name in inproc:
                        inproc[name].append(run_inprocess(name, folder, env))
                print("in process (after imports), result as pandas:")
                summarize(inproc, "inproc-sql")
                strong = {n: r[0]["n_strong"] for n, r in inproc.items()}
                print("in-process results agree" if len(set(strong.values())) == 1 else strong)
    if len(args.years) > 1:
        print("\nseconds per million rows (best time), by size: linear if flat")
        for name, points in per_million.items():
            print(f"{name:<22}" + "".join(f"{s:>8.3f}" for _, s in points))


if __name__ == "__main__":
    main()
