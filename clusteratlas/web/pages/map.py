"""Page ``/map``: a choropleth of one metric (region totals, or one cluster) and the ranked regions.

The map is the report's renderer, :func:`clusteratlas.report.maps.choropleth_svg` (MSA and
economic-area maps colour member counties); when it cannot be drawn, the ranked table stays
and a message says why.
"""

from __future__ import annotations

import pandas as pd

from clusteratlas.errors import ParameterError
from clusteratlas.report.maps import choropleth_svg
from clusteratlas.report.scales import Kind
from clusteratlas.web.dashboard import (
    CLUSTER_METRICS,
    REGION_METRICS,
    Dashboard,
    NotFoundError,
    Page,
    Section,
)
from clusteratlas.web.forms import Choices, Query, region_type, select, year

NAME = "map"
TITLE = "Map"


#: the default metric of each map kind (region totals; one cluster)
REGION_DEFAULT, CLUSTER_DEFAULT = "cluster_strength", "lq"


def build(dash: Dashboard, q: Query) -> Page:
    code = q.code("cluster")
    metric = q.text("metric") or (CLUSTER_DEFAULT if code else REGION_DEFAULT)
    check_metric(metric, code)
    return map_page(dash, region_type(dash, q), metric, year(dash, q), code)


def check_metric(metric: str, cluster_code: str | None) -> None:
    """The metric must belong to the map kind: region totals (no cluster) or one cluster.

    Raises a :class:`ParameterError` that says which kind the metric belongs to and what to
    choose instead (the form offers only valid pairs; a hand-edited URL gets this message).
    """
    allowed = CLUSTER_METRICS if cluster_code else REGION_METRICS
    if metric in allowed:
        return
    other = REGION_METRICS if cluster_code else CLUSTER_METRICS
    if cluster_code:
        why = (
            f"{metric[:40]!r} is a region-total metric; a map of one cluster "
            f"({cluster_code}) shows one of the cluster metrics below (or clear the cluster "
            "to map region totals)"
        )
    else:
        why = (
            f"{metric[:40]!r} is a metric of one cluster; choose a cluster, or one of the "
            "region-total metrics below"
        )
    raise ParameterError(
        "metric",
        why if metric in other else f"unknown value {metric[:40]!r}",
        allowed=", ".join(allowed),
    )


def _metric_options() -> list[tuple[str, str, str]]:
    """Every metric once, tagged with when it is offered ("empty": region totals only, "set":
    one cluster only, "": both); each kind's default comes first, as the script falls back to
    the first option offered."""
    both = [k for k in REGION_METRICS if k in CLUSTER_METRICS]
    order = [
        REGION_DEFAULT,
        CLUSTER_DEFAULT,
        *both,
        *(k for k in REGION_METRICS if k not in both),
        *(k for k in CLUSTER_METRICS if k not in both),
    ]
    out = []
    for key in dict.fromkeys(order):
        when = "" if key in both else "empty" if key in REGION_METRICS else "set"
        out.append((key, (REGION_METRICS.get(key) or CLUSTER_METRICS[key])[0], when))
    return out


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    c = Choices.of(dash, q, page)
    code = q.text("cluster")
    return [
        select("type", "Region type", c.types, c.region_type),
        select(
            "cluster",
            "Cluster (empty: all clusters)",
            [("", "(region totals)"), *c.clusters],
            code or "",
        ),
        select(
            "metric",
            "Metric",
            _metric_options(),
            q.text("metric") or (CLUSTER_DEFAULT if code else REGION_DEFAULT),
            follows="cluster",
        ),
        select("year", "Year", c.years, c.year),
    ]


def links(page: Page, q: Query) -> dict[str, str]:
    year_ = page.info.get("year")
    suffix = f"&year={year_}" if year_ else ""
    return {"region_id": f"/region?type={q.text('type') or ''}{suffix}&id={{}}"}


def map_page(
    dash: Dashboard, region_type: str, metric: str, year: int, cluster_code: str | None
) -> Page:
    return dash.cached(
        ("map", region_type, metric, year, cluster_code),
        lambda: _map_page(dash, region_type, metric, year, cluster_code),
        page=True,
    )


def _map_page(
    dash: Dashboard, region_type: str, metric: str, year: int, cluster_code: str | None
) -> Page:
    check_metric(metric, cluster_code)
    if cluster_code:
        info = dash.cluster_info(cluster_code)
        column = metric if metric in dash.columns["cluster_panel"] else None
        if (
            column is None
            and metric == "competitive_effect"
            and dash.has("cluster_panel", "emp_change", "expected_emp_change")
        ):
            column = "emp_change - expected_emp_change"
        if column is None:
            raise NotFoundError(f"the store's cluster_panel has no {metric!r} column")
        values = dash.df(
            f"select region_id, {column} as value from cluster_panel where region_type = ? and year = ? and cluster_code = ? and {dash.panel_where}",
            [region_type, year, cluster_code],
        )
        label = f"{CLUSTER_METRICS[metric][0]}: {info['cluster_name']}"
    else:
        values = dash.region_summary(region_type, year)[["region_id", metric]].rename(
            columns={metric: "value"}
        )
        label = REGION_METRICS[metric][0]
    names = dash.region_list(region_type)[["region_id", "region_name"]]
    values = values.merge(names, on="region_id", how="left")[["region_id", "region_name", "value"]]
    values = values.sort_values(
        "value", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)
    values.insert(0, "rank", range(1, len(values) + 1))
    page = Page(
        f"Map: {label}, {region_type}, {year}",
        info={
            "metric": label,
            "region type": region_type,
            "year": year,
            "regions": len(values),
        },
    )
    members = None
    if region_type in ("msa", "economic_area") and dash.has(
        "region_members", "region_type", "member_type"
    ):
        members = dash.df("select * from region_members where region_type = ?", [region_type])
    svg, message = choropleth(
        values,
        region_type=region_type,
        title=f"{label}, {year}",
        members=members,
        scale=metric_scale(metric),
        percent=(CLUSTER_METRICS if cluster_code else REGION_METRICS)[metric][1] == "pct",
    )
    if message:
        page.messages.append(message)
    if svg:
        page.sections.append(
            Section("map", "Map", values, chart={"kind": "svg", "svg": svg}, show_table=False)
        )
    page.sections.append(
        Section(
            "ranked",
            "Ranked regions",
            values,
            chart={"kind": "bar", "label": "region_name", "value": "value", "top": 30},
        )
    )
    return page


def metric_scale(metric: str) -> Kind:
    """The colour scale a metric needs (:mod:`clusteratlas.report.scales`): location quotients
    on log LQ centred at 1, job changes centred at 0 (clipped at robust quantiles), levels
    sequential."""
    if metric == "lq":
        return "ratio"
    if metric in ("emp_change", "competitive_effect"):
        return "diverging"
    return "sequential"


def choropleth(
    values: pd.DataFrame,
    *,
    region_type: str,
    title: str,
    members: pd.DataFrame | None = None,
    scale: Kind = "sequential",
    percent: bool = False,
) -> tuple[str | None, str | None]:
    """An SVG choropleth (:func:`clusteratlas.report.maps.choropleth_svg`), or a message why not."""
    try:
        series = values.set_index("region_id")["value"]
        svg = choropleth_svg(
            series,
            region_type=region_type,
            title=title,
            members=members,
            scale=scale,
            percent=percent,
            legend_label="LQ" if scale == "ratio" else "",
        )
    except Exception as error:  # a map failure must not break the page: show the table
        return (
            None,
            f"The map could not be drawn ({type(error).__name__}: {error}); showing a ranked table instead.",
        )
    return str(svg), None
