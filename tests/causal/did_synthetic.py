"""SYNTHETIC staggered panel with heterogeneous, growing treatment effects (known truth).

Not real data: built to show that TWFE is biased under staggered adoption with dynamic
effects while the heterogeneity-robust estimators recover the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COHORT_SLOPES = {2005: 0.30, 2010: 0.15, 2015: 0.05}  # effect grows by this per year treated


def staggered_panel(units: int = 900, seed: int = 11, noise: float = 0.2) -> pd.DataFrame:
    """SYNTHETIC: 2000-2019, cohorts 2005/2010/2015 and never treated (a quarter each).

    Effect of unit i at t: ``slope[g] * (t - g + 1)`` for t >= g (heterogeneous across cohorts
    and growing with exposure), so the true ATT and event-time effects are known exactly.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2020)
    cohorts = np.array([2005, 2010, 2015, 0])
    unit_cohort = cohorts[np.arange(units) % 4]
    unit_effect = rng.normal(0, 1, units)
    year_effect = rng.normal(0, 0.5, len(years)) + 0.05 * (years - 2000)
    unit = np.repeat(np.arange(units), len(years))
    year = np.tile(years, units)
    cohort = np.repeat(unit_cohort, len(years))
    slope = np.array([COHORT_SLOPES.get(g, 0.0) for g in cohort])
    treated = (cohort > 0) & (year >= cohort)
    effect = np.where(treated, slope * (year - cohort + 1), 0.0)
    y = unit_effect[unit] + year_effect[year - 2000] + effect + rng.normal(0, noise, len(unit))
    return pd.DataFrame(
        {
            "unit": unit,
            "year": year,
            "cohort": cohort,
            "state": unit % 30,
            "treated": treated.astype(float),
            "effect": effect,
            "y": y,
        }
    )


def true_att(panel: pd.DataFrame) -> float:
    """Mean effect over treated observations (the static ATT all estimators target)."""
    return float(panel.loc[panel["treated"] == 1, "effect"].mean())


def true_event_effects(panel: pd.DataFrame) -> pd.Series:
    """Mean effect at each event time over the treated observations there."""
    treated = panel.loc[panel["treated"] == 1]
    return treated.groupby(treated["year"] - treated["cohort"])["effect"].mean()
