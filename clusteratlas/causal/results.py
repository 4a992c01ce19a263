"""Result objects shared by the difference-in-differences estimators.

Owns :class:`EffectResult` (one headline effect plus a tidy coefficient table), the common
shape every DID estimator in :mod:`clusteratlas.causal.did` and
:mod:`clusteratlas.causal.did.cs` returns: ``.estimate``, ``.se``, ``.ci``, ``.pvalue``,
``.nobs``, ``.summary()``, ``.tidy()`` and the exports of :class:`clusteratlas.results.Result`;
and :func:`figure_axes`, the axes of every causal result's ``plot()``. The tidy vocabulary and
:func:`~clusteratlas.results.normal_table` live in :mod:`clusteratlas.results` (re-exported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas.results import TIDY_COLUMNS, EstimatorResult, normal_table

__all__ = ["TIDY_COLUMNS", "EffectResult", "figure_axes", "normal_table"]


def figure_axes(ax: Any = None, size: tuple[float, float] = (7, 4)) -> tuple[Any, Any]:
    """(Figure, Axes) for a result's ``plot()``: the given axes, or new ones on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=size)
    return ax.figure, ax


@dataclass
class EffectResult(EstimatorResult):
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

    #: event-study rows carry their event time (NaN on combined rows such as ``avg_post``)
    tidy_extras = ("event_time",)

    def _tidy(self) -> pd.DataFrame:
        return self.table

    @property
    def caption(self) -> str:
        return f"{self.method} ({self.se_type})"

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
