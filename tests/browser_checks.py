"""What a person checks on a page, as JavaScript run in headless Chromium (report and dashboard).

- :func:`bad_cells`: no table header or cell, and no headline figure, shows NaN, None,
  True/False or a raw snake_case name;
- :func:`wide_tables`: no table is wider than the page (or its card);
- :func:`chart_facts`: every chart has data marks (as many as it says) and axis labels;
- :func:`finding_numbers`: every number of a key finding is the text of the table cell it
  links to.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

_BAD = r"/^(nan|none|null|undefined|true|false|nat)$/i"
_SNAKE = r"/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found (install Debian's chromium package); browser tests need it"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + " -- under CI its absence is a failure, not a skip")
    pytest.skip(message)


def bad_cells(page) -> list[list[str]]:
    """[where, table id, text] of every header/cell/figure a person would flag."""
    return page.evaluate(
        f"""() => {{
          const bad = {_BAD}, snake = {_SNAKE}, out = [];
          const check = (where, id, el) => {{
            const text = el.textContent.trim();
            if (bad.test(text) || snake.test(text) || /\\bNaN\\b|\\bNone\\b/.test(text))
              out.push([where, id, text]);
          }};
          document.querySelectorAll('table').forEach(t => {{
            t.querySelectorAll('th').forEach(th => check('header', t.id, th));
            t.querySelectorAll('td').forEach(td => check('cell', t.id, td));
          }});
          document.querySelectorAll('dl.info dt, dl.info dd, .tile .value, .tile .label')
            .forEach(el => check('figure', '', el));
          return out;
        }}"""
    )


def wide_tables(page) -> list[list]:
    """[table id, width, room] of every shown table wider than the page or its container."""
    return page.evaluate(
        """() => {
          const page = document.documentElement.clientWidth, out = [];
          document.querySelectorAll('table').forEach(t => {
            const box = t.getBoundingClientRect();
            if (!box.width) return;  // not shown (a closed <details>)
            const holder = t.closest('section, .card, .page, main') || document.body;
            const room = Math.min(page, holder.getBoundingClientRect().right);
            if (box.right > room + 1 || box.left < -1) out.push([t.id, Math.round(box.width), Math.round(room)]);
          });
          return out;
        }"""
    )


def chart_facts(page, selector: str) -> list[dict]:
    """For each chart (``selector`` matches its SVG): claimed and drawn data marks, axis labels."""
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector)).map(svg => {
          const holder = svg.closest('figure.chart') || svg;
          // matplotlib charts: marks are scatter groups with id pts*, one path/use per mark;
          // the dashboard's charts: marks have class pt
          const groups = Array.from(svg.querySelectorAll('g[id^="pts"]'));
          const drawn = groups.length
            ? groups.reduce((n, g) => n + g.querySelectorAll('path, use').length
                - g.querySelectorAll('defs path').length, 0)
            : svg.querySelectorAll('.pt').length;
          const texts = sel => Array.from(svg.querySelectorAll(sel)).map(e => e.textContent.trim()).filter(Boolean);
          return {
            title: svg.getAttribute('aria-label') || '',
            claimed: Number(holder.getAttribute('data-points')),
            drawn: drawn,
            axis_labels: texts('g[id^="xlabel"] text, g[id^="ylabel"] text, text.axis'),
            ticks: texts('g[id^="xtick"] text, g[id^="ytick"] text, text.tick, text.lbl'),
            width: svg.getBoundingClientRect().width,
          };
        })""",
        selector,
    )


def finding_numbers(page) -> list[dict]:
    """Each number of the key findings beside the text of the cell it cites."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#findings li.finding a.num')).map(a => {
          const table = document.getElementById(a.dataset.table);
          let cell = null;
          if (table) {
            const row = Array.from(table.querySelectorAll('tbody tr')).find(r => r.dataset.key === a.dataset.key);
            if (row) cell = row.querySelector(`td[data-col="${a.dataset.col}"]`);
          }
          return {number: a.textContent.trim(), table: a.dataset.table, key: a.dataset.key,
                  col: a.dataset.col, cell: cell ? cell.textContent.trim() : null};
        })"""
    )
