"""Region x sector employment for resilience: CBP state x 3-digit NAICS and its benchmark.

:func:`read_state_sectors` turns setzler's ``CBP_state_industry3.csv.gz`` (CBP mid-March
employment, 51 states incl. DC x 3-digit NAICS, 2001-2021) into the long frame
:func:`~clusteratlas.resilience.indices.resilience` takes, plus the national benchmark
formed from the same rows:

.. math::

    E_{iN,t} = \\sum_{r \\in \\text{50 states + DC}} E_{ir,t}, \\qquad E_{N,t} = \\sum_i E_{iN,t}

Why not the published US figures: the 3-digit file is incomplete (its sectors sum to 89 % of
the state totals in 2001-2014, 95 % in 2015-2017, 98 % in 2018-2021; withheld cells are 0).
Benchmarking those rows against complete national totals would put the missing 2-11 % into
every region's industry-mix and competitive effects. Summing the same rows over the states
keeps the shares internally consistent: the national sector growth g_iN is that of exactly the
jobs the regions hold, so over all regions Σ_r IM_r = Σ_r CS_r = 0 and Σ_r NS_r = ΔE_N.

:func:`sector_resilience` runs the indices either per region over its sector mix
(``expected="sectoral"`` applies g_iN to the region's own mix) or per region x sector against
the national sector (``by_sector=True``). It is shared by the CLI paths ``--sectors`` (this
file) and ``--panel`` (the store's region x cluster panel).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clusteratlas.data.cbp import read_setzler_state_industry
from clusteratlas.data.geo import STATE_POSTAL_TO_FIPS
from clusteratlas.errors import DataCoverageWarning, InputError
from clusteratlas.resilience.indices import ResilienceResult, resilience
from clusteratlas.resilience.windows import ShockWindow

#: ``source`` label of the rows; contains "CBP" so the CBP timing warnings apply.
SOURCE = "Census CBP (setzler state x NAICS-3)"
#: The 50 states and DC (Puerto Rico is not in CBP's state files nor in the US total).
STATES = frozenset(fips for postal, fips in STATE_POSTAL_TO_FIPS.items() if postal != "PR")
KEYS = ["region_type", "region_id"]


@dataclass
class SectorPanel:
    """Region x sector employment (``regions``) and its national benchmark (``national``)."""

    regions: pd.DataFrame
    national: pd.DataFrame
    sector: str = "naics"


def national_benchmark(regions: pd.DataFrame, sector: str = "naics") -> pd.DataFrame:
    """E_iN,t = Σ_r E_ir,t: the national benchmark as the sum of the regions' own rows."""
    national = regions.groupby(["year", sector], as_index=False)["emp"].sum()
    return national.assign(region_type="nation", region_id="US")[[*KEYS, sector, "year", "emp"]]


def read_state_sectors(path: str | Path) -> SectorPanel:
    """setzler state x 3-digit NAICS file -> :class:`SectorPanel` (national = sum of states).

    ``regions`` has region_type "state", region_id (2-digit FIPS), naics (3 digits), year,
    emp and source (:data:`SOURCE`). Rows of codes outside the 50 states + DC are refused, and
    a year missing states is refused too: the benchmark would silently shrink.
    """
    counts = read_setzler_state_industry(path, source=SOURCE)
    foreign = sorted(set(counts["region_id"]) - STATES)
    if foreign:
        raise InputError(
            f"state FIPS {', '.join(foreign)} are not among the 50 states + DC",
            path=str(path),
            column="state_fips",
            hint="the national benchmark is the sum over the 50 states + DC; drop other areas",
        )
    per_year = counts.groupby("year")["region_id"].nunique()
    short = per_year[per_year < len(STATES)]
    if len(short):
        year = int(short.index[0])
        missing = sorted(STATES - set(counts.loc[counts["year"] == year, "region_id"]))
        raise InputError(
            f"year {year} lacks state(s) {', '.join(missing)}",
            path=str(path),
            hint="the national benchmark sums all 50 states + DC; use a complete file",
        )
    regions = counts[[*KEYS, "naics", "year", "emp", "source"]].reset_index(drop=True)
    return SectorPanel(regions=regions, national=national_benchmark(regions), sector="naics")


#: NAICS 2-digit sectors that span several 2-digit codes.
_COMBINED_SECTORS = {"31": "31-33", "32": "31-33", "33": "31-33", "44": "44-45", "45": "44-45",
                     "48": "48-49", "49": "48-49"}  # fmt: skip


def naics_sectors(panel: SectorPanel) -> SectorPanel:
    """The same panel on NAICS sectors (23 construction = 236 + 237 + 238, 31-33 manufacturing).

    Sectors are stable across the NAICS 1997-2017 revisions, so a window may cross 2002/2003.
    """
    two = panel.regions[panel.sector].astype(str).str[:2]
    regions = panel.regions.assign(**{panel.sector: two.replace(_COMBINED_SECTORS)})
    keys = [*KEYS, panel.sector, "year"] + (["source"] if "source" in regions else [])
    regions = regions.groupby(keys, as_index=False)["emp"].sum()
    return SectorPanel(regions, national_benchmark(regions, panel.sector), panel.sector)


def _sector_breaks(national: pd.DataFrame, sector: str, t0: int, t1: int) -> list[str]:
    """Sectors with national jobs in one phase year only (a code change, e.g. NAICS 1997->2002)."""
    sub = national[national["year"].isin([t0, t1])]
    held = sub[sub["emp"] > 0].groupby(sector)["year"].nunique()
    return sorted(map(str, held.index[held == 1]))


def _zero_national_base(national: pd.DataFrame, sector: str, window: ShockWindow) -> list[str]:
    """Sectors whose national base is 0 in a phase: their national growth is undefined."""
    starts = national[national["year"].isin([window.peak, window.trough])]
    base = starts.groupby([sector, "year"])["emp"].sum().unstack()
    return sorted(map(str, base.index[(base.fillna(0) == 0).any(axis=1)]))


def sector_resilience(
    regions: pd.DataFrame,
    national: pd.DataFrame | None,
    window: ShockWindow | tuple[int, int, int],
    *,
    sector: str = "naics",
    by_sector: bool = False,
    expected: str = "aggregate",
    outcome: str | None = "employment",
) -> ResilienceResult:
    """Resilience of region x sector employment (``emp``) over a shock window.

    ``by_sector=False``: one row per region and phase; ΔE^exp = g_N E_r (aggregate) or
    Σ_i g_iN E_ir (sectoral). ``by_sector=True``: one row per region x sector, each against its
    national sector (g_N := g_iN); sectors with a zero national base in a phase are left out
    with a warning (their growth is undefined). Sectors held nationally in only one year of a
    phase (a NAICS code change) are warned about: their jobs count as created or destroyed.
    """
    window = window if isinstance(window, ShockWindow) else ShockWindow(*window)
    if national is None:
        warnings.warn(
            "no national series given: the benchmark is the sum over the regions analysed",
            category=DataCoverageWarning,
            stacklevel=2,
        )
        national = national_benchmark(regions, sector)
    for t0, t1 in window.phases.values():
        breaks = _sector_breaks(national, sector, t0, t1)
        if breaks:
            warnings.warn(
                f"sector codes {', '.join(breaks)} have national employment in only one of "
                f"{t0} and {t1} (a classification change?): their jobs count as created or "
                "destroyed; choose a window within one NAICS vintage",
                category=DataCoverageWarning,
                stacklevel=2,
            )
    if not by_sector:
        result = resilience(
            regions, window, unit=KEYS, sector=sector, national=national, value="emp",
            expected=expected,
        )  # fmt: skip
        result.outcome = outcome
        return result
    undefined = _zero_national_base(national, sector, window)
    if undefined:
        warnings.warn(
            f"sectors {', '.join(undefined)} have zero national employment at the start of a "
            "phase: left out of the per-sector indices",
            category=DataCoverageWarning,
            stacklevel=2,
        )
        regions = regions[~regions[sector].astype(str).isin(undefined)]
        national = national[~national[sector].astype(str).isin(undefined)]
    result = resilience(
        regions, window, unit=(*KEYS, sector), match=(sector,), national=national, value="emp",
    )  # fmt: skip
    result.outcome = outcome
    return result
