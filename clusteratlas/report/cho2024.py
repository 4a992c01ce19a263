"""Files of the Cho et al. (2024) replication: every table as CSV, LaTeX and HTML, and the report.

Owns rendering a :class:`~clusteratlas.studies.cho2024.study.Cho2024Result`: :func:`write`
exports each table and the narrative as ``cho2024_report.md`` and ``cho2024_report.html``
(just enough markdown -> HTML for the generated text: headings, bullets, tables, bold).
"""

from __future__ import annotations

import html as html_mod
import re
from pathlib import Path
from typing import TYPE_CHECKING

from clusteratlas import atomic
from clusteratlas.tables import export

if TYPE_CHECKING:
    from clusteratlas.studies.cho2024.study import Cho2024Result


def write(result: Cho2024Result, out: str | Path) -> list[Path]:
    """Export every table (CSV, LaTeX, HTML) and the narrative (markdown, HTML) into ``out``."""
    out = Path(out)
    written: list[Path] = []
    for name, frame in result.tables.items():
        written += export(frame, out / name, caption=name.replace("_", " "))
    written.append(atomic.write_text(out / "cho2024_report.md", result.text))
    html = _markdown_to_html(result.text)
    written.append(atomic.write_text(out / "cho2024_report.html", html))
    return written


def _markdown_to_html(text: str) -> str:
    """Just enough markdown (headings, bullets, tables, bold) for the generated report."""
    out, in_list, in_table = (
        [
            "<html><head><meta charset='utf-8'><title>Cho et al. 2024 replication</title></head><body>"
        ],
        False,
        False,
    )
    for raw in text.splitlines():
        line = html_mod.escape(raw)
        line = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", line)
        if raw.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            if not in_table:
                out.append("<table border='1'>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
            else:
                out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if raw.startswith("* "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{line[2:]}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if raw.startswith("## "):
            out.append(f"<h2>{line[3:]}</h2>")
        elif raw.startswith("# "):
            out.append(f"<h1>{line[2:]}</h1>")
        elif raw.strip():
            out.append(f"<p>{line}</p>")
    if in_list:
        out.append("</ul>")
    if in_table:
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)
