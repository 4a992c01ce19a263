"""Read side of the dashboard: every page's data, queried from a clusteratlas store.

This module owns the SQL behind ``clusteratlas serve``. It opens the store's DuckDB file
read-only, reads only the canonical tables of :mod:`clusteratlas.schema` (``cluster_panel``,
``regions``, ``region_members``, ``region_summary``, ``cluster_definitions``,
``industry_counts``, ``outcomes``) and result tables other modules write (resilience and
causal tables, found by name), and returns each page as a :class:`Page`: a few headline
facts plus named :class:`Section` tables, each with an optional chart spec. The HTML view, the
JSON API and the CSV export all render the same :class:`Page`, so they cannot disagree.

Region totals follow USCM ``calc_cluster_strength`` (sums over traded clusters):

.. math::

    \\text{cluster\\_strength}_r = \\frac{\\sum_{c\\ strong} E_{rc}}{\\sum_{c\\ traded} E_{rc}}
    \\qquad \\text{wage}_r = \\frac{1000 \\sum_c AP_{rc}}{\\sum_c E^{reported}_{rc}}

and the expected job creation of a region-cluster is
:math:`E_{rc,t_0}\\,(E_{US,c,t_1}-E_{US,c,t_0})/E_{US,c,t_0}` (USCM ``report.js jobCreation``).

The store is opened read-only, so its content cannot change while the server runs: answers
are cached per query (bounded LRU). One connection serves every request under a lock
(DuckDB parallelises inside a query; a local dashboard does not need more).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from clusteratlas.errors import ClusterAtlasError, InputError, ParameterError
from clusteratlas.schema import REGION_TYPES


class NotFoundError(ClusterAtlasError, LookupError):
    """A region, cluster or year asked for is not in the store (HTTP 404)."""


# Region-level metrics a map or comparison can show (label, format).
REGION_METRICS: dict[str, tuple[str, str]] = {
    "emp": ("Employment", "int"),
    "emp_traded": ("Traded employment", "int"),
    "emp_local": ("Local employment", "int"),
    "est": ("Establishments", "int"),
    "wage": ("Average wage", "money"),
    "cluster_strength": ("Cluster strength (share of traded jobs in strong clusters)", "pct"),
    "n_strong": ("Number of strong clusters", "int"),
    "strong_emp": ("Employment in strong clusters", "int"),
}

# Region x cluster metrics (for maps of one cluster).
CLUSTER_METRICS: dict[str, tuple[str, str]] = {
    "emp": ("Employment", "int"),
    "lq": ("Location quotient", "num"),
    "est": ("Establishments", "int"),
    "wage": ("Average wage", "money"),
    "national_share": ("Share of national cluster employment", "pct"),
    "emp_change": ("Job creation since previous year", "int"),
    "competitive_effect": ("Job creation above expected", "int"),
}

REGION_SUMMARY_COLUMNS = (
    "region_type",
    "region_id",
    "year",
    "emp",
    "emp_traded",
    "emp_local",
    "est",
    "wage",
    "n_strong",
    "strong_emp",
    "cluster_strength",
)

# Store tables shown on the causal-results page (by name prefix) and on region pages.
# (``run_*`` are the tables `clusteratlas run` writes)
CAUSAL_PREFIXES = (
    "causal",
    "did",
    "rd_",
    "rdd",
    "cho2024",
    "event_study",
    "twfe",
    "run_did",
    "run_event_study",
    "run_rd",
)
RESILIENCE_PREFIXES = ("resilience", "run_resilience", "run_cluster_resilience")

MAX_ROWS = 500  # rows per table in one page (the CSV export has them all up to EXPORT_ROWS)
EXPORT_ROWS = 200_000
_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


@dataclass
class Section:
    """One titled table of a page, optionally drawn as a chart.

    ``chart`` is a spec for :mod:`clusteratlas.web.charts`: ``{"kind": "bar"|"line"|"network"|
    "heatmap", ...column names...}``.
    """

    key: str
    title: str
    table: pd.DataFrame
    chart: dict[str, Any] | None = None
    note: str | None = None
    show_table: bool = True  # False where the chart already shows every row (maps)


@dataclass
class Page:
    """Everything one dashboard page shows."""

    title: str
    info: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise NotFoundError(
            f"this page has no table {key!r}; it has {', '.join(s.key for s in self.sections)}"
        )


def check_id(name: str, value: str) -> str:
    """A region id or cluster code: short, plain characters (anything else is a 400)."""
    if not _ID.match(value or ""):
        raise ParameterError(
            name,
            f"{value[:50]!r} is not a valid code",
            allowed="1-40 letters, digits, '.', '_' or '-'",
        )
    return value


class Dashboard:
    """The dashboard's read-only view of one store file."""

    def __init__(self, path: str | Path, *, cache_size: int = 512) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(
                "store file not found",
                path=str(self.path),
                hint="build one with `clusteratlas panel build` or `clusteratlas run`",
            )
        try:
            self._con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as error:
            raise InputError(
                f"cannot open the store read-only: {error}", path=str(self.path)
            ) from None
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        tables = self._rows(
            "select table_name, column_name from information_schema.columns where table_schema = 'main' order by table_name, ordinal_position"
        )
        self.columns: dict[str, list[str]] = {}
        for table, column in tables:
            self.columns.setdefault(table, []).append(column)
        if "cluster_panel" not in self.columns:
            raise InputError(
                "the store has no cluster_panel table",
                path=str(self.path),
                hint=f"it has {', '.join(sorted(self.columns)) or 'no tables'}; build the panel first (clusteratlas panel build)",
            )
        panel_cols = self.columns["cluster_panel"]
        # a subcluster-level panel in the same table would double count: keep cluster rows
        self._panel_where = "subcluster_code is null" if "subcluster_code" in panel_cols else "true"
        # per region-year totals are small (regions x years): materialise them once in a temp
        # table of this connection, so region pages, timelines and comparisons read that
        with self._lock:
            self._con.execute(
                f"create temp table _region_summary as select * from {self._region_summary_source()}"
            )
        self._summary_sql = "_region_summary"
        self.synthetic = self._is_synthetic()

    def _is_synthetic(self) -> bool:
        """True when the store's sources say synthetic/demo data (the pages then say so)."""
        for table in (
            "industry_counts",
            "outcomes",
            "regions",
            "cluster_panel",
            "related_clusters",
        ):
            if self.has(table, "source"):
                rows = self._rows(
                    f"select 1 from \"{table}\" where source ilike '%synthetic%' or source ilike '%demo%' limit 1"
                )
                if rows:
                    return True
        return False

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # -- low level ----------------------------------------------------------------------------
    def _rows(self, query: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._con.execute(query, list(params)).fetchall()

    def _df(self, query: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._lock:
            return self._con.execute(query, list(params)).df()

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and all(c in self.columns[table] for c in columns)

    def _panel_col(self, column: str, fallback: str = "null") -> str:
        return column if column in self.columns["cluster_panel"] else f"{fallback} as {column}"

    def _region_summary_source(self) -> str:
        """SQL for per region-year totals: the store's region_summary if complete, else computed.

        The computed version follows :func:`clusteratlas.panel.metrics.region_summary`.
        """
        for table in ("region_summary", "run_region_summary"):  # the latter: `clusteratlas run`
            if self.has(table, *REGION_SUMMARY_COLUMNS):
                return "(select " + ", ".join(REGION_SUMMARY_COLUMNS) + f" from {table})"
        strong = "coalesce(strong, false)"
        return f"""(select region_type, region_id, year,
            sum(emp) as emp,
            sum(case when traded then emp else 0 end) as emp_traded,
            sum(emp) - sum(case when traded then emp else 0 end) as emp_local,
            sum(est) as est,
            case when sum(emp_reported) > 0 then sum(ap) * 1000.0 / sum(emp_reported) end as wage,
            count(*) filter (where traded and {strong}) as n_strong,
            sum(case when traded and {strong} then emp else 0 end) as strong_emp,
            case when sum(case when traded then emp else 0 end) > 0
                 then sum(case when traded and {strong} then emp else 0 end)
                      / sum(case when traded then emp else 0 end) end as cluster_strength
            from cluster_panel where {self._panel_where} group by region_type, region_id, year)"""

    # -- lookups ------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """Region types, years and clusters in the store (for forms and the home page)."""

        def compute() -> dict[str, Any]:
            types = self._rows(
                f"select region_type, count(distinct region_id), min(year), max(year) from cluster_panel where {self._panel_where} group by 1 order by 1"
            )
            years = [
                r[0]
                for r in self._rows(
                    f"select distinct year from cluster_panel where {self._panel_where} order by 1"
                )
            ]
            clusters = self._df(
                f"select cluster_code, any_value(cluster_name) as cluster_name, bool_or(traded) as traded from cluster_panel where {self._panel_where} group by 1"
            )
            clusters = clusters.iloc[_natural_order(clusters["cluster_code"])].reset_index(
                drop=True
            )
            return {
                "region_types": [
                    {"region_type": t, "regions": n, "first_year": a, "last_year": b}
                    for t, n, a, b in types
                ],
                "years": years,
                "clusters": clusters.to_dict("records"),
                "tables": sorted(t for t in self.columns if not t.startswith("_")),
            }

        return self._cached(("meta",), compute)

    def default_year(self) -> int:
        years = self.meta()["years"]
        if not years:
            raise NotFoundError("the cluster_panel table is empty")
        return int(years[-1])

    def default_region_type(self) -> str:
        types = [t["region_type"] for t in self.meta()["region_types"]]
        for preferred in ("state", "county", "msa", "economic_area"):
            if preferred in types:
                return preferred
        if not types:
            raise NotFoundError("the cluster_panel table is empty")
        return types[0]

    def check_year(self, year: int | None) -> int:
        if year is None:
            return self.default_year()
        years = self.meta()["years"]
        if year not in years:
            raise NotFoundError(
                f"year {year} is not in the store; years available: {', '.join(map(str, years))}"
            )
        return year

    def check_region_type(self, region_type: str | None) -> str:
        if region_type is None:
            return self.default_region_type()
        if region_type not in REGION_TYPES:
            raise ParameterError(
                "type", f"unknown region type {region_type[:40]!r}", allowed=", ".join(REGION_TYPES)
            )
        present = [t["region_type"] for t in self.meta()["region_types"]]
        if region_type not in present:
            raise NotFoundError(
                f"the store has no {region_type} regions; it has {', '.join(present)}"
            )
        return region_type

    def region_name(self, region_type: str, region_id: str) -> str:
        """The region's name; :class:`NotFoundError` when it is not in the panel."""
        check_id("id", region_id)
        names = self._cached(
            ("region_names", region_type),
            lambda: dict(
                zip(
                    self.region_list(region_type)["region_id"].tolist(),
                    self.region_list(region_type)["region_name"].tolist(),
                    strict=True,
                )
            ),
        )
        if region_id not in names:
            raise NotFoundError(f"no {region_type} region with id {region_id!r} in the store")
        return str(names[region_id])

    def cluster_info(self, cluster_code: str) -> dict[str, Any]:
        check_id("cluster", cluster_code)
        for cluster in self.meta()["clusters"]:
            if cluster["cluster_code"] == cluster_code:
                return cluster
        raise NotFoundError(
            f"no cluster with code {cluster_code!r} in the store (see /clusters for the list)"
        )

    def region_list(
        self, region_type: str, search: str | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        def compute() -> pd.DataFrame:
            names = (
                "left join regions n on n.region_type = r.region_type and n.region_id = r.region_id"
                if self.has("regions", "region_type", "region_id", "region_name")
                else ""
            )
            name_col = (
                "coalesce(n.region_name, r.region_type || ' ' || r.region_id)"
                if names
                else "r.region_type || ' ' || r.region_id"
            )
            return self._df(
                f"select distinct r.region_type, r.region_id, {name_col} as region_name from "
                f"(select distinct region_type, region_id from cluster_panel where region_type = ?) r {names} order by 3",
                [region_type],
            )

        frame = self._cached(("region_list", region_type), compute)
        if search:
            mask = frame["region_name"].str.contains(search, case=False, regex=False) | (
                frame["region_id"] == search
            )
            frame = frame.loc[mask]
        return (frame if limit is None else frame.head(limit)).reset_index(drop=True)

    def region_summary(self, region_type: str, year: int) -> pd.DataFrame:
        """Totals and cluster strength of every region of a type in one year, with names."""

        def compute() -> pd.DataFrame:
            frame = self._df(
                f"select * from {self._summary_sql} s where region_type = ? and year = ?",
                [region_type, year],
            )
            names = self.region_list(region_type)[["region_id", "region_name"]]
            frame = frame.merge(names, on="region_id", how="left")
            return frame.sort_values("emp", ascending=False, kind="stable").reset_index(drop=True)

        return self._cached(("region_summary", region_type, year), compute)

    # -- pages --------------------------------------------------------------------------------
    def home_page(self) -> Page:
        meta = self.meta()
        page = Page(
            "clusteratlas dashboard",
            info={"store": self.path.name, "years": ", ".join(map(str, meta["years"]))},
        )
        page.sections.append(
            Section("region_types", "Regions in the store", pd.DataFrame(meta["region_types"]))
        )
        page.sections.append(
            Section("tables", "Tables in the store", pd.DataFrame({"table": meta["tables"]}))
        )
        return page

    def clusters_page(self) -> Page:
        page = Page("Clusters")
        page.sections.append(
            Section("clusters", "Clusters in the store", pd.DataFrame(self.meta()["clusters"]))
        )
        region_type, year = self.default_region_type(), self.default_year()
        coverage = self.coverage(region_type, year)
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
                    note=f"{agree} of {len(coverage)} within 1% of the national count (red: "
                    "outside). gap = sum of regions / national - 1; 'imputation': above by no "
                    "more than the jobs imputed to suppressed cells; 'regions short': regions "
                    "missing from the data (national_coverage, docs/panel.md).",
                )
            )
        return page

    def coverage(self, region_type: str, year: int) -> pd.DataFrame:
        """:func:`clusteratlas.panel.national_coverage` of one region type and year (traded
        clusters); empty where the panel lacks the national or reported employment."""
        if not self.has("cluster_panel", "emp_national", "emp_reported"):
            return pd.DataFrame()

        def compute() -> pd.DataFrame:
            from clusteratlas.panel.metrics import national_coverage

            rows = self._df(
                "select region_type, region_id, year, cluster_code, cluster_name, traded, emp, "
                f"emp_reported, emp_national from cluster_panel where {self._panel_where} "
                "and traded and region_type = ? and year = ?",
                [region_type, year],
            )
            return national_coverage(rows) if not rows.empty else rows

        return self._cached(("coverage", region_type, year), compute)

    def regions_page(self, region_type: str, search: str | None) -> Page:
        page = Page(f"Regions: {region_type}", info={"type": region_type})
        page.sections.append(
            Section("regions", "Regions", self.region_list(region_type, search, limit=MAX_ROWS))
        )
        return page

    def region_page(
        self,
        region_type: str,
        region_id: str,
        year: int,
        window: tuple[int, int, int] | None = None,
    ) -> Page:
        """Region dashboard: performance, cluster portfolio, strong clusters, resilience, peers."""
        return self._cached(
            ("region", region_type, region_id, year, window),
            lambda: self._region_page(region_type, region_id, year, window),
        )

    def _region_page(
        self, region_type: str, region_id: str, year: int, window: tuple[int, int, int] | None
    ) -> Page:
        name = self.region_name(region_type, region_id)
        summary = self.region_summary(region_type, year)
        own = summary.loc[summary["region_id"] == region_id]
        if own.empty:
            raise NotFoundError(f"{name} has no data for {year}")
        row = own.iloc[0]
        pooled = (
            summary["strong_emp"].sum() / summary["emp_traded"].sum()
            if summary["emp_traded"].sum() > 0
            else None
        )
        page = Page(
            name,
            info={
                "region": f"{name} ({region_type} {region_id})",
                "year": year,
                "employment": row["emp"],
                "traded employment": row["emp_traded"],
                "establishments": row["est"],
                "average wage": row["wage"],
                "strong clusters": row["n_strong"],
                "cluster strength": row["cluster_strength"],
                f"cluster strength, all {region_type} regions pooled": pooled,
            },
        )
        portfolio = self._df(
            f"""select cluster_code, cluster_name, traded, emp, lq, national_share, wage, est,
                   coalesce(strong, false) as strong, coalesce(strong10, false) as strong10,
                   {self._panel_col("emp_change")}, {self._panel_col("expected_emp_change")}
                from cluster_panel where region_type = ? and region_id = ? and year = ? and {self._panel_where}
                order by emp desc""",
            [region_type, region_id, year],
        )
        traded = portfolio.loc[portfolio["traded"].astype(bool)]
        page.sections.append(
            Section(
                "portfolio",
                "Cluster portfolio (traded clusters by employment)",
                traded,
                chart={
                    "kind": "bar",
                    "label": "cluster_name",
                    "value": "emp",
                    "highlight": "strong",
                    "top": 20,
                    "link": "cluster_code",
                },
            )
        )
        page.sections.append(
            Section(
                "strong",
                "Strong clusters (USCM top-25% rule)",
                traded.loc[traded["strong"].astype(bool)],
                chart={"kind": "bar", "label": "cluster_name", "value": "lq", "top": 25},
            )
        )
        page.sections.append(
            Section("local", "Local clusters", portfolio.loc[~portfolio["traded"].astype(bool)])
        )
        timeline = self._df(
            f"select * from {self._summary_sql} s where region_type = ? and region_id = ? order by year",
            [region_type, region_id],
        )
        page.sections.append(
            Section(
                "timeline",
                "Performance over time",
                timeline.drop(columns=["region_type", "region_id"]),
                chart={"kind": "line", "x": "year", "series": ["emp", "emp_traded", "strong_emp"]},
            )
        )
        self._add_subregions(page, region_type, region_id, year)
        self._add_resilience(page, region_type, region_id)
        self._add_window(page, region_type, region_id, window)
        page.sections.append(self._peers(summary, region_id))
        return page

    def _add_subregions(self, page: Page, region_type: str, region_id: str, year: int) -> None:
        if not self.has("region_members", "region_type", "region_id", "member_type", "member_id"):
            return
        named = self.has("regions", "region_type", "region_id", "region_name")
        frame = self._df(
            f"""select m.member_type as region_type, m.member_id as region_id,
                   {"n.region_name" if named else "m.member_id as region_name"},
                   s.emp, s.emp_traded, s.cluster_strength, s.n_strong, s.wage
                from region_members m left join {self._summary_sql} s
                  on s.region_type = m.member_type and s.region_id = m.member_id and s.year = ?
                {"left join regions n on n.region_type = m.member_type and n.region_id = m.member_id" if named else ""}
                where m.region_type = ? and m.region_id = ? order by s.emp desc nulls last""",
            [year, region_type, region_id],
        )
        if frame.empty:
            return
        page.sections.append(
            Section(
                "subregions",
                "Sub-regions",
                frame,
                chart={
                    "kind": "bar",
                    "label": "region_name",
                    "value": "emp",
                    "top": 20,
                },
            )
        )

    def _add_resilience(self, page: Page, region_type: str, region_id: str) -> None:
        for table in self._tables_with_prefix(RESILIENCE_PREFIXES):
            if self.has(table, "region_type", "region_id"):
                where, params = "region_type = ? and region_id = ?", [region_type, region_id]
            elif self.has(table, "region_id"):  # e.g. region x cluster tables of one region type
                where, params = "region_id = ?", [region_id]
            else:
                continue
            frame = self._df(f'select * from "{table}" where {where} limit {MAX_ROWS}', params)
            page.sections.append(
                Section(
                    f"table_{table}",
                    f"Resilience: {table}",
                    frame,
                    note=None if len(frame) else "no rows for this region",
                )
            )
        if self.has("outcomes", "region_type", "region_id", "year", "outcome", "value"):
            frame = self._df(
                "select year, outcome, value, unit, source from outcomes where region_type = ? and region_id = ? order by outcome, year",
                [region_type, region_id],
            )
            if len(frame):
                wide = frame.pivot_table(
                    index="year", columns="outcome", values="value", aggfunc="first"
                ).reset_index()
                wide.columns.name = None
                page.sections.append(
                    Section(
                        "outcomes",
                        "Regional outcomes (resilience windows)",
                        wide,
                        chart={
                            "kind": "line",
                            "x": "year",
                            "series": [c for c in wide.columns if c != "year"],
                            "index": True,
                        },
                    )
                )
        if not any(
            s.key == "outcomes" or s.key.startswith("table_resilience") for s in page.sections
        ):
            page.messages.append(
                "No resilience indices or outcomes for this region in the store (run `clusteratlas resilience ...` to add them)."
            )

    def resilience_window(self, region_type: str, window: tuple[int, int, int]) -> pd.DataFrame:
        """Resistance and recovery of every region of a type for each outcome over ``window``.

        Computed by :func:`clusteratlas.resilience.indices.resilience` (aggregate expectation:
        the national growth of the same outcome), one outcome at a time; cached per window.
        """

        def compute() -> pd.DataFrame:
            from clusteratlas.resilience.indices import resilience

            outcomes = self._df(
                "select region_type, region_id, year, outcome, value from outcomes "
                "where (region_type = ? or region_type = 'nation') and year between ? and ?",
                [region_type, window[0], window[2]],
            )
            present = set(outcomes.loc[outcomes["region_type"] == region_type, "year"].astype(int))
            if not set(window) <= present:
                have = self._rows(
                    "select distinct year from outcomes where region_type = ? order by 1",
                    [region_type],
                )
                raise ParameterError(
                    "window",
                    f"outcomes of {region_type} regions lack year(s) {sorted(set(window) - present)}",
                    allowed="years in the outcomes table: " + ", ".join(str(r[0]) for r in have),
                )
            parts = []
            for outcome, rows in outcomes.groupby("outcome"):
                regional = rows.loc[rows["region_type"] == region_type]
                nation = rows.loc[rows["region_type"] == "nation", ["year", "value"]]
                if regional.empty:
                    continue
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        result = resilience(
                            regional.drop(columns="outcome"),
                            window,
                            national=nation if len(nation) else None,
                        )
                except (ClusterAtlasError, KeyError, ValueError) as error:
                    # one outcome failing (gaps, zero bases) must not hide the others
                    parts.append(
                        pd.DataFrame(
                            {"outcome": [outcome], "note": [f"{type(error).__name__}: {error}"]}
                        )
                    )
                    continue
                parts.append(result.tidy().assign(outcome=outcome))
            return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

        return self._cached(("resilience_window", region_type, window), compute)

    def _add_window(
        self, page: Page, region_type: str, region_id: str, window: tuple[int, int, int] | None
    ) -> None:
        if window is None:
            return
        if not self.has("outcomes", "region_type", "region_id", "year", "outcome", "value"):
            page.messages.append("The store has no outcomes table: no resilience window indices.")
            return
        try:
            table = self.resilience_window(region_type, window)
        except ImportError as error:
            page.messages.append(f"The resilience module is not available ({error}).")
            return
        except ParameterError:
            raise
        except ClusterAtlasError as error:
            raise ParameterError("window", str(error)) from None
        if "region_id" in table.columns:
            notes = (
                table.loc[table["region_id"].isna()] if "note" in table.columns else table.iloc[0:0]
            )
            table = table.loc[table["region_id"] == region_id]
            for note in notes.get("note", []):
                page.messages.append(f"resilience window: {note}")
        keep = [
            c
            for c in (
                "outcome",
                "phase",
                "start",
                "end",
                "value_start",
                "value_end",
                "growth",
                "national_growth",
                "resilience",
                "sensitivity",
                "competitive_component",
                "note",
            )
            if c in table.columns
        ]
        table = table[keep].reset_index(drop=True) if keep else table
        page.info["resilience window"] = "-".join(map(str, window))
        page.sections.append(
            Section(
                "resilience_window",
                f"Resistance and recovery, window peak {window[0]}, trough {window[1]}, end {window[2]} "
                "(Martin et al. index against national growth)",
                table,
                chart={
                    "kind": "bar",
                    "label": "outcome_phase",
                    "value": "resilience",
                    "sort": False,
                }
                if {"outcome", "phase", "resilience"} <= set(table.columns) and len(table)
                else None,
            )
        )
        if {"outcome", "phase"} <= set(table.columns):
            table.insert(
                0, "outcome_phase", table["outcome"].astype(str) + " " + table["phase"].astype(str)
            )

    def _peers(self, summary: pd.DataFrame, region_id: str, width: int = 5) -> Section:
        """Regions of the same type closest in traded employment (USCM's size-band peers)."""
        ranked = summary.sort_values("emp_traded", ascending=False, kind="stable").reset_index(
            drop=True
        )
        position = int(ranked.index[ranked["region_id"] == region_id][0])
        peers = ranked.iloc[max(0, position - width) : position + width + 1].copy()
        peers.insert(0, "rank", peers.index + 1)
        columns = [
            "rank",
            "region_id",
            "region_name",
            "emp_traded",
            "cluster_strength",
            "n_strong",
            "wage",
        ]
        return Section(
            "peers",
            "Peers (similar traded employment)",
            peers[columns],
            chart={
                "kind": "bar",
                "label": "region_name",
                "value": "cluster_strength",
                "highlight_id": region_id,
                "id": "region_id",
            },
        )

    def _tables_with_prefix(self, prefixes: Sequence[str]) -> list[str]:
        return [t for t in sorted(self.columns) if t.lower().startswith(tuple(prefixes))]

    def cluster_page(self, cluster_code: str, region_type: str, year: int) -> Page:
        """Cluster dashboard: top regions, subclusters, related clusters, national trend."""
        return self._cached(
            ("cluster", cluster_code, region_type, year),
            lambda: self._cluster_page(cluster_code, region_type, year),
        )

    def _cluster_page(self, cluster_code: str, region_type: str, year: int) -> Page:
        info = self.cluster_info(cluster_code)
        top = self._df(
            f"""select region_id, emp, lq, national_share, wage, est, coalesce(strong, false) as strong,
                   {self._panel_col("emp_change")}
                from cluster_panel where cluster_code = ? and region_type = ? and year = ? and {self._panel_where}
                order by emp desc limit 25""",
            [cluster_code, region_type, year],
        )
        names = self.region_list(region_type)[["region_id", "region_name"]]
        top = top.merge(names, on="region_id", how="left")
        top.insert(1, "region_name", top.pop("region_name"))
        totals = self._df(
            f"select year, sum(emp) as emp, sum(est) as est, count(*) filter (where strong) as strong_regions from cluster_panel "
            f"where cluster_code = ? and region_type = ? and {self._panel_where} group by year order by year",
            [cluster_code, region_type],
        )
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
                "regions where strong": this_year["strong_regions"].iloc[0]
                if len(this_year)
                else None,
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
        page.sections.append(self._subclusters(cluster_code, year, None, None))
        page.sections.append(self._related(cluster_code, info["cluster_name"], page))
        return page

    def _subclusters(
        self, cluster_code: str, year: int, region_type: str | None, region_id: str | None
    ) -> Section:
        """Subclusters of a cluster, with employment from industry_counts when the store has it."""
        if not self.has(
            "cluster_definitions", "cluster_code", "subcluster_code", "subcluster_name", "naics"
        ):
            return Section(
                "subclusters",
                "Subclusters",
                pd.DataFrame(columns=["subcluster_code", "subcluster_name"]),
                note="the store has no cluster_definitions table, so subclusters are unknown",
            )
        defs = "cluster_definitions"
        if self.has(
            "industry_counts", "region_type", "region_id", "year", "naics", "emp", "naics_vintage"
        ) and self.has(defs, "naics_vintage"):
            where = (
                "c.region_type = ? and c.region_id = ?"
                if region_type
                else "c.region_type = 'nation'"
            )
            frame = self._df(
                f"""select d.subcluster_code, any_value(d.subcluster_name) as subcluster_name,
                       count(distinct d.naics) as industries, sum(c.emp) as emp, sum(c.est) as est,
                       case when sum(c.emp_reported) > 0 then sum(c.ap) * 1000.0 / sum(c.emp_reported) end as wage
                    from {defs} d left join industry_counts c
                      on c.naics = d.naics and c.naics_vintage = d.naics_vintage and c.year = ? and {where}
                    where d.cluster_code = ? and d.subcluster_code is not null
                    group by d.subcluster_code, d.naics_vintage order by emp desc nulls last""",
                [year, *([region_type, region_id] if region_type else []), cluster_code],
            )
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
        frame = self._df(
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

    def related_pairs(self) -> pd.DataFrame | None:
        def compute() -> pd.DataFrame | None:
            if self.has("related_clusters", "cluster_code", "related_cluster_code"):
                return self._df("select * from related_clusters")
            try:
                from clusteratlas.panel.relatedness import load_related_pairs

                return load_related_pairs()
            except (ImportError, ClusterAtlasError, OSError):
                return None

        return self._cached(("related_pairs",), compute)

    def _related(self, cluster_code: str, cluster_name: str, page: Page) -> Section:
        pairs = self.related_pairs()
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
        names = {c["cluster_code"]: c["cluster_name"] for c in self.meta()["clusters"]}
        rel["related_cluster_name"] = (
            rel["related_cluster_code"]
            .astype(str)
            .map(names)
            .fillna(rel.get("related_cluster_name"))
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

    def region_cluster_page(
        self, region_type: str, region_id: str, cluster_code: str, year: int
    ) -> Page:
        return self._cached(
            ("rc", region_type, region_id, cluster_code, year),
            lambda: self._region_cluster_page(region_type, region_id, cluster_code, year),
        )

    def _region_cluster_page(
        self, region_type: str, region_id: str, cluster_code: str, year: int
    ) -> Page:
        name = self.region_name(region_type, region_id)
        info = self.cluster_info(cluster_code)
        has_expected = self.has("cluster_panel", "expected_emp_change", "emp_change")
        # expected job creation: E_prev * national cluster growth (report.js jobCreation);
        # computed here from the panel when the panel engine did not store it
        if has_expected:
            change = "emp_change, expected_emp_change"
        else:
            change = """emp - lag(emp) over w as emp_change,
                lag(emp) over w * (nat_emp / lag(nat_emp) over w - 1) as expected_emp_change"""
        history = self._df(
            f"""with p as (
                  select c.year, c.emp, c.lq, c.wage, c.est, c.national_share, coalesce(c.strong, false) as strong,
                         {"c.emp_change, c.expected_emp_change" if has_expected else "n.nat_emp"}
                  from cluster_panel c
                  {"" if has_expected else "join (select year, sum(emp) as nat_emp from cluster_panel where cluster_code = ? and region_type = ? and " + self._panel_where + " group by year) n using (year)"}
                  where c.cluster_code = ? and c.region_type = ? and c.region_id = ? and {self._panel_where.replace("subcluster_code", "c.subcluster_code")})
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
        page.sections.append(self._subclusters(cluster_code, year, region_type, region_id))
        return page

    def compare_page(self, regions: list[tuple[str, str]], year: int, metric: str) -> Page:
        if metric not in REGION_METRICS:
            raise ParameterError(
                "metric", f"unknown metric {metric[:40]!r}", allowed=", ".join(REGION_METRICS)
            )
        rows = []
        for region_type, region_id in regions:
            name = self.region_name(region_type, region_id)
            summary = self.region_summary(region_type, year)
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
            strong = self._df(
                f"select region_type || ':' || region_id as region, cluster_name, lq from cluster_panel "
                f"where year = ? and coalesce(strong, false) and ({placeholders}) and {self._panel_where}",
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

    def map_page(self, region_type: str, metric: str, year: int, cluster_code: str | None) -> Page:
        return self._cached(
            ("map", region_type, metric, year, cluster_code),
            lambda: self._map_page(region_type, metric, year, cluster_code),
        )

    def _map_page(self, region_type: str, metric: str, year: int, cluster_code: str | None) -> Page:
        if cluster_code:
            info = self.cluster_info(cluster_code)
            if metric not in CLUSTER_METRICS:
                raise ParameterError(
                    "metric",
                    f"unknown cluster metric {metric[:40]!r}",
                    allowed=", ".join(CLUSTER_METRICS),
                )
            column = metric if metric in self.columns["cluster_panel"] else None
            if (
                column is None
                and metric == "competitive_effect"
                and self.has("cluster_panel", "emp_change", "expected_emp_change")
            ):
                column = "emp_change - expected_emp_change"
            if column is None:
                raise NotFoundError(f"the store's cluster_panel has no {metric!r} column")
            values = self._df(
                f"select region_id, {column} as value from cluster_panel where region_type = ? and year = ? and cluster_code = ? and {self._panel_where}",
                [region_type, year, cluster_code],
            )
            label = f"{CLUSTER_METRICS[metric][0]}: {info['cluster_name']}"
        else:
            if metric not in REGION_METRICS:
                raise ParameterError(
                    "metric", f"unknown metric {metric[:40]!r}", allowed=", ".join(REGION_METRICS)
                )
            values = self.region_summary(region_type, year)[["region_id", metric]].rename(
                columns={metric: "value"}
            )
            label = REGION_METRICS[metric][0]
        names = self.region_list(region_type)[["region_id", "region_name"]]
        values = values.merge(names, on="region_id", how="left")[
            ["region_id", "region_name", "value"]
        ]
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
        if region_type in ("msa", "economic_area") and self.has(
            "region_members", "region_type", "member_type"
        ):
            members = self._df("select * from region_members where region_type = ?", [region_type])
        svg, message = choropleth(
            values,
            region_type=region_type,
            title=f"{label}, {year}",
            members=members,
            centre=1.0 if metric == "lq" else None,
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

    def causal_page(self) -> Page:
        page = Page("Causal results")
        tables = self._tables_with_prefix(CAUSAL_PREFIXES)
        for table in tables:
            frame = self._df(f'select * from "{table}" limit {MAX_ROWS}')
            chart = None
            # a readable row label for the forest plot from the identifying columns present
            parts = [c for c in ("outcome", "design", "phase", "year") if c in frame.columns]
            if parts and "term" not in frame.columns:
                frame.insert(0, "term", frame[parts].astype(str).agg(" ".join, axis=1))
            if {"estimate", "ci_low", "ci_high"} <= set(frame.columns):
                label = next(
                    (
                        c
                        for c in ("term", "event_time", "relative_time", "outcome", "name")
                        if c in frame.columns
                    ),
                    None,
                )
                if label:
                    chart = {
                        "kind": "forest",
                        "label": label,
                        "value": "estimate",
                        "low": "ci_low",
                        "high": "ci_high",
                    }
            page.sections.append(Section(f"table_{table}", table, frame, chart=chart))
        if not tables:
            page.messages.append(
                "No causal result tables in the store yet (tables named causal_*, did_*, rd_*, cho2024_*). "
                "Run `clusteratlas replicate cho2024` or the causal commands to add them."
            )
        return page

    def table_export(self, table: str) -> pd.DataFrame:
        """A whole result table for CSV export (only tables shown on the causal page)."""
        if table not in self._tables_with_prefix(CAUSAL_PREFIXES + RESILIENCE_PREFIXES):
            raise NotFoundError(f"no exportable table {table[:60]!r}")
        return self._df(f'select * from "{table}" limit {EXPORT_ROWS}')


def choropleth(
    values: pd.DataFrame,
    *,
    region_type: str,
    title: str,
    members: pd.DataFrame | None = None,
    centre: float | None = None,
) -> tuple[str | None, str | None]:
    """An SVG choropleth from :mod:`clusteratlas.report.maps` when it exists, else a message."""
    try:
        from clusteratlas.report.maps import choropleth_svg
    except ImportError:
        return (
            None,
            "The map module (clusteratlas.report.maps) is not installed yet: showing a ranked table instead.",
        )
    try:
        series = values.set_index("region_id")["value"]
        kwargs = {"centre": centre, "cmap": "RdBu_r"} if centre is not None else {}
        svg = choropleth_svg(
            series, region_type=region_type, title=title, members=members, **kwargs
        )
    except Exception as error:  # a map failure must not break the page: show the table
        return (
            None,
            f"The map could not be drawn ({type(error).__name__}: {error}); showing a ranked table instead.",
        )
    return str(svg), None


# GE model parameters the regime map can put on an axis: default value and axis range.
THEORY_PARAMS: dict[str, tuple[float, float, float]] = {
    "K": (0.8, 0.05, 1.0),
    "t": (0.1, 0.0, 0.95),
    "alpha": (0.5, 0.05, 0.95),
    "b": (0.1, 0.0, 0.5),
    "F": (0.2, 0.0, 0.5),
    "e": (0.3, 0.0, 0.6),
    "theta": (0.2, 0.0, 0.6),
}
MAX_GRID = 120


def theory_page(x: str, y: str, fixed: dict[str, float], n: int) -> Page:
    """Regime map of the GE model (:func:`clusteratlas.theory.model.regimes`) over two axes.

    Each grid cell is the structure with the highest per-capita real income among those whose
    corner equilibrium exists (Yang's theorem), the others held at ``fixed``.
    """
    for name, value in (("x", x), ("y", y)):
        if value not in THEORY_PARAMS:
            raise ParameterError(
                name, f"unknown model parameter {value[:20]!r}", allowed=", ".join(THEORY_PARAMS)
            )
    if x == y:
        raise ParameterError("y", "the two axes must be different parameters")
    if not 2 <= n <= MAX_GRID:
        raise ParameterError("n", f"grid size {n} out of range", allowed=f"2..{MAX_GRID}")
    page = Page(
        "Regime map of the general-equilibrium cluster model",
        info={"x axis": x, "y axis": y, "grid": f"{n} x {n}"},
    )
    try:
        import numpy as np

        from clusteratlas.theory.model import Params, regimes
    except ImportError as error:
        page.messages.append(
            f"The theory module (clusteratlas.theory) is not available yet ({error}); no regime map."
        )
        return page
    values = {name: fixed.get(name, default) for name, (default, _, _) in THEORY_PARAMS.items()}
    page.info.update({f"{k} (fixed)": v for k, v in values.items() if k not in (x, y)})
    xs = np.linspace(THEORY_PARAMS[x][1], THEORY_PARAMS[x][2], n)
    ys = np.linspace(THEORY_PARAMS[y][1], THEORY_PARAMS[y][2], n)
    grid_x, grid_y = np.meshgrid(xs, ys)
    values[x], values[y] = grid_x, grid_y
    try:
        result = regimes(Params(**values), "paper")
    except Exception as error:  # the model raising must show as a message, not a crash
        page.messages.append(
            f"The model could not be solved on this grid ({type(error).__name__}: {error})."
        )
        return page
    labels = np.broadcast_to(result.labels(), grid_x.shape)
    utility = np.broadcast_to(result.utility, grid_x.shape)
    table = pd.DataFrame(
        {
            x: grid_x.ravel(),
            y: grid_y.ravel(),
            "structure": labels.ravel().astype(str),
            "real_income": utility.ravel(),
        }
    )
    page.sections.append(
        Section(
            "regimes",
            f"Equilibrium structure over {x} x {y}",
            table,
            chart={"kind": "heatmap", "x": x, "y": y, "category": "structure"},
        )
    )
    counts = (
        table["structure"].value_counts().rename_axis("structure").reset_index(name="grid_points")
    )
    page.sections.append(Section("regime_shares", "Grid points per structure", counts))
    return page


def _natural_order(codes: pd.Series) -> list[int]:
    """Sort positions for codes like "2", "10", "51a" (numeric part first)."""
    keys = [
        (int(m.group(1)) if (m := re.match(r"(\d+)", str(c))) else 10**9, str(c)) for c in codes
    ]
    return sorted(range(len(keys)), key=keys.__getitem__)
