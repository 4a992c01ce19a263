"""Difference in differences on regional panels: one front door over the DID estimators.

* :func:`did_2x2` (:mod:`.two_by_two`) -- two groups, two periods (Cho et al. 2024, Eq. 1);
* :func:`twfe` (:mod:`.twfe`) -- two-way fixed effects;
* :func:`event_study` (:mod:`.event_study`) -- leads and lags with a joint pre-trend test;
* :func:`att_gt` / :func:`callaway_santanna` (:mod:`.cs`) -- Callaway and Sant'Anna (2021)
  group-time effects and their aggregates for staggered adoption;
* :func:`did2s` (:mod:`.two_stage`) -- Gardner (2021) two-stage DID, static or event study;
* :func:`did_imputation` (:mod:`.imputation`) -- Borusyak, Jaravel and Spiess (2024);
* :func:`sun_abraham` (:mod:`.sun_abraham`) -- Sun and Abraham (2021) interaction weights;
* :func:`honest_did` / :func:`honest_from` (:mod:`.honest`) -- Rambachan and Roth (2023)
  sensitivity of any of these event studies to violations of parallel trends;
* :func:`bacon_decomposition` / :func:`twfe_weights` (:mod:`.negative_weights`) -- what a
  TWFE coefficient averages (Goodman-Bacon 2021; de Chaisemartin and D'Haultfoeuille 2020);
* :func:`wild_cluster_bootstrap` (:mod:`clusteratlas.causal.inference`) -- restricted wild
  cluster bootstrap p-values and CIs for the regression estimators.

Regressions are fitted with pyfixest; standard errors follow fixest's conventions
(:mod:`clusteratlas.causal.inference.vcov`). With few clusters (50 US states is few) prefer the
wild bootstrap. Who is treated is a property of the panel: :func:`treatment_from_panel` lives in
:mod:`clusteratlas.panel.design` and is re-exported here for convenience.
"""

from clusteratlas.causal.did.cs import AggregateResult, ATTgtResult, att_gt
from clusteratlas.causal.did.event_study import (
    EventStudyResult,
    event_study,
    shock_event_study,
    shock_window_years,
)
from clusteratlas.causal.did.honest import HonestResult, honest_did, honest_from
from clusteratlas.causal.did.imputation import did_imputation
from clusteratlas.causal.did.negative_weights import (
    BaconResult,
    TWFEWeights,
    bacon_decomposition,
    twfe_weights,
)
from clusteratlas.causal.did.sun_abraham import sun_abraham
from clusteratlas.causal.did.twfe import twfe
from clusteratlas.causal.did.two_by_two import did_2x2
from clusteratlas.causal.did.two_stage import did2s
from clusteratlas.causal.frames import check_frame
from clusteratlas.causal.inference.vcov import VCOV_TYPES
from clusteratlas.causal.inference.wild_bootstrap import (
    WildBootstrapResult,
    wild_cluster_bootstrap,
)
from clusteratlas.panel.design import TREATMENT_RULES, cohort_from_panel, treatment_from_panel

#: Callaway and Sant'Anna (2021) group-time ATTs under the name users search for.
callaway_santanna = att_gt

__all__ = [
    "TREATMENT_RULES",
    "VCOV_TYPES",
    "ATTgtResult",
    "AggregateResult",
    "BaconResult",
    "EventStudyResult",
    "HonestResult",
    "TWFEWeights",
    "WildBootstrapResult",
    "att_gt",
    "bacon_decomposition",
    "callaway_santanna",
    "check_frame",
    "cohort_from_panel",
    "did2s",
    "did_2x2",
    "did_imputation",
    "event_study",
    "shock_event_study",
    "shock_window_years",
    "honest_did",
    "honest_from",
    "sun_abraham",
    "treatment_from_panel",
    "twfe",
    "twfe_weights",
    "wild_cluster_bootstrap",
]
