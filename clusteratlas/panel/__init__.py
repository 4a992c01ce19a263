"""Panel: region x cluster x year metrics following the US Cluster Mapping methodology.

Written once as Ibis expressions so the same code runs on DuckDB (default) and Spark:
:func:`build_panel` (from industry counts), :func:`panel_from_uscm` (from a USCM download),
:func:`region_summary` (cluster strength and totals), :func:`strong_flags`,
:func:`change_between` (growth and expected job creation between two years),
:func:`national_coverage` (the nation against the sum of the regions) and
:func:`related_clusters`. Rules and deliberate departures from USCM: ``docs/panel.md``.
"""

from clusteratlas.panel.build import (
    PANEL_EXTRA,
    build_panel,
    flag_thresholds,
    panel_from_uscm,
    unmapped_industries,
)
from clusteratlas.panel.metrics import (
    cagr,
    change_between,
    national_coverage,
    region_summary,
    strong_flags,
)
from clusteratlas.panel.relatedness import load_related_pairs, related_clusters

__all__ = [
    "PANEL_EXTRA",
    "build_panel",
    "cagr",
    "change_between",
    "flag_thresholds",
    "load_related_pairs",
    "national_coverage",
    "panel_from_uscm",
    "region_summary",
    "related_clusters",
    "strong_flags",
    "unmapped_industries",
]
