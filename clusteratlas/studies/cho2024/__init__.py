"""Replication of Cho, Lee, Yoo, Kim & Park (2024), "The Impact of Industrial Clusters' Quality on the
Production Resilience in the Global Crisis" (J. Korean Society for Quality Management), and the
same questions answered with a defensible design beside it.

What the paper does (sections 3-4, Tables 1-6), as read for this module:

* Unit: USCM state x cluster rows for the "RDD" tables (Table 2 counts clusters, sub-clusters, states, traded and local
  rows). Each row carries its state's outcomes (BEA GDP, manufacturing GDP, exports, imports,
  employment) and the cluster's "quality factors" QP, LQ, AP, EST, WAGE.
* DID (Equation 1, Tables 3 and 5), recovered from the paper's own numbers (issue #18): the
  printed control means are Idaho's BEA annual growth rates, so y = the state's growth
  Y_t/Y_{t-1} - 1 (the paper's "2018" = 2018 -> 2019), the "non-cluster" group is Idaho alone,
  the "cluster" group every other state, the rows state x subcluster (equal weights); Model 1 =
  "2018" vs 2020 (shock), Model 2 = 2020 vs 2022 (recovery); classical standard errors as
  printed, state-clustered beside them. The intercepts and period effects of GDP and
  manufacturing GDP match the printed digits (:func:`~.paper.as_printed_vs_paper`); the
  paper's internal errors are listed by :func:`~.paper.paper_errata`. ``clusteratlas run``'s
  seed DID calls the same :func:`~.paper.paper_did`.
* "RDD" (Equation 2, Tables 4 and 6): what is printed is an OLS of the outcome LEVEL on QP, EST,
  AP, WAGE and LQ over the state x cluster rows (no cut-off, no discontinuity). Reproduced as
  printed, plus Equation 2 literally (global quadratic in the centred LQ percentile with the
  strong-cluster dummy and interactions), plus a genuine local-polynomial RD
  (:func:`clusteratlas.causal.rd.rdrobust`) on the strong-cluster rule.
* "QP" is described as "degree of industry concentration", but USCM's ``qp1_tl`` is CBP
  first-quarter payroll ($1,000). It is labelled truthfully here (``qp1_payroll``) and a
  warning says so.

The defensible version: the state is the unit (outcomes vary by state only, so 3,350 state x
cluster rows are 50 observations repeated); the treatment is predetermined (a state's USCM
cluster strength in 2016, above the median = "cluster region"); two-way fixed effects with
state-clustered standard errors and a wild cluster bootstrap p-value; an event study over
2015-2022 (reference 2019) with a joint pre-trend test.

Modules: :mod:`.inputs` (what is read, through the data catalog), :mod:`.paper` (the paper's
tables as specified), :mod:`.state_level` (the defensible design), :mod:`.study` (the whole
run, comparison and narrative). Files: :mod:`clusteratlas.report.cho2024`.
"""

from clusteratlas.studies.cho2024.inputs import (
    CBP_FETCH_YEAR,
    FACTORS,
    QP_LABEL,
    QP_WARNING,
    TRADE_YEARS,
    Cho2024Inputs,
    fetch_missing,
    load_inputs,
    subcluster_list,
)
from clusteratlas.studies.cho2024.paper import (
    CONTROL_STATE,
    GROWTH_YEAR,
    MODELS,
    PAPER_OUTCOMES,
    PAPER_PRINTED,
    PRINTED_DID,
    as_printed_rows,
    as_printed_vs_paper,
    descriptive,
    equation2,
    paper_did,
    paper_errata,
    paper_rdd,
    state_growth,
)
from clusteratlas.studies.cho2024.state_level import event_study, genuine_rd, proper_did
from clusteratlas.studies.cho2024.study import Cho2024Result, run

__all__ = [
    "CBP_FETCH_YEAR",
    "CONTROL_STATE",
    "FACTORS",
    "GROWTH_YEAR",
    "MODELS",
    "PAPER_OUTCOMES",
    "PAPER_PRINTED",
    "PRINTED_DID",
    "QP_LABEL",
    "QP_WARNING",
    "TRADE_YEARS",
    "Cho2024Inputs",
    "Cho2024Result",
    "as_printed_rows",
    "as_printed_vs_paper",
    "descriptive",
    "equation2",
    "event_study",
    "fetch_missing",
    "genuine_rd",
    "load_inputs",
    "paper_did",
    "paper_errata",
    "paper_rdd",
    "proper_did",
    "run",
    "state_growth",
    "subcluster_list",
]
