"""Result objects shared by the difference-in-differences estimators.

Owns :class:`EffectResult` (one headline effect plus a tidy coefficient table), the common
shape every DID estimator in :mod:`clusteratlas.causal.did` and
:mod:`clusteratlas.causal.did.cs` returns: ``.estimate``, ``.se``, ``.ci``, ``.pvalue``,
``.nobs``, ``.summary()``, ``.tidy()`` and ``.export()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from clusteratlas import tables

TIDY_COLUMNS = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]


def figure_axes(ax: Any = None, size: tuple[float, float] = (7, 4)) -> tuple[Any, Any]:
    """(Figure, Axes) for a result's ``plot()``: the given axes, or new ones on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=size)
    return ax.figure, ax


def normal_table(
    terms: Iterable[Any], estimates: np.ndarray, ses: np.ndarray, alpha: float = 0.05
) -> pd.DataFrame:
    """Tidy table with z statistics, two-sided normal p-values and normal CIs."""
    estimates = np.asarray(estimates, dtype=float)
    ses = np.asarray(ses, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimates / ses
    crit = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": estimates,
            "std_error": ses,
            "statistic": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "conf_low": estimates - crit * ses,
            "conf_high": estimates + crit * ses,
        }
    )


@dataclass
class EffectResult:
    """One estimated treatment effect and the table it came from.

    Attributes
    ----------
    method
        Human-readable estimator name (e.g. ``"2x2 DID (Cho et al. 2024 Eq. 1)"``).
    term
        Row of :attr:`table` holding the headline effect.
    table
        Tidy coefficient table with :data:`TIDY_COLUMNS`.
    nobs
        Observations used.
    se_type
        The standard-error convention, spelled out (e.g. ``"CRV1 by state (fixest small-sample)"``).
    info
        Anything else worth reporting (cluster count, R^2, pre-trend test, ...).
    """

    method: str
    term: str
    table: pd.DataFrame
    nobs: int
    se_type: str
    alpha: float = 0.05
    info: dict[str, Any] = field(default_factory=dict)

    def _row(self) -> pd.Series:
        return self.table.set_index("term").loc[self.term]

    @property
    def estimate(self) -> float:
        return float(self._row()["estimate"])

    @property
    def se(self) -> float:
        return float(self._row()["std_error"])

    @property
    def pvalue(self) -> float:
        return float(self._row()["p_value"])

    @property
    def ci(self) -> tuple[float, float]:
        row = self._row()
        return float(row["conf_low"]), float(row["conf_high"])

    def tidy(self) -> pd.DataFrame:
        """The coefficient table (term, estimate, std_error, statistic, p_value, conf_low/high)."""
        return self.table.copy()

    def summary(self) -> str:
        """A plain-text summary: method, SE convention, the table and extra information."""
        lines = [
            self.method,
            f"Observations: {self.nobs}    Standard errors: {self.se_type}",
            f"Effect ({self.term}): {self.estimate:.6g}  SE {self.se:.6g}  "
            f"{100 * (1 - self.alpha):.0f}% CI [{self.ci[0]:.6g}, {self.ci[1]:.6g}]  "
            f"p = {self.pvalue:.4g}",
            "",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}"),
        ]
        for key, value in self.info.items():
            if isinstance(value, float):
                value = f"{value:.6g}"
            if isinstance(value, (str, int, float, np.integer, np.floating)):
                lines.append(f"{key}: {value}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def export(self, stem: str | Path, formats: Iterable[str] = tables.FORMATS) -> list[Path]:
        """Write the tidy table to ``stem.csv/.tex/.html`` (atomic) with the method as caption."""
        return tables.export(
            self.tidy(), stem, formats=formats, caption=f"{self.method} ({self.se_type})"
        )
