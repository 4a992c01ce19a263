"""Page ``/clusters``: the clusters in the store, and whether its regions add up to the nation.

The coverage check is :func:`clusteratlas.panel.national_coverage` (the same function the
report and ``clusteratlas panel coverage`` use) on the store's traded clusters.
"""

from __future__ import annotations

import pandas as pd

from clusteratlas.panel.metrics import national_coverage
from clusteratlas.report.appendix import COVERAGE_COLUMNS
from clusteratlas.web.dashboard import Dashboard, Page, Section
from clusteratlas.web.forms import Query

NAME = "clusters"
TITLE = "Clusters"


def build(dash: Dashboard, q: Query) -> Page:
    return clusters_page(dash)


def links(page: Page, q: Query) -> dict[str, str]:
    return {"cluster_code": "/cluster?code={}"}


def clusters_page(dash: Dashboard) -> Page:
    page = Page("Clusters")
    page.sections.append(
        Section("clusters", "Clusters in the store", pd.DataFrame(dash.meta()["clusters"]))
    )
    region_type, year = dash.default_region_type(), dash.default_year()
    coverage = national_coverage_of(dash, region_type, year)
    if not coverage.empty:
        agree = int(coverage["reading"].eq("agrees").sum())
        page.sections.append(
            Section(
                "coverage",
                f"Do the {region_type} regions add up to the nation? Traded clusters, {year}",
                coverage.assign(off=coverage["reading"].ne("agrees")),
                chart={
                    "kind": "bar",
                    "label": "cluster_name",
                    "value": "gap",
                    "highlight": "off",
                    "top": len(coverage),
                },
                columns=[c for c in COVERAGE_COLUMNS if c in coverage.columns],
                note=f"{agree} of {len(coverage)} within 1% of the national count (red: "
                "outside). gap = sum of regions / national - 1; 'imputation': above by no "
                "more than the jobs imputed to suppressed cells; 'regions short': regions "
                "missing from the data (national_coverage, docs/panel.md).",
            )
        )
    return page


def national_coverage_of(dash: Dashboard, region_type: str, year: int) -> pd.DataFrame:
    """:func:`clusteratlas.panel.national_coverage` of one region type and year (traded
    clusters); empty where the panel lacks the national or reported employment."""
    if not dash.has("cluster_panel", "emp_national", "emp_reported"):
        return pd.DataFrame()

    def compute() -> pd.DataFrame:
        rows = dash.df(
            "select region_type, region_id, year, cluster_code, cluster_name, traded, emp, "
            f"emp_reported, emp_national from cluster_panel where {dash.panel_where} "
            "and traded and region_type = ? and year = ?",
            [region_type, year],
        )
        return national_coverage(rows) if not rows.empty else rows

    return dash.cached(("coverage", region_type, year), compute)
