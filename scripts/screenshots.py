"""Screenshots of a run's report and of the dashboard over its store, for people to look at.

    python scripts/screenshots.py OUT_FOLDER --run RUN_FOLDER [--region ID] [--compare ID ...]

RUN_FOLDER is the output folder of ``clusteratlas run`` (report.html, clusteratlas.duckdb).
Writes PNGs to OUT_FOLDER (not part of the repository): the report's first screen, the first
region brief, the evidence section, the region page and the compare page of the dashboard
(served on a free loopback port for the duration of the script), and the brief as printed.
Needs Debian's chromium at /usr/bin/chromium and the python playwright package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _shot_at(page, selector: str, path: Path, height: int = 1100) -> None:
    """A viewport-sized screenshot starting at ``selector``."""
    page.locator(selector).first.scroll_into_view_if_needed()
    page.evaluate(f"document.querySelector({json.dumps(selector)}).scrollIntoView()")
    page.wait_for_timeout(150)
    page.screenshot(path=str(path))
    print("wrote", path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs")
    parser.add_argument("--run", type=Path, required=True, help="output folder of a run")
    parser.add_argument("--region", help="region id of the dashboard's region page")
    parser.add_argument("--compare", nargs="*", default=None, help="region ids to compare")
    parser.add_argument("--no-dashboard", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    config = json.loads((args.run / "manifest.json").read_text())["config"]
    region_type = config["study"]["region_type"]
    region = args.region or config["study"]["regions"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto((args.run / "report.html").resolve().as_uri(), wait_until="load")
        page.screenshot(path=str(args.out / "report-first-screen.png"))
        print("wrote", args.out / "report-first-screen.png")
        _shot_at(page, f"#brief-{region}", args.out / "report-region-brief.png")
        _shot_at(page, "#brief-" + region + " figure.chart", args.out / "report-portfolio.png")
        _shot_at(page, "#evidence", args.out / "report-evidence.png")
        _shot_at(page, "#did", args.out / "report-evidence-did.png")
        _shot_at(page, "#resilience", args.out / "report-shock.png")
        brief = args.run / f"brief-{region}.html"
        if brief.is_file():
            page.goto(brief.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            page.screenshot(path=str(args.out / "brief-print.png"), full_page=True)
            print("wrote", args.out / "brief-print.png")
            page.emulate_media(media="screen")
            page.set_viewport_size({"width": 1280, "height": 1000})
        if not args.no_dashboard:
            from clusteratlas.web.app import running

            with running(args.run / "clusteratlas.duckdb") as url:
                page.goto(f"{url}/region?type={region_type}&id={region}", wait_until="load")
                page.screenshot(path=str(args.out / "dashboard-region.png"))
                print("wrote", args.out / "dashboard-region.png")
                _shot_at(page, "#bubble", args.out / "dashboard-region-bubble.png")
                ids = args.compare or [
                    region,
                    *[str(x) for x in config["study"].get("peers") or []],
                ]
                if len(ids) == 1:
                    from clusteratlas.store import Store

                    with Store(args.run / "clusteratlas.duckdb", read_only=True) as store:
                        ids += store.read("run_peers")["peer_id"].astype(str).tolist()[:5]
                query = "&".join(f"r={region_type}:{i}" for i in ids)
                page.goto(f"{url}/compare?{query}", wait_until="load")
                page.screenshot(path=str(args.out / "dashboard-compare.png"), full_page=True)
                print("wrote", args.out / "dashboard-compare.png")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
