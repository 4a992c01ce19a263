"""Panel: region x cluster x year metrics following the US Cluster Mapping methodology.

Written once as Ibis expressions so the same code runs on DuckDB (default) and Spark:
:func:`build_panel` (from industry counts; :func:`write_panel` writes it straight to a Parquet
file), :func:`panel_from_uscm` (from a USCM download), :func:`region_summary` (cluster
strength and totals), :func:`strong_flags`, :func:`change_between` (growth and expected job
creation between two years), :func:`national_coverage` (the nation against the sum of the
regions) and :func:`related_clusters`. Rules and deliberate departures from USCM:
``docs/panel.md``.

The names are loaded on first use (PEP 562), so that ``import clusteratlas.panel`` (and the
command line) does not pay for Ibis and pandas until a panel is built.
"""

from __future__ import annotations

from typing import Any

_HOMES = {
    "PANEL_EXTRA": "build",
    "build_panel": "build",
    "flag_thresholds": "expressions",
    "panel_from_uscm": "build",
    "unmapped_industries": "build",
    "write_panel": "build",
    "cagr": "metrics",
    "change_between": "metrics",
    "national_coverage": "metrics",
    "region_summary": "metrics",
    "strong_flags": "metrics",
    "load_related_pairs": "relatedness",
    "related_clusters": "relatedness",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'clusteratlas.panel' has no attribute {name!r}")
    # imported by name (not importlib) so the layer check sees every edge
    if home == "build":
        from clusteratlas.panel import build as module
    elif home == "expressions":
        from clusteratlas.panel import expressions as module
    elif home == "metrics":
        from clusteratlas.panel import metrics as module
    else:
        from clusteratlas.panel import relatedness as module
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
