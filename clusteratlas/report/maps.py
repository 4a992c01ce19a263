"""Offline choropleth maps of US states, counties, MSAs and BEA economic areas as inline SVG.

This module owns drawing: colour scales, legends, highlights and the SVG document
(:func:`choropleth_svg`). The shapes come decoded from the shipped boundary file by
:mod:`clusteratlas.data.shapes`, so maps need no network, no JavaScript and no projection
code.

MSA and economic-area maps colour each county by the value of the region it belongs to (the
county -> region crosswalk comes from ``members``, a :data:`clusteratlas.schema.REGION_MEMBERS`
frame), and draw state borders on top.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from clusteratlas.data.shapes import MAP_REGION_TYPES, VIEW_HEIGHT, VIEW_WIDTH, shapes
from clusteratlas.errors import InputError, ParameterError

NO_DATA_COLOUR = "#e4e4e4"


def _colour_scale(
    values: pd.Series, cmap: str, centre: float | None
) -> tuple[float, float, object]:
    import matplotlib

    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    if finite.empty:
        return 0.0, 1.0, matplotlib.colormaps[cmap]
    low, high = float(finite.min()), float(finite.max())
    if centre is not None:  # symmetric range so that ``centre`` sits in the middle colour
        half = max(abs(high - centre), abs(centre - low)) or 1.0
        low, high = centre - half, centre + half
    if high == low:
        high = low + 1.0
    return low, high, matplotlib.colormaps[cmap]


def _hex(rgba: tuple[float, ...]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgba[:3]))


def _format(value: float) -> str:
    if not math.isfinite(value):
        return "no data"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _county_values(values: pd.Series, region_type: str, members: pd.DataFrame | None) -> pd.Series:
    """Spread MSA / economic-area values onto their member counties."""
    if members is None:
        raise ParameterError(
            "members",
            f"a {region_type} map needs the county crosswalk (schema.REGION_MEMBERS rows of "
            f"region_type {region_type!r}, e.g. from clusteratlas.data.geo)",
        )
    rows = members.loc[
        (members["region_type"] == region_type) & (members["member_type"] == "county")
    ]
    if rows.empty:
        raise InputError(
            f"the crosswalk has no {region_type} -> county rows",
            hint="load the OMB CBSA delineation / BEA economic-area file first",
        )
    mapped = rows.assign(value=rows["region_id"].astype(str).map(values))
    return pd.Series(mapped["value"].to_numpy(dtype=float), index=mapped["member_id"].astype(str))


def choropleth_svg(
    values: pd.Series,
    region_type: str = "state",
    title: str = "",
    cmap: str = "viridis",
    *,
    members: pd.DataFrame | None = None,
    centre: float | None = None,
    highlight: str | list[str] | None = None,
    legend_label: str = "",
    note: str = "",
) -> str:
    """A self-contained SVG choropleth of ``values`` (indexed by region id) and its legend.

    Parameters
    ----------
    values
        Numbers by region id: state FIPS ("06"), county FIPS ("06037"), CBSA code ("31080")
        or economic-area id (as in ``members``). NaN and absent regions are drawn grey
        ("no data").
    region_type
        "state", "county", "msa" or "economic_area". MSA and economic-area maps colour the
        member counties of each region (``members`` crosswalk required).
    cmap
        A matplotlib colormap name; ``centre`` makes the colour range symmetric around a
        value (e.g. 1 for location quotients, 0 for resistance indices, with "RdBu").
    highlight
        Region id(s) outlined in black (e.g. the region of interest).
    """
    if region_type not in MAP_REGION_TYPES:
        raise ParameterError(
            "region_type", f"cannot map {region_type!r}", allowed=", ".join(MAP_REGION_TYPES)
        )
    values = pd.Series(values, dtype=float)
    values.index = values.index.astype(str)
    if values.index.has_duplicates:
        raise InputError(
            f"map values have duplicate region ids: {values.index[values.index.duplicated()][:5].tolist()}"
        )
    low, high, colormap = _colour_scale(values, cmap, centre)

    if region_type == "state":
        layer, by_shape = shapes("states"), values
    elif region_type == "county":
        layer, by_shape = shapes("counties"), values
    else:
        layer, by_shape = shapes("counties"), _county_values(values, region_type, members)

    highlights = {highlight} if isinstance(highlight, str) else set(highlight or [])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEW_WIDTH} {VIEW_HEIGHT + 70}" '
        f'class="choropleth" data-region-type="{region_type}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="10" y="22" font-size="18" font-family="sans-serif">{html.escape(title)}</text>',
        '<g stroke="#ffffff" stroke-width="0.25" stroke-linejoin="round">',
    ]
    for row in layer.itertuples(index=False):
        if not row.d:
            continue
        value = float(by_shape.get(row.id, np.nan))
        colour = (
            _hex(colormap((min(max(value, low), high) - low) / (high - low)))
            if math.isfinite(value)
            else NO_DATA_COLOUR
        )
        label = html.escape(f"{row.name} ({row.id}): {_format(value)}")
        out.append(
            f'<path class="region" data-id="{row.id}" fill="{colour}" d="{row.d}">'
            f"<title>{label}</title></path>"
        )
    out.append("</g>")
    if region_type != "state":  # state borders on top of county shapes for orientation
        out.append('<g fill="none" stroke="#555" stroke-width="0.6">')
        out.extend(f'<path class="border" d="{d}"/>' for d in shapes("states")["d"] if d)
        out.append("</g>")
    if highlights:
        target = shapes("states") if region_type == "state" else shapes("counties")
        if region_type in ("msa", "economic_area"):
            ids = set(
                by_shape.index[by_shape.index.isin(_members_of(members, region_type, highlights))]
            )
        else:
            ids = highlights
        out.append('<g fill="none" stroke="#000" stroke-width="1.6">')
        out.extend(
            f'<path class="highlight" d="{d}"/>'
            for i, d in zip(target["id"], target["d"], strict=True)
            if i in ids
        )
        out.append("</g>")
    out.append(_legend(low, high, colormap, legend_label, note))
    out.append("</svg>")
    return "".join(out)


def _members_of(members: pd.DataFrame | None, region_type: str, regions: set[str]) -> set[str]:
    if members is None:
        return set()
    rows = members.loc[(members["region_type"] == region_type) & members["region_id"].isin(regions)]
    return set(rows["member_id"].astype(str))


def _legend(low: float, high: float, colormap: object, label: str, note: str) -> str:
    steps = 7
    top = VIEW_HEIGHT + 18
    parts = ['<g class="legend" font-family="sans-serif" font-size="11">']
    for k in range(steps):
        frac = k / (steps - 1)
        parts.append(
            f'<rect x="{20 + 40 * k}" y="{top}" width="40" height="12" '
            f'fill="{_hex(colormap(frac))}"/>'
        )
    parts.append(f'<text x="20" y="{top + 26}">{_format(low)}</text>')
    parts.append(f'<text x="300" y="{top + 26}" text-anchor="end">{_format(high)}</text>')
    parts.append(
        f'<rect x="320" y="{top}" width="14" height="12" fill="{NO_DATA_COLOUR}"/>'
        f'<text x="338" y="{top + 10}">no data</text>'
    )
    if label:
        parts.append(f'<text x="400" y="{top + 10}">{html.escape(label)}</text>')
    if note:
        parts.append(f'<text x="400" y="{top + 26}" fill="#555">{html.escape(note)}</text>')
    parts.append("</g>")
    return "".join(parts)
