"""The shipped US boundary geometry: states, counties and the nation as SVG paths, and their names.

Owns the boundary file ``geometry/us-counties-albers-10m.topo.json.gz`` (a verbatim gzip of
us-atlas 3.0.1 ``counties-albers-10m.json``: Census cartographic boundaries 2017, already
projected with d3.geoAlbersUsa onto a 975 x 610 viewport, see ``geometry/README.md``), its
small TopoJSON decoder (:func:`shapes`), the county and state names it carries
(:func:`county_names`) and the region types a map can show (:data:`MAP_REGION_TYPES`: MSAs and
economic areas are drawn through their member counties). Rendering the shapes is
:mod:`clusteratlas.report.maps`; the synthetic demo takes its county ids and names from here.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.errors import ParameterError

GEOMETRY_FILE = Path(__file__).with_name("geometry") / "us-counties-albers-10m.topo.json.gz"
#: region types a choropleth can show (MSAs and economic areas through their member counties)
MAP_REGION_TYPES = ("state", "county", "msa", "economic_area")
#: the viewport the shipped geometry is projected onto
VIEW_WIDTH, VIEW_HEIGHT = 975, 610


@lru_cache(maxsize=1)
def _topology() -> dict:
    with gzip.open(GEOMETRY_FILE, "rt", encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _decoded_arcs() -> list[np.ndarray]:
    """Arcs in viewport coordinates: TopoJSON arcs are delta-encoded integers (quantized)."""
    topo = _topology()
    scale = np.asarray(topo["transform"]["scale"], dtype=float)
    translate = np.asarray(topo["transform"]["translate"], dtype=float)
    return [
        np.cumsum(np.asarray(arc, dtype=float), axis=0) * scale + translate for arc in topo["arcs"]
    ]


def _ring(indices: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """Concatenate a ring's arcs (``~i`` = arc i reversed), dropping each shared start point."""
    parts = []
    for k, index in enumerate(indices):
        arc = arcs[~index][::-1] if index < 0 else arcs[index]
        parts.append(arc if k == 0 else arc[1:])
    return np.concatenate(parts)


def _path_data(geometry: dict, arcs: list[np.ndarray]) -> str:
    if geometry["type"] == "Polygon":
        polygons = [geometry["arcs"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["arcs"]
    else:  # null geometries carry no shape
        return ""
    pieces = []
    for polygon in polygons:
        for ring in polygon:
            points = _ring(ring, arcs)
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            pieces.append(f"M{coords}Z")
    return "".join(pieces)


@lru_cache(maxsize=4)
def shapes(layer: str) -> pd.DataFrame:
    """One row per shape of ``layer`` ("states", "counties", "nation"): id, name, SVG path ``d``.

    Ids are FIPS codes: two digits for states, five for counties.
    """
    topo = _topology()
    if layer not in topo["objects"]:
        raise ParameterError(
            "layer", f"unknown layer {layer!r}", allowed=", ".join(topo["objects"])
        )
    arcs = _decoded_arcs()
    rows = [
        {
            "id": str(g.get("id", "US")),
            "name": (g.get("properties") or {}).get("name", ""),
            "d": _path_data(g, arcs),
        }
        for g in topo["objects"][layer]["geometries"]
    ]
    return pd.DataFrame(rows)


def county_names() -> pd.Series:
    """County name by five-digit FIPS, with the state name (from the shipped geometry)."""
    counties = shapes("counties")
    states = shapes("states").set_index("id")["name"]
    state = counties["id"].str[:2].map(states).fillna("")
    return pd.Series(
        (counties["name"] + ", " + state).to_numpy(), index=counties["id"].to_numpy(), name="name"
    )
