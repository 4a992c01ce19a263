"""Concurrent load on the dashboard: N clients for T seconds each way, shared lock vs concurrent reads.

Serves a county store (default: the SYNTHETIC demo store of ``clusteratlas run --demo``) on
127.0.0.1 with uvicorn in this process and lets ``--clients`` threads send GET requests
back to back (region, cluster, region-cluster, compare, map, JSON and CSV pages of random
counties, clusters and years) for ``--seconds``. Two servers are measured, paired and
interleaved in rounds (A B A B ...) so that the load of a shared machine hits both alike:

- ``before``: every query of every request waits for one lock on one DuckDB connection, no
  answer cache, every request rendering at once (the dashboard before issue #20, reproduced
  by :class:`SharedLockDashboard`; today's pages);
- ``cursors``: a cursor per server thread and the single-flight query cache, no answer
  cache, every request rendering at once;
- ``after``: ``clusteratlas serve --workers 1`` (``cursors`` plus the cache of whole answers
  by URL, two pages rendered at a time, the others waiting their turn, and the lookups pages
  share prepared in the background on start);
- ``workers``: ``clusteratlas serve --workers 2`` (``after`` in two processes: page rendering
  is Python, one core per process; ``serve``'s default on a 2-core machine).

``--settle S`` waits S seconds after the servers start before measuring (their background
preparation done: the steady state); ``--modes`` picks servers. ``--regions K`` draws regions from K of them only; ``--urls N`` draws every request from one
fixed list of N URLs (a probe or a team revisiting pages, so answers repeat); the default
draws from all regions, clusters and years (almost every request is new: the worst case).

Prints requests, errors, p50 / p95 / max latency and the server process's CPU seconds per
request for each (servers run in their own processes). Numbers depend on the machine and what else runs on it.

    clusteratlas run --demo --out /tmp/demo   # the county demo store (a few minutes)
    python benchmarks/bench_dashboard_load.py --store /tmp/demo/clusteratlas.duckdb
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import uvicorn
from bench_web import free_port, percentile  # same folder: run as python benchmarks/...

from clusteratlas.web.app import create_app
from clusteratlas.web.dashboard import Dashboard


class SharedLockDashboard(Dashboard):
    """The dashboard as before issue #20: one lock around every query and its fetch."""

    _shared = threading.Lock()

    def rows(self, query: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._shared:
            return super().rows(query, params)

    def df(self, query: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._shared:
            return super().df(query, params)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its live child processes (Linux /proc)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself or its child
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


MODES = ("before", "cursors", "after", "workers")


def serve(store: Path, mode: str, port: int) -> None:
    """Run one server (the child process of :class:`Server`) until killed."""
    dashboard = (SharedLockDashboard if mode == "before" else Dashboard)(store)
    now = mode == "after"
    app = create_app(
        store,
        dashboard=dashboard,
        answer_cache_bytes=64 << 20 if now else 0,
        pages_at_once=2 if now else 40,  # 40: the server's thread pool, all at once
        prepare=now,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")


class Server:
    """One server in its own process (clients and server do not share a GIL)."""

    def __init__(self, store: Path, mode: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        if mode == "workers":
            command = [sys.executable, "-m", "clusteratlas.cli", "serve", "--store", str(store)]
            command += ["--workers", "2", "--log-level", "error"]
        else:
            command = [sys.executable, __file__, "--store", str(store), "--serve", mode]
        self.process = subprocess.Popen([*command, "--port", str(port)])
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"the {mode} server did not start")
            time.sleep(0.2)
        for _ in range(4):  # warm: store metadata, meta(), home page (each worker)
            httpx.get(self.url + "/", timeout=120)

    def cpu(self) -> float:
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def url_maker(store: Path, n_regions: int | None = None) -> Callable[[random.Random], str]:
    with duckdb.connect(str(store), read_only=True) as con:
        region_type = con.execute(
            "select region_type from cluster_panel group by 1 order by count(*) desc limit 1"
        ).fetchall()[0][0]
        regions = [
            r[0]
            for r in con.execute(
                "select distinct region_id from cluster_panel where region_type = ? order by 1",
                [region_type],
            ).fetchall()
        ]
        if n_regions:
            regions = random.Random(0).sample(regions, min(n_regions, len(regions)))
        codes = [
            r[0]
            for r in con.execute(
                "select distinct cluster_code from cluster_panel where traded order by 1"
            ).fetchall()
        ]
        years = [
            r[0]
            for r in con.execute("select distinct year from cluster_panel order by 1").fetchall()
        ]
    t = region_type
    pages: list[Callable[[random.Random], str]] = [
        lambda r: f"/region?type={t}&id={r.choice(regions)}&year={r.choice(years)}",
        lambda r: f"/cluster?type={t}&code={r.choice(codes)}&year={r.choice(years)}",
        lambda r: (
            f"/region-cluster?type={t}&id={r.choice(regions)}&cluster={r.choice(codes)}"
            f"&year={r.choice(years)}"
        ),
        lambda r: (
            "/compare?"
            + "&".join(f"r={t}:{c}" for c in r.sample(regions, 5))
            + f"&year={r.choice(years)}"
        ),
        lambda r: f"/map?type={t}&cluster={r.choice(codes)}&metric=lq&year={r.choice(years)}",
        lambda r: f"/map?type={t}&metric=cluster_strength&year={r.choice(years)}",
        lambda r: f"/api/region?type={t}&id={r.choice(regions)}&year={r.choice(years)}",
        lambda r: (
            f"/api/cluster.csv?type={t}&code={r.choice(codes)}&year={r.choice(years)}"
            "&part=top_regions"
        ),
        lambda r: "/",
    ]
    return lambda r: r.choice(pages)(r)


def load(url: str, make: Callable[[random.Random], str], clients: int, seconds: float, seed: int):
    """``clients`` threads sending requests back to back for ``seconds``: latencies, errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        with httpx.Client(base_url=url, timeout=120) as session:
            while time.monotonic() < deadline:
                path = make(rng)
                started = time.perf_counter()
                try:
                    status = session.get(path).status_code
                except httpx.HTTPError as error:
                    status, path = 0, f"{path} ({type(error).__name__})"
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if status != 200:
                        errors.append(f"{status} {path}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a county store (see above)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="per server, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds the seconds are cut in")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--regions", type=int, default=None, help="draw from this many regions")
    parser.add_argument("--urls", type=int, default=None, help="draw from a fixed list of N URLs")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds to wait after start")
    parser.add_argument("--modes", default=",".join(MODES), help="servers, comma-separated")
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.store, args.serve, args.port)
        return

    make = url_maker(args.store, args.regions)
    if args.urls:
        pool_rng = random.Random(args.seed)
        fixed = [make(pool_rng) for _ in range(args.urls)]
        make = lambda r: r.choice(fixed)  # noqa: E731
    servers = {mode: Server(args.store, mode) for mode in args.modes.split(",")}
    time.sleep(args.settle)
    results = {name: ([], [], 0.0) for name in servers}
    try:
        for round_ in range(args.rounds):
            order = list(servers)[round_ % len(servers) :] + list(servers)[: round_ % len(servers)]
            for name in order:
                cpu = servers[name].cpu()
                lat, err = load(
                    servers[name].url,
                    make,
                    args.clients,
                    args.seconds / args.rounds,
                    seed=args.seed + round_,  # both servers get the same requests in a round
                )
                done = results[name]
                results[name] = (done[0] + lat, done[1] + err, done[2] + servers[name].cpu() - cpu)
    finally:
        for server in servers.values():
            server.stop()

    print(
        f"{args.clients} clients x {args.seconds:.0f} s per server ({args.rounds} interleaved "
        f"rounds) on {args.store.name}, regions drawn from {args.regions or 'all'}"
        + (f", URLs from a list of {args.urls}" if args.urls else "")
        + (f", measured from {args.settle:.0f} s after start" if args.settle else "")
        + "; "
        "shared machine: numbers vary with its load"
    )
    print(
        f"{'server':12s} {'requests':>8s} {'errors':>6s} {'req/s':>6s} {'p50 ms':>8s} "
        f"{'p95 ms':>8s} {'max ms':>8s} {'CPU ms/req':>10s}"
    )
    for name, (lat, err, cpu) in results.items():
        n = max(len(lat), 1)
        print(
            f"{name:12s} {len(lat):8d} {len(err):6d} {len(lat) / args.seconds:6.1f} "
            f"{statistics.median(lat) * 1e3:8.0f} {percentile(lat, 0.95) * 1e3:8.0f} "
            f"{max(lat) * 1e3:8.0f} {cpu / n * 1e3:10.1f}"
        )
        for line in err[:5]:
            print(f"   error: {line}")


if __name__ == "__main__":
    main()
