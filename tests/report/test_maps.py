"""Offline maps: the shipped TopoJSON decodes to the right shapes, and choropleths colour them."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from clusteratlas.data import shapes as geometry
from clusteratlas.errors import ParameterError
from clusteratlas.report import maps


def _bbox(d: str) -> tuple[float, float, float, float]:
    xy = np.array([[float(a), float(b)] for a, b in re.findall(r"(-?\d+\.?\d*),(-?\d+\.?\d*)", d)])
    return xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()


def test_shipped_geometry_has_every_state_and_county():
    states, counties = geometry.shapes("states"), geometry.shapes("counties")
    assert len(states) == 51 and states["id"].str.fullmatch(r"\d{2}").all()
    assert len(counties) == 3142 and counties["id"].str.fullmatch(r"\d{5}").all()
    assert geometry.GEOMETRY_FILE.stat().st_size < 1_500_000
    names = states.set_index("id")["name"]
    assert names["06"] == "California" and names["01"] == "Alabama"


def test_counties_lie_inside_their_state():
    # An arc-decoding error (delta decoding, reversed arcs) would throw shapes across the map.
    states = geometry.shapes("states").set_index("id")
    counties = geometry.shapes("counties").sample(300, random_state=1)
    for row in counties.itertuples():
        sx0, sy0, sx1, sy1 = _bbox(states.loc[row.id[:2], "d"])
        cx0, cy0, cx1, cy1 = _bbox(row.d)
        assert sx0 - 0.2 <= cx0 and cx1 <= sx1 + 0.2 and sy0 - 0.2 <= cy0 and cy1 <= sy1 + 0.2, (
            row.id
        )


def test_states_are_where_albers_usa_puts_them():
    centre = {
        i: np.mean(np.reshape(_bbox(d), (2, 2)), axis=0)
        for i, d in geometry.shapes("states")[["id", "d"]].itertuples(index=False)
    }
    assert (
        centre["06"][0] < centre["48"][0] < centre["12"][0]
    )  # California west of Texas west of Florida
    assert centre["27"][1] < centre["48"][1]  # Minnesota north (smaller y) of Texas
    assert all(
        0 <= c[0] <= geometry.VIEW_WIDTH and 0 <= c[1] <= geometry.VIEW_HEIGHT
        for c in centre.values()
    )


def test_state_choropleth_colours_follow_the_values():
    values = pd.Series({"01": 0.0, "06": 10.0, "48": 5.0})
    svg = maps.choropleth_svg(values, "state", title="T & <x>", cmap="viridis", highlight="01")
    cmap = matplotlib.colormaps["viridis"]
    fills = dict(re.findall(r'data-id="(\d+)" fill="(#[0-9a-f]{6})"', svg))
    assert len(fills) == 51
    assert fills["01"] == maps._hex(cmap(0.0)) and fills["06"] == maps._hex(cmap(1.0))
    assert fills["48"] == maps._hex(cmap(0.5))
    assert fills["36"] == maps.NO_DATA_COLOUR  # New York has no value
    assert "T &amp; &lt;x&gt;" in svg and svg.count('class="highlight"') == 1


def test_msa_map_colours_member_counties():
    members = pd.DataFrame(
        {
            "region_type": "msa",
            "region_id": ["31080", "31080"],
            "member_type": "county",
            "member_id": ["06037", "06059"],
        }
    )
    svg = maps.choropleth_svg(pd.Series({"31080": 2.0}), "msa", members=members)
    coloured = [
        i
        for i, f in re.findall(r'data-id="(\d+)" fill="(#[0-9a-f]{6})"', svg)
        if f != maps.NO_DATA_COLOUR
    ]
    assert sorted(coloured) == ["06037", "06059"]
    with pytest.raises(ParameterError, match="members"):
        maps.choropleth_svg(pd.Series({"31080": 2.0}), "msa")


def test_bad_region_type_names_the_allowed_ones():
    with pytest.raises(ParameterError, match="economic_area"):
        maps.choropleth_svg(pd.Series({"01": 1.0}), "province")
