"""Census Bureau CBP API client (https://api.census.gov/data/{year}/cbp), cached.

Owns the variable names per NAICS vintage (``NAICS2017`` 2017 on, ``NAICS2012`` 2012-2016,
``NAICS2007`` 2008-2011, ``NAICS2002`` 2003-2007, ``NAICS1997`` 1998-2002), the geography
clauses (``us``, ``state``, ``county``, ``msa``) and the flag variables (``EMP_F`` size-class
flag before 2017, ``EMP_N_F`` noise flag from 2017). Rows are restricted to all legal forms
and all size classes (``LFO=001``, ``EMPSZES=001``) where the vintage has those variables.
Responses go through :class:`clusteratlas.data.fetch.Fetcher` (cache, retries, offline
mode); an API key is read from ``CENSUS_API_KEY`` when set and never cached.
"""

from __future__ import annotations

import os
from urllib.parse import quote

import pandas as pd

from clusteratlas.data.cbp import FIRST_YEAR, LAST_YEAR, api_table_to_counts
from clusteratlas.data.clusters import census_naics_vintage
from clusteratlas.data.fetch import Fetcher
from clusteratlas.errors import DataUnavailableError, ParameterError

API_ROOT = "https://api.census.gov/data"
GEOGRAPHIES = ("us", "state", "county", "msa")
_GEO_CLAUSE = {
    "us": "us:*",
    "state": "state:*",
    "county": "county:*",
    "msa": "metropolitan statistical area/micropolitan statistical area:*",
}


def cbp_variables(year: int) -> list[str]:
    """Variables requested for CBP ``year`` (the NAICS variable depends on the vintage)."""
    vintage = census_naics_vintage(year)
    flag = "EMP_N_F" if year >= 2017 else "EMP_F"
    return [f"NAICS{vintage}", "ESTAB", "EMP", flag, "PAYANN", "PAYQTR1"]


def cbp_predicates(year: int) -> dict[str, str]:
    """Row filters: all size classes, and all legal forms where the vintage has LFO."""
    predicates = {"EMPSZES": "001"}
    if year >= 2017:
        predicates["LFO"] = "001"
    return predicates


def cbp_url(
    year: int,
    geo: str = "state",
    *,
    state: str | None = None,
    root: str = API_ROOT,
    naics: str | None = None,
) -> str:
    """The API URL for CBP ``year`` at geography ``geo`` (``state`` narrows counties; ``naics``
    keeps one code, e.g. ``"00"`` for the all-industries totals)."""
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise ParameterError(
            "year",
            f"{year} is outside the supported CBP years",
            allowed=f"{FIRST_YEAR}-{LAST_YEAR}",
        )
    if geo not in GEOGRAPHIES:
        raise ParameterError(
            "geo", f"{geo!r} is not a CBP API geography", allowed=", ".join(GEOGRAPHIES)
        )
    parts = [
        f"get={','.join(cbp_variables(int(year)))}",
        f"for={quote(_GEO_CLAUSE[geo], safe=':*/')}",
    ]
    if state is not None:
        if geo != "county":
            raise ParameterError("state", "only narrows county requests", allowed="geo='county'")
        parts.append(f"in=state:{str(state).zfill(2)}")
    parts += [f"{k}={v}" for k, v in cbp_predicates(int(year)).items()]
    if naics is not None:
        parts.append(f"NAICS{census_naics_vintage(int(year))}={naics}")
    return f"{root}/{int(year)}/cbp?" + "&".join(parts)


def fetch_cbp(
    year: int,
    geo: str = "state",
    *,
    state: str | None = None,
    fetcher: Fetcher | None = None,
    root: str | None = None,
    refresh: bool = False,
    include_totals: bool = False,
    naics: str | None = None,
    parents: bool = False,
) -> pd.DataFrame:
    """CBP ``year`` from the API as :data:`schema.INDUSTRY_COUNTS` (6-digit NAICS rows, plus
    the all-industries rows as ``naics == "total"`` with ``include_totals``).

    ``naics`` asks for one code only: ``fetch_cbp(2022, naics="00", include_totals=True)``
    is the state totals (one small answer instead of every industry). ``parents`` keeps the
    2- to 5-digit industry lines of the answer as well (the national 4-digit lines that
    identify withheld national cells, :mod:`clusteratlas.data.suppression`).

    Cached on disk; offline (``CLUSTERATLAS_OFFLINE=1``) reads only the cache. ``root``
    defaults to ``CLUSTERATLAS_CENSUS_API`` (a mirror) or the Census API.
    """
    root = root or os.environ.get("CLUSTERATLAS_CENSUS_API") or API_ROOT
    fetcher = fetcher or Fetcher()
    url = cbp_url(year, geo, state=state, root=root, naics=naics)
    key = os.environ.get("CENSUS_API_KEY")
    if key:
        url += f"&key={key}"
    rows = fetcher.get_json(url, refresh=refresh)
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], list):
        raise DataUnavailableError(
            f"unexpected API answer for {cbp_url(year, geo, state=state, root=root, naics=naics)}"
        )
    frame = pd.DataFrame(rows[1:], columns=[str(c) for c in rows[0]], dtype="string").fillna("")
    # a predicate on a variable also in get= comes back as a second column of the same name
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return api_table_to_counts(
        frame.astype(object),
        year=int(year),
        path=cbp_url(year, geo, state=state, root=root, naics=naics),
        source="cbp_api",
        include_totals=include_totals,
        parents=parents,
    )
