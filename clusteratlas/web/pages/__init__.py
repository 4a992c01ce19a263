"""The dashboard's pages: one module per page, each owning its queries, request and form.

A page module defines ``NAME`` (its path: ``/NAME``, ``/api/NAME``), ``TITLE`` (its link in
the navigation) and ``build(dash, q) -> Page`` (the query string in, the page out), and where
it needs them ``fields(dash, q, page)`` (its form controls), ``links(page, q)`` (per-column
link targets of its tables, ``{}`` = the cell value) and ``annotate(dash, q, page)`` (hidden
facts the form and links need, keys starting with ``_``). :data:`MODULES` is the navigation
order; :mod:`clusteratlas.web.app` renders every page the same three ways (HTML, JSON, CSV).
"""

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
