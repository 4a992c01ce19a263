"""The dashboard's read side: one store opened read-only, its lookups, and the page model.

Owns :class:`Dashboard` (the store's DuckDB file opened read-only, a bounded LRU cache of
answers, the tables and columns present, the years, region types and clusters, region names,
per region-year totals) and the page model every page module of :mod:`clusteratlas.web.pages`
returns: a :class:`Page` of headline facts plus named :class:`Section` tables, each with an
optional chart spec. The HTML view, the JSON API and the CSV export all render the same
:class:`Page`, so they cannot disagree. It reads only the canonical tables of
:mod:`clusteratlas.schema` (``cluster_panel``, ``regions``, ``region_members``,
``region_summary``, ``cluster_definitions``, ``industry_counts``, ``outcomes``) and result
tables other modules write (resilience and causal tables, found by name).

Region totals follow USCM ``calc_cluster_strength`` (sums over traded clusters):

.. math::

    \\text{cluster\\_strength}_r = \\frac{\\sum_{c\\ strong} E_{rc}}{\\sum_{c\\ traded} E_{rc}}
    \\qquad \\text{wage}_r = \\frac{1000 \\sum_c AP_{rc}}{\\sum_c E^{reported}_{rc}}

The store is opened read-only, so its content cannot change while the server runs (DuckDB's
file lock keeps writers out): answers are cached per query (bounded LRU, computed once even
when several requests ask at the same moment). Reads are concurrent: each server thread
queries through its own cursor of the one read-only connection (``con.cursor()``: same
database, own client context), so requests no longer queue on one lock; DuckDB releases the
GIL while a query runs. Per region-year totals are materialised once as an Arrow table that
every cursor registers as ``_region_summary``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
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
    #: the columns the HTML table shows (None: :func:`display_columns` picks); CSV/JSON keep all
    columns: list[str] | None = None
    #: how columns print where their names do not say (e.g. regions as columns of one metric)
    kinds: dict[str, str] | None = None


#: columns an HTML table leaves to the CSV (long method descriptions, constants of a run)
TECHNICAL_COLUMNS = {
    "se_type",
    "estimator",
    "method",
    "running",
    "vce",
    "fitselect",
    "kernel",
    "bwselect",
    "formula",
    "weights",
    "seed",
    "reps",
    "region_type",
    "value_start",
    "value_end",
    "national_share_effect",
    "industry_mix_effect",
    "expected_change",
    "lagravinese",
    "structural_component",
}
#: at most this many columns in an HTML table (the CSV has them all)
MAX_SHOWN_COLUMNS = 10


def display_columns(frame: pd.DataFrame) -> list[str]:
    """The columns an HTML table shows so that it fits the page: without the technical ones
    and, if still too many, without columns that hold one value in every row."""
    cols = [c for c in frame.columns if str(c) not in TECHNICAL_COLUMNS]
    if len(cols) > MAX_SHOWN_COLUMNS and len(frame) > 1:
        cols = [c for c in cols if frame[c].astype(str).nunique() > 1]
    return cols[:MAX_SHOWN_COLUMNS]


#: store tables in words (page and section titles)
TABLE_TITLES = {
    "run_did": "DID estimates (clusteratlas run)",
    "run_did_wild_bootstrap": "Wild cluster bootstrap of the DID",
    "run_event_study": "Event study",
    "run_rd": "RD at the strong-cluster cut-off",
    "run_rd_density": "RD density (manipulation) test",
    "run_rd_placebo": "RD at placebo cut-offs",
    "run_rd_sensitivity": "RD bandwidth sensitivity",
    "run_resilience": "Resistance and recoverability",
    "run_cluster_resilience": "Resistance and recovery of the clusters",
}


def table_title(table: str) -> str:
    """A store table's name in words: ``run_did`` -> "DID estimates (clusteratlas run)"."""
    return TABLE_TITLES.get(table) or table.removeprefix("run_").replace("_", " ").capitalize()


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


_NAME = re.compile(r"^[\w .,'()&:\-]{1,100}$")


def check_name(name: str, value: str) -> str:
    """A region or cluster as typed: an id or a name (letters, digits, spaces, ``.,'()&:-``)."""
    if not _NAME.match(value or ""):
        raise ParameterError(
            name,
            f"{value[:50]!r} is not a valid code or name",
            allowed="an id such as 06 or a name such as California (up to 100 characters)",
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
        self._lock = threading.RLock()  # guards the cache and the cursor list, never a query
        self._pages: OrderedDict[tuple, Any] = OrderedDict()  # whole pages, least recent first
        self._kept: dict[tuple, Any] = {}  # lookups, see cached()
        self._pending: dict[tuple, threading.Event] = {}
        self._cache_size = cache_size
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._views: dict[str, Any] = {}  # name -> Arrow table every cursor registers
        tables = self.rows(
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
        self.panel_where = "subcluster_code is null" if "subcluster_code" in panel_cols else "true"
        # per region-year totals are small (regions x years): materialise them once (Arrow,
        # registered by every cursor) so region pages, timelines and comparisons read that
        summary = self._cursor().sql(f"select * from {self._region_summary_source()}")
        self._views["_region_summary"] = summary.to_arrow_table()
        with self._lock:  # cursors made before (this thread's) register it too
            for cursor in self._cursors:
                cursor.register("_region_summary", self._views["_region_summary"])
        self.summary_sql = "_region_summary"
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
                rows = self.rows(
                    f"select 1 from \"{table}\" where source ilike '%synthetic%' or source ilike '%demo%' limit 1"
                )
                if rows:
                    return True
        return False

    def close(self) -> None:
        with self._lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
            self._con.close()

    # -- low level ----------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor of the read-only connection (created on first use).

        A DuckDB connection runs one query at a time; cursors are separate connections to
        the same database, so threads query side by side. The server's thread pool is
        bounded, and so is the number of cursors.
        """
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            for name, table in self._views.items():
                cursor.register(name, table)
            with self._lock:
                self._cursors.append(cursor)
            self._local.cursor = cursor
        return cursor

    def rows(self, query: str, params: Sequence[object] = ()) -> list[tuple]:
        return self._cursor().execute(query, list(params)).fetchall()

    def df(self, query: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return self._cursor().execute(query, list(params)).df()

    def rows_by(
        self, column: str, query: str, params: Sequence[object], key: tuple
    ) -> Callable[[str], pd.DataFrame]:
        """A lookup of ``query``'s rows by the value of their ``column`` (as text), the query
        run once per ``key``: a page's rows of one region or cluster are taken from that one
        result by their positions, not scanned for in the table per request. The lookup
        answers the rows in the query's order, indexed 0..n-1 (no rows: an empty frame with
        the query's columns). ``key`` must be bounded by the store (a table, region type or
        year), since lookups are kept (:meth:`cached`)."""

        def compute() -> Callable[[str], pd.DataFrame]:
            frame = self.df(query, params)
            # positions only (one pass); a region's rows are taken when asked (a frame per
            # group up front cost ~1 ms a group, seconds for a county table)
            where = frame.groupby(frame[column].astype(str), sort=False).indices
            nowhere = np.empty(0, dtype=np.intp)
            return lambda value: frame.take(where.get(str(value), nowhere)).reset_index(drop=True)

        return self.cached(key, compute)

    def cached(self, key: tuple, compute: Callable[[], Any], *, page: bool = False) -> Any:
        """``compute()``'s value, computed once per ``key``: requests asking for a key being
        computed wait for that result instead of computing it again.

        Lookups (a region type's or year's tables, indexes, peer spaces: as many as the
        store has types and years, so keys must be checked against the store first) are
        kept for the server's life; whole pages and anything else with one key per URL a
        user can make (``page``) are kept in an LRU of ``cache_size`` entries, so a stream of
        new pages never evicts the lookups every page reads.
        """
        store = self._pages if page else self._kept
        while True:
            with self._lock:
                if key in store:
                    if page:
                        self._pages.move_to_end(key)
                    return store[key]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    break
            pending.wait()  # another thread computes it; then read the cache (or retry)
        try:
            value = compute()
            with self._lock:
                store[key] = value
                while len(self._pages) > self._cache_size:
                    self._pages.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.set()

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and all(c in self.columns[table] for c in columns)

    def panel_col(self, column: str, fallback: str = "null") -> str:
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
            from cluster_panel where {self.panel_where} group by region_type, region_id, year)"""

    # -- lookups ------------------------------------------------------------------------------
    def data_sources(self) -> list[str]:
        """The ``source`` values of the store's data tables (what exported charts cite)."""

        def compute() -> list[str]:
            found: list[str] = []
            for table in ("cluster_panel", "industry_counts", "outcomes"):
                if self.has(table, "source"):
                    rows = self.rows(
                        f'select distinct source from "{table}" where source is not null order by 1'
                    )
                    found += [str(r[0]) for r in rows if str(r[0]) not in found]
            return found

        return self.cached(("data_sources",), compute)

    def meta(self) -> dict[str, Any]:
        """Region types, years and clusters in the store (for forms and the home page)."""

        def compute() -> dict[str, Any]:
            types = self.rows(
                f"select region_type, count(distinct region_id), min(year), max(year) from cluster_panel where {self.panel_where} group by 1 order by 1"
            )
            years = [
                r[0]
                for r in self.rows(
                    f"select distinct year from cluster_panel where {self.panel_where} order by 1"
                )
            ]
            clusters = self.df(
                f"select cluster_code, any_value(cluster_name) as cluster_name, bool_or(traded) as traded from cluster_panel where {self.panel_where} group by 1"
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

        return self.cached(("meta",), compute)

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
        names = self.cached(
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
            return self.df(
                f"select distinct r.region_type, r.region_id, {name_col} as region_name from "
                f"(select distinct region_type, region_id from cluster_panel where region_type = ?) r {names} order by 3, 2",
                [region_type],
            )

        frame = self.cached(("region_list", region_type), compute)
        if search:
            mask = frame["region_name"].str.contains(search, case=False, regex=False) | (
                frame["region_id"] == search
            )
            frame = frame.loc[mask]
        return (frame if limit is None else frame.head(limit)).reset_index(drop=True)

    def resolve_region(self, region_type: str, text: str) -> str:
        """The id of the region ``text`` names: an id, "Name (type id)" as the type-ahead
        writes it, or a name (exact, else the only one containing it, case-insensitive)."""
        text = check_name("id", (text or "").strip())
        regions = self.region_list(region_type)
        # the id set and lower-case names once per region type (every page resolves its ids)
        ids, lower = self.cached(
            ("region_index", region_type),
            lambda: (frozenset(regions["region_id"]), regions["region_name"].str.lower()),
        )
        if text in ids:
            return text
        m = re.search(r"\((?:[a-z_]+ )?([A-Za-z0-9_.\-]{1,40})\)\s*$", text)
        if m and m.group(1) in ids:
            return m.group(1)
        exact = regions.loc[lower == text.lower(), "region_id"]
        if len(exact) == 1:
            return str(exact.iloc[0])
        found = (
            regions.loc[lower.str.contains(text.lower(), regex=False), :]
            if text
            else regions.iloc[0:0]
        )
        if len(found) == 1:
            return str(found["region_id"].iloc[0])
        if len(found) > 1:
            names = ", ".join(
                f"{n} ({i})"
                for i, n in zip(found["region_id"][:8], found["region_name"][:8], strict=True)
            )
            raise NotFoundError(
                f"{len(found)} {region_type} regions match {text[:40]!r}: {names}; pick one"
            )
        raise NotFoundError(
            f"no {region_type} region with id {text[:40]!r} in the store (nor one named so)"
        )

    def resolve_cluster(self, text: str) -> str:
        """The code of the cluster ``text`` names: a code, "Name (code)", or a name."""
        text = check_name("cluster", (text or "").strip())
        clusters = pd.DataFrame(self.meta()["clusters"])
        codes = set(clusters["cluster_code"].astype(str))
        if text in codes:
            return text
        m = re.search(r"\(([A-Za-z0-9_.\-]{1,40})\)\s*$", text)
        if m and m.group(1) in codes:
            return m.group(1)
        lower = clusters["cluster_name"].astype(str).str.lower()
        exact = clusters.loc[lower == text.lower(), "cluster_code"]
        if len(exact) == 1:
            return str(exact.iloc[0])
        found = (
            clusters.loc[lower.str.contains(text.lower(), regex=False)]
            if text
            else clusters.iloc[0:0]
        )
        if len(found) == 1:
            return str(found["cluster_code"].iloc[0])
        raise NotFoundError(
            f"no cluster with code {text[:40]!r} in the store"
            + (
                f" ({len(found)} cluster names contain it; pick one)"
                if len(found)
                else " (see /clusters for the list)"
            )
        )

    def suggest(
        self, kind: str, region_type: str | None, text: str, limit: int = 15
    ) -> list[dict[str, str]]:
        """Type-ahead: regions (of ``region_type``) or clusters whose name or id starts with,
        then contains, ``text``; each ``{"id", "label"}`` (label = what the box shows)."""
        text = (text or "").strip().lower()
        if kind == "cluster":
            frame = pd.DataFrame(self.meta()["clusters"]).rename(
                columns={"cluster_code": "id", "cluster_name": "name"}
            )
            frame["label"] = frame["name"].astype(str) + " (" + frame["id"].astype(str) + ")"
        else:
            kind_ = self.check_region_type(region_type)
            frame = self.region_list(kind_).rename(
                columns={"region_id": "id", "region_name": "name"}
            )
            frame["label"] = (
                frame["name"].astype(str) + f" ({kind_} " + frame["id"].astype(str) + ")"
            )
        name = frame["name"].astype(str).str.lower()
        starts = name.str.startswith(text) | (frame["id"].astype(str) == text)
        contains = name.str.contains(text, regex=False) & ~starts
        ranked = pd.concat([frame.loc[starts], frame.loc[contains]]).head(limit)
        return [
            {"id": str(i), "label": str(lab)}
            for i, lab in zip(ranked["id"], ranked["label"], strict=True)
        ]

    def region_summary(self, region_type: str, year: int) -> pd.DataFrame:
        """Totals and cluster strength of every region of a type in one year, with names."""

        def compute() -> pd.DataFrame:
            frame = self.df(
                f"select * from {self.summary_sql} s where region_type = ? and year = ?",
                [region_type, year],
            )
            names = self.region_list(region_type)[["region_id", "region_name"]]
            frame = frame.merge(names, on="region_id", how="left")
            return frame.sort_values("emp", ascending=False, kind="stable").reset_index(drop=True)

        return self.cached(("region_summary", region_type, year), compute)

    def first_region(self, region_type: str) -> str:
        """The largest region of a type in the latest year (a page's default region)."""
        regions = self.region_summary(region_type, self.default_year())
        if regions.empty:
            raise NotFoundError(f"no {region_type} regions in the store")
        return str(regions["region_id"].iloc[0])

    def tables_with_prefix(self, prefixes: Sequence[str]) -> list[str]:
        return [t for t in sorted(self.columns) if t.lower().startswith(tuple(prefixes))]

    def table_export(self, table: str) -> pd.DataFrame:
        """A whole result table for CSV export (only tables shown on the causal page)."""
        if table not in self.tables_with_prefix(CAUSAL_PREFIXES + RESILIENCE_PREFIXES):
            raise NotFoundError(f"no exportable table {table[:60]!r}")
        return self.df(f'select * from "{table}" limit {EXPORT_ROWS}')


def _natural_order(codes: pd.Series) -> list[int]:
    """Sort positions for codes like "2", "10", "51a" (numeric part first)."""
    keys = [
        (int(m.group(1)) if (m := re.match(r"(\d+)", str(c))) else 10**9, str(c)) for c in codes
    ]
    return sorted(range(len(keys)), key=keys.__getitem__)
