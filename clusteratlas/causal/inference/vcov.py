"""Standard-error conventions of the regression-based DID estimators, fitted with pyfixest.

Owns the mapping from clusteratlas' ``vcov`` names to pyfixest's (fixest conventions):

* ``"iid"``: classical OLS, :math:`\\hat\\sigma^2 (X'X)^{-1}` with :math:`\\hat\\sigma^2 = e'e/(N-K)`.
* ``"HC1"``: heteroskedasticity-robust, scaled by :math:`N/(N-K)`.
* ``"CRV1"`` (with ``cluster=``): cluster-robust, scaled by
  :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` where fixed effects nested in the cluster are not
  counted in :math:`K` (fixest ``ssc(fixef.K = "nested")``); t tests and CIs use a
  t distribution with :math:`G-1` degrees of freedom.

It also owns :class:`FitSpec` (what is needed to refit a regression, used by the wild
bootstrap) and the pyfixest call with its error translation (:func:`feols`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clusteratlas.causal.results import TIDY_COLUMNS
from clusteratlas.errors import EstimationError, EstimationWarning, ParameterError

VCOV_TYPES = ("iid", "HC1", "CRV1")


def vcov_spec(vcov: str, cluster: str | None) -> tuple[Any, str]:
    """pyfixest vcov argument and the human-readable SE convention."""
    if cluster is not None:
        if vcov not in ("CRV1", "HC1", "iid"):
            raise ParameterError("vcov", f"unknown type {vcov!r}", allowed=", ".join(VCOV_TYPES))
        return {"CRV1": cluster}, f"CRV1 clustered by {cluster} (fixest small-sample, t(G-1))"
    if vcov == "CRV1":
        raise ParameterError("cluster", "vcov='CRV1' needs a cluster column")
    if vcov == "HC1":
        return "hetero", "HC1 heteroskedasticity-robust (N/(N-K))"
    if vcov == "iid":
        return "iid", "iid (classical OLS)"
    raise ParameterError("vcov", f"unknown type {vcov!r}", allowed=", ".join(VCOV_TYPES))


@dataclass
class FitSpec:
    """What is needed to refit a regression (wild bootstrap and its CI inversion)."""

    formula: str
    data: pd.DataFrame
    y: str
    cluster: str | None
    weights: str | None = None


def feols(formula: str, data: pd.DataFrame, vcov: Any, weights: str | None = None) -> Any:
    import pyfixest as pf

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = pf.feols(formula, data=data, vcov=vcov, weights=weights)
        except Exception as error:  # pyfixest raises plain ValueErrors on singular designs
            if "collinear" in str(error):
                raise EstimationError(
                    f"singular design in {formula!r}: every regressor is collinear with the "
                    "fixed effects (e.g. a treatment fixed within units or periods)"
                ) from error
            raise EstimationError(f"regression {formula!r} failed: {error}") from error
    for item in caught:
        if "dropped" in str(item.message) and "multicollinearity" in str(item.message):
            warnings.warn(
                f"{formula}: {item.message}".strip(), category=EstimationWarning, stacklevel=3
            )
    return fit


def tidy_from_fit(fit: Any, alpha: float, rename: dict[str, str] | None = None) -> pd.DataFrame:
    tidy = fit.tidy(alpha=alpha).reset_index()
    tidy.columns = TIDY_COLUMNS
    if rename:
        tidy["term"] = tidy["term"].replace(rename)
    return tidy


def require_term(fit: Any, term: str, why: str) -> None:
    if term not in list(fit.coef().index):
        raise EstimationError(
            f"the treatment term {term!r} was dropped as collinear with the fixed effects: {why}"
        )


def count_clusters(data: pd.DataFrame, cluster: str | None) -> int | None:
    return int(data[cluster].nunique()) if cluster else None
