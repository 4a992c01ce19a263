"""Load test of the dashboard on a SYNTHETIC county-level national store (loopback only).

Builds ~3,200 counties x 67 clusters x 4 years (+ states, nation) with
clusteratlas.web.synthetic, serves it with uvicorn on 127.0.0.1 (random port) in this process,
and sends a fixed number of GET requests per page, each for a different region / cluster / year
(so most are cache misses), stopping early at a time cap. Prints p50 / p95 latency per page and,
as a reference point, the ratio to a bare DuckDB query fetching the same page's main rows.

    python benchmarks/bench_web.py [--counties-per-state 64] [--requests 30] [--time-cap 240]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx
import uvicorn

from clusteratlas.web.app import create_app
from clusteratlas.web.synthetic import build_synthetic_store


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=50)
    parser.add_argument("--counties-per-state", type=int, default=64)
    parser.add_argument("--clusters", type=int, default=67)
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    parser.add_argument("--time-cap", type=float, default=240.0, help="seconds for all requests")
    parser.add_argument(
        "--store", type=Path, default=None, help="reuse this synthetic store if it exists"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench_web_"))
    store = args.store or folder / "national.duckdb"
    if not store.exists():
        started = time.perf_counter()
        build_synthetic_store(
            store,
            industry_counts=False,
            n_states=args.states,
            counties_per_state=args.counties_per_state,
            n_clusters=args.clusters,
            years=(2014, 2015, 2016, 2017),
        )
        print(f"built SYNTHETIC store {store} in {time.perf_counter() - started:.1f}s")
    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute(
            "select count(*), count(distinct region_id) filter (where region_type = 'county') from cluster_panel"
        ).fetchall()[0]
        counties = [
            r[0]
            for r in con.execute(
                "select distinct region_id from cluster_panel where region_type = 'county'"
            ).fetchall()
        ]
    print(f"cluster_panel rows: {rows[0]:,}; counties: {rows[1]:,}; clusters: {args.clusters}")

    app = create_app(store)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"

    rng = random.Random(0)
    years = [2015, 2016, 2017]
    states = [f"{s + 1:02d}" for s in range(args.states)]
    codes = [str(c + 1) for c in range(args.clusters)]
    pages = {
        "region (county)": lambda: (
            f"/region?type=county&id={rng.choice(counties)}&year={rng.choice(years)}"
        ),
        "region (state)": lambda: (
            f"/region?type=state&id={rng.choice(states)}&year={rng.choice(years)}"
        ),
        "cluster (county)": lambda: (
            f"/cluster?type=county&code={rng.choice(codes)}&year={rng.choice(years)}"
        ),
        "region-cluster": lambda: (
            f"/region-cluster?type=county&id={rng.choice(counties)}&cluster={rng.choice(codes)}&year={rng.choice(years)}"
        ),
        "compare (10)": lambda: (
            "/compare?"
            + "&".join(f"r=county:{c}" for c in rng.sample(counties, 10))
            + f"&year={rng.choice(years)}"
        ),
        "map (county, cluster)": lambda: (
            f"/map?type=county&cluster={rng.choice(codes)}&metric=lq&year={rng.choice(years)}"
        ),
        "map (state)": lambda: f"/map?type=state&metric=cluster_strength&year={rng.choice(years)}",
        "api region json": lambda: (
            f"/api/region?type=county&id={rng.choice(counties)}&year={rng.choice(years)}"
        ),
        "csv export": lambda: (
            f"/api/cluster.csv?type=county&code={rng.choice(codes)}&year={rng.choice(years)}&part=top_regions"
        ),
        "theory 40x40": lambda: f"/theory?x=K&y=t&n=40&alpha={rng.uniform(0.2, 0.8):.3f}",
    }
    # reference: the bare DuckDB query behind a region page's main table
    with duckdb.connect(str(store), read_only=True) as con:
        bare = []
        for _ in range(args.requests):
            started = time.perf_counter()
            con.execute(
                "select * from cluster_panel where region_type = 'county' and region_id = ? and year = ? order by emp desc",
                [rng.choice(counties), rng.choice(years)],
            ).df()
            bare.append(time.perf_counter() - started)
    bare_p50 = statistics.median(bare)

    deadline = time.monotonic() + args.time_cap
    print(
        f"\n{'page':24s} {'n':>4s} {'p50 ms':>9s} {'p95 ms':>9s} {'max ms':>9s} {'KB':>7s}  p50 / bare DuckDB query"
    )
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, make in pages.items():
            latencies, size = [], 0
            for _ in range(args.requests):
                if time.monotonic() > deadline:
                    break
                url = make()
                started = time.perf_counter()
                response = client.get(url)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{url} -> {response.status_code}: {response.text[:200]}")
                size = len(response.content)
            if not latencies:
                print(f"{name:24s} skipped: time cap reached")
                continue
            p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            print(
                f"{name:24s} {len(latencies):4d} {p50 * 1e3:9.1f} {p95 * 1e3:9.1f} {max(latencies) * 1e3:9.1f} {size / 1024:7.0f}  {p50 / bare_p50:8.1f}x"
            )
    print(f"\nbare DuckDB query p50: {bare_p50 * 1e3:.2f} ms (reference for the ratio column)")
    server.should_exit = True
    thread.join(timeout=30)


if __name__ == "__main__":
    main()
