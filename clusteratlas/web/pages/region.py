"""Page ``/region``: one region's dashboard.

Performance over time, the cluster portfolio (traded clusters by employment, strong clusters,
local clusters), sub-regions, resilience tables and outcomes from the store, the resistance
and recovery indices over a chosen window (``window=peak-trough-end``, computed by
:func:`clusteratlas.resilience.indices.resilience` against national growth) and peers
with the median region (:mod:`clusteratlas.panel.comparison`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusteratlas.errors import (
    ClusterAtlasError,
    DataCoverageWarning,
    DesignWarning,
    EstimationWarning,
    ParameterError,
    expected_warnings,
)
from clusteratlas.panel.comparison import NEAREST, PeerSpace, benchmark, nearest_in, peer_space
from clusteratlas.resilience.indices import resilience
from clusteratlas.web.dashboard import (
    MAX_ROWS,
    RESILIENCE_PREFIXES,
    Dashboard,
    NotFoundError,
    Page,
    Section,
    table_title,
)
from clusteratlas.web.forms import (
    Choices,
    Query,
    region_box,
    region_id,
    region_type,
    select,
    text,
    year,
)

NAME = "region"
TITLE = "Region"
PORTFOLIO_COLUMNS = [
    "cluster_code",
    "cluster_name",
    "emp",
    "lq",
    "national_share",
    "wage",
    "est",
    "strong",
    "emp_change",
    "expected_emp_change",
]


def build(dash: Dashboard, q: Query) -> Page:
    kind = region_type(dash, q)
    region = region_id(dash, q, kind) or dash.first_region(kind)
    return region_page(dash, kind, region, year(dash, q), parse_window(q))


def parse_window(q: Query) -> tuple[int, int, int] | None:
    """``window=peak-trough-end`` (e.g. 2019-2020-2022): the resilience window of a region page."""
    value = q.text("window")
    if value is None:
        return None
    parts = value.split("-")
    if len(parts) != 3 or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise ParameterError(
            "window", f"{value[:30]!r} is not PEAK-TROUGH-END years", allowed="e.g. 2019-2020-2022"
        )
    peak, trough, end = (int(p) for p in parts)
    if not peak < trough < end:
        raise ParameterError("window", "years must satisfy peak < trough < end")
    return peak, trough, end


def annotate(dash: Dashboard, q: Query, page: Page) -> None:
    kind = q.text("type") or dash.default_region_type()
    page.info["_id"] = q.canonical.get("id") or q.text("id") or dash.first_region(kind)
    page.info["_cluster_link"] = (
        f"/region-cluster?type={kind}&id={page.info['_id']}&year={page.info.get('year', '')}&cluster="
    )


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    c = Choices.of(dash, q, page)
    return [
        select("type", "Region type", c.types, c.region_type),
        region_box(dash, c, page),
        select("year", "Year", c.years, c.year),
        window_field(dash, c.region_type, q.text("window")),
    ]


def outcome_years(dash: Dashboard, region_type: str) -> dict[str, list[int]]:
    """Outcome -> the years the store's outcomes table has for regions of ``region_type``."""
    if not dash.has("outcomes", "region_type", "year", "outcome"):
        return {}
    rows = dash.rows(
        "select outcome, year from outcomes where region_type = ? group by 1, 2 order by 1, 2",
        [region_type],
    )
    out: dict[str, list[int]] = {}
    for outcome, year_ in rows:
        out.setdefault(str(outcome), []).append(int(year_))
    return out


def window_field(dash: Dashboard, region_type: str | None, value: str | None) -> dict:
    """The resilience-window box: its label says which years the outcomes have, and it offers
    the study's shock windows (Great Recession, COVID-19; annual and CBP timing) that at least
    one outcome can measure."""
    label = "Resilience window (peak-trough-end)"
    kind = region_type or dash.default_region_type()
    found = dash.cached(("window_options", kind), lambda: _window_options(dash, kind))
    if found is None:
        return text("window", label, value)
    span, offered = found
    return text("window", f"{label}; outcomes have {span}", value, options=offered)


def _window_options(dash: Dashboard, region_type: str) -> tuple[str, list[str]] | None:
    """The years the outcomes of ``region_type`` span and the study's shock windows they can
    measure (None: no outcomes), once per region type."""
    from clusteratlas.data.acquire import year_span
    from clusteratlas.studies.cluster_resilience.config import load, shocks

    years = outcome_years(dash, region_type)
    if not years:
        return None
    every = sorted({y for ys in years.values() for y in ys})
    candidates = [w for s in shocks(load(None)) for w in (s.annual, s.cbp)]
    offered = [
        "-".join(map(str, w.years))
        for w in candidates
        if any(set(w.years) <= set(ys) for ys in years.values())
    ]
    return year_span(every), list(dict.fromkeys(offered))


def links(page: Page, q: Query) -> dict[str, str]:
    year_ = page.info.get("year")
    suffix = f"&year={year_}" if year_ else ""
    return {
        "cluster_code": f"/region-cluster?type={q.text('type') or ''}&id={page.info.get('_id')}{suffix}&cluster={{}}",
        "region_id": f"/region?{suffix[1:]}&type={{region_type}}&id={{}}",
    }


def region_page(
    dash: Dashboard,
    region_type: str,
    region_id: str,
    year: int,
    window: tuple[int, int, int] | None = None,
) -> Page:
    """Region dashboard: performance, cluster portfolio, strong clusters, resilience, peers."""
    return dash.cached(
        ("region", region_type, region_id, year, window),
        lambda: _region_page(dash, region_type, region_id, year, window),
        page=True,
    )


def _region_page(
    dash: Dashboard,
    region_type: str,
    region_id: str,
    year: int,
    window: tuple[int, int, int] | None,
) -> Page:
    name = dash.region_name(region_type, region_id)
    summary = dash.region_summary(region_type, year)
    own = summary.loc[summary["region_id"] == region_id]
    if own.empty:
        raise NotFoundError(f"{name} has no data for {year}")
    row = own.iloc[0]
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
            f"cluster strength, median {region_type} region": _median_region(
                dash, region_type, year
            )["cluster_strength"],
        },
    )
    portfolio = dash.df(
        f"""select cluster_code, cluster_name, traded, emp, lq, national_share, wage, est,
               coalesce(strong, false) as strong, coalesce(strong10, false) as strong10,
               {dash.panel_col("emp_change")}, {dash.panel_col("expected_emp_change")}
            from cluster_panel where region_type = ? and region_id = ? and year = ? and {dash.panel_where}
            order by emp desc, cluster_code""",
        [region_type, region_id, year],
    )
    traded = portfolio.loc[portfolio["traded"].astype(bool)]
    page.sections.append(_bubble(dash, region_type, region_id, year, traded))
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
            columns=PORTFOLIO_COLUMNS,
        )
    )
    page.sections.append(
        Section(
            "strong",
            "Strong clusters (USCM top-25% rule)",
            traded.loc[traded["strong"].astype(bool)],
            chart={"kind": "bar", "label": "cluster_name", "value": "lq", "top": 25},
            columns=PORTFOLIO_COLUMNS,
        )
    )
    page.sections.append(
        Section(
            "local",
            "Local clusters",
            portfolio.loc[~portfolio["traded"].astype(bool)],
            columns=[c for c in PORTFOLIO_COLUMNS if c not in ("strong", "lq")],
        )
    )
    timeline = dash.rows_by(
        "region_id",
        f"select * from {dash.summary_sql} s where region_type = ? order by region_id, year",
        [region_type],
        ("timelines", region_type),
    )(region_id)
    several = timeline["year"].nunique() > 1
    page.sections.append(
        Section(
            "timeline",
            "Performance over time",
            timeline.drop(columns=["region_type", "region_id"]),
            chart={"kind": "line", "x": "year", "series": ["emp", "emp_traded", "strong_emp"]}
            if several
            else None,
            note=None if several else f"The store has one year ({year}): no time line.",
        )
    )
    _add_subregions(dash, page, region_type, region_id, year)
    _add_resilience(dash, page, region_type, region_id)
    _add_window(dash, page, region_type, region_id, window)
    page.sections.append(_peers(dash, summary, region_type, region_id, year))
    return page


def _bubble(
    dash: Dashboard, region_type: str, region_id: str, year: int, traded: pd.DataFrame
) -> Section:
    """USCM's cluster portfolio: LQ against annual employment growth since the store's first
    year (or the average wage when the store has one year), bubble area = employment."""
    first = min(dash.meta()["years"])
    frame = traded[["cluster_code", "cluster_name", "emp", "lq", "wage", "strong"]].copy()
    if first < year:
        earlier = dash.df(
            f"select cluster_code, emp as emp_first from cluster_panel where region_type = ? "
            f"and region_id = ? and year = ? and {dash.panel_where}",
            [region_type, region_id, first],
        )
        frame = frame.merge(earlier, on="cluster_code", how="left")
        ratio = frame["emp"] / frame["emp_first"].where(frame["emp_first"] > 0)
        frame["emp_growth"] = ratio.where(ratio > 0) ** (1.0 / (year - first)) - 1.0
        y, ylabel = "emp_growth", f"employment growth {first}–{year}, per year"
        note = None
    else:
        y, ylabel = "wage", f"average wage {year} ($)"
        note = (
            f"Employment growth needs two years; the store has {year} only, so the vertical "
            "axis shows the average wage."
        )
    return Section(
        "bubble",
        "Cluster portfolio: specialization against "
        + ("growth" if y == "emp_growth" else "wage")
        + " (bubble area = employment, red = strong)",
        frame.sort_values("emp", ascending=False),
        chart={
            "kind": "bubble",
            "x": "lq",
            "y": y,
            "size": "emp",
            "label": "cluster_name",
            "highlight": "strong",
            "ylabel": ylabel,
            "link": "cluster_code",
        },
        note=note,
    )


def _add_subregions(
    dash: Dashboard, page: Page, region_type: str, region_id: str, year: int
) -> None:
    if not dash.has("region_members", "region_type", "region_id", "member_type", "member_id"):
        return
    having = dash.cached(
        ("regions_with_members", region_type),
        lambda: {
            str(r[0])
            for r in dash.rows(
                "select distinct region_id from region_members where region_type = ?",
                [region_type],
            )
        },
    )
    if region_id not in having:  # e.g. a county: no query for no rows
        return
    named = dash.has("regions", "region_type", "region_id", "region_name")
    frame = dash.df(
        f"""select m.member_type as region_type, m.member_id as region_id,
               {"n.region_name" if named else "m.member_id as region_name"},
               s.emp, s.emp_traded, s.cluster_strength, s.n_strong, s.wage
            from region_members m left join {dash.summary_sql} s
              on s.region_type = m.member_type and s.region_id = m.member_id and s.year = ?
            {"left join regions n on n.region_type = m.member_type and n.region_id = m.member_id" if named else ""}
            where m.region_type = ? and m.region_id = ?
            order by s.emp desc nulls last, m.member_type, m.member_id""",
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


def _add_resilience(dash: Dashboard, page: Page, region_type: str, region_id: str) -> None:
    for table in dash.tables_with_prefix(RESILIENCE_PREFIXES):
        if dash.has(table, "region_type", "region_id"):
            where, params = "region_type = ?", [region_type]
        elif dash.has(table, "region_id"):  # e.g. region x cluster tables of one region type
            where, params = "true", []
        else:
            continue
        frame = dash.rows_by(
            "region_id",
            f'select * from "{table}" where {where}',
            params,
            ("region_rows", table, *params),  # one load per table and type it is filtered by
        )(region_id).head(MAX_ROWS)
        keep = [
            c
            for c in (
                "cluster_code",
                "outcome",
                "design",
                "phase",
                "window",
                "start",
                "end",
                "growth",
                "national_growth",
                "resilience",
                "sensitivity",
                "competitive_component",
            )
            if c in frame.columns
        ]
        page.sections.append(
            Section(
                f"table_{table}",
                f"Resilience: {table_title(table).lower()}",
                frame,
                note=None if len(frame) else "no rows for this region",
                columns=keep if len(keep) >= 3 else None,
            )
        )
    if dash.has("outcomes", "region_type", "region_id", "year", "outcome", "value"):
        frame = dash.rows_by(
            "region_id",
            "select region_id, year, outcome, value from outcomes where region_type = ? "
            "order by region_id, outcome, year",
            [region_type],
            ("region_outcomes", region_type),
        )(region_id)
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
    if not any(s.key == "outcomes" or s.key.startswith("table_resilience") for s in page.sections):
        page.messages.append(
            "No resilience indices or outcomes for this region in the store (run `clusteratlas resilience ...` to add them)."
        )


def resilience_window(
    dash: Dashboard, region_type: str, window: tuple[int, int, int]
) -> pd.DataFrame:
    """Resistance and recovery of every region of a type for each outcome over ``window``.

    Computed by :func:`clusteratlas.resilience.indices.resilience` (aggregate expectation:
    the national growth of the same outcome), one outcome at a time; cached per window.
    """

    def compute() -> pd.DataFrame:
        outcomes = dash.df(
            "select region_type, region_id, year, outcome, value from outcomes "
            "where (region_type = ? or region_type = 'nation') and year between ? and ?",
            [region_type, window[0], window[2]],
        )
        present = set(outcomes.loc[outcomes["region_type"] == region_type, "year"].astype(int))
        if not set(window) <= present:
            have = dash.rows(
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
                # the table carries what these warn of (flags and the difference form for a
                # near-zero reference change, the rows left out); the page shows the table
                with expected_warnings(EstimationWarning, DataCoverageWarning, DesignWarning):
                    result = resilience(
                        regional,
                        window,
                        national=nation if len(nation) else None,
                        outcome=str(outcome),
                    )
            except (ClusterAtlasError, KeyError, ValueError) as error:
                # one outcome failing (gaps, zero bases) must not hide the others; the message
                # names the outcome, the years asked and the years it has
                parts.append(pd.DataFrame({"outcome": [outcome], "note": [str(error)]}))
                continue
            parts.append(result.tidy().assign(outcome=outcome))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    # bounded with the pages: a user can ask for any of many windows
    return dash.cached(("resilience_window", region_type, window), compute, page=True)


def _add_window(
    dash: Dashboard,
    page: Page,
    region_type: str,
    region_id: str,
    window: tuple[int, int, int] | None,
) -> None:
    if window is None:
        return
    if not dash.has("outcomes", "region_type", "region_id", "year", "outcome", "value"):
        page.messages.append("The store has no outcomes table: no resilience window indices.")
        return
    try:
        table = resilience_window(dash, region_type, window)
    except ParameterError:
        raise
    except ClusterAtlasError as error:
        raise ParameterError("window", str(error)) from None
    if "region_id" in table.columns:
        notes = table.loc[table["region_id"].isna()] if "note" in table.columns else table.iloc[0:0]
        table = table.loc[table["region_id"] == region_id]
        for note in dict.fromkeys(notes.get("note", [])):  # each message once
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
            "difference_pp",
            "index_reliable",
            "sensitivity",
            "competitive_component",
            "direction",
            "note",
        )
        if c in table.columns
    ]
    table = table[keep].reset_index(drop=True) if keep else table
    if {"index_reliable", "resilience"} <= set(table.columns):
        # an index over a near-zero national change is not drawn: it would set the bars' scale
        # (clusteratlas.resilience.indices.MIN_REFERENCE_GROWTH); the table keeps it and says why
        reliable = table["index_reliable"].eq(True)
        table["resilience_drawn"] = table["resilience"].where(reliable)
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
                "value": "resilience_drawn"
                if "resilience_drawn" in table.columns
                else "resilience",
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


def _peers(
    dash: Dashboard, summary: pd.DataFrame, region_type: str, region_id: str, year: int
) -> Section:
    """The region, its peers and the median region (:mod:`clusteratlas.panel.comparison`: the
    report's definitions): the user's peers of a ``clusteratlas run`` store, else the nearest
    by size and traded mix in the page's year."""
    user = _user_peers(dash, region_id)
    if user:
        peers = pd.DataFrame({"peer_id": user, "distance": np.nan})
        chosen_by = "the run's config (user)"
    else:
        space = _peer_space(dash, summary, region_type, year)
        peers = (
            nearest_in(space, region_id)
            if space is not None
            else pd.DataFrame({"peer_id": [], "distance": []})
        )
        chosen_by = NEAREST
    ids = [region_id, *peers["peer_id"].astype(str)]
    rows = _by_region_id(dash, region_type, year).reindex(ids).reset_index()
    rows["distance"] = rows["region_id"].map(
        dict(zip(peers["peer_id"], peers["distance"], strict=True))
    )
    median = pd.DataFrame(
        [
            {
                "region_id": "median",
                "region_name": f"Median of all {len(summary)} {region_type} regions",
                **_median_region(dash, region_type, year).to_dict(),
            }
        ]
    )
    rows = pd.concat(
        [rows.astype({c: float for c in median.columns[2:]}), median], ignore_index=True
    )
    columns = [
        "region_id",
        "region_name",
        "distance",
        "emp",
        "emp_traded",
        "cluster_strength",
        "n_strong",
        "wage",
    ]
    return Section(
        "peers",
        f"Peers ({chosen_by}) and the median region, {year}",
        rows[[c for c in columns if c in rows.columns]],
        chart={
            "kind": "bar",
            "label": "region_name",
            "value": "cluster_strength",
            "highlight_id": region_id,
            "id": "region_id",
        },
    )


def _median_region(dash: Dashboard, region_type: str, year: int) -> pd.Series:
    """:func:`~clusteratlas.panel.comparison.benchmark` of the year's regions, once per year."""
    return dash.cached(
        ("median_region", region_type, year),
        lambda: benchmark(dash.region_summary(region_type, year)),
    )


def _by_region_id(dash: Dashboard, region_type: str, year: int) -> pd.DataFrame:
    """The year's region summary indexed by region id (text), once per year."""

    def compute() -> pd.DataFrame:
        summary = dash.region_summary(region_type, year)
        return summary.assign(region_id=summary["region_id"].astype(str)).set_index("region_id")

    return dash.cached(("summary_by_id", region_type, year), compute)


def _peer_space(
    dash: Dashboard, summary: pd.DataFrame, region_type: str, year: int
) -> PeerSpace | None:
    """The year's :class:`~clusteratlas.panel.comparison.PeerSpace`, built once per region type
    and year (every region page of that year reads it); None when no traded rows."""

    def compute() -> PeerSpace | None:
        panel = dash.df(
            f"""select region_id, cluster_code, year, traded, emp from cluster_panel
                where region_type = ? and year = ? and traded and {dash.panel_where}""",
            [region_type, year],
        )
        return peer_space(panel, summary, year) if len(panel) else None

    return dash.cached(("peer_space", region_type, year), compute)


def _user_peers(dash: Dashboard, region_id: str) -> list[str]:
    """Peers the user named in a ``clusteratlas run`` config (``run_peers`` chosen_by user)."""
    if not dash.has("run_peers", "region_id", "peer_id", "chosen_by"):
        return []
    peers = dash.rows_by(
        "region_id",
        "select region_id, peer_id from run_peers where chosen_by = 'user'",
        [],
        ("user_peers",),
    )(region_id)
    return [str(p) for p in peers["peer_id"]]
