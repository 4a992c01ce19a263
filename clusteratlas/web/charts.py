"""Inline SVG charts for the dashboard (no JavaScript library, no CDN: works offline).

Each function takes a tidy table and column names and returns one ``<svg class="chart">``
string. Every data mark carries ``class="pt"`` and a ``<title>`` with its value (hover
tooltip), the root carries ``data-points`` (the number of marks) and every chart names its
axes (``class="axis"``, human labels of :mod:`clusteratlas.report.labels`), so a test or a
user can check a chart holds data and says what it shows. Numbers print as in the report. :func:`render` dispatches on a :class:`~clusteratlas.web.dashboard.Section`
chart spec.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas.report import labels

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
WIDTH = 760
BAR, HIGHLIGHT = "#1f77b4", "#d62728"


def fmt(value: Any) -> str:
    """A number for people, as the report prints it (:func:`clusteratlas.report.labels.general`)."""
    return labels.general(value)


def _svg(width: int, height: int, body: list[str], points: int, title: str = "") -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" data-points="{points}" role="img" aria-label="{escape(title)}">'
        f'<rect width="{width}" height="{height}" fill="white"/>' + "".join(body) + "</svg>"
    )


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


#: what a bar chart's red bars mean, by the spec's ``highlight`` column (the legend says it)
HIGHLIGHT_LABELS = {"strong": "strong cluster", "off": "differs from the national count"}
LABEL_CHARS = 40  # characters of a bar label per line (the label column is 260 px)


def wrap_label(text: str, width: int = LABEL_CHARS, lines: int = 2) -> list[str]:
    """``text`` on at most ``lines`` lines of ``width`` characters, broken at spaces; only a
    label longer than every line together ends in "…" (a name is never cut silently)."""
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        line = words.pop(0)
        while words and len(line) + 1 + len(words[0]) <= width:
            line += " " + words.pop(0)
        out.append(line)
    if words or any(len(line) > width for line in out):
        last = " ".join([out[-1], *words])
        out[-1] = last[: width - 1].rstrip() + "…"
    return out


def bar_chart(
    frame: pd.DataFrame,
    label: str,
    value: str,
    *,
    highlight: str | None = None,
    top: int = 25,
    sort: bool = True,
    highlight_id: str | None = None,
    id_column: str | None = None,
    highlight_label: str | None = None,
) -> str:
    """Horizontal bars of ``value`` by ``label`` (largest first), red where ``highlight`` is
    true (or the row's ``id_column`` is ``highlight_id``), with a legend saying what red means
    (``highlight_label``). Long labels wrap onto two lines."""
    # positions of the bars: rows with a number, largest first (ties in row order), the
    # first ``top``; only those rows' cells are read (a ranked map table has ~3,100 rows)
    numbers = _numeric(frame, value).to_numpy()
    rows = np.flatnonzero(~np.isnan(numbers))
    if sort:
        rows = rows[np.lexsort((rows, -numbers[rows]))]
    rows = rows[: max(top, 0)]
    bars = numbers[rows].tolist()

    def cells(column: str | None) -> list | None:
        return frame[column].to_numpy()[rows].tolist() if column and column in frame else None

    names = [str(v) if pd.notna(v) else "" for v in cells(label) or []]
    wrapped = [wrap_label(n) for n in names]
    row_h = 30 if any(len(w) > 1 for w in wrapped) else 20
    left, right, first = 260, 90, 26
    height = first + 6 + row_h * max(len(bars), 1)
    vmax = max(max(bars) if bars else 0.0, 0.0)
    vmin = min(min(bars) if bars else 0.0, 0.0)
    span = (vmax - vmin) or 1.0
    scale = (WIDTH - left - right) / span
    zero = left + (-vmin) * scale
    body = [
        f'<line x1="{zero:.1f}" y1="{first - 4}" x2="{zero:.1f}" y2="{height - 5}" stroke="#999"/>',
        f'<text x="{left}" y="14" class="axis">{escape(labels.label(value))}</text>',
    ]
    marked = 0
    flags = cells(highlight)
    ids = cells(id_column)
    for i, v in enumerate(bars):
        y = first + i * row_h
        x0, x1 = sorted((zero, zero + v * scale))
        on = (flags is not None and bool(flags[i])) or (
            highlight_id is not None and ids is not None and str(ids[i]) == highlight_id
        )
        marked += bool(on)
        color = HIGHLIGHT if on else BAR
        name = escape(names[i])
        lines = wrapped[i]
        base = y + (row_h - 4) / 2 + 4 - 6.5 * (len(lines) - 1)
        spans = "".join(
            f'<tspan x="{left - 6}" y="{base + 13 * k:.1f}">{escape(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        body.append(f'<text text-anchor="end" class="lbl">{spans}<title>{name}</title></text>')
        body.append(
            f'<rect class="pt" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.5):.1f}" height="{row_h - 4}" '
            f'fill="{color}" data-value="{v}"><title>{name}: {escape(labels.cell(value, v))}</title></rect>'
        )
        body.append(
            f'<text x="{x1 + 4:.1f}" y="{y + (row_h - 4) / 2 + 4:.1f}" class="val">'
            f"{escape(labels.cell(value, v))}</text>"
        )
    if marked:
        meaning = highlight_label or (
            HIGHLIGHT_LABELS.get(highlight or "", "highlighted") if highlight else "this region"
        )
        other = 14 + round(6.2 * len(meaning)) + 12  # after the first entry's text
        x = WIDTH - other - 50
        body.append(
            f'<g class="legend"><rect x="{x}" y="4" width="10" height="10" fill="{HIGHLIGHT}"/>'
            f'<text x="{x + 14}" y="13" class="lbl">{escape(meaning)}</text>'
            f'<rect x="{x + other}" y="4" width="10" height="10" fill="{BAR}"/>'
            f'<text x="{x + other + 14}" y="13" class="lbl">other</text></g>'
        )
    return _svg(WIDTH, height, body, len(bars), labels.label(value))


def _axes(
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    left: int,
    top: int,
    w: int,
    h: int,
    xs: list,
    x_is_year: bool,
    kind: str = "general",
) -> list[str]:
    body = [
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        v = y0 + frac * (y1 - y0)
        y = top + h - frac * h
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{escape(labels.fmt(v, kind))}</text>'
        )
    step = max(1, len(xs) // 10)
    for xv in xs[::step]:
        x = left + (xv - x0) / ((x1 - x0) or 1) * w
        text = str(int(xv)) if x_is_year else fmt(xv)
        body.append(
            f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle" class="tick">{escape(text)}</text>'
        )
    return body


def line_chart(
    frame: pd.DataFrame,
    x: str,
    series: list[str],
    *,
    index: bool = False,
    ylabel: str | None = None,
    kind: str = "general",
) -> str:
    """Lines of ``series`` over ``x`` (years). ``index=True`` rescales each to 100 at its first value."""
    series = [s for s in series if s in frame.columns]
    data = frame.sort_values(x)
    xs = _numeric(data, x).tolist()
    values = {}
    for s in series:
        v = _numeric(data, s).to_numpy()
        if index:
            first = next((a for a in v if np.isfinite(a) and a != 0), None)
            v = v / first * 100 if first else v * np.nan
        values[s] = v
    finite = (
        np.concatenate([v[np.isfinite(v)] for v in values.values()]) if values else np.array([])
    )
    left, top, w, h = 80, 20, WIDTH - 240, 220
    if not len(xs) or not finite.size:
        return _svg(WIDTH, 60, ['<text x="10" y="30">no data</text>'], 0)
    y0, y1 = (
        min(float(finite.min()), 0.0) if not index else float(finite.min()),
        float(finite.max()),
    )
    y1 = y1 if y1 > y0 else y0 + 1
    x0, x1 = min(xs), max(xs)
    body = _axes(x0, x1, y0, y1, left, top, w, h, xs, True, kind)
    points = 0
    body.append(
        f'<text x="{left + w / 2:.0f}" y="{top + h + 34}" text-anchor="middle" class="axis">{escape(labels.label(x))}</text>'
    )
    ylabel = ylabel or (
        "index (first year = 100)"
        if index
        else (labels.label(series[0]) if len(series) == 1 else "value")
    )

    body.append(
        f'<text x="14" y="{top + h / 2:.0f}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + h / 2:.0f})">{escape(ylabel)}</text>'
    )
    for k, (name, v) in enumerate(values.items()):
        color = PALETTE[k % len(PALETTE)]
        coords = [
            ((left + (xv - x0) / ((x1 - x0) or 1) * w), top + h - (yv - y0) / (y1 - y0) * h, xv, yv)
            for xv, yv in zip(xs, v, strict=True)
            if np.isfinite(yv)
        ]
        if len(coords) > 1:
            path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _, _ in coords)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for cx, cy, xv, yv in coords:
            body.append(
                f'<circle class="pt" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{color}" data-value="{yv}">'
                f"<title>{escape(labels.label(name))} {int(xv)}: {escape(labels.fmt(yv, kind))}</title></circle>"
            )
            points += 1
        body.append(
            f'<rect x="{left + w + 20}" y="{top + 16 * k}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + w + 35}" y="{top + 9 + 16 * k}" class="lbl">{escape(labels.label(name))}</text>'
        )
    return _svg(WIDTH, top + h + 44, body, points, ylabel)


def grouped_bars(frame: pd.DataFrame, x: str, series: list[str]) -> str:
    """Vertical grouped bars of ``series`` per ``x`` (e.g. actual vs expected job creation by year)."""
    data = frame.sort_values(x)
    left, top, w, h = 80, 20, WIDTH - 240, 220
    vals = [_numeric(data, s).fillna(0.0).to_numpy() for s in series]
    if not len(data):
        return _svg(WIDTH, 60, ['<text x="10" y="30">no data</text>'], 0)
    lo = min(0.0, *(float(v.min()) for v in vals))
    hi = max(0.0, *(float(v.max()) for v in vals))
    hi = hi if hi > lo else lo + 1
    body = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>']
    zero = top + h - (0 - lo) / (hi - lo) * h
    body.append(
        f'<line x1="{left}" y1="{zero:.1f}" x2="{left + w}" y2="{zero:.1f}" stroke="#999"/>'
    )
    for frac in (0.0, 0.5, 1.0):
        v = lo + frac * (hi - lo)
        body.append(
            f'<text x="{left - 6}" y="{top + h - frac * h + 4:.1f}" text-anchor="end" class="tick">{escape(fmt(v))}</text>'
        )
    group = w / len(data)
    bar = group * 0.8 / len(series)
    points = 0
    for i, xv in enumerate(data[x].tolist()):
        gx = left + i * group + group * 0.1
        body.append(
            f'<text x="{gx + group * 0.4:.1f}" y="{top + h + 16}" text-anchor="middle" class="tick">{escape(str(xv))}</text>'
        )
        for k, s in enumerate(series):
            v = float(vals[k][i])
            y = top + h - (v - lo) / (hi - lo) * h
            y_top, y_bot = sorted((y, zero))
            body.append(
                f'<rect class="pt" x="{gx + k * bar:.1f}" y="{y_top:.1f}" width="{bar:.1f}" height="{max(y_bot - y_top, 0.5):.1f}" '
                f'fill="{PALETTE[k]}" data-value="{v}"><title>{escape(labels.label(s))} {escape(str(xv))}: {escape(fmt(v))}</title></rect>'
            )
            points += 1
    for k, s in enumerate(series):
        body.append(
            f'<rect x="{left + w + 20}" y="{top + 16 * k}" width="10" height="10" fill="{PALETTE[k]}"/>'
            f'<text x="{left + w + 35}" y="{top + 9 + 16 * k}" class="lbl">{escape(labels.label(s))}</text>'
        )
    body.append(
        f'<text x="{left + w / 2:.0f}" y="{top + h + 34}" text-anchor="middle" class="axis">{escape(labels.label(x))}</text>'
    )
    body.append(
        f'<text x="14" y="{top + h / 2:.0f}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + h / 2:.0f})">jobs</text>'
    )
    return _svg(WIDTH, top + h + 44, body, points, "jobs")


def network(
    frame: pd.DataFrame,
    center: str,
    label: str,
    weight: str,
    *,
    link: str | None = None,
    href: str = "",
) -> str:
    """A star network: the focal cluster in the middle, related clusters around it.

    Edge width grows with ``weight`` (relatedness percentile).
    """
    data = frame.head(24)
    size = 520
    cx = cy = size / 2
    radius = size / 2 - 90
    body = []
    w = _numeric(data, weight) if len(data) else pd.Series(dtype=float)
    wmin, wmax = (float(w.min()), float(w.max())) if len(w) else (0.0, 1.0)
    nodes = []
    for i, (_, row) in enumerate(data.iterrows()):
        angle = 2 * math.pi * i / max(len(data), 1) - math.pi / 2
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        strength = (float(w.iloc[i]) - wmin) / ((wmax - wmin) or 1.0)
        body.append(
            f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="#8aa" stroke-width="{1 + 4 * strength:.1f}"/>'
        )
        name = escape(str(row[label]))
        anchor = "start" if math.cos(angle) > 0.1 else "end" if math.cos(angle) < -0.1 else "middle"
        dx = 10 if anchor == "start" else -10 if anchor == "end" else 0
        node = (
            f'<circle class="pt" cx="{x:.1f}" cy="{y:.1f}" r="8" fill="#1f77b4" data-value="{float(w.iloc[i])}">'
            f"<title>{name}: {escape(labels.label(weight))} {escape(fmt(float(w.iloc[i])))}</title></circle>"
            f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}" class="lbl">{name[:30]}</text>'
        )
        if link and href:
            node = f'<a href="{escape(href + str(row[link]))}">{node}</a>'
        nodes.append(node)
    body.extend(nodes)
    body.append(
        f'<circle cx="{cx}" cy="{cy}" r="14" fill="#d62728"/><text x="{cx}" y="{cy + 30}" text-anchor="middle" class="lbl"><tspan font-weight="bold">{escape(center)}</tspan></text>'
    )
    legend = (
        f'<text x="10" y="{size - 8}" class="axis">edge width: {escape(labels.label(weight))} '
        "(wider = more related)</text>"
    )
    return _svg(
        size + 240,
        size,
        [f'<g transform="translate(120,0)">{"".join(body)}</g>', legend],
        len(data),
        f"clusters related to {center}",
    )


def heatmap(frame: pd.DataFrame, x: str, y: str, category: str) -> str:
    """A categorical grid (regime map): one cell per (x, y), coloured by ``category``."""
    xs = np.sort(frame[x].unique())
    ys = np.sort(frame[y].unique())
    cats = sorted(frame[category].astype(str).unique())
    colors = {
        c: ("#dddddd" if c == "none" else PALETTE[i % len(PALETTE)]) for i, c in enumerate(cats)
    }
    left, top, w, h = 60, 20, 440, 440
    cw, ch = w / len(xs), h / len(ys)
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    body = []
    for xv, yv, c in zip(frame[x], frame[y], frame[category].astype(str), strict=True):
        px = left + xi[xv] * cw
        py = top + h - (yi[yv] + 1) * ch
        body.append(
            f'<rect class="pt" x="{px:.1f}" y="{py:.1f}" width="{cw + 0.3:.1f}" height="{ch + 0.3:.1f}" fill="{colors[c]}">'
            f"<title>{escape(x)}={xv:.3g}, {escape(y)}={yv:.3g}: {escape(c)}</title></rect>"
        )
    body.append(
        f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle" class="axis">{escape(x)}</text>'
    )
    body.append(
        f'<text x="15" y="{top + h / 2}" class="axis" transform="rotate(-90 15 {top + h / 2})" text-anchor="middle">{escape(y)}</text>'
    )
    for v, px in ((xs[0], left), (xs[-1], left + w)):
        body.append(
            f'<text x="{px}" y="{top + h + 16}" text-anchor="middle" class="tick">{v:.3g}</text>'
        )
    for v, py in ((ys[0], top + h), (ys[-1], top + 8)):
        body.append(f'<text x="{left - 6}" y="{py}" text-anchor="end" class="tick">{v:.3g}</text>')
    for k, c in enumerate(cats):
        body.append(
            f'<rect x="{left + w + 20}" y="{top + 18 * k}" width="12" height="12" fill="{colors[c]}"/>'
            f'<text x="{left + w + 38}" y="{top + 10 + 18 * k}" class="lbl">{escape(c)}</text>'
        )
    return _svg(WIDTH, top + h + 45, body, len(frame))


def forest(frame: pd.DataFrame, label: str, value: str, low: str, high: str) -> str:
    """Point estimates with confidence intervals, one row each (event studies, DID terms)."""
    data = frame.head(40)
    est, lo, hi = _numeric(data, value), _numeric(data, low), _numeric(data, high)
    finite = pd.concat([est, lo, hi]).dropna()
    if finite.empty:
        return _svg(WIDTH, 60, ['<text x="10" y="30">no estimates</text>'], 0)
    vmin, vmax = min(float(finite.min()), 0.0), max(float(finite.max()), 0.0)
    span = (vmax - vmin) or 1.0
    left, right, row_h = 200, 60, 20
    scale = (WIDTH - left - right) / span
    zero = left + (0 - vmin) * scale
    height = 30 + row_h * len(data)
    body = [
        f'<line x1="{zero:.1f}" y1="10" x2="{zero:.1f}" y2="{height - 5}" stroke="#999" stroke-dasharray="3"/>'
    ]
    points = 0
    body.append(
        f'<text x="{left + (WIDTH - left - right) / 2:.0f}" y="{height + 14}" text-anchor="middle" '
        f'class="axis">{escape(labels.label(value))} with 95% CI (dashed: 0)</text>'
    )
    for i in range(len(data)):
        y = 24 + i * row_h
        body.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" class="lbl">{escape(str(data[label].iloc[i]))[:30]}</text>'
        )
        if np.isfinite(lo.iloc[i]) and np.isfinite(hi.iloc[i]):
            body.append(
                f'<line x1="{left + (lo.iloc[i] - vmin) * scale:.1f}" y1="{y}" x2="{left + (hi.iloc[i] - vmin) * scale:.1f}" y2="{y}" stroke="#555" stroke-width="2"/>'
            )
        if np.isfinite(est.iloc[i]):
            body.append(
                f'<circle class="pt" cx="{left + (est.iloc[i] - vmin) * scale:.1f}" cy="{y}" r="4" fill="#1f77b4" data-value="{est.iloc[i]}">'
                f"<title>{escape(fmt(est.iloc[i]))} [{escape(fmt(lo.iloc[i]))}, {escape(fmt(hi.iloc[i]))}]</title></circle>"
            )
            points += 1
    return _svg(WIDTH, height + 22, body, points, labels.label(value))


def nice_ticks(low: float, high: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) inside [low, high]."""
    span = high - low
    if not span > 0:
        return [low]
    raw = span / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + k * step, 12) for k in range(int((high - first) / step) + 1)]


def bubble(
    frame: pd.DataFrame,
    x: str,
    y: str,
    size: str,
    *,
    label: str,
    highlight: str | None = None,
    ylabel: str | None = None,
    link: str | None = None,
    href: str = "",
) -> str:
    """USCM's cluster portfolio: ``x`` (LQ, log scale) against ``y`` (employment growth, or
    another measure), bubble area proportional to ``size`` (employment), red where
    ``highlight`` (strong) is true; each bubble links to its cluster when ``href`` is given."""
    data = frame.assign(_x=_numeric(frame, x), _y=_numeric(frame, y), _s=_numeric(frame, size))
    data = data.loc[(data["_x"] > 0) & np.isfinite(data["_y"]) & (data["_s"] > 0)]
    if data.empty:
        return _svg(WIDTH, 60, ['<text x="10" y="30">no data</text>'], 0)
    left, top, w, h = 80, 20, WIDTH - 250, 360
    lx = np.log10(data["_x"].to_numpy())
    x0, x1 = min(lx.min(), -0.1) - 0.05, max(lx.max(), 0.1) + 0.05
    ys = data["_y"].to_numpy()
    y0, y1 = float(ys.min()), float(ys.max())
    pad = (y1 - y0) * 0.08 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    px = lambda v: left + (v - x0) / (x1 - x0) * w  # noqa: E731
    py = lambda v: top + h - (v - y0) / (y1 - y0) * h  # noqa: E731
    body = [
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{px(0):.1f}" y1="{top}" x2="{px(0):.1f}" y2="{top + h}" stroke="#777" stroke-dasharray="4"/>',
    ]
    kind = labels.kind_of(y)
    if y0 < 0 < y1:
        body.append(
            f'<line x1="{left}" y1="{py(0):.1f}" x2="{left + w}" y2="{py(0):.1f}" stroke="#777"/>'
        )
    for tick in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32):
        t = math.log10(tick)
        if x0 <= t <= x1:
            body.append(
                f'<text x="{px(t):.1f}" y="{top + h + 16}" text-anchor="middle" class="tick">{tick:g}</text>'
            )
    for v in nice_ticks(y0, y1):
        body.append(
            f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end" class="tick">{escape(labels.fmt(v, kind))}</text>'
            f'<line x1="{left - 3}" y1="{py(v):.1f}" x2="{left}" y2="{py(v):.1f}" stroke="#999"/>'
        )
    body.append(
        f'<text x="{left + w / 2:.0f}" y="{top + h + 36}" text-anchor="middle" class="axis">'
        "Specialization: location quotient (log scale; 1 = national share)</text>"
    )
    ytitle = ylabel or labels.label(y)
    body.append(
        f'<text x="14" y="{top + h / 2:.0f}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + h / 2:.0f})">{escape(ytitle)}</text>'
    )
    radius = (4 + 26 * np.sqrt(data["_s"] / data["_s"].max())).to_numpy()
    order = np.argsort(-radius)  # big bubbles first, small ones stay on top
    # columns as Python lists: a bubble per cluster read by position, not a row Series each
    x_values, y_values, sizes = (data[c].tolist() for c in ("_x", "_y", "_s"))
    names = data[label].tolist()
    strongs = data[highlight].tolist() if highlight and highlight in data else None
    targets = data[link].tolist() if link and href else None
    for i in order.tolist():
        strong = bool(strongs[i]) if strongs is not None else False
        mark = (
            f'<circle class="pt" cx="{px(lx[i]):.1f}" cy="{py(y_values[i]):.1f}" r="{radius[i]:.1f}" '
            f'fill="{"#c0392b" if strong else "#7f99b2"}" fill-opacity="0.6" stroke="white" '
            f'data-value="{y_values[i]}"><title>{escape(str(names[i]))}: LQ {labels.number(x_values[i])}, '
            f"{escape(ytitle)} {escape(labels.fmt(y_values[i], kind))}, "
            f"{escape(labels.count(sizes[i]))} jobs{' (strong)' if strong else ''}</title></circle>"
        )
        if targets is not None:
            mark = f'<a href="{escape(href + str(targets[i]))}">{mark}</a>'
        body.append(mark)
    named = data.loc[data[highlight].astype(bool)] if highlight else data
    for _, row in named.nlargest(6, "_s").iterrows():
        body.append(
            f'<text x="{px(math.log10(row["_x"])) + 6:.1f}" y="{py(row["_y"]) - 6:.1f}" class="lbl">'
            f"{escape(str(row[label])[:30])}</text>"
        )
    body.append(
        f'<circle cx="{left + w + 40}" cy="{top + 6}" r="6" fill="#c0392b" fill-opacity="0.6"/>'
        f'<text x="{left + w + 50}" y="{top + 10}" class="lbl">strong cluster</text>'
        f'<circle cx="{left + w + 40}" cy="{top + 24}" r="6" fill="#7f99b2" fill-opacity="0.6"/>'
        f'<text x="{left + w + 50}" y="{top + 28}" class="lbl">other traded cluster</text>'
        f'<text x="{left + w + 34}" y="{top + 48}" class="lbl">area = employment</text>'
    )
    return _svg(WIDTH, top + h + 46, body, len(data), "cluster portfolio")


def render(
    spec: dict[str, Any] | None, table: pd.DataFrame, *, links: dict[str, str] | None = None
) -> str | None:
    """The SVG for a section's chart spec (None when there is no chart or no data)."""
    if not spec:
        return None
    kind = spec["kind"]
    if kind == "svg":
        return spec["svg"]
    if table.empty:
        return None
    if kind == "bar":
        return bar_chart(
            table,
            spec["label"],
            spec["value"],
            highlight=spec.get("highlight"),
            top=spec.get("top", 25),
            sort=spec.get("sort", True),
            highlight_id=spec.get("highlight_id"),
            id_column=spec.get("id"),
            highlight_label=spec.get("highlight_label"),
        )
    if kind == "line":
        return line_chart(
            table,
            spec["x"],
            spec["series"],
            index=spec.get("index", False),
            ylabel=spec.get("ylabel"),
            kind=spec.get("value_kind", "general"),
        )
    if kind == "bars":
        return grouped_bars(table, spec["x"], spec["series"])
    if kind == "network":
        return network(
            table,
            spec["center"],
            spec["label"],
            spec["weight"],
            link=spec.get("link"),
            href=(links or {}).get("network", ""),
        )
    if kind == "heatmap":
        return heatmap(table, spec["x"], spec["y"], spec["category"])
    if kind == "bubble":
        return bubble(
            table,
            spec["x"],
            spec["y"],
            spec["size"],
            label=spec["label"],
            highlight=spec.get("highlight"),
            ylabel=spec.get("ylabel"),
            link=spec.get("link"),
            href=(links or {}).get("cluster", ""),
        )
    if kind == "forest":
        return forest(table, spec["label"], spec["value"], spec["low"], spec["high"])
    raise ValueError(f"unknown chart kind {kind!r}")


#: page facts an exported chart repeats under its title (which region, cluster, year)
EXPORT_CONTEXT = ("region", "cluster", "region type", "year", "window", "metric")


def export_caption(
    page_title: str,
    section_title: str,
    info: dict[str, str],
    *,
    sources: list[str],
    store: str,
    version: str,
    synthetic: bool,
) -> dict[str, str]:
    """Title, context (region, year...) and source line an exported chart carries.

    The page's script frames the chart's SVG with these lines when the user downloads it as
    SVG or PNG, so a chart pasted into a slide still says what, where, when and from what
    data; the chart itself brings its legend.
    """
    title = page_title if section_title in page_title else f"{page_title}: {section_title}"
    context = " · ".join(f"{k}: {info[k]}" for k in EXPORT_CONTEXT if info.get(k))
    data = ", ".join(sources[:6]) + (" …" if len(sources) > 6 else "") if sources else "—"
    source = f"Source: clusteratlas {version} dashboard; store {store}; data: {data}"
    if synthetic:
        source += " (SYNTHETIC: generated, not official statistics)"
    return {"title": title, "context": context, "source": source}
