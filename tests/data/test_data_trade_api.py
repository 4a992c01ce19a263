"""State exports/imports from the Census international trade API, against a loopback replay
server (no internet). The answers have the API's exact layout (``tests/census_replay.py``);
their state values are SYNTHETIC (no state-level trade file exists offline), except the CBP
Alabama 2021 total (1,719,114, the real CBP figure quoted in the data folder's PROVENANCE.md).
"""

from __future__ import annotations

import pytest
from census_replay import (
    Replay,
    add_trade_routes,
    cbp_totals_answer,
    serve,
    synthetic_state_values,
    trade_answer,
)

from clusteratlas.data import census_api, trade
from clusteratlas.data.fetch import REDACTED, Fetcher
from clusteratlas.errors import DataUnavailableError, InputError, ParameterError
from clusteratlas.schema import OUTCOMES


@pytest.fixture()
def replay():
    with serve() as server:
        add_trade_routes(server, (2021, 2022))
        yield server


@pytest.fixture()
def fetcher(tmp_path):
    return Fetcher(cache=tmp_path / "cache", offline=False, retries=3, backoff=0.0, timeout=5)


def test_urls_ask_for_the_documented_variables():
    exports = trade.state_trade_url("exports", 2022, root="https://api.census.gov/data")
    assert exports == (
        "https://api.census.gov/data/timeseries/intltrade/exports/statenaics"
        "?get=STATE,NAICS,ALL_VAL_YR&time=2022-12&COMM_LVL=NA3&CTY_CODE=-"
    )
    assert "get=STATE,NAICS,GEN_VAL_YR" in trade.state_trade_url("imports", 2020)
    assert "CON_VAL_YR" in trade.state_trade_url("imports", 2020, imports_value="consumption")
    with pytest.raises(ParameterError, match="flow"):
        trade.state_trade_url("reexports", 2020)
    with pytest.raises(ParameterError, match="imports_value"):
        trade.state_trade_url("imports", 2020, imports_value="cif")


def test_parse_sums_commodities_prefers_totals_and_drops_non_states():
    rows = trade_answer(
        "exports",
        2021,
        {
            "AL": {"334": 1_000, "325": 250},
            "TX": {"-": 9_000, "334": 5_000, "325": 3_000},  # total row wins over the parts
            "XX": {"334": 77},  # unidentified state of origin
            "VI": {"211": 55},  # Virgin Islands: not a state
        },
    )
    header = rows[0]
    rows.append(["AL", "334", "999", "2021-12", "NA3", "1220"])  # one country, not the total
    rows.append(["AL", "33", "999", "2021-12", "NA2", "-"])  # another commodity level
    rows.append(["AL", "334", "999", "2021-11", "NA3", "-"])  # another month
    rows.append(["AL", "211", None, "2021-12", "NA3", "-"])  # no value published
    out = trade.parse_state_trade(rows, flow="exports", year=2021, variable=header[2])
    assert list(out.columns) == list(OUTCOMES)
    values = out.set_index("region_id")["value"].to_dict()
    assert values == {"01": 1_250.0, "48": 9_000.0}
    assert set(out["outcome"]) == {"exports"} and set(out["unit"]) == {"USD"}
    assert set(out["year"]) == {2021} and "ALL_VAL_YR" in out["source"].iloc[0]


def test_parse_names_url_row_and_column_of_a_bad_value():
    rows = trade_answer("imports", 2020, {"AL": {"334": 1}, "GA": {"334": 2}})
    rows[2][2] = "1,0x"
    with pytest.raises(InputError) as caught:
        trade.parse_state_trade(
            rows, flow="imports", year=2020, variable="GEN_VAL_YR", url="http://x/statenaics"
        )
    message = str(caught.value)
    assert "http://x/statenaics" in message and "line 3" in message and "GEN_VAL_YR" in message
    with pytest.raises(InputError, match="no 'GEN_VAL_YR' column"):
        trade.parse_state_trade(
            [["STATE", "NAICS", "ALL_VAL_YR"], ["AL", "334", "1"]],
            flow="imports",
            year=2020,
            variable="GEN_VAL_YR",
        )


def test_fetch_builds_outcomes_and_reuses_the_cache_offline(replay, fetcher, tmp_path):
    root = f"{replay.url}/data"
    out = trade.fetch_state_trade("exports", [2022, 2021], fetcher=fetcher, root=root)
    assert len(replay.requests) == 2
    for query, year in zip(replay.queries, (2021, 2022), strict=True):
        assert query["get"] == ["STATE,NAICS,ALL_VAL_YR"] and query["time"] == [f"{year}-12"]
        assert query["CTY_CODE"] == ["-"] and query["COMM_LVL"] == ["NA3"]
    assert out["region_id"].nunique() == 52  # 50 states, DC and Puerto Rico; no XX, no VI
    expected = sum(synthetic_state_values("exports", 2022)["TX"].values())
    texas = out[(out["region_id"] == "48") & (out["year"] == 2022)]["value"]
    assert texas.iloc[0] == pytest.approx(expected, abs=1.0)  # rounded to whole dollars

    offline = Fetcher(cache=tmp_path / "cache", offline=True)
    again = trade.fetch_state_trade("exports", [2021, 2022], fetcher=offline, root=root)
    assert len(replay.requests) == 2  # served from the cache
    assert again.equals(out)


def test_imports_use_general_imports(replay, fetcher):
    out = trade.fetch_state_trade("imports", [2022], fetcher=fetcher, root=f"{replay.url}/data")
    assert replay.queries[0]["get"] == ["STATE,NAICS,GEN_VAL_YR"]
    assert set(out["outcome"]) == {"imports"}
    expected = sum(synthetic_state_values("imports", 2022)["CA"].values())
    assert out.set_index("region_id").loc["06", "value"] == pytest.approx(expected, abs=1.0)


def test_retries_a_busy_api(replay, fetcher):
    replay.failures = {"/data/timeseries/intltrade/exports/statenaics": 2}
    out = trade.fetch_state_trade("exports", [2021], fetcher=fetcher, root=f"{replay.url}/data")
    assert len(replay.requests) == 3 and len(out) == 52


def test_failure_names_the_url_to_download_by_hand(replay, fetcher, tmp_path, monkeypatch):
    monkeypatch.setenv("CENSUS_API_KEY", "my-s3cret-key")
    root = f"{replay.url}/data"
    with pytest.raises(DataUnavailableError, match="HTTP 400") as caught:
        trade.fetch_state_trade("exports", [2016], fetcher=fetcher, root=root)  # not replayed
    message = str(caught.value)
    url = trade.state_trade_url("exports", 2016, root=root)
    assert url in message and "download it by hand" in message
    assert "my-s3cret-key" not in message and f"key={REDACTED}" in message
    offline = Fetcher(cache=tmp_path / "other", offline=True)
    with pytest.raises(DataUnavailableError, match="offline mode") as caught:
        trade.fetch_state_trade("imports", [2022], fetcher=offline, root=root)
    assert "intltrade/imports/statenaics" in str(caught.value)


def test_cbp_state_totals_with_the_naics_predicate(fetcher):
    answer = cbp_totals_answer(2021, {"01": 1_719_114, "13": 4_200_000})
    with serve(Replay(routes={"/data/2021/cbp": answer})) as server:
        counts = census_api.fetch_cbp(
            2021, "state", fetcher=fetcher, root=f"{server.url}/data", naics="00",
            include_totals=True,
        )  # fmt: skip
        assert server.queries[0]["NAICS2017"] == ["00"]
    totals = counts[counts["naics"] == "total"].set_index("region_id")["emp"]
    assert totals.to_dict() == {"01": 1_719_114, "13": 4_200_000}
