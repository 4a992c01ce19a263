"""Region names per level and turning what a user types (a name or an id) into a region id.

Owns :func:`region_names` (id -> name of every region of a level: states and counties from the
geometry shipped with the package, so offline; metro areas from the OMB CBSA delineation and
BEA economic areas from BEA's county list, read from the shared data folder or a given path)
and :func:`resolve_region`, which ``clusteratlas run --region`` uses.

Resolution, in order (the first rule that matches decides):

1. an id of the level (``26``; a state's FIPS may drop its leading zero: ``1`` -> ``01``);
2. a name equal to the query, ignoring case and surrounding spaces (``michigan``);
3. names that contain the query as whole words, ignoring case (``cook county`` -> Cook County,
   Illinois / Georgia / Minnesota; ``Detroit`` -> Detroit-Warren-Dearborn, MI).

County names compare without the words "County", "Parish", "Borough"... (:data:`COUNTY_WORDS`):
``Wayne County, Michigan`` and ``wayne, michigan`` both name 26163.

One match is the answer; several are an error listing each with its id; none is an error that
suggests the closest names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

from clusteratlas.errors import ParameterError

LEVELS = ("state", "county", "msa", "economic_area")


def region_names(region_type: str, path: str | Path | None = None) -> dict[str, str]:
    """Id -> name of every region of ``region_type``.

    ``path``: the CBSA delineation (msa) or BEA's economic-area county list (economic_area);
    default the shared data folder's copy. States and counties need no file.
    """
    if region_type == "state":
        from clusteratlas.data.shapes import shapes

        states = shapes("states")
        return dict(zip(states["id"].astype(str), states["name"].astype(str), strict=True))
    if region_type == "county":
        from clusteratlas.data.shapes import county_names

        names = county_names()
        return {str(k): str(v) for k, v in names.items()}
    if region_type in ("msa", "economic_area"):
        from clusteratlas.data import geo

        frame = geo.cbsa_regions(path) if region_type == "msa" else geo.ea_regions(path)
        return dict(
            zip(frame["region_id"].astype(str), frame["region_name"].astype(str), strict=True)
        )
    raise ParameterError("region_type", f"no names for {region_type!r}", allowed=", ".join(LEVELS))


#: Words a county's name may carry or not ("Wayne County, Michigan" is "Wayne, Michigan" in the
#: shipped geometry): dropped from both sides before comparing county names.
COUNTY_WORDS = re.compile(r"\b(county|parish|borough|census area|city and borough|municipality)\b")


def _fold(text: str, county: bool = False) -> str:
    text = str(text).casefold()
    if county:
        text = COUNTY_WORDS.sub(" ", text).replace(" ,", ",")
    return " ".join(text.split()).replace(" ,", ",")


def resolve_region(
    query: str, names: Mapping[str, str], region_type: str = "region", *, option: str = "--region"
) -> str:
    """The id of the one region ``query`` names (see the module doc for the rules).

    Raises :class:`ParameterError` (naming ``option``) when no region or several match.
    """
    text = str(query).strip()
    if not text:
        raise ParameterError(option, "empty region name", allowed="a region name or id")
    if text in names:
        return text
    if text.isdigit() and region_type == "state" and text.zfill(2) in names:
        return text.zfill(2)
    county = region_type == "county"
    folded = _fold(text, county)
    exact = [rid for rid, name in names.items() if _fold(name, county) == folded]
    if len(exact) == 1:
        return exact[0]
    words = re.compile(r"(?<![0-9a-z])" + re.escape(folded) + r"(?![0-9a-z])")
    hits = exact or [rid for rid, name in names.items() if words.search(_fold(name, county))]
    if len(hits) == 1:
        return hits[0]
    level = region_type.replace("_", " ")
    if hits:
        listed = "; ".join(f"{names[rid]} ({rid})" for rid in sorted(hits)[:30])
        more = f" and {len(hits) - 30} more" if len(hits) > 30 else ""
        raise ParameterError(
            option,
            f"{text!r} matches {len(hits)} {level} regions: {listed}{more}",
            allowed="one of their ids, or a longer name",
        )
    by_name = {_fold(name, county): rid for rid, name in names.items()}
    close = difflib.get_close_matches(folded, list(by_name), n=5, cutoff=0.6)
    suggestion = (
        "did you mean " + "; ".join(f"{names[by_name[c]]} ({by_name[c]})" for c in close)
        if close
        else f"a {level} name or id (e.g. {next(iter(names.values()), '?')})"
    )
    raise ParameterError(option, f"no {level} named {text!r}", allowed=suggestion)
