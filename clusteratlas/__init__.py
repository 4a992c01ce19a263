"""clusteratlas: industrial clusters and their resilience to shocks.

Folders by domain, all sharing one data model kept in an embedded DuckDB store:

- ``data``        loaders and fetchers for public sources (CBP, USCM, BEA, BLS, trade), crosswalks
- ``panel``       region x cluster x year metrics (US Cluster Mapping methodology), DuckDB or Spark
- ``resilience``  resistance / recovery indices and shift-share around a shock
- ``causal``      difference-in-differences, event studies, regression discontinuity
- ``theory``      the infra-marginal general-equilibrium model of clusters
- ``policy``      APEC guideline-area and internationalization diagnostics
- ``report``      the ``clusteratlas run`` pipeline and its HTML report
- ``web``         the local dashboard (``clusteratlas serve``)
"""

__version__ = "0.1.0"
