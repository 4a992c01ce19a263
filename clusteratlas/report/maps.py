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
from functools import lru_cache
from typing import NamedTuple

import pandas as pd

from clusteratlas.data.shapes import MAP_REGION_TYPES, VIEW_HEIGHT, VIEW_WIDTH, shapes
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.report.scales import ColourScale, Kind, format_value, hex_colour, scale_for

NO_DATA_COLOUR = "#e4e4e4"
TITLE_ROOM = 30  # the title's band above the map


def _hex(rgba: tuple[float, ...]) -> str:
    return hex_colour(rgba)


def _format(value: float) -> str:
    return format_value(value)


class _Drawn(NamedTuple):
    """A layer's shapes that have a path, as plain lists (the same for every map of the layer):
    ids (also as an index, to align values), each hover label's escaped "name (id): " and
    path data."""

    index: pd.Index
    ids: list[str]
    prefixes: list[str]
    paths: list[str]


@lru_cache(maxsize=4)
def _drawn(layer: str) -> _Drawn:
    table = shapes(layer)
    table = table.loc[table["d"].astype(bool)]
    ids = table["id"].astype(str).tolist()
    names = table["name"].tolist()
    return _Drawn(
        index=pd.Index(ids),
        ids=ids,
        # escaping is character by character, so the escaped prefix + the escaped value is
        # the escaped label
        prefixes=[html.escape(f"{name} ({id_}): ") for name, id_ in zip(names, ids, strict=True)],
        paths=table["d"].tolist(),
    )


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
    cmap: str | None = None,
    *,
    members: pd.DataFrame | None = None,
    scale: Kind | ColourScale = "sequential",
    percent: bool = False,
    highlight: str | list[str] | None = None,
    legend_label: str = "",
    note: str = "",
    source: str = "",
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
        A matplotlib colormap name (default: the scale kind's, see
        :func:`clusteratlas.report.scales.scale_for`).
    scale
        "sequential" (levels), "ratio" (location quotients: log LQ centred at LQ = 1) or
        "diverging" (differences centred at 0, e.g. growth against the nation), or a
        :class:`~clusteratlas.report.scales.ColourScale`. Centred scales clip at the 2nd and
        98th percentiles; the legend marks clipped ends ("≥ +35%").
    percent
        Legend labels in percent (values are fractions: 0.35 -> "+35%").
    source
        A source line under the legend (where the numbers come from), so the map still says
        so when it is copied out of the report.
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
    if not isinstance(scale, ColourScale):
        scale = scale_for(values, scale, cmap, percent=percent)

    if region_type == "state":
        layer, by_shape = "states", values
    elif region_type == "county":
        layer, by_shape = "counties", values
    else:
        layer, by_shape = "counties", _county_values(values, region_type, members)

    highlights = {highlight} if isinstance(highlight, str) else set(highlight or [])
    height = VIEW_HEIGHT + TITLE_ROOM + 70 + (14 if source else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEW_WIDTH} {height}" '
        f'class="choropleth" data-region-type="{region_type}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text class="map-title" x="10" y="22" font-size="18" font-family="sans-serif">'
        f"{html.escape(title)}</text>",
        f'<g transform="translate(0 {TITLE_ROOM})">',  # the map below the title, not under it
        '<g stroke="#ffffff" stroke-width="0.25" stroke-linejoin="round">',
    ]
    drawn = _drawn(layer)
    shown = by_shape.reindex(drawn.index).to_numpy(dtype=float)
    fills = scale.colours(shown)
    for id_, prefix, path, value, colour in zip(
        drawn.ids, drawn.prefixes, drawn.paths, shown.tolist(), fills, strict=True
    ):
        text = scale.label(value) if math.isfinite(value) else "no data"
        out.append(
            f'<path class="region" data-id="{id_}" fill="{colour or NO_DATA_COLOUR}" d="{path}">'
            f"<title>{prefix}{html.escape(text)}</title></path>"
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
    out.append("</g>")  # the map's translation
    out.append(_legend(scale, legend_label, note))
    if source:
        out.append(
            f'<text class="map-source" x="10" y="{height - 6}" font-size="10" fill="#555" '
            f'font-family="sans-serif">{html.escape(source)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _members_of(members: pd.DataFrame | None, region_type: str, regions: set[str]) -> set[str]:
    if members is None:
        return set()
    rows = members.loc[(members["region_type"] == region_type) & members["region_id"].isin(regions)]
    return set(rows["member_id"].astype(str))


def _legend(scale: ColourScale, label: str, note: str) -> str:
    """The colour bar (x 20..300) with its tick labels, the no-data box, label and note."""
    steps, width, left = 14, 20, 20
    top = VIEW_HEIGHT + TITLE_ROOM + 18
    parts = ['<g class="legend" font-family="sans-serif" font-size="11">']
    for k, colour in enumerate(scale.ramp(steps)):
        parts.append(
            f'<rect x="{left + width * k}" y="{top}" width="{width}" height="12" fill="{colour}"/>'
        )
    bar = steps * width
    for position, text in scale.ticks():
        x = left + position * bar
        anchor = "start" if position <= 0.02 else "end" if position >= 0.98 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{top + 12}" x2="{x:.1f}" y2="{top + 16}" stroke="#333"/>'
            f'<text class="tick" x="{x:.1f}" y="{top + 27}" text-anchor="{anchor}">'
            f"{html.escape(text)}</text>"
        )
    parts.append(
        f'<rect x="320" y="{top}" width="14" height="12" fill="{NO_DATA_COLOUR}"/>'
        f'<text x="338" y="{top + 10}">no data</text>'
    )
    units = scale.unit_note()
    caption = "; ".join(part for part in (label, units if units not in label else "") if part)
    if caption:
        parts.append(
            f'<text class="scale-label" x="400" y="{top + 10}">{html.escape(caption)}</text>'
        )
    if note:
        parts.append(f'<text x="400" y="{top + 26}" fill="#555">{html.escape(note)}</text>')
    parts.append("</g>")
    return "".join(parts)
