"""Recorded publisher answers for ``clusteratlas run --fetch`` against the local replay server.

Every answer is in the publisher's exact format and, wherever ../shared/data holds the data,
built from the real file:

============================  =====================================================  ==============
answer                        format                                                 values
============================  =====================================================  ==============
CBP API, nation x NAICS        JSON array, header = get variables of the year's       REAL 2015-2021
                               vintage, predicates, ``us``                            (setzler national
                                                                                      6-digit + totals);
                                                                                      2022 SYNTHETIC
CBP API, state x NAICS         same, geography ``state``                              "00" rows REAL
                                                                                      (setzler state
                                                                                      totals 2015-2021);
                                                                                      Alabama 2021
                                                                                      6-digit rows REAL
                                                                                      (ModelEarth CBP
                                                                                      API file); other
                                                                                      6-digit rows and
                                                                                      2022 SYNTHETIC
CBP API, county x NAICS        same, geography ``state, county`` (one per state)      "00" rows REAL
                                                                                      (setzler county
                                                                                      totals 2015-2021);
                                                                                      6-digit rows and
                                                                                      2022 SYNTHETIC
BEA regional zips              SAGDP.zip / CAGDP2.zip with the ALL_AREAS CSVs         REAL (SAGDP2N,
                                                                                      CAGDP2 county and
                                                                                      MSA files)
BEA API GetData                JSON ``{"BEAAPI": {"Results": {"Data": [...]}}}``      REAL (SAGDP2N)
QCEW open data                 CSV of ``{year}/a/industry/10.csv``                    SYNTHETIC
trade API statenaics           JSON array (tests/census_replay.py)                    SYNTHETIC
============================  =====================================================  ==============

SYNTHETIC values are labelled so here and in every test that uses them; tests compare only
the REAL figures with independent computations from the same files.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from census_replay import Replay, add_trade_routes

from clusteratlas.data.census_api import cbp_predicates, cbp_variables

#: the share of a year's national growth applied to the SYNTHETIC 2022 rows
GROWTH_2022 = 1.03
#: NAICS codes kept in the SYNTHETIC county rows (every cluster keeps some codes)
COUNTY_CODES_PER_CLUSTER = 3


# -- the real files -------------------------------------------------------------------------------
@cache
def national_industry(shared: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared / "cbp" / "setzler_CBP_national_industry6.csv", dtype={"naics": str})
    return frame


@cache
def state_totals(shared: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared / "cbp" / "setzler_CBP_state_total.csv")
    frame["state"] = frame["state_fips"].astype(int).astype(str).str.zfill(2)
    return frame


@cache
def county_totals(shared: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared / "cbp" / "setzler_CBP_county_total.csv.gz")
    frame["state"] = frame["state_fips"].astype(int).astype(str).str.zfill(2)
    frame["county"] = frame["county_fips"].astype(int).astype(str).str.zfill(3)
    return frame


@cache
def national_totals(shared: Path) -> pd.DataFrame:
    return pd.read_csv(shared / "cbp" / "setzler_CBP_national_total.csv")


@cache
def alabama_2021(shared: Path) -> pd.DataFrame:
    return pd.read_csv(
        shared / "cbp" / "modelearth_cbpapi_state_naics6_AL_2021.csv", dtype={"Naics": str}
    )


@cache
def cluster_of(shared: Path, vintage: int) -> pd.Series:
    """NAICS -> USCM cluster code of a vintage, read straight from the definition CSVs."""
    if vintage == 2012:
        frame = pd.read_csv(shared / "clusters" / "cluster_naics2012_definitions.csv", dtype=str)
        return frame.set_index("naics2012")["cluster_code"]
    frame = pd.read_csv(shared / "clusters" / "cluster_naics2017_crosswalk_derived.csv", dtype=str)
    frame = frame.loc[frame["cluster_code"].notna() & (frame["cluster_code"] != "")]
    return frame.set_index("naics2017")["cluster_code"]


def vintage(year: int) -> int:
    return 2012 if year < 2017 else 2017


# -- CBP API answers --------------------------------------------------------------------------------
def _header(year: int, geography: list[str]) -> list[str]:
    return [*cbp_variables(year), *cbp_predicates(year), *geography]


def _row(
    year: int, naics: str, est: float, emp: float, flag: str, payann: str, qp1: str, geo: list[str]
) -> list[str]:
    predicates = list(cbp_predicates(year).values())
    return [naics, str(int(round(est))), str(int(round(emp))), flag, payann, qp1, *predicates, *geo]


def _flag(year: int) -> str:
    return "G" if year >= 2017 else ""


def national_answer(shared: Path, year: int) -> list[list[str]]:
    """REAL nation x 6-digit NAICS (setzler) for 2015-2021; 2022 SYNTHETIC (2021 x 1.03)."""
    source_year = min(year, 2021)
    scale = GROWTH_2022 if year == 2022 else 1.0
    rows = [_header(year, ["us"])]
    total = national_totals(shared).set_index("year").loc[source_year]
    rows.append(
        _row(
            year,
            "00",
            total["establishments"] * scale,
            total["employment_march"] * scale,
            _flag(year),
            "",
            str(int(round(total["payroll_quarter1"] * scale / 1000))),
            ["1"],
        )
    )
    frame = national_industry(shared)
    for r in frame.loc[frame["year"] == source_year].itertuples():
        withheld = pd.isna(r.employment_march)
        rows.append(
            _row(
                year,
                r.naics,
                r.establishments * scale,
                0 if withheld else r.employment_march * scale,
                "D" if withheld else _flag(year),
                "",
                str(int(round(r.payroll_quarter1 * scale / 1000)))
                if pd.notna(r.payroll_quarter1)
                else "",
                ["1"],
            )
        )
    rows.append(
        _row(year, "31-33", 1, 12_000_000, _flag(year), "", "", ["1"])
    )  # a sector row: dropped
    return rows


def _synthetic_shares(
    rng: np.random.Generator, ids: list[str], clusters: list[str]
) -> pd.DataFrame:
    """SYNTHETIC cluster specialisation: region x cluster multipliers around 1 (lognormal,
    a few strong specialisations)."""
    mult = np.exp(rng.normal(0.0, 0.7, (len(ids), len(clusters))))
    special = rng.random((len(ids), len(clusters))) < 0.05
    mult[special] *= 5.0
    return pd.DataFrame(mult, index=ids, columns=clusters)


def _regional_rows(
    shared: Path,
    year: int,
    regions: pd.DataFrame,
    mult: pd.DataFrame,
    codes: set[str] | None,
    covid: pd.Series,
) -> pd.DataFrame:
    """SYNTHETIC region x 6-digit rows: national employment of the code x the region's share of
    national jobs x its cluster multiplier x a per-cluster COVID path."""
    source_year = min(year, 2021)
    scale = GROWTH_2022 if year == 2022 else 1.0
    national = national_industry(shared)
    national = national.loc[
        (national["year"] == source_year) & national["employment_march"].notna()
    ]
    clusters = cluster_of(shared, vintage(year))
    national = national.assign(cluster=national["naics"].map(clusters)).dropna(subset=["cluster"])
    if codes is not None:
        national = national.loc[national["naics"].isin(codes)]
    total = float(national_totals(shared).set_index("year").loc[source_year, "employment_march"])
    out = []
    for region in regions.itertuples():
        share = region.emp / total
        m = mult.loc[region.id].reindex(national["cluster"]).to_numpy()
        path = (
            covid.reindex(national["cluster"]).fillna(1.0).to_numpy()
            if year in (2021, 2022)
            else 1.0
        )
        emp = np.round(national["employment_march"].to_numpy() * share * m * path * scale)
        est = np.maximum(1, np.round(national["establishments"].to_numpy() * share * scale))
        keep = emp > 0
        out.append(
            pd.DataFrame(
                {
                    "id": region.id,
                    "naics": national["naics"].to_numpy()[keep],
                    "emp": emp[keep],
                    "est": est[keep],
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def state_answer(shared: Path, year: int, seed: int = 7) -> list[list[str]]:
    """ "00" rows REAL (setzler state totals; 2022 SYNTHETIC); Alabama 2021 6-digit rows REAL
    (ModelEarth's CBP API file); every other 6-digit row SYNTHETIC."""
    rng = np.random.default_rng(seed)
    totals = state_totals(shared)
    states = totals.loc[totals["year"] == min(year, 2021)]
    scale = GROWTH_2022 if year == 2022 else 1.0
    clusters = sorted(set(cluster_of(shared, 2012)) | set(cluster_of(shared, 2017)))
    mult = _synthetic_shares(rng, sorted(states["state"]), clusters)
    covid = pd.Series(np.exp(rng.normal(-0.05, 0.05, len(clusters))), index=clusters)
    regions = pd.DataFrame({"id": states["state"], "emp": states["employment_march"] * scale})
    rows = [_header(year, ["state"])]
    for r in states.itertuples():
        rows.append(
            _row(
                year,
                "00",
                r.establishments * scale,
                r.employment_march * scale,
                _flag(year),
                "",
                str(int(round(r.payroll_quarter1 * scale / 1000))),
                [r.state],
            )
        )
    synthetic = _regional_rows(shared, year, regions, mult, None, covid)
    if year == 2021:
        synthetic = synthetic.loc[synthetic["id"] != "01"]
        real = alabama_2021(shared)
        for r in real.itertuples():
            rows.append(
                _row(year, r.Naics, r.Establishments, r.Employees, "G", str(r.Payroll), "", ["01"])
            )
    for r in synthetic.itertuples():
        rows.append(_row(year, r.naics, r.est, r.emp, _flag(year), "", "", [r.id]))
    return rows


def county_answers(
    shared: Path, year: int, states: list[str], seed: int = 11
) -> dict[str, list[list[str]]]:
    """One answer per state: "00" rows REAL (setzler county totals 2015-2021; 2022 SYNTHETIC),
    6-digit rows SYNTHETIC on a subset of NAICS codes (a few per cluster)."""
    rng = np.random.default_rng(seed)
    counties = county_totals(shared)
    scale = GROWTH_2022 if year == 2022 else 1.0
    clusters = sorted(set(cluster_of(shared, 2012)) | set(cluster_of(shared, 2017)))
    both = sorted(set(cluster_of(shared, 2012).index) & set(cluster_of(shared, 2017).index))
    per_cluster = (
        pd.Series(both, index=both)
        .groupby(cluster_of(shared, 2017).reindex(both))
        .head(COUNTY_CODES_PER_CLUSTER)
    )
    codes = set(per_cluster)
    ids = counties.loc[counties["state"].isin(states), ["state", "county"]].drop_duplicates()
    ids = sorted(ids["state"] + ids["county"])
    mult = _synthetic_shares(rng, ids, clusters)
    covid = pd.Series(np.exp(rng.normal(-0.05, 0.05, len(clusters))), index=clusters)
    out = {}
    for state in states:
        mine = counties.loc[(counties["state"] == state) & (counties["year"] == min(year, 2021))]
        regions = pd.DataFrame(
            {"id": mine["state"] + mine["county"], "emp": mine["employment_march"] * scale}
        )
        rows = [_header(year, ["state", "county"])]
        for r in mine.itertuples():
            rows.append(
                _row(
                    year,
                    "00",
                    r.establishments * scale,
                    r.employment_march * scale,
                    _flag(year),
                    "",
                    str(int(round(r.payroll_quarter1 * scale / 1000))),
                    [r.state, r.county],
                )
            )
        for r in _regional_rows(shared, year, regions, mult, codes, covid).itertuples():
            rows.append(
                _row(year, r.naics, r.est, r.emp, _flag(year), "", "", [r.id[:2], r.id[2:]])
            )
        out[state] = rows
    return out


# -- BEA -------------------------------------------------------------------------------------------
def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@cache
def bea_zips(shared: Path) -> dict[str, bytes]:
    """REAL BEA files, zipped as BEA's regional download does."""
    state = gzip.decompress((shared / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz").read_bytes())
    county = gzip.decompress((shared / "bea" / "CAGDP2_county_2001_2021.csv.gz").read_bytes())
    msa = gzip.decompress((shared / "bea" / "CAGDP2_MSA_2001_2021.csv.gz").read_bytes())
    return {
        "SAGDP.zip": _zip(
            {
                "SAGDP1__ALL_AREAS_1997_2022.csv": b"GeoFIPS\n",
                "SAGDP2N__ALL_AREAS_1997_2022.csv": state,
            }
        ),
        "CAGDP2.zip": _zip(
            {"CAGDP2__ALL_AREAS_2001_2021.csv": county, "CAGDP2_MSA_2001_2021.csv": msa}
        ),
    }


def bea_api_answer(shared: Path, line: int) -> dict:
    """REAL SAGDP2N rows of one LineCode as a BEA API GetData answer."""
    frame = pd.read_csv(
        shared / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz",
        encoding="latin-1",
        dtype=str,
        skipinitialspace=True,
    )
    frame = frame.loc[pd.to_numeric(frame["LineCode"], errors="coerce") == line]
    data = []
    for r in frame.to_dict("records"):
        fips = r["GeoFIPS"].strip().strip('"').strip()
        for year in range(2005, 2023):
            value = str(r[str(year)]).strip()
            data.append(
                {
                    "Code": f"SAGDP2N-{line}",
                    "GeoFips": fips,
                    "GeoName": r["GeoName"],
                    "TimePeriod": str(year),
                    "CL_UNIT": "Millions of current dollars",
                    "UNIT_MULT": "6",
                    "DataValue": value
                    if not value.replace(".", "").isdigit()
                    else f"{float(value):,.1f}",
                }
            )
    return {
        "BEAAPI": {
            "Request": {"RequestParam": []},
            "Results": {
                "Statistic": "GDP",
                "UnitOfMeasure": "Millions of current dollars",
                "Data": data,
            },
        }
    }


# -- QCEW ------------------------------------------------------------------------------------------
QCEW_HEADER = (
    "area_fips,own_code,industry_code,agglvl_code,size_code,year,qtr,disclosure_code,"
    "annual_avg_estabs,annual_avg_emplvl,total_annual_wages"
)


def qcew_answer(shared: Path, year: int, states: list[str] | None = None) -> bytes:
    """SYNTHETIC QCEW annual averages: the real CBP totals x 1.08 (covered jobs exceed CBP's
    private count), for the nation, the states and the counties of ``states``."""
    source_year = min(year, 2021)
    lines = [QCEW_HEADER]
    nation = national_totals(shared).set_index("year").loc[source_year, "employment_march"]
    lines.append(f'"US000","0","10","10","0","{year}","A","","1","{int(nation * 1.08)}","1"')
    lines.append(f'"US000","5","10","11","0","{year}","A","","1","{int(nation)}","1"')
    st = state_totals(shared)
    for r in st.loc[st["year"] == source_year].itertuples():
        lines.append(
            f'"{r.state}000","0","10","50","0","{year}","A","","1","{int(r.employment_march * 1.08)}","1"'
        )
    co = county_totals(shared)
    co = co.loc[(co["year"] == source_year) & co["state"].isin(states or [])]
    for r in co.itertuples():
        lines.append(
            f'"{r.state}{r.county}","0","10","70","0","{year}","A","","1","{int(r.employment_march * 1.08)}","1"'
        )
    return ("\n".join(lines) + "\n").encode()


# -- the replay ------------------------------------------------------------------------------------
def add_publishers(
    replay: Replay,
    shared: Path,
    years: range,
    *,
    region_type: str = "state",
    states: list[str] | None = None,
    bea_api: bool = False,
) -> None:
    """Every answer a ``run --fetch`` of ``region_type`` over ``years`` asks for."""
    for year in years:
        replay.routes[f"/data/{year}/cbp?for=us:*"] = national_answer(shared, year)
        if region_type == "state":
            replay.routes[f"/data/{year}/cbp?for=state:*"] = state_answer(shared, year)
        else:
            for state, answer in county_answers(shared, year, states or []).items():
                replay.routes[f"/data/{year}/cbp?for=county:*&in=state:{state}"] = answer
        replay.raw[f"/qcew/{year}/a/industry/10.csv"] = qcew_answer(shared, year, states)
    for name, data in bea_zips(shared).items():
        replay.raw[f"/bea/{name}"] = data
    if bea_api:
        for line in (1, 12):
            replay.routes[f"/bea/api?TableName=SAGDP2N&LineCode={line}&GeoFips=STATE"] = (
                bea_api_answer(shared, line)
            )
    if region_type == "state":
        add_trade_routes(replay, years)


def environment(replay: Replay, cache: Path) -> dict[str, str]:
    """Environment pointing clusteratlas at the replay server and a fresh download cache."""
    return {
        "CLUSTERATLAS_CENSUS_API": f"{replay.url}/data",
        "CLUSTERATLAS_BEA_API": f"{replay.url}/bea/api",
        "CLUSTERATLAS_BEA_FILES": f"{replay.url}/bea",
        "CLUSTERATLAS_QCEW_API": f"{replay.url}/qcew",
        "CLUSTERATLAS_CACHE": str(cache),
        "CLUSTERATLAS_FETCH_BACKOFF": "0",
    }


def json_bytes(body: object) -> bytes:
    return json.dumps(body).encode()
