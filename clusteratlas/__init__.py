"""clusteratlas: industrial clusters and their resilience to shocks.

Packages in layers, bottom to top (a package imports only from its own layer or below, with
no import loops; docs/architecture.md), all sharing one data model kept in an embedded DuckDB
store:

- core (``errors``, ``schema``, ``store``, ``atomic``, ``tables``, ``paths``): errors, the
  canonical tables, the store, atomic writes, table export, where things live
- ``data``        readers and fetchers for public sources (CBP, USCM, BEA, BLS, trade),
  crosswalks, the shipped US boundaries, and the catalog of input files
- ``panel``       region x cluster x year metrics (US Cluster Mapping methodology), DuckDB or
  Spark; who counts as treated (``panel.design``)
- ``theory``      the infra-marginal general-equilibrium model of clusters
- ``resilience``  resistance / recovery indices and shift-share around a shock
- ``causal``      difference-in-differences, event studies, regression discontinuity
- ``policy``      APEC guideline-area and internationalization diagnostics
- ``studies``     whole analyses as orchestration: the main job and the Cho et al. replication
- ``report``      rendering: the HTML report and its maps
- ``web``         the local dashboard (``clusteratlas serve``)
- ``cli``         the ``clusteratlas`` command line
"""

__version__ = "0.1.0"
