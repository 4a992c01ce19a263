"""A page's request and form: typed query-string parsing in, form controls out.

Owns :class:`Query` (every bad value is a :class:`~clusteratlas.errors.ParameterError`, and a
key the page never read is one too, so a typo is not silently ignored), the checks every page
shares (:func:`year`, :func:`region_type`) and the form controls a page module returns
(:func:`select`, :func:`text`, :class:`Choices`). A page's whole state lives in its query
string, so URLs can be shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from clusteratlas.errors import ClusterAtlasError, ParameterError
from clusteratlas.web.dashboard import Dashboard, Page, check_id


class Redirect(Exception):  # noqa: N818 (control flow, not an error)
    """Answer with a redirect to ``url`` (a region or cluster typed by name -> its id URL)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class Query:
    """Typed access to a request's query string; every bad value is a :class:`ParameterError`."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params
        self.read: set[str] = set()  # names a handler asked for (the page's vocabulary)
        #: parameters given by name whose id the URL should show instead (name -> id)
        self.canonical: dict[str, str] = {}
        #: repeated parameters rewritten the same way (name -> every value, as ids)
        self.multi: dict[str, list[str]] = {}

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


def region_id(dash: Dashboard, q: Query, region_type: str, name: str = "id") -> str | None:
    """``id=``: a region id, or its name as typed (resolved; the HTML page then redirects to
    the id URL), None when absent."""
    typed = q.text(name)
    if typed is None:
        return None
    found = dash.resolve_region(region_type, typed)
    if found != typed:
        q.canonical[name] = found
    return found


def cluster_code(dash: Dashboard, q: Query, name: str = "cluster") -> str | None:
    """``cluster=``/``code=``: a cluster code or its name as typed (resolved like regions)."""
    typed = q.text(name)
    if typed is None:
        return None
    found = dash.resolve_cluster(typed)
    if found != typed:
        q.canonical[name] = found
    return found


def year(dash: Dashboard, q: Query) -> int:
    """``year=``, checked against the store (default: the latest year)."""
    return dash.check_year(q.integer("year"))


def region_type(dash: Dashboard, q: Query) -> str:
    """``type=``, checked against the store (default: the store's main region type)."""
    return dash.check_region_type(q.text("type"))


def select(
    field: str,
    label: str,
    options: list,
    value: str | None,
    *,
    follows: str | None = None,
) -> dict[str, Any]:
    """A drop-down control; ``options`` are values, (value, label) pairs or (value, label,
    when) triples.

    With ``follows`` (another field's name), an option's ``when`` says when it is offered:
    "empty" while that field is empty, "set" once it has a value (the map's metrics for
    region totals vs one cluster); the page's script hides the others as the user changes
    that field, so the form offers only combinations the page accepts.
    """
    opts = [
        (o[0], o[1], o[2] if len(o) > 2 else "") if isinstance(o, tuple) else (o, o, "")
        for o in options
    ]
    return {
        "name": field,
        "label": label,
        "kind": "select",
        "options": opts,
        "value": value,
        "follows": follows or "",
    }


def text(
    field: str, label: str, value: str | None, options: list[str] | None = None
) -> dict[str, Any]:
    """A text control; ``options``: values the browser offers as the user types (a datalist)."""
    return {
        "name": field,
        "label": label,
        "kind": "text",
        "value": value or "",
        "options": options or [],
    }


def search(
    field: str, label: str, value: str | None, suggest: str, region_type: str | None = None
) -> dict[str, Any]:
    """A type-ahead box (regions or clusters by name; the URL gets the id).

    ``suggest`` is "region" or "cluster": the page's script asks ``/api/suggest`` as the user
    types and writes the chosen id into the query string; without the script the server
    resolves the typed name.
    """
    return {
        "name": field,
        "label": label,
        "kind": "search",
        "value": value or "",
        "suggest": suggest,
        "region_type": region_type or "",
    }


def region_box(dash: Dashboard, choices: Choices, page: Page) -> dict[str, Any]:
    """The page's region box: type-ahead, showing the page's region by name."""
    shown = region_label(dash, choices.region_type, page.info.get("_id"))
    return search("id", "Region", shown, "region", choices.region_type)


def region_label(dash: Dashboard, region_type: str, region: str | None) -> str:
    """What a region box shows: "Alabama (state 01)"."""
    if not region:
        return ""
    try:
        return f"{dash.region_name(region_type, region)} ({region_type} {region})"
    except ClusterAtlasError:
        return region


def cluster_label(dash: Dashboard, code: str | None) -> str:
    """What a cluster box shows: "Automotive (4)"."""
    if not code:
        return ""
    try:
        return f"{dash.cluster_info(code)['cluster_name']} ({code})"
    except ClusterAtlasError:
        return code


@dataclass
class Choices:
    """What the store offers a form: region types, years, clusters, and the current values."""

    types: list[str]
    years: list[str]
    clusters: list[tuple[str, str]]
    year: str
    region_type: str

    @classmethod
    def of(cls, dash: Dashboard, q: Query, page: Page) -> Choices:
        meta = dash.meta()
        years = [str(y) for y in meta["years"]]
        return cls(
            types=[t["region_type"] for t in meta["region_types"]],
            years=years,
            clusters=[
                (c["cluster_code"], f"{c['cluster_name']} ({c['cluster_code']})")
                for c in meta["clusters"]
            ],
            year=str(page.info.get("year", years[-1] if years else "")),
            region_type=q.text("type") or dash.default_region_type(),
        )
