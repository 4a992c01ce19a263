"""What the publishers offer for a study's years and region level, and getting it (``run --fetch``).

Owns the fetch plan of the main job: :func:`plan` lists, for a region type and years, every
request to make (:class:`Request`) and what no publisher offers at that level
(``FetchPlan.not_possible``); :func:`fetch_plan` makes the requests through the shared cached
:class:`~clusteratlas.data.fetch.Fetcher` and returns canonical tables plus one provenance
row per input (:class:`Fetched`). What is asked, per year:

=====================  ==========================================================================
CBP, region x NAICS     Census CBP API (:func:`clusteratlas.data.census_api.fetch_cbp`), NAICS
                        variable of the year's vintage; state / msa: one request, county and
                        economic area: one per state (``--states`` narrows them). The
                        all-industries row of the same answer gives CBP employment.
CBP, nation x NAICS     the same API at ``us:*`` (the LQ denominators, the national benchmark)
BEA GDP                 SAGDP2N (state) or CAGDP2 (county, msa; economic areas sum counties),
                        LineCode 1 (gdp) and 12 (mfg_gdp): the BEA API when ``BEA_API_KEY`` is
                        set, else BEA's public zip of the table (no key needed)
QCEW employment         BLS QCEW open data, annual averages of all industries, total covered
                        (``{root}/{year}/a/industry/10.csv``), as ``employment_qcew``
exports, imports        Census international trade API, state level only
=====================  ==========================================================================

Failures never stop the rest: a request that fails (HTTP error after the retries, an empty
answer, an answer whose columns changed) becomes a provenance row with status ``partial`` or
``not possible`` and the reason; its URL and the cache path to save a hand download at are in
the message (:class:`~clusteratlas.data.fetch.Fetcher`). An answer that cannot be parsed is
removed from the cache, so nothing half-usable is kept. API keys (``CENSUS_API_KEY``,
``BEA_API_KEY``) come from the environment and never appear in a URL, source or reason here.
Roots can be pointed at mirrors: ``CLUSTERATLAS_CENSUS_API``, ``CLUSTERATLAS_BEA_API``,
``CLUSTERATLAS_BEA_FILES``, ``CLUSTERATLAS_QCEW_API``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd

from clusteratlas.data import guard
from clusteratlas.data.bea import fetch_bea_gdp, read_gdp_csv
from clusteratlas.data.cbp import FIRST_YEAR, LAST_YEAR
from clusteratlas.data.census_api import API_ROOT, cbp_url, fetch_cbp
from clusteratlas.data.fetch import EmptyAnswerError, Fetcher
from clusteratlas.data.geo import STATE_POSTAL_TO_FIPS
from clusteratlas.data.inputs import msa_gdp_rows
from clusteratlas.data.laus import read_qcew_annual_singlefile
from clusteratlas.data.trade import fetch_state_trade
from clusteratlas.errors import (
    ClusterAtlasError,
    DataUnavailableError,
    ParameterError,
    SuppressedDataWarning,
    expected_warnings,
)

BEA_API_ROOT = "https://apps.bea.gov/api/data"
BEA_FILES_ROOT = "https://apps.bea.gov/regional/zip"
QCEW_ROOT = "https://data.bls.gov/cew/data/api"
#: region types the main job can fetch
FETCH_REGION_TYPES = ("state", "county", "msa", "economic_area")
#: every state + DC, the geography of county requests
ALL_STATES = tuple(sorted(set(STATE_POSTAL_TO_FIPS.values()) - {"72"}))
#: BEA table, GeoFips selector and zip member of each region type (economic areas: counties)
BEA_TABLES = {
    "state": ("SAGDP2N", "STATE", "SAGDP.zip", "SAGDP2N__ALL_AREAS_*.csv"),
    "county": ("CAGDP2", "COUNTY", "CAGDP2.zip", "CAGDP2__ALL_AREAS_*.csv"),
    "economic_area": ("CAGDP2", "COUNTY", "CAGDP2.zip", "CAGDP2__ALL_AREAS_*.csv"),
    "msa": ("CAGDP2", "MSA", "CAGDP2.zip", "CAGDP2_MSA_*.csv"),
}
PROVENANCE_COLUMNS = ["input", "source", "years", "region_level", "status", "reason"]


def year_span(years: Iterable[int]) -> str:
    """``[2015, 2016, 2017, 2019]`` -> ``"2015-2017, 2019"`` (empty -> "")."""
    years = sorted({int(y) for y in years})
    parts, start = [], None
    for i, year in enumerate(years):
        start = year if start is None else start
        if i + 1 == len(years) or years[i + 1] != year + 1:
            parts.append(str(year) if start == year else f"{start}-{year}")
            start = None
    return ", ".join(parts)


@dataclass(frozen=True)
class Request:
    """One request to a publisher: what it is for, its public URL (no key) and its reader."""

    group: str  # the input it serves (one provenance row per group)
    label: str  # progress label, e.g. "CBP 2019 county, state 01"
    url: str  # public URL (credentials are added by the reader, from the environment)
    year: int | None
    get: Callable[[Fetcher], pd.DataFrame]


@dataclass(frozen=True)
class Group:
    """An input of the plan, as the provenance row names it."""

    input: str
    source: str
    region_level: str
    table: str  # "counts" or "outcomes"


@dataclass
class FetchPlan:
    """Every request for one region type and years, and what cannot be fetched at that level."""

    region_type: str
    years: tuple[int, ...]
    states: tuple[str, ...]
    groups: dict[str, Group]
    requests: list[Request]
    not_possible: list[dict] = field(default_factory=list)

    def describe(self) -> dict:
        """What identifies the plan (the stage cache key of a fetch run)."""
        return {
            "region_type": self.region_type,
            "years": list(self.years),
            "states": list(self.states),
            "urls": [r.url for r in self.requests],
        }


@dataclass
class Fetched:
    """What a plan produced: region and national counts (INDUSTRY_COUNTS, totals as
    ``naics == "total"``), outcomes (OUTCOMES), provenance rows and notes."""

    counts: pd.DataFrame
    outcomes: pd.DataFrame
    provenance: pd.DataFrame
    notes: list[str]


def _cbp_get(
    year: int, geo: str, state: str | None, root: str
) -> Callable[[Fetcher], pd.DataFrame]:
    def get(fetcher: Fetcher) -> pd.DataFrame:
        try:
            # the nation's answer holds every NAICS line: its 2- to 5-digit lines are what
            # withheld national 6-digit cells are derived from (USCM's rule)
            return fetch_cbp(
                year,
                geo,
                state=state,
                fetcher=fetcher,
                root=root,
                include_totals=True,
                parents=geo == "us",
            )
        except ClusterAtlasError:
            # a bad answer (changed columns, a wrong vintage) must not be served from the cache
            fetcher.cache_path(cbp_url(year, geo, state=state, root=root)).unlink(missing_ok=True)
            raise

    return get


def _bea_get(region_type: str, line: int, outcome: str, years: Sequence[int], roots: dict):
    table, geo, archive, member = BEA_TABLES[region_type]

    def from_api(fetcher: Fetcher) -> pd.DataFrame:
        # suppressed BEA cells ((D)/(NA)) are left out, as by the file reader
        with expected_warnings(SuppressedDataWarning):
            frame = fetch_bea_gdp(
                list(years),
                geo=geo,
                table=table,
                line_code=line,
                outcome=outcome,
                base_url=roots["bea_api"],
                fetcher=fetcher,
            )
        frame = msa_gdp_rows(frame) if region_type == "msa" else frame
        return frame.loc[frame["year"].isin(list(years))]

    def from_zip(fetcher: Fetcher) -> pd.DataFrame:
        url = f"{roots['bea_files']}/{archive}"
        path = fetcher.fetch(url)
        try:
            frame = _gdp_from_zip(path, member, line, outcome)
        except ClusterAtlasError:
            path.unlink(missing_ok=True)  # not the BEA table: ask again next time
            raise
        frame = msa_gdp_rows(frame) if region_type == "msa" else frame
        return frame.loc[frame["year"].isin(list(years))]

    return from_api if os.environ.get("BEA_API_KEY") else from_zip


def _gdp_from_zip(path: Path, pattern: str, line: int, outcome: str) -> pd.DataFrame:
    """The rows of LineCode ``line`` of the member matching ``pattern`` in a BEA zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if fnmatch(i.filename, pattern)]
            if not members:
                raise DataUnavailableError(
                    f"{path.name} holds no {pattern} (members: "
                    f"{', '.join(i.filename for i in archive.infolist()[:8])})"
                )
            info = members[0]
            if info.file_size > 4 * guard.GiB:
                raise DataUnavailableError(f"{info.filename} is implausibly large")
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / Path(info.filename).name
                with archive.open(info) as source, open(target, "wb") as sink:
                    while chunk := source.read(1 << 20):
                        sink.write(chunk)
                # suppressed cells: left out and listed in frame.attrs["suppressed"]
                with expected_warnings(SuppressedDataWarning):
                    frame = read_gdp_csv(target, lines={line: outcome})
    except zipfile.BadZipFile as error:
        raise DataUnavailableError(f"{path.name} is not a zip archive ({error})") from None
    return frame


def _qcew_get(year: int, root: str) -> Callable[[Fetcher], pd.DataFrame]:
    url = f"{root}/{year}/a/industry/10.csv"

    def get(fetcher: Fetcher) -> pd.DataFrame:
        path = fetcher.fetch(url)
        try:
            # undisclosed QCEW rows are left out by the reader
            with expected_warnings(SuppressedDataWarning):
                return read_qcew_annual_singlefile(path, outcome="employment_qcew")
        except ClusterAtlasError:
            path.unlink(missing_ok=True)
            raise

    return get


def _trade_get(flow: str, year: int, root: str) -> Callable[[Fetcher], pd.DataFrame]:
    def get(fetcher: Fetcher) -> pd.DataFrame:
        return fetch_state_trade(flow, [year], fetcher=fetcher, root=root)

    return get


def _roots() -> dict[str, str]:
    return {
        "census": (os.environ.get("CLUSTERATLAS_CENSUS_API") or API_ROOT).rstrip("/"),
        "bea_api": (os.environ.get("CLUSTERATLAS_BEA_API") or BEA_API_ROOT).rstrip("/"),
        "bea_files": (os.environ.get("CLUSTERATLAS_BEA_FILES") or BEA_FILES_ROOT).rstrip("/"),
        "qcew": (os.environ.get("CLUSTERATLAS_QCEW_API") or QCEW_ROOT).rstrip("/"),
    }


def plan(region_type: str, years: Iterable[int], states: Iterable[str] | None = None) -> FetchPlan:
    """The requests for a ``region_type`` study over ``years`` (``states`` narrows county and
    economic-area requests; default every state and DC)."""
    if region_type not in FETCH_REGION_TYPES:
        raise ParameterError(
            "--region-type",
            f"cannot fetch {region_type!r} regions",
            allowed=", ".join(FETCH_REGION_TYPES),
        )
    years = tuple(sorted({int(y) for y in years}))
    if not years:
        raise ParameterError("--years", "no year to fetch", allowed="e.g. 2015-2022")
    states = tuple(sorted({str(s).zfill(2) for s in states})) if states else ALL_STATES
    unknown = [s for s in states if s not in ALL_STATES]
    if unknown:
        raise ParameterError(
            "--states", f"unknown state FIPS code(s) {', '.join(unknown)}", allowed="01 ... 56"
        )
    roots = _roots()
    geo = {"state": "state", "msa": "msa"}.get(region_type, "county")
    cbp_years = [y for y in years if FIRST_YEAR <= y <= LAST_YEAR]
    groups = {
        "cbp_region": Group(
            f"County Business Patterns, {geo} x 6-digit NAICS (and all-industries totals)",
            "Census CBP API",
            geo,
            "counts",
        ),
        "cbp_nation": Group(
            "County Business Patterns, nation x NAICS (6-digit: LQ denominators; 2- to 5-digit "
            "lines: parents of withheld cells)",
            "Census CBP API",
            "national",
            "counts",
        ),
        "bea_gdp": Group(
            f"GDP and manufacturing GDP ({BEA_TABLES[region_type][0]})",
            "BEA API" if os.environ.get("BEA_API_KEY") else "BEA regional zip files",
            "county" if region_type == "economic_area" else region_type,
            "outcomes",
        ),
        "qcew": Group(
            "QCEW annual average employment, all industries, total covered",
            "BLS QCEW open data",
            "county" if region_type == "economic_area" else region_type,
            "outcomes",
        ),
    }
    requests: list[Request] = []
    for year in cbp_years:
        if geo == "county":
            for state in states:
                requests.append(
                    Request(
                        "cbp_region",
                        f"CBP {year} counties of state {state}",
                        cbp_url(year, "county", state=state, root=roots["census"]),
                        year,
                        _cbp_get(year, "county", state, roots["census"]),
                    )
                )
        else:
            requests.append(
                Request(
                    "cbp_region",
                    f"CBP {year} {geo}",
                    cbp_url(year, geo, root=roots["census"]),
                    year,
                    _cbp_get(year, geo, None, roots["census"]),
                )
            )
        requests.append(
            Request(
                "cbp_nation",
                f"CBP {year} nation",
                cbp_url(year, "us", root=roots["census"]),
                year,
                _cbp_get(year, "us", None, roots["census"]),
            )
        )
    table = BEA_TABLES[region_type]
    for line, outcome in ((1, "gdp"), (12, "mfg_gdp")):
        requests.append(
            Request(
                "bea_gdp",
                f"BEA {table[0]} {outcome}",
                f"{roots['bea_api']}?TableName={table[0]}&LineCode={line}&GeoFips={table[1]}"
                if os.environ.get("BEA_API_KEY")
                else f"{roots['bea_files']}/{table[2]}",
                None,
                _bea_get(region_type, line, outcome, years, roots),
            )
        )
    for year in years:
        requests.append(
            Request(
                "qcew",
                f"QCEW {year}",
                f"{roots['qcew']}/{year}/a/industry/10.csv",
                year,
                _qcew_get(year, roots["qcew"]),
            )
        )
    not_possible = [
        {
            "input": f"County Business Patterns {year}",
            "source": "Census CBP API",
            "years": str(year),
            "region_level": geo,
            "status": "not possible",
            "reason": f"clusteratlas reads CBP {FIRST_YEAR}-{LAST_YEAR}",
        }
        for year in years
        if year not in cbp_years
    ]
    if region_type == "state":
        for flow in ("exports", "imports"):
            groups[f"trade_{flow}"] = Group(
                f"State {flow} (all commodities, all partner countries)",
                "Census international trade API",
                "state",
                "outcomes",
            )
            for year in years:
                requests.append(
                    Request(
                        f"trade_{flow}",
                        f"{flow} {year}",
                        f"{roots['census']}/timeseries/intltrade/{flow}/statenaics?time={year}-12",
                        year,
                        _trade_get(flow, year, roots["census"]),
                    )
                )
    else:
        not_possible.append(
            {
                "input": "Exports and imports",
                "source": "Census international trade API",
                "years": year_span(years),
                "region_level": region_type,
                "status": "not possible",
                "reason": "the Census trade API publishes exports and imports by state only",
            }
        )
    return FetchPlan(region_type, years, states, groups, requests, not_possible)


def fetch_plan(
    fetch: FetchPlan, fetcher: Fetcher, progress: Callable[[str], None] | None = None
) -> Fetched:
    """Make every request of ``fetch``; failures become provenance rows, never a stop.

    ``progress(label)`` is called after each request (the caller's progress bar).
    """
    results: dict[str, list[pd.DataFrame]] = {name: [] for name in fetch.groups}
    failures: dict[str, list[tuple[Request, str]]] = {name: [] for name in fetch.groups}
    done: dict[str, list[Request]] = {name: [] for name in fetch.groups}
    for request in fetch.requests:
        try:
            frame = request.get(fetcher)
        except EmptyAnswerError as error:
            failures[request.group].append((request, f"empty answer: {error}"))
        except ClusterAtlasError as error:
            failures[request.group].append((request, fetcher.redact(str(error), request.url)))
        else:
            if frame.empty:
                failures[request.group].append((request, "the answer had no usable rows"))
            else:
                results[request.group].append(frame)
                done[request.group].append(request)
        if progress is not None:
            progress(request.label)
    rows = list(fetch.not_possible)
    notes: list[str] = []
    for name, group in fetch.groups.items():
        got = results[name]
        failed = failures[name]
        years = sorted({int(y) for f in got for y in f["year"].unique()})
        status = "used" if not failed else ("partial" if got else "not possible")
        reason = ""
        if failed:
            shown = "; ".join(f"{r.label}: {why}" for r, why in failed[:3])
            more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
            reason = f"{len(failed)} of {len(failed) + len(got)} requests failed: {shown}{more}"
            notes.append(f"{group.input}: {reason}")
        rows.append(
            {
                "input": group.input,
                "source": group.source,
                "years": year_span(years),
                "region_level": group.region_level,
                "status": status,
                "reason": reason,
            }
        )
    counts = [f for name, g in fetch.groups.items() if g.table == "counts" for f in results[name]]
    outcomes = [
        f for name, g in fetch.groups.items() if g.table == "outcomes" for f in results[name]
    ]
    return Fetched(
        counts=pd.concat(counts, ignore_index=True) if counts else pd.DataFrame(),
        outcomes=pd.concat(outcomes, ignore_index=True) if outcomes else pd.DataFrame(),
        provenance=pd.DataFrame(rows, columns=PROVENANCE_COLUMNS),
        notes=notes,
    )
