"""Page ``/causal``: every causal result table in the store (``run_did*``, ``rd_*``, ``cho2024_*``...),
each with a forest plot where it has estimates and confidence intervals."""

from __future__ import annotations

from clusteratlas.web.dashboard import (
    CAUSAL_PREFIXES,
    MAX_ROWS,
    Dashboard,
    Page,
    Section,
    table_title,
)
from clusteratlas.web.forms import Query

NAME = "causal"
TITLE = "Causal results"


def build(dash: Dashboard, q: Query) -> Page:
    return causal_page(dash)


def causal_page(dash: Dashboard) -> Page:
    page = Page("Causal results")
    tables = dash.tables_with_prefix(CAUSAL_PREFIXES)
    for table in tables:
        frame = dash.df(f'select * from "{table}" limit {MAX_ROWS}')
        chart = None
        # a readable row label for the forest plot from the identifying columns present
        parts = [c for c in ("outcome", "design", "phase", "year") if c in frame.columns]
        if parts and "term" not in frame.columns:
            frame.insert(0, "term", frame[parts].astype(str).agg(" ".join, axis=1))
        # the estimate vocabulary (clusteratlas.results: conf_low/high) or the run tables' names
        bounds = next(
            (pair for pair in (("conf_low", "conf_high"), ("ci_low", "ci_high"))
             if {"estimate", *pair} <= set(frame.columns)),
            None,
        )  # fmt: skip
        if bounds:
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
                    "low": bounds[0],
                    "high": bounds[1],
                }
        page.sections.append(Section(f"table_{table}", table_title(table), frame, chart=chart))
    if not tables:
        page.messages.append(
            "No causal result tables in the store yet (tables named causal_*, did_*, rd_*, cho2024_*). "
            "Run `clusteratlas replicate cho2024` or the causal commands to add them."
        )
    return page
