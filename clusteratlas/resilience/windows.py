"""Shock and recovery windows: the (peak, trough, end) years and what a data source can see.

A window splits into two phases: resistance (contraction) ``c = [peak, trough]`` and
recovery ``e = [trough, end]``. :func:`timing_warnings` flags windows that cannot see the shock
in the data used: CBP counts employment in the pay period including March 12, so CBP 2020 is
almost entirely pre-lockdown and a 2019 -> 2020 (or 2018 -> 2020) CBP "shock" measures next to
nothing of COVID-19. :func:`detect_window` dates a window from a national series.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from clusteratlas.errors import InputError, ParameterError

PHASES = ("resistance", "recovery")


@dataclass(frozen=True)
class ShockWindow:
    """Years of the pre-shock peak, the trough and the end of the recovery window."""

    peak: int
    trough: int
    end: int

    def __post_init__(self) -> None:
        if not self.peak < self.trough < self.end:
            raise ParameterError(
                "window",
                f"years must satisfy peak < trough < end, got peak={self.peak}, "
                f"trough={self.trough}, end={self.end}",
            )

    @property
    def phases(self) -> dict[str, tuple[int, int]]:
        """Phase name -> (first year, last year)."""
        return {"resistance": (self.peak, self.trough), "recovery": (self.trough, self.end)}

    @property
    def years(self) -> tuple[int, int, int]:
        return (self.peak, self.trough, self.end)

    def __str__(self) -> str:
        return f"peak {self.peak}, trough {self.trough}, end {self.end}"


def timing_warnings(
    window: ShockWindow, sources: Iterable[str], outcome: str | None = None
) -> list[str]:
    """Plain-language warnings for windows the data cannot see (empty list if none)."""
    notes: list[str] = []
    sources = {str(s) for s in sources}
    cbp = any("CBP" in s for s in sources)
    if cbp and window.trough == 2020 and (outcome in (None, "employment", "establishments")):
        notes.append(
            "CBP employment is counted in the pay period including March 12, so CBP 2020 is "
            "essentially pre-lockdown: a trough in 2020 barely shows the COVID-19 shock. Use "
            "CBP 2019 -> 2021, BEA annual GDP (trough 2020) or QCEW quarterly data (2020Q2)."
        )
    if any("LAUS" in s for s in sources) and window.end > 2018:
        notes.append(
            "the LAUS files shipped with clusteratlas stop in 2018; later years must come from "
            "the BLS LAUS download"
        )
    if window.trough - window.peak > 3:
        notes.append(
            f"the contraction phase spans {window.trough - window.peak} years; long phases mix "
            "the shock with trend growth"
        )
    return notes


def detect_window(series: pd.DataFrame, *, year: str = "year", value: str = "value") -> ShockWindow:
    """Date a shock from one (national) series: the largest one-year fall.

    peak = the year before the largest fall, trough = the lowest year after the peak until the
    series turns up, end = the first later year back at the peak level (else the last year).
    """
    data = series[[year, value]].dropna().sort_values(year)
    if len(data) < 3:
        raise InputError("need at least three years to date a shock", hint=f"got {len(data)}")
    years = data[year].astype(int).to_list()
    values = data[value].astype(float).to_list()
    changes = [
        (values[i + 1] / values[i] - 1.0, i) for i in range(len(values) - 1) if values[i] != 0
    ]
    worst, i_peak = min(changes)
    if worst >= 0:
        raise InputError(
            "the series never falls: there is no shock to date",
            hint=f"years {years[0]}-{years[-1]}",
        )
    i_trough = i_peak + 1
    while i_trough + 1 < len(values) and values[i_trough + 1] < values[i_trough]:
        i_trough += 1
    if i_trough == len(values) - 1:
        raise InputError(
            "the series is still falling in its last year: no recovery phase to measure"
        )
    i_end = next(
        (j for j in range(i_trough + 1, len(values)) if values[j] >= values[i_peak]),
        len(values) - 1,
    )
    return ShockWindow(years[i_peak], years[i_trough], years[i_end])
