"""The report's building blocks: sections, tables for people, charts, maps, figures, numbers.

Owns the :class:`Builder` the report's sections are written with and how each block becomes
HTML. A table is shown with human labels and formats (:mod:`clusteratlas.report.labels`) and
exported raw (CSV and LaTeX, machine-readable column names) under ``tables/``. Every row
carries ``data-key`` and every cell ``data-col`` (the raw column name), so a key finding can
point at the very cell its number comes from (:meth:`Builder.ref`), and a test can check the
two agree. Every block carries a provenance line: its inputs, its parameters and the
clusteratlas version.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from clusteratlas import __version__, tables
from clusteratlas.report import labels
from clusteratlas.report.charts import with_source
from clusteratlas.report.maps import choropleth_svg
from clusteratlas.studies.cluster_resilience import figures

if TYPE_CHECKING:
    from clusteratlas.report.charts import Chart
    from clusteratlas.store import Store
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

#: columns whose text may wrap (long words); all others stay on one line
WRAP = {
    "statement",
    "indicator",
    "formula",
    "source",
    "data_needed",
    "reason",
    "note",
    "status",
    "input",
    "related_cluster_name",
    "cluster_name",
    "region_name",
    "name",
    "area",
    "verdict",
    "value_text",
    "reading",
    "what",
    "value",
    "sample",
    # staggered DID and theory tables: estimator names, cohorts, regions and formulas
    "estimator",
    "kind",
    "cohorts",
    "restriction",
    "comparison",
    "paper_region",
    "model_structures",
    "boundary",
    "derived",
    "printed",
    "difference",
}


#: columns of numbers printed beforehand (estimates with their unit, intervals): right-aligned
NUMBER_TEXT = {"estimate_text", "ci", "boot_ci", "robust_ci"}
#: interval columns ("−1.1% to +2.8%"): may break at their spaces
NARROW_WRAP = {"ci", "boot_ci", "robust_ci"}


@dataclass
class Section:
    """A report section: an anchor id, a title and its blocks in order."""

    id: str
    title: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    level: int = 2

    def add(self, kind: str, **content: Any) -> None:
        self.blocks.append({"kind": kind, **content})

    def text(self, text: str, kind: str = "text") -> None:
        """A paragraph (``kind`` "text", "note" or "missing"), escaped."""
        self.add(kind, html=html.escape(text))

    def html(self, markup: str, kind: str = "text") -> None:
        """A paragraph of markup the caller built (escaped pieces and :meth:`Builder.ref`)."""
        self.add(kind, html=markup)

    def heading(self, text: str, anchor: str | None = None) -> None:
        self.add("heading", text=text, anchor=anchor)


def table_html(
    frame: pd.DataFrame,
    table_id: str,
    caption: str,
    keys: Sequence[str] | None = None,
    kinds: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """``frame`` as an HTML table for people: labelled headers, formatted cells.

    Rows carry ``data-key`` (``keys``, one per row), cells ``data-col`` (the raw column
    name); numbers are right-aligned, long text columns may wrap.
    """
    kinds = dict(kinds or {})
    shown = labels.formatted(frame, kinds=kinds, labels=names)
    cols = list(frame.columns)
    numeric = set()
    for c in cols:
        kind = kinds.get(c) or labels.kind_of(c, frame[c])
        plain_number = (
            kind == "general"
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        )
        if kind not in ("general", "code", "text", "bool") or plain_number or c in NUMBER_TEXT:
            numeric.add(c)
    head = "".join(
        f'<th data-col="{html.escape(str(c))}"{" class=num" if c in numeric else ""}>'
        f"{html.escape(h)}</th>"
        for c, h in zip(cols, shown.columns, strict=True)
    )
    rows = []
    keys = list(keys) if keys is not None else [""] * len(frame)
    for i in range(len(frame)):
        cells = []
        for j, c in enumerate(cols):
            css = ["num"] if c in numeric else []
            if c in WRAP:
                css.append("wrap")
            elif c in NARROW_WRAP:
                css.append("ci")
            attr = f' class="{" ".join(css)}"' if css else ""
            cells.append(
                f'<td data-col="{html.escape(str(c))}"{attr}>{html.escape(shown.iat[i, j])}</td>'
            )
        rows.append(f'<tr data-key="{html.escape(keys[i])}">{"".join(cells)}</tr>')
    return (
        f'<p class="caption" id="cap-{table_id}">{html.escape(caption)}</p>'
        f'<table class="table" id="{table_id}" aria-describedby="cap-{table_id}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


class Builder:
    """Collects the report's sections; exports every table to CSV and LaTeX as it goes."""

    def __init__(self, p: ClusterResilience, store: Store) -> None:
        self.p, self.store = p, store
        self.sections: list[Section] = []
        self.files: list[Path] = []
        self.charts: list[dict[str, Any]] = []
        self.source = figures.data_source(p)
        self._members = store.read("region_members") if store.has("region_members") else None

    # -- structure ---------------------------------------------------------------------------
    def section(self, id_: str, title: str) -> Section:
        s = Section(id_, title)
        self.sections.append(s)
        return s

    def read(self, name: str) -> pd.DataFrame | None:
        return self.store.read(name) if self.store.has(name) else None

    def source_line(self, inputs: str) -> str:
        """The line a chart or map carries under it: its inputs, the data and the version."""
        return figures.source_line(self.p, inputs)

    def prov(self, inputs: str, params: str = "") -> str:
        return (
            f"Inputs: {inputs}; source: {self.source}. Parameters: {params or 'none'}. "
            f"clusteratlas {__version__}."
        )

    # -- blocks ------------------------------------------------------------------------------
    def table(
        self,
        s: Section,
        frame: pd.DataFrame | None,
        stem: str,
        caption: str,
        inputs: str,
        params: str = "",
        *,
        show: Sequence[str] | None = None,
        key: Sequence[str] = (),
        kinds: dict[str, str] | None = None,
        names: dict[str, str] | None = None,
        export: pd.DataFrame | None = None,
        folded: bool = False,
    ) -> str | None:
        """Export ``export`` (default ``frame``) raw; show ``frame[show]`` for people.

        Returns the table's HTML id (``tbl-<stem>``), None when there are no rows.
        """
        if frame is None or frame.empty:
            s.text(f"{caption}: no rows.", "missing")
            return None
        frame = frame.reset_index(drop=True)
        raw = export if export is not None else frame
        self.files += tables.export(
            raw.reset_index(drop=True),
            self.p.out_dir / "tables" / stem,
            formats=("csv", "tex"),
            caption=caption,
        )
        table_id = f"tbl-{stem}".replace("_", "-")
        shown = frame[list(show)] if show is not None else frame
        keys = (
            frame[list(key)].astype(str).agg("|".join, axis=1).tolist()
            if key
            else [str(i) for i in range(len(frame))]
        )
        s.add(
            "table",
            id=table_id,
            html=table_html(
                shown,
                table_id,
                caption + (" [SYNTHETIC]" if self.p.demo else ""),
                keys=keys,
                kinds=kinds,
                names=names,
            ),
            prov=self.prov(inputs, params) + f" Files: tables/{stem}.csv, .tex",
            folded=folded,
            rows=len(frame),
            stem=stem,
        )
        return table_id

    def chart(
        self, s: Section, chart: Chart | None, caption: str, inputs: str, params: str = ""
    ) -> bool:
        """An inline SVG chart (False, with a note, when there was nothing to draw)."""
        if chart is None or chart.points == 0:
            s.text(f"{caption}: nothing to draw (no data points).", "missing")
            return False
        chart = with_source(chart, self.source_line(inputs))
        s.add(
            "chart",
            svg=chart.svg,
            caption=caption,
            points=chart.points,
            prov=self.prov(inputs, params),
        )
        self.charts.append({"caption": caption, "points": chart.points})
        return True

    def map(
        self,
        s: Section,
        values: pd.Series,
        caption: str,
        inputs: str,
        params: str = "",
        region_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        kind = region_type or self.p.config.region_type
        svg = choropleth_svg(
            values,
            kind,
            title=caption,
            members=self._members,
            source=self.source_line(inputs),
            **kwargs,
        )
        s.add("map", svg=svg, caption=caption, prov=self.prov(inputs, params))

    def figure(self, s: Section, rel: str, caption: str, inputs: str, params: str = "") -> bool:
        """A PNG figure a stage drew (the data behind it is not in the store)."""
        path = self.p.out_dir / rel
        if not path.is_file():
            s.text(f"{caption}: figure not produced.", "missing")
            return False
        s.add(
            "figure",
            png=base64.b64encode(path.read_bytes()).decode(),
            caption=caption,
            prov=self.prov(inputs, params),
        )
        return True

    def tiles(self, s: Section, items: list[tuple[str, str, str]]) -> None:
        """Headline figures: (label, value, context) each."""
        s.add("tiles", items=items)

    def notes(self, s: Section, *stages: str) -> None:
        """The stages' processing notes, folded (the appendix lists them all)."""
        notes = [f"{stage}: {n}" for stage in stages for n in self.p.notes.get(stage, [])]
        if notes:
            s.add("notes", items=notes)

    # -- numbers a sentence cites --------------------------------------------------------------
    @staticmethod
    def ref(text: str, table_id: str | None, key: str, column: str) -> str:
        """A number in a sentence, linked to the cell it comes from (``data-*`` for tests)."""
        if table_id is None:
            return html.escape(text)
        return (
            f'<a class="num" href="#{table_id}" data-table="{table_id}" '
            f'data-key="{html.escape(key)}" data-col="{html.escape(column)}">{html.escape(text)}</a>'
        )
