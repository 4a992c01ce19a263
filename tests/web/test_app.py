"""Every dashboard route over the SYNTHETIC store: pages, JSON API, CSV export, bad requests."""

from __future__ import annotations

import html
import io
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

from clusteratlas.store import Store
from clusteratlas.web.app import PAGES, create_app

PAGE_URLS = {
    "home": "/",
    "regions": "/regions?type=county&q=01",
    "clusters": "/clusters",
    "region": "/region?type=state&id=02&year=2016&window=2014-2015-2017",
    "cluster": "/cluster?code=3&type=county&year=2017",
    "region-cluster": "/region-cluster?type=county&id=01001&cluster=2&year=2017",
    "compare": "/compare?r=state:01&r=state:02&r=county:01003&metric=emp_traded&year=2015",
    "map": "/map?type=state&metric=cluster_strength&year=2017",
    "causal": "/causal",
    "theory": "/theory?x=K&y=t&n=12",
}


def test_every_page_is_covered():
    assert set(PAGE_URLS) == set(PAGES)


@pytest.mark.parametrize("name", list(PAGE_URLS))
def test_page_renders_with_data(client: TestClient, name: str):
    response = client.get(PAGE_URLS[name])
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    assert "<table" in page and "<td" in page, "page shows no table rows"
    assert "/api/" in page and "part=" in page, "no CSV export link"


@pytest.mark.parametrize("name", list(PAGE_URLS))
def test_api_json_and_csv_for_every_section(client: TestClient, name: str):
    query = PAGE_URLS[name].partition("?")[2]
    response = client.get(f"/api/{name}?{query}")
    assert response.status_code == 200
    body = response.json()
    assert body["sections"], f"{name} has no sections"
    for key, section in body["sections"].items():
        csv = client.get(f"/api/{name}.csv?{query}&part={key}")
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        frame = pd.read_csv(io.StringIO(csv.text)) if csv.text.strip() else pd.DataFrame()
        assert len(frame) == section["total_rows"]
        if len(frame):
            assert list(frame.columns) == section["columns"]


def test_region_numbers_are_the_store_numbers(client: TestClient, synthetic_store: Path):
    """The portfolio the API returns is cluster_panel itself, row for row."""
    body = client.get("/api/region?type=state&id=02&year=2016").json()
    rows = pd.DataFrame(body["sections"]["portfolio"]["rows"]).set_index("cluster_code")
    with Store(synthetic_store, read_only=True) as store:
        panel = store.read(
            "cluster_panel",
            where="region_type = 'state' and region_id = '02' and year = 2016 and traded",
        )
    panel = panel.set_index("cluster_code").loc[rows.index]
    pd.testing.assert_series_equal(rows["emp"], panel["emp"], check_names=False, check_dtype=False)
    pd.testing.assert_series_equal(
        rows["lq"], panel["lq"], check_names=False, check_dtype=False, rtol=1e-12
    )
    assert rows["strong"].tolist() == panel["strong"].tolist()
    strength = panel.loc[panel["strong"], "emp"].sum() / panel["emp"].sum()
    assert body["info"]["cluster strength"] == pytest.approx(strength, rel=1e-12)


def test_links_keep_state_in_the_query_string(client: TestClient):
    page = client.get("/cluster?code=3&type=county&year=2016").text
    assert "/region-cluster?type=county&amp;cluster=3&amp;year=2016&amp;id=" in page
    page = client.get("/region?type=state&id=01&year=2015").text
    assert "/region-cluster?type=state&amp;id=01&amp;year=2015&amp;cluster=" in page
    assert 'value="2015" selected' in page


def test_map_of_one_cluster_and_ranked_table(client: TestClient):
    body = client.get("/api/map?type=county&cluster=3&metric=lq&year=2016").json()
    ranked = pd.DataFrame(body["sections"]["ranked"]["rows"])
    assert ranked["value"].is_monotonic_decreasing
    assert len(ranked) == 20


def test_theory_degrades_or_draws(client: TestClient):
    page = client.get("/theory?x=alpha&y=F&n=10&K=0.9").text
    assert 'class="chart"' in page or "not available" in page


def test_static_assets(client: TestClient):
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")


BAD_REQUESTS = [
    ("/region?type=state&id=99", 404, "no state region with id '99'"),
    ("/api/region?type=state&id=99", 404, "no state region"),
    ("/cluster?code=999", 404, "no cluster with code '999'"),
    ("/region-cluster?type=county&id=01001&cluster=77", 404, "no cluster"),
    ("/region?type=martian", 400, "unknown region type"),
    ("/region?type=msa", 404, "has no msa regions"),
    ("/region?year=abc", 400, "not a whole number"),
    ("/region?year=1850", 404, "year 1850 is not in the store"),
    ("/region?type=state&id=..%2F..%2Fetc%2Fpasswd", 400, "not a valid code"),
    ("/api/map?metric=bogus", 400, "unknown value 'bogus'"),
    ("/api/map?cluster=3&metric=n_strong", 400, "allowed"),
    ("/api/compare?r=state", 400, "TYPE:ID"),
    ("/api/compare?" + "&".join(["r=state:01"] * 11), 400, "at most 10"),
    ("/api/theory?x=K&y=K", 400, "different"),
    ("/api/theory?n=5000", 400, "out of range"),
    ("/api/theory?K=nan", 400, "finite"),
    ("/api/theory?K=abc", 400, "not a number"),
    # a typo'd key used to be ignored silently (showing the default region instead)
    ("/region?type=state&region=06", 400, "'region': is not a parameter of this page"),
    ("/api/map?clusterr=3", 400, "allowed: cluster, metric, type, year"),
    ("/api/region.csv?type=state&id=01", 400, "part"),
    ("/api/region.csv?type=state&id=01&part=nope", 404, "no table 'nope'"),
    ("/api/nothing", 404, "no API page"),
    ("/nothing", 404, "Not Found"),
    ("/static/..%2F..%2Fapp.py", 404, "no static file"),
    ("/static/%2E%2E/app.py", 404, "no static file"),
    ("/static/../../store.py", 404, ""),
    ("/region?id=" + "a" * 5000, 414, "query string longer"),
    ("/api/region?id=" + "a" * 5000, 414, "query string longer"),
    ("/api/region?type=state&id=01&window=2017-2015-2014", 400, "peak < trough < end"),
    ("/api/region?type=state&id=01&window=2014-2015-2030", 400, "lack year(s) [2030]"),
    ("/api/region?type=state&id=01&window=soon", 400, "PEAK-TROUGH-END"),
]


@pytest.mark.parametrize(("url", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_a_clear_4xx(client: TestClient, url: str, status: int, message: str):
    response = client.get(url)
    assert response.status_code == status, response.text[:300]
    if url.startswith("/api/"):
        assert response.json()["status"] == status
        assert message in response.json()["error"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert message in html.unescape(response.text)


def test_other_methods_and_bodies_are_refused(client: TestClient):
    assert client.post("/region").status_code == 405
    assert client.put("/api/region", content=b"x" * 10).status_code == 405
    assert client.post("/api/region", content=b"x" * 100_000).status_code == 413


def test_store_is_read_only_and_must_have_a_panel(tmp_path: Path, synthetic_store: Path):
    from clusteratlas.errors import InputError

    app = create_app(synthetic_store)
    # the app holds a read-only connection: a writer cannot open the file meanwhile
    with pytest.raises(Exception, match="(?i)lock|read.only|conflict|different configuration"):
        Store(synthetic_store)
    app.state.dashboard.close()
    empty = tmp_path / "empty.duckdb"
    with Store(empty) as store:
        store.write("outcomes", pd.DataFrame({"a": [1]}))
    with pytest.raises(InputError, match="no cluster_panel table"):
        create_app(empty)
    with pytest.raises(InputError, match="not found"):
        create_app(tmp_path / "missing.duckdb")


def test_demo_store_pages(demo_store: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        demo = TestClient(create_app(demo_store), base_url="http://localhost")
    meta = demo.get("/api/meta").json()
    code = meta["clusters"][0]["cluster_code"]
    for url in [
        "/",
        "/region",
        "/cluster?code=" + code + "&type=state",
        "/region-cluster?type=state&cluster=" + code,
        "/compare",
        "/map",
        "/regions?type=state",
    ]:
        response = demo.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert "<td" in response.text, url
    assert demo.get("/causal").status_code == 200


WEIRD_VALUES = [
    "'",
    '"; drop table cluster_panel; --',
    "%00",
    "\u00e9\u4e2d",
    "-1",
    "1e400",
    "../..",
]


@pytest.mark.parametrize("name", list(PAGE_URLS))
def test_malformed_values_never_crash(client: TestClient, name: str):
    """Every parameter of every page with hostile values: a 2xx or a 4xx with a message, never 5xx."""
    path = "/" if name == "home" else f"/{name}"
    # the parameters this page reads (others are ignored), plus the CSV export's "part"
    used = sorted(
        {pair.partition("=")[0] for pair in PAGE_URLS[name].partition("?")[2].split("&") if pair}
    )
    for param in [*used, "part"]:
        for value in WEIRD_VALUES:
            # a small theory grid keeps this quick; every other parameter stays hostile
            params = {"n": "4", param: value} if name == "theory" else {param: value}
            for prefix in (path, f"/api/{name}.csv"):
                response = client.get(prefix, params=params)
                assert response.status_code < 500, (prefix, param, value, response.text[:300])
                if response.status_code >= 400 and prefix.startswith("/api/"):
                    assert response.json()["error"]


def test_serve_command_binds_loopback_and_warns_otherwise(monkeypatch, synthetic_store: Path):
    import uvicorn
    from typer.testing import CliRunner

    from clusteratlas.cli import app

    calls = []
    apps = []
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda application, **kwargs: (calls.append(kwargs), apps.append(application)),
    )
    runner = CliRunner()
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # one core: one process by default
    result = runner.invoke(app, ["serve", "--store", str(synthetic_store), "--port", "0"])
    assert result.exit_code == 0, result.output
    assert calls[-1]["host"] == "127.0.0.1"
    assert "warning" not in result.output
    result = runner.invoke(app, ["serve", "--store", str(synthetic_store), "--host", "0.0.0.0"])
    assert result.exit_code == 0
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 8765
    assert "warning: binding 0.0.0.0" in result.output
    result = runner.invoke(
        app, ["serve", "--store", str(synthetic_store), "--host", "box.lan", "--allow-host", "b2"]
    )
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with TestClient(apps[-1], base_url="http://box.lan:8765") as served:
            for host, status in [("box.lan", 200), ("b2:1", 200), ("[::1]", 200), ("b3", 400)]:
                assert served.get("/healthz", headers={"Host": host}).status_code == status, host
    # --workers N: uvicorn starts N processes of the app factory, which reads the store and
    # host names from the environment
    from clusteratlas.web.app import HOSTS_ENV, STORE_ENV, app_from_environment

    monkeypatch.setenv(STORE_ENV, "unset")
    monkeypatch.setenv(HOSTS_ENV, "")
    result = runner.invoke(
        app,
        ["serve", "--store", str(synthetic_store), "--workers", "2", "--allow-host", "box.lan"],
    )
    assert result.exit_code == 0, result.output
    assert apps[-1] == "clusteratlas.web.app:app_from_environment"
    assert calls[-1]["workers"] == 2 and calls[-1]["factory"] is True
    worker = app_from_environment()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with TestClient(worker, base_url="http://box.lan") as served:
            assert served.get("/healthz").json()["store"] == synthetic_store.name
            assert served.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    worker.state.dashboard.close()
    monkeypatch.setattr("os.cpu_count", lambda: 8)  # without --workers: one per core, up to 4
    result = runner.invoke(app, ["serve", "--store", str(synthetic_store)])
    assert result.exit_code == 0, result.output
    assert calls[-1]["workers"] == 4 and apps[-1] == "clusteratlas.web.app:app_from_environment"
    for application in apps:
        if not isinstance(application, str):
            application.state.dashboard.close()
    result = runner.invoke(
        app, ["serve", "--store", str(synthetic_store.parent / "missing.duckdb")]
    )
    assert result.exit_code != 0 and "store file not found" in str(result.exception)


def test_related_cluster_network(client: TestClient):
    body = client.get("/api/cluster?code=2&type=state").json()
    related = {row["related_cluster_code"] for row in body["sections"]["related"]["rows"]}
    assert related == {"1", "3", "4"}  # synthetic store: each traded cluster linked to its next two
    page = client.get("/cluster?code=2&type=state").text
    section = page[page.index('data-section="related"') :]
    assert section.count('<circle class="pt"') >= 3


def test_synthetic_stores_say_so(client: TestClient):
    assert "SYNTHETIC data" in client.get("/region").text


def test_cached_pages_do_not_grow(client: TestClient):
    first = client.get("/region?type=state&id=03").text
    assert client.get("/region?type=state&id=03").text == first
    assert first.count("SYNTHETIC data") == 1


@pytest.mark.parametrize("name", list(PAGE_URLS))
def test_every_link_a_page_draws_is_accepted(client: TestClient, name: str):
    """Unknown query keys are 400 now, so each href a page emits must use its target's keys."""
    import re

    page = client.get(PAGE_URLS[name]).text
    hrefs = {html.unescape(h) for h in re.findall(r'href="(/[^"#]*)"', page)}
    assert hrefs, f"{name} draws no links"
    for href in sorted(hrefs)[:60]:
        if href.startswith("/static/"):
            continue
        response = client.get(href)
        assert response.status_code == 200, f"{name} -> {href}: {response.text[:200]}"


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:8765", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8765"]
)
def test_loopback_host_names_are_answered(client: TestClient, host: str):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.", "[::2]"]
)
def test_other_host_names_are_refused_dns_rebinding(client: TestClient, host: str):
    page = client.get("/region", headers={"Host": host})
    assert page.status_code == 400
    assert "does not answer requests for host" in html.unescape(page.text)
    assert "--allow-host" in html.unescape(page.text)
    api = client.get("/api/meta", headers={"Host": host})
    assert api.status_code == 400
    assert api.json()["error"].startswith(
        f"the dashboard does not answer requests for host {host!r}"
    )
    assert "evil" not in client.get("/api/meta").text  # the loopback answer is unaffected


def test_hosts_given_at_start_are_answered(synthetic_store: Path):
    from clusteratlas.web.app import host_name

    assert host_name("[::1]:8765") == "::1" and host_name("Box.Lan:80") == "box.lan"
    assert host_name("a b") is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        app = create_app(synthetic_store, allowed_hosts=["box.lan", "[fe80::1]"])
        with TestClient(app, base_url="http://box.lan:8765") as named:
            assert named.get("/healthz").status_code == 200
            assert named.get("/healthz", headers={"Host": "[fe80::1]:1"}).status_code == 200
            assert named.get("/healthz", headers={"Host": "localhost"}).status_code == 200
            assert named.get("/healthz", headers={"Host": "other.lan"}).status_code == 400
    app.state.dashboard.close()


def test_csv_export_neutralises_formula_names(synthetic_store: Path, tmp_path: Path):
    """Cluster names a spreadsheet would run (`=cmd|...`, `@SUM(...)`) leave as text."""
    import shutil

    hostile = {"1": "=cmd|' /C calc'!A0", "2": "@SUM(1+1)", "3": "-2+3"}
    path = tmp_path / "hostile.duckdb"
    shutil.copy(synthetic_store, path)
    with Store(path) as store:
        for code, name in hostile.items():
            store.con.execute(
                "update cluster_panel set cluster_name = ? where cluster_code = ?", [name, code]
            )
    app = create_app(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with TestClient(app, base_url="http://localhost") as local:
            text = local.get("/api/clusters.csv?part=clusters").text
            shown = local.get("/api/clusters").json()["sections"]["clusters"]["rows"]
    app.state.dashboard.close()
    frame = pd.read_csv(io.StringIO(text), dtype={"cluster_code": str}).set_index("cluster_code")
    for code, name in hostile.items():
        assert frame.loc[code, "cluster_name"] == "'" + name
    assert frame.loc["4", "cluster_name"] == "Synthetic traded cluster 4"
    # JSON keeps the name as it is (no spreadsheet reads it)
    assert {r["cluster_code"]: r["cluster_name"] for r in shown}["1"] == hostile["1"]


def test_threads_read_side_by_side_and_agree_with_serial_reads(synthetic_store: Path):
    """Each thread queries through its own cursor (no shared lock), with the same answers."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from clusteratlas.web.dashboard import Dashboard

    dash = Dashboard(synthetic_store)
    query = f"select region_id, year, emp from {dash.summary_sql} where region_id = ? order by year"
    ids = sorted({r[0] for r in dash.rows(f"select region_id from {dash.summary_sql}")})
    serial = {i: dash.df(query, [i]) for i in ids}
    barrier = threading.Barrier(4)

    def read(region_id: str) -> pd.DataFrame:
        if region_id in ids[:4]:
            barrier.wait(timeout=30)  # four threads hold cursors at the same moment
        return dash.df(query, [region_id])

    with ThreadPoolExecutor(4) as pool:
        parallel = dict(zip(ids, pool.map(read, ids), strict=True))
    for region_id in ids:
        pd.testing.assert_frame_equal(parallel[region_id], serial[region_id])
    assert len(dash._cursors) == 5  # the caller's and one per pool thread
    dash.close()


def test_cache_computes_each_key_once_when_asked_together(synthetic_store: Path):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from clusteratlas.web.dashboard import Dashboard

    dash = Dashboard(synthetic_store)
    calls = []
    lock = threading.Lock()

    def compute() -> list[int]:
        with lock:
            calls.append(1)
        time.sleep(0.2)  # long enough for the other threads to ask meanwhile
        return [len(calls)]

    with ThreadPoolExecutor(6) as pool:
        values = list(pool.map(lambda _: dash.cached(("slow",), compute), range(6)))
    assert len(calls) == 1 and values == [[1]] * 6

    def failing() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        dash.cached(("bad",), failing)
    assert dash.cached(("bad",), lambda: 3) == 3  # a failure is not cached
    dash.close()


def test_answer_cache_keeps_200_answers_within_its_size():
    from starlette.responses import Response

    from clusteratlas.web.app import ResponseCache

    cache = ResponseCache(max_bytes=800)
    for k in range(10):
        cache.put(f"/p?{k}", Response(b"x" * 100))
    assert cache.get("/p?0") is None and cache.get("/p?9").body == b"x" * 100
    assert sum(cache.get(f"/p?{k}") is not None for k in range(10)) == 8  # 800 bytes
    cache.put("/missing", Response(b"no", status_code=404))
    cache.put("/huge", Response(b"x" * 200))  # over an eighth of the cache: not kept
    assert cache.get("/missing") is None and cache.get("/huge") is None
    assert ResponseCache(0).get("/p") is None
    off = ResponseCache(0)
    off.put("/p", Response(b"a"))
    assert off.get("/p") is None


def test_a_stopped_server_lets_writers_open_the_store(synthetic_store: Path, tmp_path: Path):
    """The server threads' cursors are closed with the server (else the file stays locked)."""
    import shutil

    import httpx

    from clusteratlas.web.app import running

    path = tmp_path / "store.duckdb"
    shutil.copy(synthetic_store, path)
    with running(path) as url:
        for page in ("/", "/region", "/api/meta", "/cluster?code=2&type=state"):
            assert httpx.get(url + page, timeout=60).status_code == 200
    with Store(path) as store:  # a writer, after the server stopped
        store.write("outcomes_copy", pd.DataFrame({"a": [1]}))


def test_map_metric_of_the_wrong_kind_says_which_kind(client: TestClient):
    # the case: a region-total metric left selected when a cluster is chosen
    response = client.get("/api/map?type=state&cluster=3&metric=cluster_strength")
    assert response.status_code == 400
    message = response.text
    assert "'cluster_strength' is a region-total metric" in message
    assert "clear the cluster" in message and "allowed: emp, lq" in message
    response = client.get("/api/map?type=state&metric=national_share")
    assert response.status_code == 400 and "is a metric of one cluster" in response.text


def test_map_form_tags_each_metric_with_its_map_kind(client: TestClient):
    from clusteratlas.web.dashboard import CLUSTER_METRICS, REGION_METRICS

    page = client.get("/map?type=state").text
    select = re.search(r'<select name="metric" data-follows="cluster">(.*?)</select>', page, re.S)
    assert select, "the metric list does not follow the cluster choice"
    options = re.findall(r'<option value="(\w+)"(?: data-when="(empty|set)")?', select.group(1))
    assert len(options) == len({v for v, _ in options})  # each metric once
    assert {v for v, when in options if when != "set"} == set(REGION_METRICS)
    assert {v for v, when in options if when != "empty"} == set(CLUSTER_METRICS)
    # each kind's default is the first it offers (the script falls back to it)
    assert [v for v, w in options if w != "set"][0] == "cluster_strength"
    assert [v for v, w in options if w != "empty"][0] == "lq"


def test_lq_map_legend_is_in_lq_units(client: TestClient):
    page = client.get("/map?type=county&cluster=3&metric=lq&year=2016").text
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', page)
    assert "1" in ticks and not any("−" in t or "-" in t for t in ticks), ticks
    assert "log scale, 1 = national share" in page


# the table rows as the page template printed them before they were written in Python: one
# cell at a time through labels, looped out by Jinja (the reference for table_rows)
_REFERENCE_ROWS = (
    '{% for row in rows %}<tr>{% for cell in row %}<td{% if cell.numeric %} class="num"{% endif %}>'
    '{% if cell.href %}<a href="{{ cell.href }}">{{ cell.text }}</a>{% else %}{{ cell.text }}'
    "{% endif %}</td>{% endfor %}</tr>{% endfor %}"
)


def _reference_rows(frame: pd.DataFrame, rules: dict, kinds=None, *, columns=None, limit=None):
    import jinja2
    import numpy as np

    from clusteratlas.report import labels
    from clusteratlas.web.app import PLAIN_COLUMNS

    def cell(row: dict, column: str) -> dict:
        value = row[column]
        plain = column in PLAIN_COLUMNS or column.endswith("year")
        if kinds and column in kinds:
            text = labels.fmt(value, kinds[column])
        else:
            text = labels.code(value) if plain else labels.cell(column, value)
        href = None
        if column in rules and text and text != labels.MISSING:
            fields = {k: ("" if pd.isna(v) else v) for k, v in row.items() if isinstance(k, str)}
            try:
                href = rules[column].format(text, **fields)
            except (KeyError, IndexError, ValueError):
                href = None
        numeric = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        return {"text": text, "href": href, "numeric": numeric}

    frame = frame[list(frame.columns if columns is None else columns)]
    frame = frame.head(len(frame) if limit is None else limit)
    rows = [[cell(r, c) for c in frame.columns] for r in frame.to_dict("records")]
    template = jinja2.Environment(autoescape=True).from_string(_REFERENCE_ROWS)
    return jinja2.utils.markupsafe.Markup(template.render(rows=rows))


def test_table_rows_print_what_the_per_cell_template_printed(
    synthetic_store: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every page's HTML is byte-identical with table rows written by ``table_rows`` (a
    formatter per column, a row's link fields once) and by the per-cell reference above."""
    from clusteratlas.web import app as web_app

    urls = [
        *PAGE_URLS.values(),
        "/map?type=county&cluster=3&metric=lq&year=2016",
        "/region?type=county&id=01003&year=2017",
    ]

    def bodies() -> list[bytes]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            test_client = TestClient(
                create_app(synthetic_store, answer_cache_bytes=0), base_url="http://127.0.0.1"
            )
        with test_client:
            answers = [test_client.get(u) for u in urls]
        test_client.app.state.dashboard.close()
        assert [a.status_code for a in answers] == [200] * len(urls)
        return [a.content for a in answers]

    written = bodies()
    monkeypatch.setattr(web_app, "table_rows", _reference_rows)
    reference = bodies()
    assert sum(b.count(b"<td") for b in written) > 500  # the pages really have tables
    assert sum(b.count(b"<a href") for b in written) > 50  # and linked cells
    assert written == reference


@pytest.mark.parametrize("at_once", [1, 2])
def test_pages_take_turns(synthetic_store: Path, monkeypatch: pytest.MonkeyPatch, at_once: int):
    """At most ``pages_at_once`` requests build a page at the same time (8 requests sent at
    once, each build holding its turn for 50 ms); all are answered."""
    import threading
    import time

    from clusteratlas.web import app as web_app

    title, build = web_app.PAGES["theory"]
    lock = threading.Lock()
    running, most = [0], [0]

    def slow_build(dash, q):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return build(dash, q)

    monkeypatch.setitem(web_app.PAGES, "theory", (title, slow_build))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        test_client = TestClient(
            create_app(synthetic_store, answer_cache_bytes=0, pages_at_once=at_once),
            base_url="http://127.0.0.1",
        )
    statuses = []
    with test_client:
        threads = [
            threading.Thread(
                target=lambda n=n: statuses.append(test_client.get(f"/theory?n={n}").status_code)
            )
            for n in range(10, 18)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    test_client.app.state.dashboard.close()
    assert statuses == [200] * 8
    assert most[0] == at_once  # never more; and with 8 waiting, the turns were all used


def test_lookups_are_kept_while_pages_come_and_go(synthetic_store: Path):
    """A lookup (``cached``) is computed once however many pages pass through the bounded
    page cache; pages beyond its size are built again."""
    from clusteratlas.web.dashboard import Dashboard

    dash = Dashboard(synthetic_store, cache_size=3)
    computed: list[tuple] = []

    def compute(key: tuple):
        return lambda: computed.append(key) or key

    assert dash.cached(("lookup",), compute(("lookup",))) == ("lookup",)
    for k in range(10):
        dash.cached(("page", k), compute(("page", k)), page=True)
    dash.cached(("lookup",), compute(("lookup",)))
    dash.cached(("page", 9), compute(("page", 9)), page=True)  # recent: kept
    dash.cached(("page", 0), compute(("page", 0)), page=True)  # evicted: built again
    dash.close()
    assert computed.count(("lookup",)) == 1
    assert computed.count(("page", 9)) == 1 and computed.count(("page", 0)) == 2


def test_rows_by_answers_each_regions_rows_as_its_own_query(synthetic_store: Path):
    """``rows_by`` (one query, rows looked up by region) gives each region the frame a query
    of that region alone gives: same rows, order, columns and values; none: empty."""
    from clusteratlas.web.dashboard import Dashboard

    dash = Dashboard(synthetic_store)
    query = "select region_id, year, outcome, value from outcomes where region_type = ? {} order by region_id, outcome, year"
    lookup = dash.rows_by("region_id", query.format(""), ["state"], ("test_outcomes", "state"))
    regions = [str(r[0]) for r in dash.rows("select distinct region_id from outcomes")]
    assert len(regions) > 3
    for region_id in [*regions[:6], "no-such-region"]:
        alone = dash.df(query.format("and region_id = ?"), ["state", region_id])
        got = lookup(region_id)
        pd.testing.assert_frame_equal(got, alone, check_dtype=False)
        assert list(got.columns) == list(alone.columns)
    assert lookup("no-such-region").empty
    dash.close()


def test_prepare_builds_the_lookups_pages_share(synthetic_store: Path):
    """``prepare`` builds a region, cluster and map pages per region type and year, so the
    year's lookups (peer space, top regions) exist before any request; stopped: nothing."""
    import threading

    from clusteratlas.web import pages
    from clusteratlas.web.dashboard import Dashboard

    dash = Dashboard(synthetic_store)
    stop = threading.Event()
    stop.set()
    assert pages.prepare(dash, stop) == 0
    built = pages.prepare(dash)
    meta = dash.meta()
    kinds = [t["region_type"] for t in meta["region_types"]]
    assert built >= 3 * len(meta["years"]) * len(kinds)
    for kind in kinds:
        for year_ in meta["years"]:
            assert ("peer_space", kind, year_) in dash._kept
            assert ("cluster_top_regions", kind, year_) in dash._kept
    dash.close()


def test_json_records_a_column_at_a_time_equal_row_by_row():
    """``_records`` (a column at a time) gives what converting each value of
    ``to_dict("records")`` gives, for every column kind a page has: floats with NaN and
    infinities (-> None), integers, booleans, nullable integers with NA, text with gaps,
    objects holding numpy scalars; and only the first ``limit`` rows."""
    import numpy as np

    from clusteratlas.web.app import _jsonable, _records

    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, np.inf, -np.inf, 0.1],
            "i": np.arange(5, dtype="int64"),
            "b": [True, False, True, False, True],
            "n": pd.array([1, None, 3, None, 5], dtype="Int64"),
            "s": pd.array(["a", None, "c", "d", "e"], dtype="str"),
            "o": pd.Series([np.float64(2.5), np.int64(3), np.bool_(True), None, "x"], dtype=object),
        }
    )
    for limit in (0, 3, 500):
        expected = [
            {k: _jsonable(v) for k, v in row.items()}
            for row in frame.head(limit).to_dict("records")
        ]
        got = _records(frame, limit)
        assert got == expected
        assert [[type(v) for v in r.values()] for r in got] == [
            [type(v) for v in r.values()] for r in expected
        ]
    assert _records(frame[[]], 2) == [{}, {}]
