"""Outcome loaders (BEA, LAUS, QCEW, CBP totals, trade) against published figures.

Real files from ../shared/data are read in place; the QCEW, CAGDP2 and BEA API inputs are small
FORMAT FIXTURES written by the tests (no such real file is in shared/data), labelled synthetic.
"""

from __future__ import annotations

import csv
import gzip
import json
import threading
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from clusteratlas.data import bea, laus, trade
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import OUTCOMES

pytestmark = pytest.mark.realdata


def _value(frame, region_id, year, outcome):
    rows = frame[(frame.region_id == region_id) & (frame.year == year) & (frame.outcome == outcome)]
    assert len(rows) == 1, (region_id, year, outcome, len(rows))
    return float(rows.value.iloc[0])


# --------------------------------------------------------------------------------- BEA
@pytest.fixture(scope="module")
def sagdp(shared_data: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bea.read_gdp_csv(shared_data / "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz")


def test_bea_published_figures(sagdp):
    # PROVENANCE.md sanity checks (BEA release of March 31, 2023), in $ million
    assert _value(sagdp, "06", 2022, "gdp") == pytest.approx(3_598_102.7, abs=0.05)
    assert _value(sagdp, "US", 2022, "gdp") == pytest.approx(25_462_722, abs=0.5)
    assert _value(sagdp, "US", 2022, "mfg_gdp") == pytest.approx(2_793_651, abs=0.5)
    assert _value(sagdp, "48", 2022, "gdp") == pytest.approx(2_355_959.7, abs=0.05)
    assert list(sagdp.columns) == list(OUTCOMES)
    assert set(sagdp.unit) == {"USD_million"}


def test_bea_structure_states_and_suppression(sagdp):
    states = sagdp[(sagdp.region_type == "state") & (sagdp.outcome == "gdp") & (sagdp.year == 2022)]
    assert len(states) == 51  # 50 states + DC; BEA regions 91000-98000 dropped
    # the states sum to the nation less BEA's overseas adjustment (< 1%)
    us = _value(sagdp, "US", 2022, "gdp")
    assert 0.99 * us < states.value.sum() < us
    # (D) cells are left out and reported, not zero: DC and Hawaii manufacturing 2022
    assert set(sagdp.attrs["suppressed"]) == {("11", 2022, "mfg_gdp"), ("15", 2022, "mfg_gdp")}
    assert not (
        (sagdp.region_id == "11") & (sagdp.year == 2022) & (sagdp.outcome == "mfg_gdp")
    ).any()


CAGDP2_FIXTURE = (  # format fixture in the CAGDP2 download layout (values synthetic)
    "GeoFIPS,GeoName,Region,TableName,LineCode,IndustryClassification,Description,Unit,2019,2020\n"
    ' "01000","Alabama",5,CAGDP2,1,"...","All industry total ","Thousands of dollars",100,90\n'
    ' "01001","Autauga, AL",5,CAGDP2,1,"...","All industry total ","Thousands of dollars",60,55\n'
    ' "01001","Autauga, AL",5,CAGDP2,12,"31-33","  Manufacturing ","Thousands of dollars",(D),"(NA)"\n'
    ' "01003","Baldwin, AL",5,CAGDP2,1,"...","All industry total ","Thousands of dollars","1,040",35\n'
    '"Note: See the included footnote file."\n'
    '"U.S. Bureau of Economic Analysis"\n'
)


def test_cagdp_county_layout(tmp_path):
    path = tmp_path / "CAGDP2_AL.csv"
    path.write_text(CAGDP2_FIXTURE, encoding="latin-1")
    with pytest.warns(UserWarning, match="2 suppressed"):
        frame = bea.read_cagdp(path)
    assert _value(frame, "01001", 2020, "gdp") == 55
    assert _value(frame, "01003", 2019, "gdp") == 1040  # thousands separator
    assert _value(frame, "01", 2019, "gdp") == 100
    assert set(frame.region_type) == {"state", "county"}
    assert set(frame.unit) == {"USD_thousand"}


def test_bea_csv_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(InputError, match="GeoFIPS"):
        bea.read_gdp_csv(bad)
    worse = tmp_path / "worse.csv"
    worse.write_text(CAGDP2_FIXTURE.replace(",60,55", ",6O,55"), encoding="latin-1")
    with pytest.raises(InputError, match="line 3"):
        bea.read_gdp_csv(worse)


# BEA API answer in the documented GetData layout (values synthetic, a format fixture)
API_ANSWER = {
    "BEAAPI": {
        "Request": {"RequestParam": []},
        "Results": {
            "Statistic": "GDP in current dollars",
            "UnitOfMeasure": "Millions of current dollars",
            "Data": [
                {
                    "Code": "SAGDP2N-1",
                    "GeoFips": "00000",
                    "GeoName": "United States",
                    "TimePeriod": "2020",
                    "CL_UNIT": "Millions of current dollars",
                    "UNIT_MULT": "6",
                    "DataValue": "21,060,474",
                },
                {
                    "Code": "SAGDP2N-1",
                    "GeoFips": "06000",
                    "GeoName": "California",
                    "TimePeriod": "2020",
                    "CL_UNIT": "Millions of current dollars",
                    "UNIT_MULT": "6",
                    "DataValue": "3,020,173.4",
                },
                {
                    "Code": "SAGDP2N-1",
                    "GeoFips": "91000",
                    "GeoName": "New England",
                    "TimePeriod": "2020",
                    "CL_UNIT": "Millions of current dollars",
                    "UNIT_MULT": "6",
                    "DataValue": "1",
                },
                {
                    "Code": "SAGDP2N-1",
                    "GeoFips": "11000",
                    "GeoName": "DC",
                    "TimePeriod": "2020",
                    "CL_UNIT": "Millions of current dollars",
                    "UNIT_MULT": "6",
                    "DataValue": "(D)",
                },
            ],
        },
    }
}


class _Replay(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server API
        _Replay.seen.append(self.path)
        body = json.dumps(API_ANSWER).encode()
        if "UserID=badkey" in self.path:
            # echo the request as some APIs do: the client must redact the key from it
            body = json.dumps(
                {"BEAAPI": {"Error": {"APIErrorDescription": f"Invalid UserID ({self.path})"}}}
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_bea_api_client_with_local_replay_server(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path / "cache"))
    server = HTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/data"
    try:
        with pytest.raises(InputError, match="Invalid UserID"):
            bea.fetch_bea_gdp([2020], api_key="badkey", base_url=url)
        frame = bea.fetch_bea_gdp([2020], api_key="goodkey", base_url=url)
        assert "TableName=SAGDP2N" in _Replay.seen[-1] and "LineCode=1" in _Replay.seen[-1]
    finally:
        server.shutdown()
        server.server_close()  # the listening socket, else a ResourceWarning at collection
    assert _value(frame, "06", 2020, "gdp") == pytest.approx(3_020_173.4)
    assert _value(frame, "US", 2020, "gdp") == 21_060_474
    assert set(frame.region_id) == {"US", "06"}  # BEA region and (D) left out
    # second call: served from the cache with the server down and no key
    monkeypatch.delenv("BEA_API_KEY", raising=False)
    again = bea.fetch_bea_gdp([2020], base_url=url)
    assert again.equals(frame)
    with pytest.raises(ParameterError, match="BEA_API_KEY"):
        bea.fetch_bea_gdp([2019], base_url=url)


def test_bea_api_key_never_in_cache_names_or_errors(tmp_path, monkeypatch):
    """The BEA UserID goes through the shared fetcher's secret handling: no cache file name,
    error or log line carries it (bad-key answer echoing the request, unreachable server)."""
    import logging

    from clusteratlas.data.fetch import Fetcher
    from clusteratlas.errors import DataUnavailableError

    monkeypatch.setenv("CLUSTERATLAS_CACHE", str(tmp_path / "cache"))
    server = HTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/data"
    try:
        with pytest.raises(InputError) as bad:
            bea.fetch_bea_gdp([2020], api_key="badkey", base_url=url)
        assert "Invalid UserID" in str(bad.value) and "REDACTED" in str(bad.value)
        assert "badkey" not in str(bad.value)
        bea.fetch_bea_gdp([2020], api_key="goodkey", base_url=url)
    finally:
        server.shutdown()
        server.server_close()
    cached = [p.name for p in (tmp_path / "cache").rglob("*")]
    assert cached and not any("goodkey" in n or "badkey" in n for n in cached)
    # server gone, answer not cached: the error tells where to put a hand download, keyless
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logging.getLogger("clusteratlas.data.fetch").addHandler(handler)
    logging.getLogger("clusteratlas.data.fetch").setLevel(logging.INFO)
    try:
        with pytest.raises(DataUnavailableError) as down:
            bea.fetch_bea_gdp(
                [2018],
                api_key="goodkey",
                base_url=url,
                fetcher=Fetcher(retries=1, backoff=0.0, timeout=5),
            )
    finally:
        logging.getLogger("clusteratlas.data.fetch").removeHandler(handler)
    assert "UserID=REDACTED" in str(down.value) and "goodkey" not in str(down.value)
    assert records and not any("goodkey" in r for r in records)


# --------------------------------------------------------------------------------- LAUS
def test_laus_state_published_and_no_double_count(shared_data):
    path = shared_data / "qcew/laus_state_annual_1976_2018_staadata.xlsx"
    frame = laus.read_laus_state_annual(path)
    assert _value(frame, "06", 2018, "employment") == 18_582_802
    assert _value(frame, "06", 2018, "unemployment_rate") == 4.2
    in2018 = frame[(frame.year == 2018) & (frame.outcome == "employment")]
    assert len(in2018) == 51 and set(in2018.region_type) == {"state"}
    # LA County and NYC are inside California / New York, never extra "states"
    assert not in2018.region_id.isin(["037", "51000", "06037"]).any()
    with_sub = laus.read_laus_state_annual(path, include_substate=True)
    la = _value(with_sub, "06037", 2018, "employment")
    assert 0.2 * 18_582_802 < la < 0.3 * 18_582_802
    # identity: labour force = employment + unemployment
    lf = _value(frame, "48", 2018, "labor_force")
    assert lf == _value(frame, "48", 2018, "employment") + _value(frame, "48", 2018, "unemployment")


def test_laus_county_sums_to_state(shared_data):
    counties = laus.read_laus_county_annual(shared_data / "qcew/laus_county_annual_2018.xlsx")
    ca = counties[(counties.outcome == "employment") & counties.region_id.str.startswith("06")]
    assert len(ca) == 58
    # county estimates are controlled to the state estimate (published state figure; rounding)
    assert ca.value.sum() == pytest.approx(18_582_802, abs=5)


QCEW_FIXTURE = (  # format fixture in the QCEW annual singlefile layout (values synthetic)
    '"area_fips","own_code","industry_code","agglvl_code","size_code","year","qtr","disclosure_code",'
    '"annual_avg_estabs","annual_avg_emplvl","total_annual_wages"\n'
    '"US000","0","10","10","0","2020","A","","1000","140000000","1"\n'
    '"06000","0","10","50","0","2020","A","","100","16000000","1"\n'
    '"06000","5","10","51","0","2020","A","","90","14000000","1"\n'
    '"06037","0","10","70","0","2020","A","","10","4200000","1"\n'
    '"06999","0","10","70","0","2020","A","","1","12","1"\n'
    '"06041","0","10","70","0","2020","A","N","0","0","0"\n'
    '"C3108","0","10","40","0","2020","A","","20","6000000","1"\n'
    '"06037","0","31-33","74","0","2020","A","","5","300000","1"\n'
)


def test_qcew_singlefile_format(tmp_path):
    path = tmp_path / "2020.annual.singlefile.csv"
    path.write_text(QCEW_FIXTURE)
    with pytest.warns(UserWarning, match="1 undisclosed"):
        frame = laus.read_qcew_annual_singlefile(path)
    assert _value(frame, "US", 2020, "employment") == 140_000_000
    assert _value(frame, "06", 2020, "employment") == 16_000_000  # own_code 0 only
    assert _value(frame, "06037", 2020, "employment") == 4_200_000  # industry 10 only
    assert _value(frame, "31080", 2020, "employment") == 6_000_000  # C3108 -> CBSA 31080
    assert "06041" not in set(frame.region_id) and "06999" not in set(frame.region_id)
    private = laus.read_qcew_annual_singlefile(path, own_code="5")
    assert _value(private, "06", 2020, "employment") == 14_000_000


def test_cbp_totals(shared_data):
    states = laus.read_cbp_totals(shared_data / "cbp/setzler_CBP_state_total.csv")
    emp2019 = states[(states.outcome == "employment") & (states.year == 2019)]
    assert len(emp2019) == 51
    assert emp2019.value.sum() == 132_989_396  # PROVENANCE.md
    nation = laus.read_cbp_totals(shared_data / "cbp/setzler_CBP_national_total.csv")
    assert _value(nation, "US", 2019, "employment") == 132_989_428
    assert _value(nation, "US", 2021, "employment") == 128_346_299  # CBP2021.CB2100CBP


# --------------------------------------------------------------------------------- trade
def test_usatrade_exports_and_imports(shared_data):
    with pytest.warns(UserWarning, match="through January"):
        exports = trade.read_usatrade(
            shared_data / "trade/usatrade_exports_allstates_naics3_by_country_2020_2026.csv.gz"
        )
    assert _value(exports, "US", 2022, "exports") / 1e9 == pytest.approx(2072.6, abs=0.05)
    assert sorted(exports.year) == [2020, 2021, 2022, 2023, 2024, 2025]
    with pytest.warns(UserWarning):
        imports = trade.read_usatrade(
            shared_data / "trade/usatrade_imports_allstates_naics3_by_country_2020_2026.csv.gz"
        )
    assert set(imports.outcome) == {"imports"}
    # US general imports of goods 2022 were about $3.24 trillion (Census FT-900 2022 annual)
    assert 3.2e12 < _value(imports, "US", 2022, "imports") < 3.3e12


def test_usatrade_naics_rows_sum_to_total(shared_data):
    path = shared_data / "trade/usatrade_exports_allstates_naics3_by_country_2020_2026.csv.gz"
    # independent read with the csv module
    with gzip.open(path, "rt", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))[4:]
    world = [r for r in rows if len(r) >= 5 and r[2] == "World Total" and r[3] == "2022"]
    naics_sum = sum(float(r[4].replace(",", "")) for r in world if r[1][:3].isdigit())
    total = next(float(r[4].replace(",", "")) for r in world if r[1] == "All Commodities")
    detail = trade.read_usatrade_detail(path)
    mine = detail[
        (detail.country == "World Total") & (detail.year == 2022) & (detail.naics != "")
    ].value.sum()
    assert mine == pytest.approx(naics_sum, rel=1e-12)
    assert naics_sum == pytest.approx(total, rel=1e-9)


def test_ita_values_are_dollars(shared_data):
    with pytest.warns(UserWarning, match="not in the OMB"):
        frame = trade.read_ita_msa_exports(
            shared_data / "trade/ita_msa_exports_2012_2021.csv",
            delineation=shared_data / "geo/omb2020_county_cbsa_delineation.csv",
        )
    houston = _value(frame, "26420", 2019, "exports")
    assert houston / 1e9 == pytest.approx(129.7, abs=0.05)  # PROVENANCE: $129.7 B
    assert set(frame.unit) == {"USD"}


def test_ita_genuine_millions_are_scaled(tmp_path):
    path = tmp_path / "ita.csv"  # format fixture: a file whose values really are millions
    path.write_text(
        'MSA Full Name,Unit,2019\n"Houston-The Woodlands-Sugar Land, TX",Millions of USD,129656\n'
    )
    frame = trade.read_ita_msa_exports(path)
    assert frame.value.iloc[0] == 129_656e6
