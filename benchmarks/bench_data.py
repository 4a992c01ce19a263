"""Benchmark: reading a CBP county flat file with clusteratlas vs the bare minimum in pandas
and in DuckDB, on a SYNTHETIC file in the real county layout.

The file is synthetic (labelled so): the 2016 county record layout (``fipstate, fipscty,
naics, empflag, emp_nf, emp, qp1_nf, qp1, ap_nf, ap, est`` + 13 size-class columns +
``censtate, cencty``) with N rows, 30% of them suppressed (EMPFLAG A-M), 2% statewide 999
rows and 5% NAICS aggregates, like a real ``cbpYYco.txt`` (about 2 million rows a year).

The baselines do the minimum that gives the same table (read, drop 999/aggregates, midpoint
for flagged rows) without any validation; clusteratlas also checks every field, flag and key
and reports errors with line numbers. We print wall times and the ratio to each baseline.

    python benchmarks/bench_data.py --rows 500000 2000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.data.cbp import EMPFLAG_MIDPOINTS, parse_cbp_flatfile

SIZE_COLUMNS = [
    "n1_4", "n5_9", "n10_19", "n20_49", "n50_99", "n100_249", "n250_499", "n500_999",
    "n1000", "n1000_1", "n1000_2", "n1000_3", "n1000_4",
]  # fmt: skip


def synthetic_county_file(rows: int, folder: Path) -> Path:
    """A SYNTHETIC cbp16co.txt with ``rows`` unique county x NAICS lines."""
    rng = np.random.default_rng(16)
    counties = rng.integers(1, 400, rows * 2) * 2 + 1
    states = rng.integers(1, 57, rows * 2)
    naics = rng.integers(100000, 999999, rows * 2).astype(str)
    frame = pd.DataFrame({"fipstate": states, "fipscty": counties, "naics": naics})
    frame = frame.drop_duplicates().head(rows).reset_index(drop=True)
    n = len(frame)
    frame.loc[rng.random(n) < 0.02, "fipscty"] = 999
    aggregate = rng.random(n) < 0.05
    frame.loc[aggregate, "naics"] = frame.loc[aggregate, "naics"].str[:4] + "//"
    frame = frame.drop_duplicates(["fipstate", "fipscty", "naics"])
    n = len(frame)
    flagged = rng.random(n) < 0.3
    emp = rng.lognormal(3, 1.5, n).round()
    out = pd.DataFrame(
        {
            "fipstate": frame["fipstate"].astype(str).str.zfill(2),
            "fipscty": frame["fipscty"].astype(str).str.zfill(3),
            "naics": frame["naics"],
            "empflag": np.where(flagged, rng.choice(list(EMPFLAG_MIDPOINTS), n), ""),
            "emp_nf": np.where(flagged, "D", "G"),
            "emp": np.where(flagged, 0, emp).astype(int),
            "qp1_nf": "G",
            "qp1": np.where(flagged, 0, emp * 10).astype(int),
            "ap_nf": "G",
            "ap": np.where(flagged, 0, emp * 42).astype(int),
            "est": rng.integers(1, 50, n),
            **{c: rng.integers(0, 5, n) for c in SIZE_COLUMNS},
            "censtate": "63",
            "cencty": "001",
        }
    )
    path = folder / "cbp16co.txt"
    out.to_csv(path, index=False)
    return path


def pandas_minimal(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"fipstate": str, "fipscty": str, "naics": str, "empflag": str})
    frame = frame[(frame["fipscty"] != "999") & ~frame["naics"].str.contains("[-/]")]
    midpoint = frame["empflag"].map(EMPFLAG_MIDPOINTS)
    return frame.assign(emp=midpoint.fillna(frame["emp"]))


def duckdb_minimal(path: Path) -> pd.DataFrame:
    import duckdb

    cases = " ".join(f"when '{k}' then {v}" for k, v in EMPFLAG_MIDPOINTS.items())
    return duckdb.sql(
        f"""select fipstate || fipscty as region_id, naics,
                   coalesce(case empflag {cases} end, emp) as emp, est, ap, qp1
            from read_csv('{path}', all_varchar=false,
                          types={{'fipstate': 'varchar', 'fipscty': 'varchar',
                                  'naics': 'varchar', 'empflag': 'varchar'}})
            where fipscty <> '999' and not regexp_matches(naics, '[-/]')"""
    ).df()


def timed(function, *args) -> tuple[float, int]:
    start = time.perf_counter()
    result = function(*args)
    rows = len(result.counts) if hasattr(result, "counts") else len(result)
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    args = parser.parse_args()
    print("SYNTHETIC county files in the CBP 2016 layout")
    print(
        f"{'rows':>10} {'clusteratlas s':>15} {'pandas s':>9} {'duckdb s':>9} {'x pandas':>9} {'x duckdb':>9}"
    )
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            path = synthetic_county_file(rows, Path(folder))
            ours, n_ours = timed(parse_cbp_flatfile, path)
            pandas_s, n_pandas = timed(pandas_minimal, path)
            duck_s, n_duck = timed(duckdb_minimal, path)
            assert n_ours == n_pandas == n_duck, (n_ours, n_pandas, n_duck)
            print(
                f"{rows:>10,} {ours:>15.2f} {pandas_s:>9.2f} {duck_s:>9.2f} "
                f"{ours / pandas_s:>9.2f} {ours / duck_s:>9.2f}"
            )


if __name__ == "__main__":
    main()
