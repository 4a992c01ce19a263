"""The dashboard's web application (Starlette): routes, rendering, JSON API, CSV export, static assets.

Owns serving and rendering; the pages themselves (their queries, request parsing and forms)
are the modules of :mod:`clusteratlas.web.pages`. Every page has three renderings of the same
:class:`~clusteratlas.web.dashboard.Page`:

- ``/region?type=state&id=06&year=2016``: HTML with inline SVG charts (no CDN, offline);
- ``/api/region?...``: JSON (``info``, ``messages`` and each section's rows);
- ``/api/region.csv?...&part=portfolio``: one section as CSV.

A page's whole state (region, cluster, metric, year, axes) lives in its query string, so
URLs can be shared. Bad requests never crash the server: unknown regions or clusters are 404,
malformed values 400, oversized requests 413/414, all with a message saying what to fix
(JSON under ``/api/``, an HTML page elsewhere). Requests whose ``Host`` header is not a loopback
name (or a host the server was started for) are refused with 400 before any work, so a web
page that rebinds its own domain to 127.0.0.1 (DNS rebinding) cannot read the dashboard. Static files come only from a fixed list of
the app's own assets, so no path can reach outside them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from starlette._utils import parse_host_header
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from clusteratlas import __version__, tables
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.report import labels
from clusteratlas.web import charts, pages
from clusteratlas.web.dashboard import (
    MAX_ROWS,
    Dashboard,
    NotFoundError,
    Page,
    display_columns,
)
from clusteratlas.web.forms import Query, Redirect

#: words in a headline figure's name -> how its value prints
INFO_KINDS = (
    ("wage", "money"),
    ("strength", "share"),
    ("share", "share"),
    ("year", "code"),
    ("employment", "count"),
    ("establishments", "count"),
    ("strong clusters", "count"),
    ("regions", "count"),
)


def info_text(key: str, value: Any) -> str:
    """A headline figure of a page, printed by its name's meaning."""
    if isinstance(value, str):
        return value
    for word, kind in INFO_KINDS:
        if word in key.lower():
            return labels.fmt(value, kind)
    return labels.general(value)


HERE = Path(__file__).parent
MAX_QUERY_BYTES = 4096
MAX_BODY_BYTES = 1024
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
# the only files /static/ serves: read once at start, looked up by exact name
STATIC_FILES = {p.name: p for p in sorted((HERE / "static").iterdir()) if p.suffix in STATIC_TYPES}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:",
}


# -- pages: each module of clusteratlas.web.pages owns its queries, request and form -----------
#: name -> (navigation label, builder), in navigation order
PAGES: dict[str, tuple[str, Callable[[Dashboard, Query], Page]]] = {
    module.NAME: (module.TITLE, module.build) for module in pages.MODULES
}


def form_fields(name: str, dash: Dashboard, q: Query, page: Page) -> list[dict[str, Any]]:
    """The controls of a page's form (a GET form: submitting it writes the query string)."""
    fields = getattr(pages.BY_NAME[name], "fields", None)
    return fields(dash, q, page) if fields else []


def link_rules(name: str, page: Page, q: Query) -> dict[str, str]:
    """Per-column link targets for a page's tables (``{}`` is the cell value)."""
    links = getattr(pages.BY_NAME[name], "links", None)
    return links(page, q) if links else {}


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
    """The first ``limit`` rows as JSON-ready dicts (:func:`_jsonable` values), a column at a
    time: numpy number and boolean columns are already Python numbers once listed, so only
    their non-finite floats need replacing."""
    head = min(limit, len(frame))
    columns = []
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        values = column.tolist()[:head]
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            columns.append([v if math.isfinite(v) else None for v in values])
        elif isinstance(dtype, np.dtype) and dtype.kind in "iub":
            columns.append(values)
        else:
            columns.append([_jsonable(v) for v in values])
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] or [
        {} for _ in range(head)
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


def table_rows(
    frame: pd.DataFrame,
    rules: dict[str, str],
    kinds: dict[str, str] | None = None,
    *,
    columns: Sequence[Any] | None = None,
    limit: int | None = None,
) -> Markup:
    """The ``<tr>`` rows of an HTML table of ``frame``'s ``columns`` (default: all) and first
    ``limit`` rows (default: all), escaped.

    Codes and years print as they are (06037, 2016, not 6,037 or 2,016), other cells as the
    report prints them (:mod:`clusteratlas.report.labels`; ``kinds`` names a column's format
    where its name does not). A column with a link rule links each printed value
    (``rules[column].format(text, **row)``). Numbers get ``class="num"``. Written here a
    column at a time rather than looped out by the template a cell at a time: a region page
    has ~2,400 cells, and this costs a fraction of the loop (tests/web/test_app.py keeps the
    loop as the reference the pages must equal byte for byte).
    """
    columns = list(frame.columns if columns is None else columns)
    limit = len(frame) if limit is None else min(limit, len(frame))
    if not columns:
        return Markup("<tr></tr>" * limit)
    # Python scalars, as to_dict's
    values = [frame[column].tolist()[:limit] for column in columns]
    keys = [(i, k) for i, k in enumerate(columns) if isinstance(k, str)]
    rows: list[tuple] | None = None  # the rows' values, built once a link needs them
    cells: list[list[str]] = []
    for column, column_values in zip(columns, values, strict=True):
        if kinds and column in kinds:
            formatter = functools.partial(labels.fmt, kind=kinds[column])
        elif column in PLAIN_COLUMNS or column.endswith("year"):
            formatter = labels.code
        else:
            formatter = functools.partial(labels.fmt, kind=labels.kind_of(column))
        texts = [formatter(value) for value in column_values]
        opening = [
            '<td class="num">'
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            else "<td>"
            for value in column_values
        ]
        rule = rules.get(column)
        if rule is None:
            cells.append([f"{o}{escape(t)}</td>" for o, t in zip(opening, texts, strict=True)])
            continue
        if rows is None:
            rows = list(zip(*values, strict=True))
        linked = []
        for o, text, row in zip(opening, texts, rows, strict=True):
            href = None
            if text and text != labels.MISSING:
                fields = {k: ("" if pd.isna(row[i]) else row[i]) for i, k in keys}
                try:
                    href = rule.format(text, **fields)
                except (KeyError, IndexError, ValueError):
                    href = None
            linked.append(
                f'{o}<a href="{escape(href)}">{escape(text)}</a></td>'
                if href
                else f"{o}{escape(text)}</td>"
            )
        cells.append(linked)
    return Markup("".join(f"<tr>{''.join(row)}</tr>" for row in zip(*cells, strict=True)))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = charts.fmt
    env.filters["label"] = labels.label
    return env


# -- errors and limits ---------------------------------------------------------------------
#: host names a request to this machine's loopback interface carries in its Host header
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_name(header: str) -> str | None:
    """The host part of a ``Host`` header, lower case, without port or IPv6 brackets:
    ``"LocalHost:8765"`` -> ``"localhost"``, ``"[::1]:8765"`` -> ``"::1"``; None if malformed."""
    parsed = parse_host_header(header.strip())
    return None if parsed is None else parsed.host.lower().strip("[]")


class CheckHost:
    """Answer only requests addressed to an allowed host name (DNS-rebinding protection).

    A page on ``evil.example`` can point its own name at 127.0.0.1 and then read whatever
    the dashboard serves on the same origin; its requests still say ``Host: evil.example``.
    Like Starlette's ``TrustedHostMiddleware`` (which answers a bare "Invalid host header"),
    but ports and IPv6 brackets are ignored and the refusal says what to do.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(
            name for h in (*LOOPBACK_HOSTS, *allowed) if (name := host_name(h) or h.lower())
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = next((v for k, v in scope.get("headers", []) if k == b"host"), b"")
            host = host_name(header.decode("latin-1"))
            if host not in self.allowed:
                shown = header.decode("latin-1")[:80]
                message = (
                    f"the dashboard does not answer requests for host {shown!r}"
                    if shown
                    else "the request has no Host header"
                ) + (
                    f"; it answers to {', '.join(sorted(self.allowed))} only (protection against "
                    "DNS rebinding). To reach it by another name, start it with "
                    "`clusteratlas serve --host NAME` or `--allow-host NAME`."
                )
                response = _error_response(scope.get("path", ""), 400, message)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
class ResponseCache:
    """Finished 200 answers by URL (path and query), least recently used dropped first once
    they hold more than ``max_bytes``. Valid for the server's life: the store is open
    read-only, so the same URL always gets the same answer."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[str, Response] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Response | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: str, answer: Response) -> None:
        size = len(answer.body)
        if answer.status_code != 200 or size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._answers:
                return
            self._answers[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body)


def create_app(
    store: str | Path,
    *,
    dashboard: Dashboard | None = None,
    allowed_hosts: Iterable[str] = (),
    answer_cache_bytes: int = 64 << 20,
    pages_at_once: int = 2,
    prepare: bool = False,
) -> Starlette:
    """The dashboard app over the store file ``store`` (opened read-only).

    Answers to URLs seen before come from a cache of at most ``answer_cache_bytes`` (0: none).
    At most ``pages_at_once`` requests build and render a page at the same time; the others
    wait their turn in arrival order (answers from the cache do not wait). Rendering is
    Python, so more at once only share the interpreter: each would take as long as all of
    them, and the slowest pages (a region's) would wait longest. In turn, every request
    waits about as long as the queue ahead of it (20 clients on 2 cores: p95 1.4 s -> 0.8 s
    at the same CPU, docs/web.md).

    It answers requests addressed to a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``,
    any port) or to one of ``allowed_hosts``; others get 400 (see :class:`CheckHost`).
    """
    dash = dashboard or Dashboard(store)

    def build(name: str, request: Request, *, csv: bool = False) -> tuple[Page, Query]:
        q = Query(request)
        page = PAGES[name][1](dash, q)
        q.reject_unknown(also_allowed=("part",) if csv else ())
        return page, q

    def annotate(name: str, page: Page, q: Query) -> None:
        # hidden facts the forms and links need (keys starting with "_" are not shown)
        add = getattr(pages.BY_NAME[name], "annotate", None)
        if add is not None:
            add(dash, q, page)

    answers = ResponseCache(answer_cache_bytes)
    if pages_at_once < 1:
        raise ParameterError("pages_at_once", f"{pages_at_once} is below 1")
    turns = threading.Semaphore(pages_at_once)  # waiters are woken about in arrival order

    def guarded(endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Turn every error of a request into a 4xx/5xx answer with a message, never a crash;
        answer a URL seen before from :class:`ResponseCache`."""

        def run(request: Request) -> Response:
            key = f"{request.url.path}?{request.url.query}"
            known = answers.get(key)
            if known is not None:
                return known
            try:
                with turns:
                    answer = endpoint(request)
                answers.put(key, answer)
                return answer
            except Redirect as moved:
                return RedirectResponse(moved.url, status_code=303)
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
            if q.canonical:  # a region or cluster typed by name: the URL keeps its id
                pairs = [
                    (k, q.canonical.get(k, v) if k not in q.multi else v)
                    for k, v in request.query_params.multi_items()
                ]
                for k, values in q.multi.items():
                    pairs = [(a, b) for a, b in pairs if a != k] + [(k, v) for v in values]
                raise Redirect(f"{request.url.path}?{urlencode(pairs)}")
            annotate(name, page, q)
            rules = link_rules(name, page, q)
            query = request.url.query
            sections = []
            # years print as years (2017, not 2,017)
            info = {k: info_text(k, v) for k, v in page.info.items() if not k.startswith("_")}
            for s in page.sections:
                columns = s.columns or display_columns(s.table)
                shown = min(len(s.table), MAX_ROWS) if s.show_table else 0
                cluster_link = f"/cluster?{urlencode({'type': q.text('type') or '', 'year': page.info.get('year', '')})}&code="
                svg = charts.render(
                    s.chart,
                    s.table,
                    links={
                        "network": cluster_link,
                        "cluster": page.info.get("_cluster_link", cluster_link),
                    },
                )
                export = f"/api/{name}.csv?{query + '&' if query else ''}part={s.key}"
                sections.append(
                    {
                        "key": s.key,
                        "title": s.title,
                        "note": s.note,
                        "svg": svg,
                        "columns": [labels.label(c) for c in columns],
                        "shown": shown,
                        "rows": table_rows(s.table, rules, s.kinds, columns=columns, limit=shown),
                        "total": len(s.table),
                        "hidden": len(s.table.columns) - len(columns),
                        "csv": export,
                        "export": charts.export_caption(
                            page.title,
                            s.title,
                            info,
                            sources=dash.data_sources(),
                            store=dash.path.name,
                            version=__version__,
                            synthetic=dash.synthetic,
                        ),
                    }
                )
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
        filename = f"clusteratlas-{name}-{part}.csv"
        return Response(
            tables.to_csv(section.table),  # formula-like text cells neutralised
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def api_suggest(request: Request) -> Response:
        """Type-ahead: ``/api/suggest?kind=region&type=state&q=ala`` -> [{id, label}, ...]."""
        q = Query(request)
        kind = q.choice("kind", ("region", "cluster"), "region")
        text = q.text("q", "") or ""
        if len(text) > 100:
            raise ParameterError("q", "search text longer than 100 characters")
        region_type = q.text("type")
        q.reject_unknown()
        return JSONResponse(dash.suggest(kind, region_type, text))

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
        Route("/api/suggest", guarded(api_suggest), methods=get),
        Route("/api/{page}", guarded(api_page), methods=get),
        Route("/static/{name:path}", guarded(static), methods=get),
        Route("/healthz", health, methods=get),
    ]
    handlers = {HTTPException: on_http_error}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = threading.Thread(
            target=_prepare, args=(dash, stop), name="clusteratlas-prepare", daemon=True
        )
        if prepare:
            worker.start()
        try:
            yield
        finally:
            stop.set()
            if worker.is_alive():
                worker.join(timeout=30)

    app = Starlette(
        routes=routes,
        exception_handlers=handlers,
        middleware=[Middleware(LimitRequests), Middleware(CheckHost, allowed=allowed_hosts)],
        lifespan=lifespan,
    )
    app.state.dashboard = dash
    return app


def _prepare(dash: Dashboard, stop: threading.Event) -> None:
    """:func:`clusteratlas.web.pages.prepare` in the server's background thread: a failure
    there is logged and costs only the head start (the pages build what they need)."""
    started = time.perf_counter()
    try:
        built = pages.prepare(dash, stop)
    except Exception:
        logging.getLogger("clusteratlas.web").warning("preparing pages failed", exc_info=True)
        return
    logging.getLogger("clusteratlas.web").info(
        "prepared %d pages in %.1f s", built, time.perf_counter() - started
    )


#: how `clusteratlas serve --workers N` hands the store and host names to its worker processes
STORE_ENV = "CLUSTERATLAS_SERVE_STORE"
HOSTS_ENV = "CLUSTERATLAS_SERVE_ALLOWED_HOSTS"


def app_from_environment() -> Starlette:
    """The app of one worker process of ``clusteratlas serve --workers N`` (a uvicorn factory):
    the store from ``$CLUSTERATLAS_SERVE_STORE``, extra host names (comma-separated) from
    ``$CLUSTERATLAS_SERVE_ALLOWED_HOSTS``. Each worker opens the store read-only itself, so
    page rendering (Python, one core per process) runs on several cores."""
    import os

    store = os.environ.get(STORE_ENV)
    if not store:
        raise InputError(f"${STORE_ENV} is not set", hint="start workers with clusteratlas serve")
    hosts = [h for h in os.environ.get(HOSTS_ENV, "").split(",") if h]
    return create_app(store, allowed_hosts=hosts, prepare=True)


@contextlib.contextmanager
def running(store: str | Path, host: str = "127.0.0.1", timeout: float = 60.0) -> Iterator[str]:
    """The dashboard over ``store`` served in a background thread on a free port of ``host``,
    for scripts and tests (``with running(path) as url: ...``); stopped on exit."""
    import uvicorn

    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    sock.close()
    app = create_app(store, allowed_hosts=[host])
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the dashboard did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        # the server threads' cursors keep the file open (and locked against writers) until
        # closed: a later `clusteratlas run` on the same store must be able to write it
        app.state.dashboard.close()
