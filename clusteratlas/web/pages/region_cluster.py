"""Page ``/region-cluster``: one cluster in one region.

Employment, specialisation and wages over time, and job creation against the expected
(national cluster growth), :math:`E_{rc,t_0}\\,(E_{US,c,t_1}-E_{US,c,t_0})/E_{US,c,t_0}`
(USCM ``report.js jobCreation``; from the panel's ``expected_emp_change`` when stored, else
computed here from the regions in the store), and the cluster's subclusters in the region.
"""

from __future__ import annotations

from clusteratlas.web.dashboard import Dashboard, NotFoundError, Page, Section
from clusteratlas.web.forms import (
    Choices,
    Query,
    cluster_code,
    cluster_label,
    region_box,
    region_id,
    region_type,
    search,
    select,
    year,
)
from clusteratlas.web.pages.cluster import subclusters

NAME = "region-cluster"
TITLE = "Region x cluster"


def build(dash: Dashboard, q: Query) -> Page:
    kind = region_type(dash, q)
    region = region_id(dash, q, kind) or dash.first_region(kind)
    code = cluster_code(dash, q) or dash.meta()["clusters"][0]["cluster_code"]
    return region_cluster_page(dash, kind, region, code, year(dash, q))


def annotate(dash: Dashboard, q: Query, page: Page) -> None:
    page.info["_id"] = (
        q.canonical.get("id")
        or q.text("id")
        or dash.first_region(q.text("type") or dash.default_region_type())
    )
    page.info["_code"] = (
        q.canonical.get("cluster")
        or q.text("cluster")
        or dash.meta()["clusters"][0]["cluster_code"]
    )


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    c = Choices.of(dash, q, page)
    return [
        select("type", "Region type", c.types, c.region_type),
        region_box(dash, c, page),
        search("cluster", "Cluster", cluster_label(dash, page.info.get("_code")), "cluster"),
        select("year", "Year", c.years, c.year),
    ]


def region_cluster_page(
    dash: Dashboard, region_type: str, region_id: str, cluster_code: str, year: int
) -> Page:
    return dash.cached(
        ("rc", region_type, region_id, cluster_code, year),
        lambda: _region_cluster_page(dash, region_type, region_id, cluster_code, year),
        page=True,
    )


def _region_cluster_page(
    dash: Dashboard, region_type: str, region_id: str, cluster_code: str, year: int
) -> Page:
    name = dash.region_name(region_type, region_id)
    info = dash.cluster_info(cluster_code)
    has_expected = dash.has("cluster_panel", "expected_emp_change", "emp_change")
    # expected job creation: E_prev * national cluster growth (report.js jobCreation);
    # computed here from the panel when the panel engine did not store it
    if has_expected:
        change = "emp_change, expected_emp_change"
    else:
        change = """emp - lag(emp) over w as emp_change,
            lag(emp) over w * (nat_emp / lag(nat_emp) over w - 1) as expected_emp_change"""
    history = dash.df(
        f"""with p as (
              select c.year, c.emp, c.lq, c.wage, c.est, c.national_share, coalesce(c.strong, false) as strong,
                     {"c.emp_change, c.expected_emp_change" if has_expected else "n.nat_emp"}
              from cluster_panel c
              {"" if has_expected else "join (select year, sum(emp) as nat_emp from cluster_panel where cluster_code = ? and region_type = ? and " + dash.panel_where + " group by year) n using (year)"}
              where c.cluster_code = ? and c.region_type = ? and c.region_id = ? and {dash.panel_where.replace("subcluster_code", "c.subcluster_code")})
            select year, emp, lq, wage, est, national_share, strong, {change}
            from p {"" if has_expected else "window w as (order by year)"} order by year""",
        ([] if has_expected else [cluster_code, region_type])
        + [cluster_code, region_type, region_id],
    )
    if history.empty:
        raise NotFoundError(f"{name} has no rows for cluster {cluster_code}")
    history["competitive_effect"] = history["emp_change"] - history["expected_emp_change"]
    now = history.loc[history["year"] == year]
    row = now.iloc[0] if len(now) else None
    page = Page(
        f"{info['cluster_name']} in {name}",
        info={
            "region": f"{name} ({region_type} {region_id})",
            "cluster": f"{info['cluster_name']} ({cluster_code})",
            "year": year,
            "employment": None if row is None else row["emp"],
            "location quotient": None if row is None else row["lq"],
            "average wage": None if row is None else row["wage"],
            "strong": None if row is None else bool(row["strong"]),
        },
    )
    if not has_expected:
        page.messages.append(
            f"Expected job creation uses national growth = sum over the {region_type} regions in the store (the panel has no expected_emp_change column)."
        )
    page.sections.append(
        Section(
            "history",
            "Employment, specialization and wages over time",
            history,
            chart={"kind": "line", "x": "year", "series": ["emp"]},
        )
    )
    jobs = history.loc[
        history["emp_change"].notna(),
        ["year", "emp_change", "expected_emp_change", "competitive_effect"],
    ]
    page.sections.append(
        Section(
            "job_creation",
            "Job creation vs expected (national cluster growth)",
            jobs.reset_index(drop=True),
            chart={
                "kind": "bars",
                "x": "year",
                "series": ["emp_change", "expected_emp_change"],
            },
        )
    )
    page.sections.append(subclusters(dash, cluster_code, year, region_type, region_id))
    return page
