"""Inference for the regression-based causal estimators.

* :mod:`.vcov` -- standard-error conventions (iid, HC1, CRV1 as fixest) and the pyfixest fit;
* :mod:`.wild_bootstrap` -- the restricted wild cluster bootstrap (WCR11) with explicit ties.
"""

from clusteratlas.causal.inference.vcov import VCOV_TYPES
from clusteratlas.causal.inference.wild_bootstrap import (
    WildBootstrapResult,
    wild_cluster_bootstrap,
)

__all__ = ["VCOV_TYPES", "WildBootstrapResult", "wild_cluster_bootstrap"]
