"""Headless Chromium clicks through the dashboard served on a random loopback port (SYNTHETIC store).

Needs /usr/bin/chromium (Debian package; `playwright install` is never run). Without it the
tests skip and say why, except under CI=true, where its absence is a failure.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from browser_checks import ARGS, CHROMIUM, bad_cells, chart_facts, require_chromium, wide_tables

from clusteratlas.web.app import running

pytestmark = pytest.mark.browser
#: every page of the dashboard (its navigation), as a person opens it
PAGES = [
    "/",
    "/regions",
    "/clusters",
    "/region",
    "/cluster",
    "/region-cluster",
    "/compare",
    "/map",
    "/causal",
    "/theory",
]


@pytest.fixture(scope="module")
def server(synthetic_store: Path) -> Iterator[str]:
    with running(synthetic_store) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(server: str):
    require_chromium()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="python playwright is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        yield page
        context.close()
        browser.close()


def _charts_hold_data(page) -> int:
    """Every inline chart has as many data marks as it claims, and at least one chart has some."""
    charts = page.locator("svg.chart")
    total = 0
    for i in range(charts.count()):
        chart = charts.nth(i)
        claimed = int(chart.get_attribute("data-points"))
        assert chart.locator(".pt").count() == claimed
        total += claimed
    return total


NAV = [
    "Regions",
    "Clusters",
    "Region",
    "Cluster",
    "Region x cluster",
    "Compare",
    "Map",
    "Causal results",
    "Theory",
]


def test_click_through_every_page(browser_page, server: str):
    page = browser_page
    page.goto(server + "/")
    assert page.locator("table.data tbody tr").count() > 0
    for label in NAV:
        page.locator("header nav").get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text(), label
        assert page.locator("table.data tbody tr").count() > 0, f"{label}: no table rows"
        if label not in ("Regions", "Clusters"):
            assert (
                _charts_hold_data(page) > 0
                or page.locator("svg.choropleth path.region").count() > 0
            ), f"{label}: empty charts"
        # every export link answers with CSV
        href = page.locator("a.export-csv").first.get_attribute("href")
        response = page.request.get(server + href)
        assert response.ok and response.headers["content-type"].startswith("text/csv"), label
        assert response.text().count("\n") >= 2, f"{label}: CSV has no data rows"
    assert not page.errors, page.errors


def test_form_state_lives_in_the_url(browser_page, server: str):
    page = browser_page
    page.goto(server + "/region?type=state&id=01")
    page.select_option("select[name=year]", "2015")
    page.fill("input[name=id]", "03")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    assert "id=03" in page.url and "year=2015" in page.url
    assert "Synthetic State 03" in page.locator("h1").inner_text()
    # the shared URL reproduces the page
    shared = page.url
    page.goto(server + "/")
    page.goto(shared)
    assert "Synthetic State 03" in page.locator("h1").inner_text()
    # following a cluster link goes to the region x cluster page with the same year
    page.locator("#portfolio table a").first.click()
    page.wait_for_load_state("load")
    assert "/region-cluster" in page.url and "year=2015" in page.url
    assert _charts_hold_data(page) > 0


def test_svg_and_png_downloads(browser_page, server: str, tmp_path: Path):
    page = browser_page
    page.goto(server + "/cluster?code=2&type=county")
    section = page.locator("section#top_regions")
    with page.expect_download() as svg_download:
        section.locator("button.export-svg").click()
    svg_path = tmp_path / "chart.svg"
    svg_download.value.save_as(svg_path)
    text = svg_path.read_text()
    assert text.startswith("<svg") and 'class="pt"' in text
    # #21: the file says what, where, when and from what data, and what red means
    title = re.search(r'class="export-title"[^>]*>([^<]+)<', text).group(1)
    context = re.search(r'class="export-context"[^>]*>([^<]+)<', text).group(1)
    source = " ".join(re.findall(r'class="export-source"[^>]*>([^<]+)<', text))
    assert "Top county regions by employment" in title and "cluster" in title.lower()
    year = page.locator("select[name=year]").input_value()
    assert f"year: {year}" in context and "cluster: Synthetic" in context
    assert source.startswith("Source: clusteratlas") and "synthetic.duckdb" in source
    assert "SYNTHETIC" in source
    assert re.search(r'class="legend".*strong cluster', text)
    with page.expect_download() as png_download:
        section.locator("button.export-png").click()
    png_path = tmp_path / "chart.png"
    png_download.value.save_as(png_path)
    png = png_path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png_path.stat().st_size > 2000
    # the PNG holds the frame: taller than the chart by the title and source lines (2x scale)
    width, height = struct.unpack(">II", png[16:24])
    chart = page.evaluate(
        "(() => { const b = document.querySelector('#top_regions .figure svg').viewBox.baseVal;"
        " return [b.width, b.height]; })()"
    )
    assert width == 2 * chart[0] and height >= 2 * (chart[1] + 50)


def test_bar_labels_wrap_instead_of_being_cut(browser_page, server: str):
    from clusteratlas.web.charts import bar_chart

    name = "Production Technology and Heavy Machinery"  # cut at 40 chars: "...Heavy Machiner"
    frame = pd.DataFrame({"cluster_name": [name, "Automotive"], "emp": [10.0, 5.0]})
    frame["strong"] = [True, False]
    svg = bar_chart(frame, "cluster_name", "emp", highlight="strong")
    page = browser_page
    css = (Path(__file__).parents[2] / "clusteratlas" / "web" / "static" / "app.css").read_text()
    page.set_content(f"<html><head><style>{css}</style></head><body>{svg}</body></html>")
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('text.lbl')).map(t =>"
        " Array.from(t.querySelectorAll('tspan')).map(s => s.textContent).join(' '))"
    )
    assert name in shown  # every word, on two lines
    # with the dashboard's style, the label's lines fit left of the bars: none is clipped
    lefts = page.evaluate(
        "Array.from(document.querySelectorAll('text.lbl tspan')).map(s => s.getBBox().x)"
    )
    assert min(lefts) >= 0
    assert "strong cluster" in page.evaluate("document.querySelector('g.legend').textContent")


def test_error_page_in_the_browser(browser_page, server: str):
    page = browser_page
    response = page.goto(server + "/region?type=state&id=77")
    assert response.status == 404
    assert "no state region with id" in page.locator("#error-message").inner_text()


def _reads_well(page, url: str) -> None:
    """What a person checks on a page: readable cells, tables within the page, charts with
    data marks (as many as they claim) and axis labels."""
    page.goto(url)
    page.wait_for_load_state("load")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert bad_cells(page) == [], (url, bad_cells(page)[:8])
    assert wide_tables(page) == [], (url, wide_tables(page))
    headers = page.locator("main h1, main h2").all_inner_texts()
    assert not [h for h in headers if "_" in h], (url, headers)
    for chart in chart_facts(page, "svg.chart"):
        assert chart["claimed"] > 0 and chart["drawn"] == chart["claimed"], (url, chart)
        assert chart["axis_labels"], (url, chart)


def test_every_page_reads_well(browser_page, server: str):
    for path in [*PAGES, "/region?type=state&id=02&window=2015-2016-2017"]:
        _reads_well(browser_page, server + path)
    assert not browser_page.errors, browser_page.errors


def test_region_page_has_the_portfolio_bubble_chart(browser_page, server: str):
    page = browser_page
    page.goto(server + "/region?type=state&id=01&year=2016")
    bubble = chart_facts(page, "section#bubble svg.chart")
    assert len(bubble) == 1 and bubble[0]["drawn"] == bubble[0]["claimed"] > 5
    assert any("location quotient" in a for a in bubble[0]["axis_labels"])
    assert any("employment growth" in a for a in bubble[0]["axis_labels"])  # several years
    # each bubble links to the cluster in this region
    href = page.locator("section#bubble svg.chart a").first.get_attribute("href")
    assert href.startswith("/region-cluster?type=state&id=01&year=2016&cluster=")


def test_regions_and_clusters_are_chosen_by_name(browser_page, server: str):
    page = browser_page
    page.goto(server + "/region?type=state&id=01")
    box = page.locator("input[name=id]")
    assert box.input_value() == "Synthetic State 01 (state 01)"
    box.fill("")
    box.press_sequentially("Synthetic State 0", delay=20)
    page.locator(f"#{box.get_attribute('list')} option").nth(1).wait_for(state="attached")
    options = page.evaluate(
        "Array.from(document.querySelectorAll('#' + document.querySelector('input[name=id]')"
        ".getAttribute('list') + ' option')).map(o => o.value)"
    )
    assert "Synthetic State 03 (state 03)" in options
    box.fill("Synthetic State 03 (state 03)")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    assert "id=03" in page.url and "Synthetic" not in page.url  # the id, not the name
    assert "Synthetic State 03" in page.locator("h1").inner_text()
    # a name typed without the script's help: the server resolves it and shows the id URL
    page.goto(server + "/region?type=state&id=synthetic%20state%2004")
    assert page.url.endswith("id=03") is False and "id=04" in page.url
    assert "Synthetic State 04" in page.locator("h1").inner_text()
    # clusters by name too
    page.goto(server + "/cluster")
    page.locator("input[name=code]").fill("")
    page.locator("input[name=code]").press_sequentially("Synthetic", delay=20)
    code_box = page.locator("input[name=code]")
    page.locator(f"#{code_box.get_attribute('list')} option").first.wait_for(state="attached")
    assert not page.errors, page.errors


def test_compare_ten_regions(browser_page, server: str):
    page = browser_page
    counties = page.request.get(server + "/api/suggest?kind=region&type=county&q=").json()[:10]
    assert len(counties) == 10
    page.goto(server + "/compare?" + "&".join(f"r=county:{c['id']}" for c in counties))
    assert "Compare 10 regions" in page.locator("h1").inner_text()
    boxes = page.locator("form.controls input[name=r]")
    assert boxes.count() == 10  # ten filled, no eleventh
    assert boxes.nth(9).input_value() == counties[9]["label"]
    assert page.locator("#comparison table tbody tr").count() == 10
    bars = chart_facts(page, "section#comparison svg.chart")
    assert bars[0]["drawn"] == 10
    # several years in the store: the metric over time, one line per region
    timeline = chart_facts(page, "section#timeline svg.chart")
    assert timeline and timeline[0]["drawn"] >= 10
    # regions typed by name in a box reach the URL as type:id
    page.goto(server + "/compare?r=state:01")
    page.locator("form.controls input[name=r]").nth(1).fill("Synthetic State 04 (state 04)")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    assert "r=state%3A04" in page.url or "r=state:04" in page.url
    assert page.locator("#comparison table tbody tr").count() == 2


@pytest.mark.parametrize("which", ["demo", "real"])
def test_the_runs_dashboards_read_well(which, request, browser_page):
    """The dashboard over the stores `clusteratlas run` wrote (SYNTHETIC demo, real USCM 2016)."""
    out, _ = request.getfixturevalue(f"{which}_run")
    region = "county&id=17031" if which == "demo" else "state&id=01"
    page = browser_page.context.new_page()  # the module's browser (one sync Playwright)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with running(out / "clusteratlas.duckdb") as url:
        for path in [
            *PAGES,
            f"/region?type={region}",
            f"/region?type={region}&window=2019-2020-2022",
        ]:
            _reads_well(page, url + path)
    page.close()
    assert not errors, errors


def test_map_form_offers_only_valid_metric_and_cluster_pairs(browser_page, server: str):
    """#21: /map -> choose a cluster -> Show gave 400 "unknown value 'cluster_strength'"."""
    page = browser_page
    page.goto(server + "/map?type=state")
    metric = page.locator("select[name=metric]")
    assert metric.input_value() == "cluster_strength"
    offered = (
        "Array.from(document.querySelectorAll('select[name=metric] option'))"
        ".filter(o => !o.disabled && !o.hidden).map(o => o.value)"
    )
    region_metrics = page.evaluate(offered)
    assert "cluster_strength" in region_metrics and "lq" not in region_metrics
    cluster = page.locator("select[name=cluster] option").nth(1).get_attribute("value")
    page.select_option("select[name=cluster]", cluster)
    cluster_metrics = page.evaluate(offered)
    assert "lq" in cluster_metrics and "cluster_strength" not in cluster_metrics
    assert metric.input_value() == "lq"  # the cluster map's default replaced the invalid one
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show").click()
    assert navigation.value.status == 200
    assert f"cluster={cluster}" in page.url and "metric=lq" in page.url
    assert "Location quotient" in page.locator("h1").inner_text()
    ticks = page.locator("svg.choropleth .legend text.tick").all_text_contents()
    assert "1" in ticks and not any("−" in t or "-" in t for t in ticks), ticks
    # a metric both kinds have stays chosen; back to region totals offers region metrics
    page.select_option("select[name=metric]", "emp")
    page.select_option("select[name=cluster]", "")
    assert metric.input_value() == "emp"
    page.select_option("select[name=metric]", "n_strong")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show").click()
    assert navigation.value.status == 200 and "metric=n_strong" in page.url
    assert not page.errors, page.errors
