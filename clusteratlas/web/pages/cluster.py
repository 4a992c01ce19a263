"""Page ``/cluster``: one cluster across regions.

Top regions by employment, the national trend, its subclusters (employment from the store's
industry counts where present) and its related clusters (USCM pairs at the 90th percentile of
relatedness: the store's ``related_clusters`` table, else
:func:`clusteratlas.panel.relatedness.load_related_pairs`).
"""

from __future__ import annotations

import pandas as pd

from clusteratlas.errors import ClusterAtlasError
from clusteratlas.panel.relatedness import load_related_pairs
from clusteratlas.web.dashboard import Dashboard, Page, Section
from clusteratlas.web.forms import (
    Choices,
    Query,
    cluster_code,
    cluster_label,
    region_type,
    search,
    select,
    year,
)

NAME = "cluster"
TITLE = "Cluster"
#: regions in a cluster page's top list
TOP_REGIONS = 25


def build(dash: Dashboard, q: Query) -> Page:
    code = cluster_code(dash, q, "code") or dash.meta()["clusters"][0]["cluster_code"]
    return cluster_page(dash, code, region_type(dash, q), year(dash, q))


def annotate(dash: Dashboard, q: Query, page: Page) -> None:
    page.info["_code"] = (
        q.canonical.get("code") or q.text("code") or dash.meta()["clusters"][0]["cluster_code"]
    )


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    c = Choices.of(dash, q, page)
    return [
        search("code", "Cluster", cluster_label(dash, page.info.get("_code")), "cluster"),
        select("type", "Region type", c.types, c.region_type),
        select("year", "Year", c.years, c.year),
    ]


def links(page: Page, q: Query) -> dict[str, str]:
    year_ = page.info.get("year")
    suffix = f"&year={year_}" if year_ else ""
    rtype = q.text("type") or ""
    return {
        "region_id": f"/region-cluster?type={rtype}&cluster={page.info.get('_code')}{suffix}&id={{}}",
        "related_cluster_code": f"/cluster?type={rtype}{suffix}&code={{}}",
    }


def cluster_page(dash: Dashboard, cluster_code: str, region_type: str, year: int) -> Page:
    """Cluster dashboard: top regions, subclusters, related clusters, national trend."""
    return dash.cached(
        ("cluster", cluster_code, region_type, year),
        lambda: _cluster_page(dash, cluster_code, region_type, year),
        page=True,
    )


def _cluster_page(dash: Dashboard, cluster_code: str, region_type: str, year: int) -> Page:
    info = dash.cluster_info(cluster_code)
    # every cluster's top regions of the year and totals by year come from one query each
    # (per region type and year), so a cluster page reads them instead of scanning the panel
    top = dash.rows_by(
        "cluster_code",
        f"""select cluster_code, region_id, emp, lq, national_share, wage, est,
               coalesce(strong, false) as strong, {dash.panel_col("emp_change")}
            from cluster_panel where region_type = ? and year = ? and {dash.panel_where}
            qualify row_number() over (partition by cluster_code order by emp desc, region_id) <= {TOP_REGIONS}
            order by cluster_code, emp desc, region_id""",
        [region_type, year],
        ("cluster_top_regions", region_type, year),
    )(cluster_code).drop(columns="cluster_code")
    names = dash.region_list(region_type)[["region_id", "region_name"]]
    top = top.merge(names, on="region_id", how="left")
    top.insert(1, "region_name", top.pop("region_name"))
    totals = dash.rows_by(
        "cluster_code",
        f"select cluster_code, year, sum(emp) as emp, sum(est) as est, count(*) filter (where strong) as strong_regions from cluster_panel "
        f"where region_type = ? and {dash.panel_where} group by cluster_code, year order by cluster_code, year",
        [region_type],
        ("cluster_totals", region_type),
    )(cluster_code).drop(columns="cluster_code")
    this_year = totals.loc[totals["year"] == year]
    page = Page(
        f"{info['cluster_name']} cluster",
        info={
            "cluster": f"{info['cluster_name']} ({cluster_code})",
            "traded": bool(info["traded"]),
            "region type": region_type,
            "year": year,
            f"employment summed over {region_type} regions": this_year["emp"].iloc[0]
            if len(this_year)
            else None,
            "regions where strong": this_year["strong_regions"].iloc[0] if len(this_year) else None,
        },
    )
    page.sections.append(
        Section(
            "top_regions",
            f"Top {region_type} regions by employment",
            top,
            chart={
                "kind": "bar",
                "label": "region_name",
                "value": "emp",
                "highlight": "strong",
                "link": "region_id",
            },
        )
    )
    page.sections.append(
        Section(
            "trend",
            "Employment over time",
            totals,
            chart={"kind": "line", "x": "year", "series": ["emp"]},
        )
    )
    page.sections.append(subclusters(dash, cluster_code, year, None, None))
    page.sections.append(_related(dash, cluster_code, info["cluster_name"], page))
    return page


def subclusters(
    dash: Dashboard, cluster_code: str, year: int, region_type: str | None, region_id: str | None
) -> Section:
    """Subclusters of a cluster, with employment from industry_counts when the store has it."""
    if not dash.has(
        "cluster_definitions", "cluster_code", "subcluster_code", "subcluster_name", "naics"
    ):
        return Section(
            "subclusters",
            "Subclusters",
            pd.DataFrame(columns=["subcluster_code", "subcluster_name"]),
            note="the store has no cluster_definitions table, so subclusters are unknown",
        )
    defs = "cluster_definitions"
    if dash.has(
        "industry_counts", "region_type", "region_id", "year", "naics", "emp", "naics_vintage"
    ) and dash.has(defs, "naics_vintage"):
        # the cluster page (national rows): every cluster's subclusters of the year in one
        # query, read by cluster; a region's (region-cluster page): that region's rows
        national = region_type is None
        where = "c.region_type = 'nation'" if national else "c.region_type = ? and c.region_id = ?"
        each = "d.cluster_code, " if national else ""
        query = f"""select {each}d.subcluster_code, any_value(d.subcluster_name) as subcluster_name,
                   count(distinct d.naics) as industries, sum(c.emp) as emp, sum(c.est) as est,
                   case when sum(c.emp_reported) > 0 then sum(c.ap) * 1000.0 / sum(c.emp_reported) end as wage
                from {defs} d left join industry_counts c
                  on c.naics = d.naics and c.naics_vintage = d.naics_vintage and c.year = ? and {where}
                where {"" if national else "d.cluster_code = ? and "}d.subcluster_code is not null
                group by {each}d.subcluster_code, d.naics_vintage
                order by {each}emp desc nulls last, d.subcluster_code, d.naics_vintage"""
        if national:
            lookup = dash.rows_by("cluster_code", query, [year], ("subclusters", year))
            frame = lookup(cluster_code).drop(columns="cluster_code")
        else:
            frame = dash.df(query, [year, region_type, region_id, cluster_code])
        # one naics vintage applies per year: keep the vintage whose industries matched
        if len(frame) and frame["emp"].notna().any():
            frame = frame.loc[frame["emp"].notna()]
        else:
            frame = frame.drop_duplicates("subcluster_code")
        return Section(
            "subclusters",
            "Subclusters",
            frame.reset_index(drop=True),
            chart={"kind": "bar", "label": "subcluster_name", "value": "emp"}
            if frame["emp"].notna().any()
            else None,
        )
    frame = dash.df(
        f"select subcluster_code, any_value(subcluster_name) as subcluster_name, count(distinct naics) as industries "
        f"from {defs} where cluster_code = ? and subcluster_code is not null group by 1 order by 1",
        [cluster_code],
    )
    return Section(
        "subclusters",
        "Subclusters",
        frame,
        note="employment by subcluster needs industry_counts in the store",
    )


def related_pairs(dash: Dashboard) -> pd.DataFrame | None:
    def compute() -> pd.DataFrame | None:
        if dash.has("related_clusters", "cluster_code", "related_cluster_code"):
            return dash.df("select * from related_clusters")
        try:
            return load_related_pairs()
        except (ClusterAtlasError, OSError):
            return None

    return dash.cached(("related_pairs",), compute)


def _related(dash: Dashboard, cluster_code: str, cluster_name: str, page: Page) -> Section:
    pairs = related_pairs(dash)
    empty = pd.DataFrame(
        columns=["related_cluster_code", "related_cluster_name", "relatedness_pct"]
    )
    if pairs is None:
        return Section(
            "related",
            "Related clusters",
            empty,
            note="no related-cluster table: add a related_clusters table to the store or the USCM related-clusters file to the shared data",
        )
    rel = pairs.loc[pairs["cluster_code"].astype(str) == cluster_code].copy()
    names = {c["cluster_code"]: c["cluster_name"] for c in dash.meta()["clusters"]}
    rel["related_cluster_name"] = (
        rel["related_cluster_code"].astype(str).map(names).fillna(rel.get("related_cluster_name"))
    )
    keep = [
        c
        for c in [
            "related_cluster_code",
            "related_cluster_name",
            "relatedness",
            "relatedness_pct",
            "colocation_emp_pct",
            "input_output_pct",
            "occupation_pct",
        ]
        if c in rel.columns
    ]
    sort = "relatedness_pct" if "relatedness_pct" in rel.columns else keep[0]
    rel = rel[keep].sort_values(sort, ascending=False).reset_index(drop=True)
    return Section(
        "related",
        "Related clusters (USCM, 90th-percentile relatedness)",
        rel,
        chart={
            "kind": "network",
            "center": cluster_name,
            "label": "related_cluster_name",
            "weight": sort,
            "link": "related_cluster_code",
        },
    )
