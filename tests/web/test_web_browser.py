"""Headless Chromium clicks through the dashboard served on a random loopback port (SYNTHETIC store).

Needs /usr/bin/chromium (Debian package; `playwright install` is never run). Without it the
tests skip and say why, except under CI=true, where its absence is a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clusteratlas.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found (install Debian's chromium package); browser tests need it"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + " -- under CI its absence is a failure, not a skip")
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(synthetic_store: Path) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    instance = uvicorn.Server(
        uvicorn.Config(
            create_app(synthetic_store), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser_page(server: str):
    _require_chromium()
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
    with page.expect_download() as png_download:
        section.locator("button.export-png").click()
    png_path = tmp_path / "chart.png"
    png_download.value.save_as(png_path)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png_path.stat().st_size > 2000


def test_error_page_in_the_browser(browser_page, server: str):
    page = browser_page
    response = page.goto(server + "/region?type=state&id=77")
    assert response.status == 404
    assert "no state region with id" in page.locator("#error-message").inner_text()
