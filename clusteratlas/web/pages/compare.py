"""Page ``/compare``: up to ten regions side by side, chosen by name, with their strong clusters.

Regions come as repeated ``r=TYPE:ID`` (``r=state:01&r=state:13``); a box may also hold a
name as typed ("Alabama", "Alabama (state 01)"), which the HTML page resolves and redirects
to the id URL. The page shows the chosen metric as bars, every metric in a table, the metric
over time where the store has several years, and the strong clusters of each region (LQ).
"""

from __future__ import annotations

import pandas as pd

from clusteratlas.errors import ParameterError
from clusteratlas.report import labels
from clusteratlas.schema import REGION_TYPES
from clusteratlas.web.dashboard import (
    REGION_METRICS,
    Dashboard,
    NotFoundError,
    Page,
    Section,
)
from clusteratlas.web.forms import Choices, Query, region_label, search, select, year

NAME = "compare"
TITLE = "Compare"
MAX_COMPARE = 10


def build(dash: Dashboard, q: Query) -> Page:
    picked = q.values("r")
    if len(picked) > MAX_COMPARE:
        raise ParameterError("r", f"{len(picked)} regions given; compare at most {MAX_COMPARE}")
    pairs = []
    renamed = False
    for item in picked:
        if not item:
            continue
        kind, _, region_id = item.partition(":")
        if region_id and kind in REGION_TYPES:
            kind = dash.check_region_type(kind)
            found = dash.resolve_region(kind, region_id)  # an id, or a name typed in a box
            renamed = renamed or found != region_id
            pairs.append((kind, found))
            continue
        if ":" in item or item in REGION_TYPES:
            raise ParameterError(
                "r", f"{item[:40]!r} is not TYPE:ID (e.g. state:06) or a region name"
            )
        kind = dash.default_region_type()  # a name as typed in a box
        pairs.append((kind, dash.resolve_region(kind, item)))
        renamed = True
    if renamed:
        q.multi["r"] = [f"{t}:{i}" for t, i in pairs]
        q.canonical["r"] = ""
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
    boxes = []
    for i in range(min(max(len(picked) + 1, 3), MAX_COMPARE)):
        kind, _, rid = (picked[i] if i < len(picked) else "").partition(":")
        shown = region_label(dash, kind, rid) if rid else ""
        boxes.append(search("r", f"Region {i + 1}", shown, "region", kind or c.region_type))
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
    years = dash.meta()["years"]
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
    if regions and len(years) > 1:
        placeholders = " or ".join("(region_type = ? and region_id = ?)" for _ in regions)
        params = [v for pair in regions for v in pair]
        lines = dash.df(
            f"select region_type, region_id, year, {metric} as value from {dash.summary_sql} "
            f"where {placeholders} order by year",
            params,
        )
        lines["name"] = [
            dash.region_name(t, i)
            for t, i in zip(lines["region_type"], lines["region_id"], strict=True)
        ]
        wide = lines.pivot_table(index="year", columns="name", values="value", aggfunc="first")
        wide.columns.name = None
        wide = wide.reset_index()
        page.sections.append(
            Section(
                "timeline",
                f"{REGION_METRICS[metric][0]} over time",
                wide,
                chart={
                    "kind": "line",
                    "x": "year",
                    "series": [c for c in wide.columns if c != "year"],
                    "ylabel": REGION_METRICS[metric][0],
                    "value_kind": labels.kind_of(metric),
                },
                kinds={c: labels.kind_of(metric) for c in wide.columns if c != "year"},
            )
        )
    if regions:
        placeholders = " or ".join("(region_type = ? and region_id = ?)" for _ in regions)
        params = [v for pair in regions for v in pair]
        strong = dash.df(
            f"select region_type, region_id, cluster_name, lq from cluster_panel "
            f"where year = ? and coalesce(strong, false) and ({placeholders}) and {dash.panel_where}",
            [year, *params],
        )
        if len(strong):
            strong["region"] = [
                dash.region_name(t, i)
                for t, i in zip(strong["region_type"], strong["region_id"], strict=True)
            ]
            matrix = strong.pivot_table(
                index="cluster_name", columns="region", values="lq", aggfunc="first"
            )
            matrix = matrix.reindex(
                columns=[n for n in table["region_name"] if n in matrix.columns]
            )
            matrix["_n"] = matrix.notna().sum(axis=1)
            matrix = matrix.sort_values(["_n", "cluster_name"], ascending=[False, True])
            matrix = matrix.drop(columns="_n").reset_index()
            matrix.columns.name = None
            page.sections.append(
                Section(
                    "strong_matrix",
                    "Strong clusters of each region (LQ where strong; – = not strong there)",
                    matrix,
                )
            )
    return page
