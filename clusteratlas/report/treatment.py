"""Who is a "cluster region": the treatment rule shared by the pipeline and the synthetic demo.

The seed study (Cho et al. 2024) compares "regions with industrial clusters" to the others
without saying how a region qualifies; clusteratlas makes the rule explicit and configurable
(``[treatment]`` in the run config) on the USCM region summary
(:func:`clusteratlas.panel.region_summary`):

* ``strength_above_quantile``: treated iff cluster strength (share of traded employment in
  strong clusters, USCM ``str_emp_per``) >= its ``quantile`` across regions of the type;
* ``any_strong``: treated iff the region has at least one strong traded cluster;
* ``n_strong_at_least``: treated iff it has at least ``min_strong`` strong traded clusters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from clusteratlas.errors import ParameterError
from clusteratlas.schema import require_columns


def assign_treatment(
    summary: pd.DataFrame, treatment: Mapping[str, Any], year: int
) -> pd.DataFrame:
    """One row per region of ``summary`` in ``year``: region_id, cluster_strength, n_strong, treated."""
    require_columns(
        summary, ["region_id", "year", "cluster_strength", "n_strong"], what="region summary"
    )
    rows = summary.loc[
        summary["year"] == year, ["region_id", "cluster_strength", "n_strong"]
    ].copy()
    if rows.empty:
        raise ParameterError("study.base_year", f"the region summary has no rows for {year}")
    rule = treatment["rule"]
    strength = rows["cluster_strength"].fillna(0.0)
    if rule == "strength_above_quantile":
        cut = float(strength.quantile(float(treatment["quantile"])))
        rows["treated"] = strength >= cut
    elif rule == "any_strong":
        rows["treated"] = rows["n_strong"] >= 1
    elif rule == "n_strong_at_least":
        rows["treated"] = rows["n_strong"] >= int(treatment["min_strong"])
    else:
        raise ParameterError("treatment.rule", f"unknown rule {rule!r}")
    if rows["treated"].all() or not rows["treated"].any():
        raise ParameterError(
            "treatment.rule",
            f"rule {rule!r} puts all {len(rows)} regions in one group in {year}; a comparison needs both",
            allowed="another rule or threshold",
        )
    rows["region_id"] = rows["region_id"].astype(str)
    return rows.reset_index(drop=True)
