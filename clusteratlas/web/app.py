"""The dashboard's web application (Starlette): pages, JSON API, CSV export, static assets.

Every page has three renderings of the same :class:`~clusteratlas.web.queries.Page`:

- ``/region?type=state&id=06&year=2016``: HTML with inline SVG charts (no CDN, offline);
- ``/api/region?...``: JSON (``info``, ``messages`` and each section's rows);
- ``/api/region.csv?...&part=portfolio``: one section as CSV.

A page's whole state (region, cluster, metric, year, axes) lives in its query string, so
URLs can be shared. Bad requests never crash the server: unknown regions or clusters are 404,
malformed values 400, oversized requests 413/414, all with a message saying what to fix
(JSON under ``/api/``, an HTML page elsewhere). Static files come only from a fixed list of
the app's own assets, so no path can reach outside them.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import numpy as np
import pandas as pd
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from clusteratlas import __version__
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.web import charts
from clusteratlas.web.queries import (
    CLUSTER_METRICS,
    MAX_ROWS,
    REGION_METRICS,
    THEORY_PARAMS,
    Dashboard,
    NotFoundError,
    Page,
    check_id,
    theory_page,
)

HERE = Path(__file__).parent
MAX_QUERY_BYTES = 4096
MAX_BODY_BYTES = 1024
MAX_COMPARE = 10
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
# the only files /static/ serves: read once at start, looked up by exact name
STATIC_FILES = {p.name: p for p in sorted((HERE / "static").iterdir()) if p.suffix in STATIC_TYPES}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:",
}


# -- request parsing -----------------------------------------------------------------------
class Query:
    """Typed access to a request's query string; every bad value is a :class:`ParameterError`."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params
        self.read: set[str] = set()  # names a handler asked for (the page's vocabulary)

    def text(self, name: str, default: str | None = None) -> str | None:
        self.read.add(name)
        value = self.params.get(name)
        return default if value in (None, "") else value

    def values(self, name: str) -> list[str]:
        """Every value of a repeated parameter (``?r=a&r=b``)."""
        self.read.add(name)
        return self.params.getlist(name)

    def reject_unknown(self, also_allowed: tuple[str, ...] = ()) -> None:
        """A key the page never read is a typo (``region=`` for ``id=``): say so, don't ignore it."""
        unknown = sorted(set(self.params) - self.read - set(also_allowed))
        if unknown:
            known = ", ".join(sorted(self.read | set(also_allowed))) or "none"
            raise ParameterError(unknown[0][:40], "is not a parameter of this page", allowed=known)

    def code(self, name: str, default: str | None = None) -> str | None:
        value = self.text(name, default)
        return None if value is None else check_id(name, value)

    def required(self, name: str) -> str:
        value = self.code(name)
        if value is None:
            raise ParameterError(name, "is required")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not value.lstrip("-").isdigit() or len(value) > 9:
            raise ParameterError(name, f"{value[:20]!r} is not a whole number")
        return int(value)

    def number(self, name: str) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = float(value[:30])
        except ValueError:
            raise ParameterError(name, f"{value[:20]!r} is not a number") from None
        if not math.isfinite(number):
            raise ParameterError(name, "must be a finite number")
        return number

    def choice(self, name: str, allowed: dict | tuple, default: str) -> str:
        value = self.text(name, default)
        if value not in allowed:
            raise ParameterError(name, f"unknown value {value[:40]!r}", allowed=", ".join(allowed))
        return value


# -- page handlers: (dashboard, query) -> (Page, form fields, link rules) ----------------------
def _year(dash: Dashboard, q: Query) -> int:
    return dash.check_year(q.integer("year"))


def _region_type(dash: Dashboard, q: Query) -> str:
    return dash.check_region_type(q.text("type"))


def _first_region(dash: Dashboard, region_type: str) -> str:
    regions = dash.region_summary(region_type, dash.default_year())
    if regions.empty:
        raise NotFoundError(f"no {region_type} regions in the store")
    return str(regions["region_id"].iloc[0])


def home(dash: Dashboard, q: Query) -> Page:
    return dash.home_page()


def regions(dash: Dashboard, q: Query) -> Page:
    search = q.text("q")
    if search and len(search) > 100:
        raise ParameterError("q", "search text longer than 100 characters")
    return dash.regions_page(_region_type(dash, q), search)


def clusters(dash: Dashboard, q: Query) -> Page:
    return dash.clusters_page()


def region(dash: Dashboard, q: Query) -> Page:
    region_type = _region_type(dash, q)
    region_id = q.code("id") or _first_region(dash, region_type)
    return dash.region_page(region_type, region_id, _year(dash, q), _window(q))


def _window(q: Query) -> tuple[int, int, int] | None:
    """``window=peak-trough-end`` (e.g. 2019-2020-2022): the resilience window of a region page."""
    text = q.text("window")
    if text is None:
        return None
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise ParameterError(
            "window", f"{text[:30]!r} is not PEAK-TROUGH-END years", allowed="e.g. 2019-2020-2022"
        )
    peak, trough, end = (int(p) for p in parts)
    if not peak < trough < end:
        raise ParameterError("window", "years must satisfy peak < trough < end")
    return peak, trough, end


def cluster(dash: Dashboard, q: Query) -> Page:
    code = q.code("code") or dash.meta()["clusters"][0]["cluster_code"]
    return dash.cluster_page(code, _region_type(dash, q), _year(dash, q))


def region_cluster(dash: Dashboard, q: Query) -> Page:
    region_type = _region_type(dash, q)
    region_id = q.code("id") or _first_region(dash, region_type)
    code = q.code("cluster") or dash.meta()["clusters"][0]["cluster_code"]
    return dash.region_cluster_page(region_type, region_id, code, _year(dash, q))


def compare(dash: Dashboard, q: Query) -> Page:
    picked = q.values("r")
    if len(picked) > MAX_COMPARE:
        raise ParameterError("r", f"{len(picked)} regions given; compare at most {MAX_COMPARE}")
    pairs = []
    for item in picked:
        if not item:
            continue
        region_type, _, region_id = item.partition(":")
        if not region_id:
            raise ParameterError("r", f"{item[:40]!r} is not TYPE:ID (e.g. state:06)")
        pairs.append((dash.check_region_type(region_type), check_id("r", region_id)))
    if not pairs:
        region_type = dash.default_region_type()
        top = dash.region_summary(region_type, dash.default_year())["region_id"].head(3)
        pairs = [(region_type, str(r)) for r in top]
    metric = q.choice("metric", REGION_METRICS, "cluster_strength")
    return dash.compare_page(pairs, _year(dash, q), metric)


def map_view(dash: Dashboard, q: Query) -> Page:
    code = q.code("cluster")
    metric = q.choice(
        "metric", CLUSTER_METRICS if code else REGION_METRICS, "lq" if code else "cluster_strength"
    )
    return dash.map_page(_region_type(dash, q), metric, _year(dash, q), code)


def causal(dash: Dashboard, q: Query) -> Page:
    return dash.causal_page()


def theory(dash: Dashboard, q: Query) -> Page:
    x = q.choice("x", THEORY_PARAMS, "K")
    y = q.choice("y", THEORY_PARAMS, "t")
    fixed = {name: value for name in THEORY_PARAMS if (value := q.number(name)) is not None}
    return theory_page(x, y, fixed, q.integer("n", 40))


PAGES: dict[str, tuple[str, Callable[[Dashboard, Query], Page]]] = {
    "home": ("Home", home),
    "regions": ("Regions", regions),
    "clusters": ("Clusters", clusters),
    "region": ("Region", region),
    "cluster": ("Cluster", cluster),
    "region-cluster": ("Region x cluster", region_cluster),
    "compare": ("Compare", compare),
    "map": ("Map", map_view),
    "causal": ("Causal results", causal),
    "theory": ("Theory", theory),
}


def form_fields(name: str, dash: Dashboard, q: Query, page: Page) -> list[dict[str, Any]]:
    """The controls of a page's form (a GET form: submitting it writes the query string)."""
    meta = dash.meta()
    types = [t["region_type"] for t in meta["region_types"]]
    years = [str(y) for y in meta["years"]]
    clusters_opts = [
        (c["cluster_code"], f"{c['cluster_name']} ({c['cluster_code']})") for c in meta["clusters"]
    ]
    year = str(page.info.get("year", years[-1] if years else ""))

    def select(field: str, label: str, options: list, value: str | None) -> dict[str, Any]:
        opts = [o if isinstance(o, tuple) else (o, o) for o in options]
        return {"name": field, "label": label, "kind": "select", "options": opts, "value": value}

    def text(field: str, label: str, value: str | None) -> dict[str, Any]:
        return {"name": field, "label": label, "kind": "text", "value": value or ""}

    rtype = q.text("type") or dash.default_region_type()
    if name == "regions":
        return [
            select("type", "Region type", types, rtype),
            text("q", "Name contains", q.text("q")),
        ]
    if name == "region":
        return [
            select("type", "Region type", types, rtype),
            text("id", "Region id", q.text("id") or page.info.get("_id")),
            select("year", "Year", years, year),
            text("window", "Resilience window (peak-trough-end)", q.text("window")),
        ]
    if name == "cluster":
        return [
            select("code", "Cluster", clusters_opts, q.text("code") or page.info.get("_code")),
            select("type", "Region type", types, rtype),
            select("year", "Year", years, year),
        ]
    if name == "region-cluster":
        return [
            select("type", "Region type", types, rtype),
            text("id", "Region id", q.text("id") or page.info.get("_id")),
            select(
                "cluster", "Cluster", clusters_opts, q.text("cluster") or page.info.get("_code")
            ),
            select("year", "Year", years, year),
        ]
    if name == "compare":
        picked = q.params.getlist("r") or page.info.get("_regions", [])
        fields = [
            text("r", f"Region {i + 1} (type:id)", picked[i] if i < len(picked) else "")
            for i in range(max(len(picked) + 1, 3))
        ][:MAX_COMPARE]
        return [
            *fields,
            select(
                "metric",
                "Metric",
                [(k, v[0]) for k, v in REGION_METRICS.items()],
                q.text("metric") or "cluster_strength",
            ),
            select("year", "Year", years, year),
        ]
    if name == "map":
        code = q.text("cluster")
        metrics = CLUSTER_METRICS if code else REGION_METRICS
        return [
            select("type", "Region type", types, rtype),
            select(
                "cluster",
                "Cluster (empty: all clusters)",
                [("", "(region totals)"), *clusters_opts],
                code or "",
            ),
            select(
                "metric",
                "Metric",
                [(k, v[0]) for k, v in metrics.items()],
                q.text("metric") or ("lq" if code else "cluster_strength"),
            ),
            select("year", "Year", years, year),
        ]
    if name == "theory":
        fields = [
            select("x", "x axis", list(THEORY_PARAMS), q.text("x") or "K"),
            select("y", "y axis", list(THEORY_PARAMS), q.text("y") or "t"),
            {"name": "n", "label": "Grid", "kind": "number", "value": q.text("n") or "40"},
        ]
        fields += [
            {"name": p, "label": f"{p} (fixed)", "kind": "number", "value": q.text(p) or str(d)}
            for p, (d, _, _) in THEORY_PARAMS.items()
        ]
        return fields
    return []


def link_rules(name: str, page: Page, q: Query) -> dict[str, str]:
    """Per-column link targets for a page's tables (``{}`` is the cell value)."""
    year = page.info.get("year")
    suffix = f"&year={year}" if year else ""
    rtype = q.text("type") or ""
    if name == "region":
        return {
            "cluster_code": f"/region-cluster?type={rtype}&id={page.info.get('_id')}{suffix}&cluster={{}}",
            "region_id": f"/region?{suffix[1:]}&type={{region_type}}&id={{}}",
        }
    if name == "cluster":
        return {
            "region_id": f"/region-cluster?type={rtype}&cluster={page.info.get('_code')}{suffix}&id={{}}",
            "related_cluster_code": f"/cluster?type={rtype}{suffix}&code={{}}",
        }
    if name in ("map", "regions"):
        return {"region_id": f"/region?type={rtype}{suffix}&id={{}}"}
    if name == "compare":
        return {"region_id": f"/region?{suffix[1:]}&type={{region_type}}&id={{}}"}
    if name == "clusters":
        return {"cluster_code": "/cluster?code={}"}
    if name == "home":
        return {"region_type": "/regions?type={}"}
    return {}


# -- rendering -----------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def _records(frame: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    return [
        {k: _jsonable(v) for k, v in row.items()} for row in frame.head(limit).to_dict("records")
    ]


def page_json(page: Page) -> dict[str, Any]:
    return {
        "title": page.title,
        "info": {k: _jsonable(v) for k, v in page.info.items() if not k.startswith("_")},
        "messages": page.messages,
        "sections": {
            s.key: {
                "title": s.title,
                "note": s.note,
                "rows": _records(s.table, MAX_ROWS),
                "total_rows": len(s.table),
                "columns": list(map(str, s.table.columns)),
            }
            for s in page.sections
        },
    }


PLAIN_COLUMNS = {
    "region_id",
    "cluster_code",
    "related_cluster_code",
    "subcluster_code",
    "start",
    "end",
    "peak",
    "trough",
}


def _cell(row: dict[str, Any], column: str, rules: dict[str, str]) -> dict[str, Any]:
    value = row[column]
    # codes and years print as they are (06037, 2016), not as numbers (6,037, 2,016)
    plain = column in PLAIN_COLUMNS or column.endswith("year")
    text = ("" if pd.isna(value) else str(value)) if plain else charts.fmt(value)
    href = None
    if column in rules and text:
        try:
            href = rules[column].format(
                text, **{k: ("" if pd.isna(v) else v) for k, v in row.items() if isinstance(k, str)}
            )
        except (KeyError, IndexError, ValueError):
            href = None
    return {
        "text": text,
        "href": href,
        "numeric": isinstance(value, (int, float, np.number)) and not isinstance(value, bool),
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = charts.fmt
    return env


# -- errors and limits ---------------------------------------------------------------------
class LimitRequests:
    """Reject oversized requests before any work: long query strings (414), bodies (413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = None
            if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
                problem = (414, f"query string longer than {MAX_QUERY_BYTES} bytes")
            elif len(scope.get("path", "")) > 512:
                problem = (414, "path longer than 512 characters")
            else:
                for key, value in scope.get("headers", []):
                    if key == b"content-length" and (
                        not value.isdigit() or int(value) > MAX_BODY_BYTES
                    ):
                        problem = (
                            413,
                            f"request body larger than {MAX_BODY_BYTES} bytes (the dashboard only answers GET)",
                        )
            if problem:
                response = _error_response(scope.get("path", ""), problem[0], problem[1])
                await response(scope, receive, send)
                return

            async def send_with_headers(message: dict) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers += [
                        (k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                    ]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send)


_ENV = _environment()


def _error_response(path: str, status: int, message: str) -> Response:
    if path.startswith("/api/"):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    html = _ENV.get_template("error.html").render(
        status=status, message=message, nav=PAGES, version=__version__
    )
    return HTMLResponse(html, status_code=status)


def _status(error: Exception) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, (ParameterError, InputError)):
        return 400
    return 500


# -- application ---------------------------------------------------------------------------
def create_app(store: str | Path, *, dashboard: Dashboard | None = None) -> Starlette:
    """The dashboard app over the store file ``store`` (opened read-only)."""
    dash = dashboard or Dashboard(store)

    def build(name: str, request: Request, *, csv: bool = False) -> tuple[Page, Query]:
        q = Query(request)
        page = PAGES[name][1](dash, q)
        q.reject_unknown(also_allowed=("part",) if csv else ())
        return page, q

    def annotate(name: str, page: Page, q: Query) -> None:
        # hidden facts the forms and links need (keys starting with "_" are not shown)
        if name in ("region", "region-cluster"):
            rtype = q.text("type") or dash.default_region_type()
            page.info["_id"] = q.text("id") or _first_region(dash, rtype)
        if name in ("cluster", "region-cluster"):
            page.info["_code"] = (
                q.text("code" if name == "cluster" else "cluster")
                or dash.meta()["clusters"][0]["cluster_code"]
            )
        if name == "compare":
            table = page.sections[0].table
            page.info["_regions"] = [
                f"{t}:{i}" for t, i in zip(table["region_type"], table["region_id"], strict=True)
            ]

    def guarded(endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Turn every error of a request into a 4xx/5xx answer with a message, never a crash."""

        def run(request: Request) -> Response:
            try:
                return endpoint(request)
            except HTTPException as error:
                return _error_response(request.url.path, error.status_code, str(error.detail))
            except Exception as error:
                status = _status(error)
                if status == 500:
                    logging.getLogger("clusteratlas.web").exception("error serving %s", request.url)
                    message = f"internal error ({type(error).__name__}); see the server log"
                else:
                    message = str(error)
                return _error_response(request.url.path, status, message)

        return run

    def html_page(name: str) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            page, q = build(name, request)
            annotate(name, page, q)
            rules = link_rules(name, page, q)
            query = request.url.query
            sections = []
            for s in page.sections:
                shown = s.table.head(MAX_ROWS if s.show_table else 0)
                rows = shown.to_dict("records")
                svg = charts.render(
                    s.chart,
                    s.table,
                    links={
                        "network": f"/cluster?{urlencode({'type': q.text('type') or '', 'year': page.info.get('year', '')})}&code="
                    },
                )
                export = f"/api/{name}.csv?{query + '&' if query else ''}part={s.key}"
                sections.append(
                    {
                        "key": s.key,
                        "title": s.title,
                        "note": s.note,
                        "svg": svg,
                        "columns": [str(c) for c in shown.columns],
                        "rows": [[_cell(r, c, rules) for c in shown.columns] for r in rows],
                        "total": len(s.table),
                        "csv": export,
                    }
                )
            # years print as years (2017, not 2,017)
            info = {
                k: (str(v) if k == "year" else v)
                for k, v in page.info.items()
                if not k.startswith("_")
            }
            html = _ENV.get_template("page.html").render(
                name=name,
                page=page,
                info=info,
                sections=sections,
                nav=PAGES,
                version=__version__,
                fields=form_fields(name, dash, q, page),
                api=f"/api/{name}?{query}",
                store=dash.path.name,
                synthetic=dash.synthetic,
            )
            return HTMLResponse(html)

        return endpoint

    def api_page(request: Request) -> Response:
        name = request.path_params["page"]
        fmt = "json"
        if name.endswith(".csv"):
            name, fmt = name[:-4], "csv"
        if name not in PAGES:
            raise NotFoundError(f"no API page {name[:40]!r}; pages: {', '.join(PAGES)}")
        page, q = build(name, request, csv=fmt == "csv")
        if fmt == "json":
            return JSONResponse({**page_json(page), "synthetic": dash.synthetic})
        part = q.text("part")
        if part is None:
            raise ParameterError(
                "part",
                "which table to export is required",
                allowed=", ".join(s.key for s in page.sections),
            )
        section = page.section(part)
        buffer = io.StringIO()
        section.table.to_csv(buffer, index=False)
        filename = f"clusteratlas-{name}-{part}.csv"
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def api_meta(request: Request) -> Response:
        return JSONResponse(json.loads(json.dumps(dash.meta(), default=_jsonable)))

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC_FILES.get(name)  # exact names only: no path can leave the assets folder
        if path is None:
            raise HTTPException(404, f"no static file {name[:60]!r}")
        return Response(
            path.read_bytes(),
            media_type=STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "max-age=3600"},
        )

    def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "store": dash.path.name, "version": __version__})

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _error_response(request.url.path, error.status_code, str(error.detail))

    get = ["GET", "HEAD"]
    routes = [Route("/", guarded(html_page("home")), methods=get)]
    routes += [
        Route(f"/{name}", guarded(html_page(name)), methods=get) for name in PAGES if name != "home"
    ]
    routes += [
        Route("/api/meta", guarded(api_meta), methods=get),
        Route("/api/{page}", guarded(api_page), methods=get),
        Route("/static/{name:path}", guarded(static), methods=get),
        Route("/healthz", health, methods=get),
    ]
    handlers = {HTTPException: on_http_error}
    app = Starlette(
        routes=routes, exception_handlers=handlers, middleware=[Middleware(LimitRequests)]
    )
    app.state.dashboard = dash
    return app
