"""A resilience window with a year one outcome lacks (issue #21 item 9), over a copy of the
SYNTHETIC store whose employment stops a year before its GDP: one message per outcome that
names it, the years asked and the years it has; the other outcomes still measured; the form
says which years the outcomes have and offers only windows some outcome can measure."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from clusteratlas.errors import InputError
from clusteratlas.resilience.indices import resilience
from clusteratlas.store import Store
from clusteratlas.web.app import create_app
from clusteratlas.web.pages.region import window_field


@pytest.fixture(scope="module")
def gap_store(synthetic_store: Path, tmp_path_factory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("gap") / "gap.duckdb"
    shutil.copy(synthetic_store, path)
    with Store(path) as store:
        outcomes = store.read("outcomes")
        last = int(outcomes["year"].max())
        keep = ~((outcomes["outcome"] == "employment") & (outcomes["year"] == last))
        store.write("outcomes", outcomes.loc[keep].reset_index(drop=True))
    return path, last


@pytest.fixture(scope="module")
def gap_client(gap_store) -> TestClient:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = TestClient(create_app(gap_store[0]), base_url="http://localhost")
    with client:
        yield client


def test_one_message_names_outcome_years_asked_and_available(gap_client, gap_store):
    _, last = gap_store
    window = f"{last - 3}-{last - 2}-{last}"
    body = gap_client.get(f"/api/region?type=state&id=02&window={window}").json()
    messages = [m for m in body["messages"] if m.startswith("resilience window")]
    assert len(messages) == 1, messages
    message = messages[0]
    assert "employment has no data for " + str(last) in message
    assert f"asks for {last - 3}, {last - 2}, {last}" in message
    assert "years available for employment" in message and str(last - 1) in message
    assert "InputError" not in message
    # GDP, which has the year, is still measured
    rows = pd.DataFrame(body["sections"]["resilience_window"]["rows"])
    assert set(rows["outcome"].dropna()) == {"gdp"}


def test_form_says_the_available_years(gap_client, gap_store):
    _, last = gap_store
    with Store(gap_store[0], read_only=True) as store:
        first = int(store.read("outcomes")["year"].min())
    page = gap_client.get("/region?type=state&id=02").text
    assert f"outcomes have {first}-{last}" in page


class _Dash:
    """What window_field asks a Dashboard: the outcomes table, its years, and a cache that
    computes (a test double: no caching)."""

    def __init__(self, years: dict[str, range]) -> None:
        self.years = years

    def has(self, *_: str) -> bool:
        return True

    def rows(self, sql: str, params: list) -> list[tuple[str, int]]:
        return [(o, y) for o, ys in self.years.items() for y in ys]

    def default_region_type(self) -> str:
        return "state"

    def cached(self, key: tuple, compute):
        return compute()


def test_form_offers_only_windows_an_outcome_can_measure():
    # the shared data's state outcomes: CBP employment 2001-2021, BEA GDP 1997-2022
    field = window_field(
        _Dash({"employment": range(2001, 2022), "gdp": range(1997, 2023)}), "state", None
    )
    assert field["label"].endswith("outcomes have 1997-2022")
    # Great Recession (annual, CBP timing) and COVID-19 (GDP reaches 2022)
    assert field["options"] == [
        "2008-2009-2014",
        "2008-2010-2014",
        "2019-2020-2022",
        "2019-2021-2022",
    ]
    field = window_field(_Dash({"employment": range(2001, 2022)}), "state", "2008-2009-2014")
    assert field["options"] == ["2008-2009-2014", "2008-2010-2014"]  # none reaches 2022
    assert field["value"] == "2008-2009-2014"


def test_form_renders_the_offered_windows(gap_client, monkeypatch):
    from clusteratlas.web.pages import region

    original = region.window_field

    def offered(dash, region_type, value):
        field = original(dash, region_type, value)
        return {**field, "options": ["2008-2009-2014"]}

    monkeypatch.setattr(region, "window_field", offered)
    page = gap_client.get("/region?type=state&id=01").text
    assert 'list="options-window"' in page
    assert '<datalist id="options-window"><option value="2008-2009-2014"></option>' in page


def test_core_message_names_outcome_and_years():
    frame = pd.DataFrame(
        {
            "region_type": "state",
            "region_id": ["01", "02"] * 3,
            "year": [2019, 2019, 2020, 2020, 2021, 2021],
            "value": [10.0, 20, 9, 18, 10, 19],
            "outcome": "employment",
        }
    )
    with pytest.raises(InputError) as caught:
        resilience(frame, (2019, 2020, 2022), outcome="employment")
    text = str(caught.value)
    assert "employment has no data for 2022" in text
    assert "asks for 2019, 2020, 2022" in text
    assert "years available for employment: 2019-2021" in text


def test_near_zero_national_change_is_not_drawn(synthetic_store, tmp_path):
    """SYNTHETIC: the nation's GDP flat (+0.01%) from peak to trough: every state's resistance
    index is flagged, kept in the table and left out of the bars; the recovery is drawn."""
    path = tmp_path / "flat.duckdb"
    shutil.copy(synthetic_store, path)
    with Store(path) as store:
        outcomes = store.read("outcomes")
        nation = (outcomes["region_type"] == "nation") & (outcomes["outcome"] == "gdp")
        years = sorted(outcomes.loc[nation, "year"].astype(int).unique())
        peak, trough, end = years[-3], years[-2], years[-1]
        level = float(outcomes.loc[nation & (outcomes["year"] == peak), "value"].iloc[0])
        outcomes.loc[nation & (outcomes["year"] == trough), "value"] = level * 1.0001
        store.write("outcomes", outcomes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = TestClient(create_app(path), base_url="http://localhost")
    with client:
        body = client.get(f"/api/region?type=state&id=02&window={peak}-{trough}-{end}").json()
    rows = pd.DataFrame(body["sections"]["resilience_window"]["rows"])
    gdp = rows.loc[rows["outcome"] == "gdp"].set_index("phase")
    assert not gdp.loc["resistance", "index_reliable"]
    assert pd.notna(gdp.loc["resistance", "resilience"])  # the number stays in the table
    assert pd.isna(gdp.loc["resistance", "resilience_drawn"])  # but is not a bar
    assert "reference change too small" in gdp.loc["resistance", "note"]
    assert gdp.loc["recovery", "resilience_drawn"] == pytest.approx(
        gdp.loc["recovery", "resilience"]
    )
