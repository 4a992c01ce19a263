"""The report renders offline in headless Chromium with non-empty maps and figures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")


def _inspect(report: Path) -> dict:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        page = browser.new_page()
        external = []
        page.route("http*://**", lambda route: (external.append(route.request.url), route.abort()))
        page.goto(report.as_uri(), wait_until="load")
        facts = page.evaluate(
            """() => ({
              maps: Array.from(document.querySelectorAll('svg.choropleth')).map(s => ({
                  kind: s.getAttribute('data-region-type'),
                  paths: s.querySelectorAll('path.region').length,
                  coloured: Array.from(s.querySelectorAll('path.region')).filter(p => p.getAttribute('fill') !== '#e4e4e4').length,
                  width: s.getBoundingClientRect().width})),
              images: Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight]),
              tables: document.querySelectorAll('table.table').length,
              banner: !!document.getElementById('synthetic-banner')})"""
        )
        browser.close()
    facts["external"] = external
    return facts


def test_demo_report_renders(demo_run):
    out, _ = demo_run
    facts = _inspect(out / "report.html")
    assert facts["external"] == [] and facts["banner"]
    kinds = [m["kind"] for m in facts["maps"]]
    assert kinds.count("county") == 3 and "state" in kinds  # study maps + state GDP context
    for m in facts["maps"]:
        assert m["paths"] == (51 if m["kind"] == "state" else 3142)
        assert m["coloured"] > (49 if m["kind"] == "state" else 3000) and m["width"] > 300
    assert len(facts["images"]) >= 3 and all(w > 200 and h > 100 for w, h in facts["images"])
    assert facts["tables"] >= 8


def test_real_report_renders(real_run):
    out, _ = real_run
    facts = _inspect(out / "report.html")
    assert facts["external"] == [] and not facts["banner"]
    kinds = [m["kind"] for m in facts["maps"]]
    assert kinds.count("state") == 3 and {"county", "msa", "economic_area"} <= set(kinds)
    for m in facts["maps"]:
        if m["kind"] == "state":
            assert m["paths"] == 51 and m["coloured"] >= 49
        else:  # county shapes; ITA's ~390 metro areas cover ~1,100 counties, EAs nearly all
            assert m["paths"] == 3142 and m["coloured"] > (1000 if m["kind"] == "msa" else 3000)
    assert len(facts["images"]) >= 2 and all(w > 200 and h > 100 for w, h in facts["images"])
