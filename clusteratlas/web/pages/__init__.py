"""The dashboard's pages: one module per page, each owning its queries, request and form.

A page module defines ``NAME`` (its path: ``/NAME``, ``/api/NAME``), ``TITLE`` (its link in
the navigation) and ``build(dash, q) -> Page`` (the query string in, the page out), and where
it needs them ``fields(dash, q, page)`` (its form controls), ``links(page, q)`` (per-column
link targets of its tables, ``{}`` = the cell value) and ``annotate(dash, q, page)`` (hidden
facts the form and links need, keys starting with ``_``). :data:`MODULES` is the navigation
order; :mod:`clusteratlas.web.app` renders every page the same three ways (HTML, JSON, CSV).
:func:`prepare` builds what pages share before users ask.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from clusteratlas.errors import ClusterAtlasError
from clusteratlas.web.dashboard import Dashboard
from clusteratlas.web.pages import (
    causal,
    cluster,
    clusters,
    compare,
    home,
    region,
    region_cluster,
    regions,
    theory,
)
from clusteratlas.web.pages import map as map_page

MODULES = (
    home,
    regions,
    clusters,
    region,
    cluster,
    region_cluster,
    compare,
    map_page,
    causal,
    theory,
)
BY_NAME = {module.NAME: module for module in MODULES}


def prepare(dash: Dashboard, stop: threading.Event | None = None) -> int:
    """Build the lookups pages share (each region type's and year's summaries, top regions,
    subclusters, peer spaces, resilience rows, map shapes) by building a region, cluster and
    two map pages per region type and year, latest year first; returns the pages built.

    A server calls it in the background on start, so that the first users' pages do not
    each wait for a year's lookups (up to ~0.2 s each on a county store). A page that
    cannot be built (a type without traded clusters, a map of a type without shapes) is
    skipped: its page says why when asked. ``stop`` set: return at the next page.
    """
    meta = dash.meta()
    codes = [str(c["cluster_code"]) for c in meta["clusters"] if c["traded"]]
    built = 0
    for year_ in reversed(meta["years"]):
        for kind in (t["region_type"] for t in meta["region_types"]):
            summary = dash.region_summary(kind, year_)
            builders = [partial(map_page.map_page, dash, kind, "cluster_strength", year_, None)]
            if len(summary):
                first = str(summary["region_id"].iloc[0])
                builders.append(partial(region.region_page, dash, kind, first, year_))
            if codes:
                builders.append(partial(cluster.cluster_page, dash, codes[0], kind, year_))
                builders.append(partial(map_page.map_page, dash, kind, "lq", year_, codes[0]))
            for build_page in builders:
                if stop is not None and stop.is_set():
                    return built
                try:
                    build_page()
                    built += 1
                except ClusterAtlasError as error:
                    logging.getLogger("clusteratlas.web").debug("prepare: %s", error)
    return built
