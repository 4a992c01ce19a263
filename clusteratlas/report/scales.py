"""Colour scales of maps, written once for the report and the dashboard.

Owns how a number becomes a colour and what the legend says about it (:class:`ColourScale`).
Three kinds, chosen by what the number is:

- ``sequential`` (:func:`sequential_scale`): a level (employment, wage, a share); the domain
  is the data's range, colour ``t = (v - lo) / (hi - lo)``.
- ``ratio`` (:func:`ratio_scale`): a ratio whose neutral value is 1, such as a location
  quotient. It is drawn on :math:`\\log(\\mathrm{LQ})`, centred at 0 (LQ = 1):

  .. math::

      t = \\tfrac12 + \\frac{\\log \\mathrm{LQ}}{2h}, \\qquad
      h = \\max\\bigl(|q_{lo}(\\log \\mathrm{LQ})|,\\ |q_{hi}(\\log \\mathrm{LQ})|\\bigr)

  so LQ = 1 is the middle colour, LQ = 2 and LQ = 1/2 are equally far from it, the domain
  :math:`[e^{-h}, e^{h}]` never shows a negative LQ, and the tick labels are in LQ units.
- ``diverging`` (:func:`diverging_scale`): a difference whose neutral value is 0 (growth
  against the nation, a resistance index): symmetric around 0 with
  :math:`h = \\max(|q_{lo}(v)|, |q_{hi}(v)|)`.

The two centred kinds clip at robust quantiles (default 2nd and 98th percentiles), so one
outlier county cannot flatten every other colour; values beyond the domain take the end
colour and the legend's end labels say so ("≥ +35%"). Percent scales label ticks in %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from clusteratlas.errors import InputError

Kind = Literal["sequential", "ratio", "diverging"]
#: quantiles the centred scales clip at (a county map has a few extreme small counties)
ROBUST_QUANTILES = (0.02, 0.98)
#: LQ values a ratio legend labels when they fall inside the domain
_RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


@dataclass(frozen=True)
class ColourScale:
    """A map's colour scale: domain, colour map, and what the legend prints.

    ``low`` and ``high`` are in the scale's own units (log LQ for ``ratio``); use
    :meth:`domain` for the values the ends stand for, :meth:`position` for where a value
    falls (0 = first colour, 1 = last), :meth:`ticks` for the legend's labels.
    """

    kind: Kind
    cmap: str
    low: float
    high: float
    percent: bool = False
    clipped_low: bool = False  # some value lies below the domain (drawn in the end colour)
    clipped_high: bool = False

    def _transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.kind != "ratio":
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values >= 0, np.log(values), np.nan)  # LQ 0 -> -inf (lowest colour)

    def _inverse(self, t: float) -> float:
        return math.exp(t) if self.kind == "ratio" else t

    def domain(self) -> tuple[float, float]:
        """The values the two ends of the scale stand for (in the data's units: LQ, not log)."""
        return self._inverse(self.low), self._inverse(self.high)

    def position(self, values) -> np.ndarray:
        """Where each value falls on the colour bar, clipped to [0, 1]; NaN where no data."""
        t = self._transform(np.atleast_1d(np.asarray(values, dtype=float)))
        span = self.high - self.low
        out = (np.clip(t, self.low, self.high) - self.low) / span
        return np.where(np.isnan(t), np.nan, out)

    def colours(self, values) -> list[str | None]:
        """Hex colours of ``values`` (None where no data)."""
        import matplotlib

        positions = self.position(values)
        # one colour-map call for all values (a county map has ~3,100): the same lookup as
        # one call per value, without the per-call overhead
        rgba = matplotlib.colormaps[self.cmap](positions)
        codes = np.rint(255 * rgba[:, :3]).astype(int).tolist()
        return [
            None if math.isnan(p) else "#{:02x}{:02x}{:02x}".format(*code)
            for p, code in zip(positions.tolist(), codes, strict=True)
        ]

    def ramp(self, steps: int) -> list[str]:
        """``steps`` evenly spaced colours of the bar, first to last."""
        import matplotlib

        colormap = matplotlib.colormaps[self.cmap]
        return [hex_colour(colormap(k / (steps - 1))) for k in range(steps)]

    def label(self, value: float) -> str:
        """A value as the legend prints it (LQ units, or % for percent scales)."""
        if self.percent:
            return _percent(value, signed=self.kind == "diverging")
        if self.kind == "ratio" and math.isfinite(value):
            return f"{value:.0f}" if value >= 10 else f"{value:.2g}"
        return format_value(value)

    def ticks(self) -> list[tuple[float, str]]:
        """(position on the bar, label) of the legend's labels; the ends say "≤"/"≥" when
        values were clipped there."""
        low, high = self.domain()
        if self.kind == "ratio":
            inner = [t for t in _RATIO_TICKS if low * 1.15 < t < high / 1.15]
            if len(inner) > 5:  # keep 1 and a few symmetric pairs
                inner = [t for t in inner if t in (0.1, 0.5, 1.0, 2.0, 10.0)] or [1.0]
        elif self.kind == "diverging":
            inner = [low / 2, 0.0, high / 2]
        else:
            inner = []
        out = [(0.0, ("≤ " if self.clipped_low else "") + self.label(low))]
        placed = [(float(self.position(t)[0]), self.label(t)) for t in inner]
        out += [(p, text) for p, text in placed if 0.15 <= p <= 0.85]  # room for the ends
        out.append((1.0, ("≥ " if self.clipped_high else "") + self.label(high)))
        return out

    def unit_note(self) -> str:
        """What the bar's units are, for the legend."""
        return "log scale, 1 = national share" if self.kind == "ratio" else ""


def hex_colour(rgba: tuple[float, ...]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgba[:3]))


def format_value(value: float) -> str:
    """A number as map labels print it ("no data" for NaN)."""
    if not math.isfinite(value):
        return "no data"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}".replace("-", "−")


def _percent(value: float, signed: bool) -> str:
    if not math.isfinite(value):
        return "no data"
    v = 100 * value
    if v == 0:
        return "0%"
    digits = 0 if abs(v) >= 10 else 1
    text = f"{v:+.{digits}f}%" if signed and v != 0 else f"{v:.{digits}f}%"
    return text.replace("-", "−")


def _finite(values) -> np.ndarray:
    array = np.asarray(pd.Series(values, dtype=float), dtype=float)
    return array[np.isfinite(array)]


def sequential_scale(values, cmap: str = "viridis", *, percent: bool = False) -> ColourScale:
    """The data's range (a level: employment, wage, a share)."""
    finite = _finite(values)
    if finite.size == 0:
        return ColourScale("sequential", cmap, 0.0, 1.0, percent)
    low, high = float(finite.min()), float(finite.max())
    if high == low:
        high = low + 1.0
    return ColourScale("sequential", cmap, low, high, percent)


def _half_width(t: np.ndarray, centre: float, quantiles: tuple[float, float] | None) -> float:
    if quantiles is None:
        lo, hi = float(t.min()), float(t.max())
    else:
        lo, hi = (float(q) for q in np.quantile(t, quantiles))
    return max(abs(hi - centre), abs(centre - lo))


def diverging_scale(
    values,
    cmap: str = "RdBu",
    *,
    percent: bool = False,
    quantiles: tuple[float, float] | None = ROBUST_QUANTILES,
) -> ColourScale:
    """Symmetric around 0 (a difference: growth against the nation, a resistance index),
    clipped at the ``quantiles`` of the values (None: their range)."""
    finite = _finite(values)
    if finite.size == 0:
        return ColourScale("diverging", cmap, -1.0, 1.0, percent)
    half = _half_width(finite, 0.0, quantiles) or float(np.abs(finite).max()) or 1.0
    return ColourScale(
        "diverging",
        cmap,
        -half,
        half,
        percent,
        clipped_low=bool((finite < -half).any()),
        clipped_high=bool((finite > half).any()),
    )


def ratio_scale(
    values,
    cmap: str = "RdBu_r",
    *,
    quantiles: tuple[float, float] | None = ROBUST_QUANTILES,
) -> ColourScale:
    """A ratio whose neutral value is 1 (a location quotient): log(LQ) symmetric around 0,
    clipped at the ``quantiles`` of log LQ over positive values (None: their range). Zero
    LQs take the lowest colour."""
    finite = _finite(values)
    if (finite < 0).any():
        raise InputError(
            f"a ratio scale needs values >= 0; got {finite.min():.3g}",
            hint="a location quotient cannot be negative: check the column mapped",
        )
    logs = np.log(finite[finite > 0])
    if logs.size == 0:
        return ColourScale("ratio", cmap, -math.log(2), math.log(2))
    half = _half_width(logs, 0.0, quantiles) or float(np.abs(logs).max()) or math.log(2)
    return ColourScale(
        "ratio",
        cmap,
        -half,
        half,
        clipped_low=bool((finite < math.exp(-half)).any()),
        clipped_high=bool((logs > half).any()),
    )


def scale_for(values, kind: Kind, cmap: str | None = None, *, percent: bool = False) -> ColourScale:
    """The scale of ``kind`` for ``values`` (default colour maps: viridis; RdBu_r for ratios,
    red = specialised; RdBu for differences, blue = did better)."""
    if kind == "ratio":
        return ratio_scale(values, cmap or "RdBu_r")
    if kind == "diverging":
        return diverging_scale(values, cmap or "RdBu", percent=percent)
    return sequential_scale(values, cmap or "viridis", percent=percent)
