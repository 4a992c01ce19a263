"""Page ``/``: the store at a glance (region types with their years, and every table in it)."""

from __future__ import annotations

import pandas as pd

from clusteratlas.web.dashboard import Dashboard, Page, Section, table_title
from clusteratlas.web.forms import Query

NAME = "home"
TITLE = "Home"


def build(dash: Dashboard, q: Query) -> Page:
    return home_page(dash)


def links(page: Page, q: Query) -> dict[str, str]:
    return {"region_type": "/regions?type={}"}


def home_page(dash: Dashboard) -> Page:
    meta = dash.meta()
    page = Page(
        "clusteratlas dashboard",
        info={"store": dash.path.name, "years": ", ".join(map(str, meta["years"]))},
    )
    page.sections.append(
        Section("region_types", "Regions in the store", pd.DataFrame(meta["region_types"]))
    )
    page.sections.append(
        Section(
            "tables",
            "Tables in the store",
            pd.DataFrame({"contents": [table_title(t) for t in meta["tables"]]}),
        )
    )
    return page
