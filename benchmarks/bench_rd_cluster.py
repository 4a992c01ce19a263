"""Benchmark: CR2/CR3 cluster-robust rdrobust, clusteratlas vs the rdrobust package (2.1.1).

Cases (data-driven bandwidths, so the CR2/CR3 leverage correction also runs in every pilot fit
of the bandwidth selector):
  1. REAL: causaldata ``mortgages`` (Fetter 2013), 214,144 rows, 52 birth-state clusters, fuzzy
     (veteran status) on quarter of birth;
  2. SYNTHETIC: the CCT 2014 "Lee" design (see bench_rd.py), 500,000 rows in 5,000 clusters
     (cluster = rank of a random draw, so clusters spread over x): many small clusters, where a
     per-cluster Python loop costs most.
Both estimators run on identical arrays in the same process after a warm-up; numbers are
checked to 1e-6 relative; best-of-``--repeat`` wall and CPU times and their ratios are printed.
Run: ``python benchmarks/bench_rd_cluster.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_rd import best_time, lee_design  # noqa: E402


def _cases():
    import causaldata

    frame = causaldata.mortgages.load_pandas().data
    frame = frame.astype({c: "float64" for c in frame.columns if frame[c].dtype == "float32"})
    yield (
        "mortgages fuzzy, 52 clusters (real)",
        {
            "y": frame["home_ownership"].to_numpy(),
            "x": frame["qob_minus_kw"].to_numpy(),
            "fuzzy": frame["vet_wwko"].to_numpy(),
            "cluster": frame["bpl"].to_numpy(),
        },
    )
    rng = np.random.default_rng(20140101)
    y, x = lee_design(500_000, rng)
    yield (
        "Lee design 500k rows, 5,000 clusters (synthetic)",
        {"y": y, "x": x, "cluster": rng.integers(0, 5_000, x.shape[0])},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from rdrobust import rdrobust as reference

    from clusteratlas.causal.rd import rdrobust as ours

    warnings.simplefilter("ignore")
    for name, arrays in _cases():
        for vce in ("cr2", "cr3"):

            def run_ref(arrays=arrays, vce=vce):
                with contextlib.redirect_stdout(io.StringIO()):
                    return reference(**arrays, vce=vce)

            def run_ours(arrays=arrays, vce=vce):
                return ours(**arrays, vce=vce)

            run_ref(), run_ours()  # warm-up (numba compilation)
            t_ref, cpu_ref, theirs = best_time(run_ref, args.repeat)
            t_ours, cpu_ours, mine = best_time(run_ours, args.repeat)
            np.testing.assert_allclose(mine.se.to_numpy(), theirs.se.to_numpy().ravel(), rtol=1e-6)
            np.testing.assert_allclose([*mine.h, *mine.b], theirs.bws.to_numpy().ravel(), rtol=1e-6)
            print(
                f"{name:50} {vce}: rdrobust {t_ref:7.2f} s, clusteratlas {t_ours:6.2f} s, "
                f"wall ratio {t_ref / t_ours:5.1f}x, CPU ratio {cpu_ref / cpu_ours:5.1f}x"
            )


if __name__ == "__main__":
    main()
