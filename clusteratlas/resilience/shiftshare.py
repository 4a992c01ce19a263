"""Shift-share decomposition of one phase (start -> end) of a regional series.

For region r with sectors i (industries or clusters), base-year values E_ir, national sector
growth g_iN = ΔE_iN / E_iN and national aggregate growth g_N = ΔE_N / E_N:

.. math::

    \\Delta E_r = \\underbrace{g_N E_r}_{NS_r}
              + \\underbrace{\\sum_i E_{ir}(g_{iN} - g_N)}_{IM_r}
              + \\underbrace{\\sum_i (\\Delta E_{ir} - g_{iN} E_{ir})}_{CS_r}

NS is the national-growth share, IM the industry-mix (structural) effect and CS the
regional-competitive effect; the three sum to the actual change exactly. Without sectors
IM = 0 and CS = ΔE_r − NS_r. With one sector per unit and the unit's own national sector as
benchmark this is USCM's expected job creation (``report.js`` ``jobCreation``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from clusteratlas.errors import EstimationError, InputError

SHIFT_SHARE_COLUMNS = (
    "value_start",
    "value_end",
    "change",
    "national_growth",
    "national_share_effect",
    "industry_mix_effect",
    "competitive_effect",
)


def _two_years(
    frame: pd.DataFrame,
    keys: list[str],
    value: str,
    start: int,
    end: int,
    what: str,
    *,
    aggregate: bool = False,
) -> pd.DataFrame:
    """Rows of ``keys`` with value_start and value_end.

    ``aggregate=True`` sums the rows sharing ``keys`` (national totals over sectors); otherwise
    several rows per key are an error (two sources of one outcome would double count).
    """
    sub = frame[frame["year"].isin([start, end])]
    absent = sorted({start, end} - set(sub["year"].unique()))
    if absent:
        present = sorted(int(y) for y in frame["year"].unique())
        raise InputError(
            f"{what} has no rows for year(s) {', '.join(map(str, absent))}",
            hint=f"years in the data: {', '.join(map(str, present)) or 'none'}; "
            "choose a window inside them",
        )
    duplicated = sub.duplicated(subset=[*keys, "year"], keep=False)
    if duplicated.any() and not aggregate:
        first = sub.loc[duplicated, [*keys, "year"]].iloc[0].to_dict()
        raise InputError(
            f"{what} has several rows for {first}",
            hint="keep one source per outcome (e.g. filter the 'source' column) or aggregate first",
        )
    wide = sub.pivot_table(index=keys, columns="year", values=value, aggfunc="sum")
    return wide.rename(columns={start: "value_start", end: "value_end"}).reset_index()


def shift_share(
    frame: pd.DataFrame,
    start: int,
    end: int,
    *,
    national: pd.DataFrame,
    unit: Sequence[str] = ("region_type", "region_id"),
    sector: str | None = None,
    match: Sequence[str] = (),
    value: str = "value",
) -> pd.DataFrame:
    """Decompose each unit's change between ``start`` and ``end`` into NS + IM + CS.

    Parameters
    ----------
    frame
        Long frame with ``year``, ``value``, the ``unit`` columns and ``sector`` if given.
    national
        National benchmark: ``year``, ``value``, plus ``sector`` and ``match`` columns as used.
    unit
        Columns identifying a unit (a region, or region x cluster).
    sector
        Column of sectors inside a unit (industry or cluster); None for an aggregate series.
    match
        Unit columns the national benchmark is keyed on, e.g. ``("cluster_code",)`` when the
        unit is a region x cluster and each is compared with its national cluster.

    Units lacking either year are dropped and listed in ``result.attrs["dropped"]``. Sectors
    present in only one year count as zero in the other (an industry appearing or vanishing).
    """
    unit, match = list(unit), list(match)
    if start >= end:
        raise InputError(f"phase start {start} must precede its end {end}")
    keys = unit + ([sector] if sector else [])
    for column in keys + ["year", value]:
        if column not in frame.columns:
            raise InputError(f"regional frame lacks column {column!r}")
    nat_keys = match + ([sector] if sector else [])
    for column in nat_keys + ["year", value]:
        if column not in national.columns:
            raise InputError(f"national benchmark lacks column {column!r}")

    regional = _two_years(frame, keys, value, start, end, "regional frame")
    if sector:
        regional[["value_start", "value_end"]] = regional[["value_start", "value_end"]].fillna(0.0)
        present = regional.groupby(unit)[["value_start", "value_end"]].sum()
        dropped = present.index[(present["value_start"] == 0) & (present["value_end"] == 0)]
    else:
        missing = regional[["value_start", "value_end"]].isna().any(axis=1)
        dropped = regional.loc[missing, unit].apply(tuple, axis=1).to_list()
        regional = regional[~missing]

    if match:
        nat_total = _two_years(
            national, match, value, start, end, "national benchmark", aggregate=True
        )
    else:
        tmp = national.assign(_all=1)
        nat_total = _two_years(
            tmp, ["_all"], value, start, end, "national benchmark", aggregate=True
        )
    if (nat_total["value_start"] == 0).any() or nat_total["value_start"].isna().any():
        raise EstimationError("national base value is zero or missing: national growth undefined")
    nat_total["national_growth"] = nat_total["value_end"] / nat_total["value_start"] - 1.0

    if match:
        regional = regional.merge(nat_total[match + ["national_growth"]], on=match, how="left")
    else:
        regional["national_growth"] = float(nat_total["national_growth"].iloc[0])
    if regional["national_growth"].isna().any():
        row = regional[regional["national_growth"].isna()].iloc[0]
        raise InputError(
            f"no national benchmark for {dict(row[match])}", hint="add the national rows"
        )

    if sector:
        nat_sector = _two_years(national, nat_keys, value, start, end, "national benchmark")
        nat_sector = nat_sector.fillna(0.0)
        nat_sector["sector_growth"] = (
            nat_sector["value_end"]
            / nat_sector["value_start"].where(nat_sector["value_start"] != 0)
        ) - 1.0
        regional = regional.merge(nat_sector[nat_keys + ["sector_growth"]], on=nat_keys, how="left")
        lacking = regional["sector_growth"].isna() & (regional["value_start"] != 0)
        if lacking.any():
            row = regional[lacking].iloc[0]
            raise InputError(
                f"sector {row[sector]!r} has a regional base value but no national growth",
                hint="the national benchmark must cover every sector with a nonzero base",
            )
        regional["sector_growth"] = regional["sector_growth"].fillna(0.0)
    else:
        regional["sector_growth"] = regional["national_growth"]

    e0, e1 = regional["value_start"], regional["value_end"]
    regional["change"] = e1 - e0
    regional["national_share_effect"] = e0 * regional["national_growth"]
    regional["industry_mix_effect"] = e0 * (regional["sector_growth"] - regional["national_growth"])
    regional["competitive_effect"] = regional["change"] - e0 * regional["sector_growth"]
    sums = [
        "value_start",
        "value_end",
        "change",
        "national_share_effect",
        "industry_mix_effect",
        "competitive_effect",
    ]
    out = regional.groupby(unit, as_index=False, dropna=False).agg(
        {**{c: "sum" for c in sums}, "national_growth": "first"}
    )
    if sector and len(dropped):
        out = out.set_index(unit).drop(index=dropped, errors="ignore").reset_index()
    out.insert(len(unit), "start", start)
    out.insert(len(unit) + 1, "end", end)
    out = out[unit + ["start", "end", *SHIFT_SHARE_COLUMNS]]
    out.attrs["dropped"] = list(dropped)
    return out
