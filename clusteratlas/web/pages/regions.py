"""Page ``/regions``: the regions of one type, searchable by name."""

from __future__ import annotations

from clusteratlas.errors import ParameterError
from clusteratlas.web.dashboard import MAX_ROWS, Dashboard, Page, Section
from clusteratlas.web.forms import Choices, Query, region_type, select, text

NAME = "regions"
TITLE = "Regions"


def build(dash: Dashboard, q: Query) -> Page:
    search = q.text("q")
    if search and len(search) > 100:
        raise ParameterError("q", "search text longer than 100 characters")
    return regions_page(dash, region_type(dash, q), search)


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    c = Choices.of(dash, q, page)
    return [
        select("type", "Region type", c.types, c.region_type),
        text("q", "Name contains", q.text("q")),
    ]


def links(page: Page, q: Query) -> dict[str, str]:
    year = page.info.get("year")
    suffix = f"&year={year}" if year else ""
    return {"region_id": f"/region?type={q.text('type') or ''}{suffix}&id={{}}"}


def regions_page(dash: Dashboard, region_type: str, search: str | None) -> Page:
    page = Page(f"Regions: {region_type}", info={"type": region_type})
    page.sections.append(
        Section("regions", "Regions", dash.region_list(region_type, search, limit=MAX_ROWS))
    )
    return page
