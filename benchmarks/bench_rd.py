"""Benchmark: clusteratlas rdrobust vs the rdrobust package (2.1.1) on the same data.

Two SYNTHETIC cases (the CCT 2014 "Lee" design, x = 2 Beta(2,4) - 1, true jump 0.04):
  1. 1,000,000 rows, continuous running variable;
  2. 200,000 rows, running variable rounded to 0.01 (mass points: ~130 distinct values).
Both estimators run on identical arrays in the same process (after one warm-up call each, so
numba compilation is not timed); the script checks the numbers agree to 1e-6 relative and prints
best-of-``--repeat`` wall times and the speed ratio. Run: ``python benchmarks/bench_rd.py``.

rdrobust runs in two configurations. Since 2.1 it compiles its nearest-neighbour kernel with numba
*when numba is installed* (clusteratlas depends on numba, so in our environment it is). Without
numba it runs the same kernel as plain Python: that is the configuration the timings in issue #3
describe ("about 11 s on 1,000,000 rows, minutes on 200,000 rows with mass points"), and what a
user who installs only rdrobust gets. The pure-Python configuration is timed once per case in a
child process with numba blocked (``--skip-pure`` skips it: it takes a minute or two), on the
same arrays, and its numbers are checked too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def lee_design(n: int, rng: np.random.Generator, decimals: int | None = None):
    x = 2 * rng.beta(2, 4, n) - 1
    if decimals is not None:
        x = np.round(x, decimals)
    left = 0.48 + 1.27 * x + 7.18 * x**2 + 20.21 * x**3 + 21.54 * x**4 + 7.33 * x**5
    right = 0.52 + 0.84 * x - 3.00 * x**2 + 7.99 * x**3 - 9.01 * x**4 + 3.56 * x**5
    return np.where(x < 0, left, right) + rng.normal(0, 0.1295, n), x


def best_time(fn, repeat: int):
    """Best wall time and best CPU time (process_time: less sensitive to a busy machine)."""
    best, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, out


_PURE_PYTHON_CHILD = """
import contextlib, io, json, sys, time, warnings
sys.modules["numba"] = None  # rdrobust falls back to its plain-Python kernel
import numpy as np
from rdrobust import rdrobust
warnings.simplefilter("ignore")
y, x = np.load(sys.argv[1]), np.load(sys.argv[2])
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    out = rdrobust(y, x)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "coef": out.coef.to_numpy().ravel().tolist()}))
"""


def time_pure_python_rdrobust(y: np.ndarray, x: np.ndarray) -> dict:
    """One run of rdrobust without numba, in a child process (numba cannot be unloaded here)."""
    with tempfile.TemporaryDirectory() as tmp:
        y_path, x_path = Path(tmp, "y.npy"), Path(tmp, "x.npy")
        np.save(y_path, y)
        np.save(x_path, x)
        done = subprocess.run(
            [sys.executable, "-c", _PURE_PYTHON_CHILD, str(y_path), str(x_path)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the sample sizes (e.g. 0.1 for a quick run)",
    )
    parser.add_argument(
        "--skip-pure",
        action="store_true",
        help="do not time rdrobust's plain-Python configuration (numba blocked)",
    )
    args = parser.parse_args()
    from rdrobust import rdrobust as reference

    from clusteratlas.causal.rd import rdrobust as ours

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(20240501)
    cases = [
        ("continuous", int(1_000_000 * args.scale), None),
        ("mass points", int(200_000 * args.scale), 2),
    ]
    print(
        f"{'case':<14}{'rows':>10}{'rdrobust s':>12}{'ours s':>10}{'ratio':>8}"
        f"{'cpu ratio':>10}  max rel. diff (coef, se, ci, h, b)"
    )
    pure_rows = []
    for label, n, decimals in cases:
        y, x = lee_design(n, rng, decimals)

        def run_reference(y=y, x=x):
            with contextlib.redirect_stdout(io.StringIO()):
                return reference(y, x)

        def run_ours(y=y, x=x):
            return ours(y, x)

        run_reference(), run_ours()  # warm-up (numba compilation / caches)
        t_ref, cpu_ref, theirs = best_time(run_reference, args.repeat)
        t_ours, cpu_ours, mine = best_time(run_ours, args.repeat)
        a = np.r_[
            theirs.coef.to_numpy().ravel(),
            theirs.se.to_numpy().ravel(),
            theirs.ci.to_numpy().ravel(),
            theirs.bws.to_numpy().ravel(),
        ]
        b = np.r_[
            mine.coef.to_numpy(), mine.se.to_numpy(), mine.ci.to_numpy().ravel(), [*mine.h, *mine.b]
        ]
        rel = float(np.max(np.abs(a - b) / np.abs(a)))
        same_n = list(mine.N_h) == [int(v) for v in theirs.N_h]
        status = "OK" if rel < 1e-6 and same_n else "MISMATCH"
        print(
            f"{label:<14}{n:>10,}{t_ref:>12.3f}{t_ours:>10.3f}{t_ref / t_ours:>8.1f}"
            f"{cpu_ref / cpu_ours:>10.1f}  {rel:.1e} {status}"
        )
        if not args.skip_pure:
            pure = time_pure_python_rdrobust(y, x)
            pure_rel = float(np.max(np.abs(np.array(pure["coef"]) - mine.coef.to_numpy())))
            pure_rows.append((label, n, pure["seconds"], t_ours, pure_rel))
    if pure_rows:
        print(
            "\nrdrobust 2.1.1 without numba (its plain-Python kernel; the issue's configuration):"
        )
        print(
            f"{'case':<14}{'rows':>10}{'rdrobust s':>12}{'ours s':>10}{'ratio':>8}  max abs. diff (coef)"
        )
        for label, n, t_pure, t_ours, rel in pure_rows:
            print(
                f"{label:<14}{n:>10,}{t_pure:>12.2f}{t_ours:>10.3f}{t_pure / t_ours:>8.0f}  {rel:.1e}"
            )


if __name__ == "__main__":
    main()
