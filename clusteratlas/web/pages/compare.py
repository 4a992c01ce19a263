"""Page ``/compare``: up to ten regions side by side on one metric, with their strong clusters."""

from __future__ import annotations

import pandas as pd

from clusteratlas.errors import ParameterError
from clusteratlas.web.dashboard import (
    REGION_METRICS,
    Dashboard,
    NotFoundError,
    Page,
    Section,
    check_id,
)
from clusteratlas.web.forms import Choices, Query, select, text, year

NAME = "compare"
TITLE = "Compare"
MAX_COMPARE = 10


def build(dash: Dashboard, q: Query) -> Page:
    picked = q.values("r")
    if len(picked) > MAX_COMPARE:
        raise ParameterError("r", f"{len(picked)} regions given; compare at most {MAX_COMPARE}")
    pairs = []
    for item in picked:
        if not item:
            continue
        kind, _, region_id = item.partition(":")
        if not region_id:
            raise ParameterError("r", f"{item[:40]!r} is not TYPE:ID (e.g. state:06)")
        pairs.append((dash.check_region_type(kind), check_id("r", region_id)))
    if not pairs:
        kind = dash.default_region_type()
        top = dash.region_summary(kind, dash.default_year())["region_id"].head(3)
        pairs = [(kind, str(r)) for r in top]
    metric = q.choice("metric", REGION_METRICS, "cluster_strength")
    return compare_page(dash, pairs, year(dash, q), metric)


def annotate(dash: Dashboard, q: Query, page: Page) -> None:
    table = page.sections[0].table
    page.info["_regions"] = [
        f"{t}:{i}" for t, i in zip(table["region_type"], table["region_id"], strict=True)
    ]


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    c = Choices.of(dash, q, page)
    picked = q.params.getlist("r") or page.info.get("_regions", [])
    boxes = [
        text("r", f"Region {i + 1} (type:id)", picked[i] if i < len(picked) else "")
        for i in range(max(len(picked) + 1, 3))
    ][:MAX_COMPARE]
    return [
        *boxes,
        select(
            "metric",
            "Metric",
            [(k, v[0]) for k, v in REGION_METRICS.items()],
            q.text("metric") or "cluster_strength",
        ),
        select("year", "Year", c.years, c.year),
    ]


def links(page: Page, q: Query) -> dict[str, str]:
    year_ = page.info.get("year")
    suffix = f"&year={year_}" if year_ else ""
    return {"region_id": f"/region?{suffix[1:]}&type={{region_type}}&id={{}}"}


def compare_page(dash: Dashboard, regions: list[tuple[str, str]], year: int, metric: str) -> Page:
    if metric not in REGION_METRICS:
        raise ParameterError(
            "metric", f"unknown metric {metric[:40]!r}", allowed=", ".join(REGION_METRICS)
        )
    rows = []
    for region_type, region_id in regions:
        name = dash.region_name(region_type, region_id)
        summary = dash.region_summary(region_type, year)
        own = summary.loc[summary["region_id"] == region_id]
        if own.empty:
            raise NotFoundError(f"{name} has no data for {year}")
        record = own.iloc[0].to_dict()
        record["region_name"] = name
        rows.append(record)
    table = pd.DataFrame(rows)
    table = table[
        [
            "region_type",
            "region_id",
            "region_name",
            *[m for m in REGION_METRICS if m in table.columns],
        ]
    ]
    page = Page(
        f"Compare {len(regions)} regions",
        info={"year": year, "metric": REGION_METRICS[metric][0]},
    )
    page.sections.append(
        Section(
            "comparison",
            f"{REGION_METRICS[metric][0]}, {year}",
            table,
            chart={"kind": "bar", "label": "region_name", "value": metric, "sort": False},
        )
    )
    if regions:
        placeholders = " or ".join("(region_type = ? and region_id = ?)" for _ in regions)
        params = [v for pair in regions for v in pair]
        strong = dash.df(
            f"select region_type || ':' || region_id as region, cluster_name, lq from cluster_panel "
            f"where year = ? and coalesce(strong, false) and ({placeholders}) and {dash.panel_where}",
            [year, *params],
        )
        if len(strong):
            matrix = strong.pivot_table(
                index="cluster_name", columns="region", values="lq", aggfunc="first"
            ).reset_index()
            matrix.columns.name = None
            page.sections.append(
                Section("strong_matrix", "Strong clusters (LQ where strong)", matrix)
            )
    return page
