"""The report's charts: matplotlib figures written as inline SVG with real text.

Owns drawing the charts a cluster analyst expects from store tables: the cluster portfolio
bubble chart (:func:`portfolio`), indexed outcome paths with the shock windows shaded
(:func:`index_paths`), the DID coefficient plot (:func:`forest`), the event study
(:func:`event_study`), RD placebo cut-offs and bandwidth sensitivity (:func:`rd_placebo`,
:func:`rd_bandwidth`), related clusters as a small network (:func:`related_network`) and the
resistance of a region's clusters (:func:`cluster_resilience`).

Every chart is a :class:`Chart`: the SVG (text kept as ``<text>``, so it is searchable,
prints sharp and a test can read the axis labels), the number of data marks it draws, and its
axis labels. Data marks are scatter collections whose group id starts with ``pts`` (one
``path``/``use`` element per mark), axis labels carry the ids ``xlabel``/``ylabel``, so a
browser test can count the marks and read the labels. Numbers on the charts print through
:mod:`clusteratlas.report.labels`, as in the tables.
"""

from __future__ import annotations

import html
import io
import itertools
import re
import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clusteratlas.report import labels

STRONG = "#c0392b"
OTHER = "#7f99b2"
REGION = "#1f4e79"
NATION = "#222222"
PEER = "#9aa5b1"
SHOCK_SHADE = "#f4c7c3"
RECOVERY_SHADE = "#d5ecd4"
_ids = itertools.count(1)


@dataclass
class Chart:
    """One chart: inline SVG, its data marks and axis labels (what a reader checks)."""

    svg: str
    points: int
    xlabel: str = ""
    ylabel: str = ""
    notes: list[str] = field(default_factory=list)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",  # <text>, not glyph paths
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
        }
    )
    return plt


def _marks(ax, x, y, **kwargs):
    """Data marks: a scatter whose group id starts with ``pts`` (one element per mark)."""
    collection = ax.scatter(x, y, **kwargs)
    collection.set_gid(f"pts{next(_ids)}")
    return collection


def _label(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.label.set_gid(f"xlabel{next(_ids)}")
    ax.yaxis.label.set_gid(f"ylabel{next(_ids)}")


def _finish(fig, points: int, xlabel: str, ylabel: str, title: str) -> Chart:
    plt = _plt()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    # scale with the page, keep the aspect ratio; tests find charts by these attributes
    text = re.sub(
        r'<svg ([^>]*?)width="[^"]+" height="[^"]+"',
        lambda m: (
            f'<svg {m.group(1)}class="chart-svg" role="img" data-points="{points}" '
            f'preserveAspectRatio="xMidYMid meet"'
        ),
        text,
        count=1,
    )
    text = text.replace("<svg ", f'<svg aria-label="{_escape(title)}" ', 1)
    return Chart(text, points, xlabel, ylabel)


def with_source(chart: Chart, source: str) -> Chart:
    """``chart`` with a source line under it (the viewBox grows to hold it), so a chart
    copied or exported out of the report still says where its numbers come from."""
    found = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', chart.svg)
    if not source or found is None or 'class="chart-source"' in chart.svg:
        return chart
    width, height = float(found.group(1)), float(found.group(2))
    per_line = max(40, int(width / 4.3))  # 8 px sans-serif: about 4.3 px a character
    lines = textwrap.wrap(source, per_line) or [source]
    grown = height + 4 + 10 * len(lines)
    svg = chart.svg.replace(found.group(0), f'viewBox="0 0 {found.group(1)} {grown:g}"', 1)
    text = "".join(
        f'<text class="chart-source" x="4" y="{height + 10 + 10 * k:g}" font-size="8" '
        f'fill="#555" font-family="sans-serif">{html.escape(line)}</text>'
        for k, line in enumerate(lines)
    )
    end = svg.rindex("</svg>")
    return Chart(
        svg[:end] + text + svg[end:],
        chart.points,
        chart.xlabel,
        chart.ylabel,
        chart.notes,
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _pct_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _: labels.signed_pct(v) if v else "0")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


# -- region brief ----------------------------------------------------------------------------
def portfolio(
    traded: pd.DataFrame, y: str, ylabel: str, title: str, n_labels: int = 8
) -> Chart | None:
    """USCM's cluster portfolio: specialization (LQ, log scale) against ``y`` (employment
    growth, or another measure when the panel has one year), bubble area = employment,
    colour = strong. The largest strong clusters are named."""
    data = traded.loc[(traded["lq"] > 0) & traded[y].notna() & (traded["emp"] > 0)].copy()
    if data.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    size = 1400 * np.sqrt(data["emp"] / data["emp"].max()) + 8
    strong = data["strong"].fillna(False).astype(bool)
    for mask, colour, name in (
        (~strong, OTHER, "other traded clusters"),
        (strong, STRONG, "strong clusters"),
    ):
        part = data.loc[mask]
        if not part.empty:
            _marks(
                ax,
                part["lq"],
                part[y],
                s=size[mask],
                color=colour,
                alpha=0.55,
                edgecolors="white",
                linewidths=0.6,
                label=name,
            )
    ax.set_xscale("log")
    ax.axvline(1.0, color="#555", lw=0.8, ls="--")
    if y in ("emp_growth", "growth"):
        ax.axhline(0.0, color="#555", lw=0.8)
        _pct_axis(ax)
    elif y in ("wage",):
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: labels.money(v)))
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    low, high = float(data["lq"].min()), float(data["lq"].max())
    ticks = [t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if low / 1.5 <= t <= high * 1.5]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    named = data.loc[strong].nlargest(n_labels, "emp")
    for row in named.itertuples(index=False):
        ax.annotate(
            _short(row.cluster_name),
            (row.lq, getattr(row, y)),
            fontsize=7.5,
            xytext=(4, 3),
            textcoords="offset points",
            color="#222",
        )
    _label(ax, "Specialization: location quotient (log scale; 1 = national share)", ylabel)
    ax.set_title(title, loc="left")
    ax.legend(loc="best", fontsize=7.5, markerscale=0.3, frameon=False)
    return _finish(fig, len(data), ax.get_xlabel(), ylabel, title)


def _short(name: str, width: int = 28) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def related_network(related: pd.DataFrame, title: str) -> Chart | None:
    """The region's strong clusters (left) linked to their related clusters (right), coloured
    by whether the related cluster is strong, present or missing in the region."""
    if related is None or related.empty:
        return None
    plt = _plt()
    left = related.groupby("cluster_name")["cluster_lq"].first().sort_values(ascending=False)
    right = (
        related.groupby("related_cluster_name")
        .agg(status=("status", "first"), links=("cluster_name", "nunique"))
        .sort_values(["status", "links"], ascending=[True, False])
    )
    colours = {"strong": STRONG, "present": OTHER, "missing": "#ffffff"}
    height = max(len(left), len(right))
    fig, ax = plt.subplots(figsize=(7.2, max(2.4, 0.2 * height + 0.8)))
    ly = {n: height - (i + 0.5) * height / len(left) for i, n in enumerate(left.index)}
    ry = {n: height - (i + 0.5) * height / len(right) for i, n in enumerate(right.index)}
    for row in related.itertuples(index=False):
        ax.plot(
            [0, 1],
            [ly[row.cluster_name], ry[row.related_cluster_name]],
            color="#b8c4d0",
            lw=0.4 + 1.6 * max(0.0, (float(row.relatedness_pct) - 90) / 10),
            zorder=1,
        )
    _marks(ax, np.zeros(len(left)), list(ly.values()), s=60, color=STRONG, zorder=2)
    status = right["status"].map(colours).fillna(OTHER).tolist()
    _marks(
        ax,
        np.ones(len(right)),
        [ry[n] for n in right.index],
        s=45,
        color=status,
        edgecolors="#555",
        linewidths=0.6,
        zorder=2,
    )
    for n, y in ly.items():
        ax.text(-0.03, y, _short(n, 40), ha="right", va="center", fontsize=7.5)
    for n, y in ry.items():
        s = right.loc[n, "status"]
        ax.text(1.03, y, f"{_short(n, 40)} ({s})", ha="left", va="center", fontsize=7.5)
    ax.set_xlim(-1.1, 2.1)
    ax.set_yticks([])
    ax.set_xticks([0, 1], ["region's strong cluster", "related cluster (status in region)"])
    for spine in ("left", "bottom"):
        ax.spines[spine].set_visible(False)
    _label(ax, "strong cluster → related clusters (USCM relatedness, top 10% of pairs)", "")
    ax.set_title(title, loc="left")
    return _finish(fig, len(left) + len(right), ax.get_xlabel(), "", title)


# -- shock and recovery ----------------------------------------------------------------------
def index_paths(
    paths: pd.DataFrame, windows: dict[str, tuple[int, int]], title: str, base_label: str
) -> Chart | None:
    """Outcome indexed to 100 at each window's base year, one panel per outcome: the region
    (bold), each peer (thin grey), the peers' median and the nation (dashed); the shock and
    recovery windows shaded.

    ``paths``: outcome, who ("region", "peer", "nation"), name, year, index.
    """
    if paths is None or paths.empty:
        return None
    plt = _plt()
    outcomes = list(dict.fromkeys(paths["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(7.4, 3.0), squeeze=False, sharey=False)
    points = 0
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        part = paths.loc[paths["outcome"] == outcome]
        for name, (start, end) in windows.get(outcome, {}).items():
            ax.axvspan(
                start,
                end,
                color=SHOCK_SHADE if name == "shock" else RECOVERY_SHADE,
                alpha=0.7,
                lw=0,
                label=f"{name} window",
            )
        for _, peer in part.loc[part["who"] == "peer"].groupby("name"):
            ax.plot(peer["year"], peer["index"], color=PEER, lw=0.7, alpha=0.8)
        median = part.loc[part["who"] == "peer"].groupby("year")["index"].median()
        if not median.empty:
            ax.plot(median.index, median.to_numpy(), color="#555", lw=1.2, label="peers' median")
        nation = part.loc[part["who"] == "nation"]
        if not nation.empty:
            ax.plot(nation["year"], nation["index"], color=NATION, lw=1.2, ls="--", label="nation")
        mine = part.loc[part["who"] == "region"]
        ax.plot(
            mine["year"],
            mine["index"],
            color=REGION,
            lw=2.0,
            label=mine["name"].iloc[0] if len(mine) else "region",
        )
        _marks(ax, mine["year"], mine["index"], s=10, color=REGION, zorder=3)
        points += len(mine)
        ax.axhline(100, color="#999", lw=0.6)
        ax.set_title(labels.pretty(_OUTCOMES.get(outcome, outcome)), fontsize=9)
        ax.xaxis.set_major_locator(_year_locator())
        _label(ax, "year", base_label if ax is axes[0][0] else "")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="lower center",
        ncol=min(5, len(names)),
        fontsize=7.5,
        frameon=False,
        bbox_to_anchor=(0.5, -0.08),
    )
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    return _finish(fig, points, "year", base_label, title)


def _year_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=5, integer=True)


_OUTCOMES = {
    "gdp": "GDP (current dollars)",
    "real_gdp": "Real GDP (chained dollars)",
    "mfg_gdp": "Manufacturing GDP",
    "unemployment": "Unemployment",
    "employment": "Employment",
    "exports": "Exports",
    "imports": "Imports",
    "employment_qcew": "Employment (QCEW)",
    "cluster_share": "Share of the cluster's national jobs",
    "establishments": "Establishments",
    "labor_force": "Labor force",
    "unemployment_rate": "Unemployment rate",
    "population": "Population",
}


def outcome_name(outcome: str) -> str:
    """ "gdp" -> "GDP (current dollars)" (the outcomes' names in the report and the dashboard)."""
    return _OUTCOMES.get(str(outcome), labels.pretty(outcome))


#: What a chart shows in place of an index whose reference change is too small.
NA_TOO_SMALL = "n/a: reference change too small"


def cluster_resilience(frame: pd.DataFrame, title: str, n: int = 8) -> Chart | None:
    """The clusters of a region that resisted the shock best and worst (resistance index
    against the same cluster nationally), one dot each; clusters whose national change was too
    small for a ratio (``index_reliable`` False) are listed first as "n/a" and do not set the
    axis."""
    data = frame.dropna(subset=["resilience"])
    # a ratio over a near-zero reference change (clusteratlas.resilience.indices
    # MIN_REFERENCE_GROWTH) is no measure of the cluster: listed as n/a, never a bar that would
    # set the axis for all the others
    ok = (
        data["index_reliable"].fillna(True).astype(bool)
        if "index_reliable" in data.columns
        else pd.Series(True, index=data.index)
    )
    reliable, unreliable = data.loc[ok].sort_values("resilience"), data.loc[~ok]
    if reliable.empty and unreliable.empty:
        return None
    reliable = pd.concat([reliable.head(n), reliable.tail(n)]).drop_duplicates("cluster_name")
    unreliable = unreliable.head(n)
    data = pd.concat([unreliable, reliable])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 0.22 * len(data) + 0.9))
    y = np.arange(len(data))
    y_na, y_ok = y[: len(unreliable)], y[len(unreliable) :]
    colours = [STRONG if v < 0 else REGION for v in reliable["resilience"]]
    ax.hlines(y_ok, 0, reliable["resilience"], color="#ccc", lw=1)
    _marks(ax, reliable["resilience"], y_ok, s=24, color=colours, zorder=3)
    for yy in y_na:
        ax.text(
            0, yy, NA_TOO_SMALL, ha="left", va="center", fontsize=7, color="#777", style="italic"
        )
    if reliable.empty:
        ax.set_xlim(-1, 1)
    from matplotlib.lines import Line2D

    ax.legend(
        handles=[
            Line2D([], [], ls="", marker="o", color=REGION, label="fell less (index > 0)"),
            Line2D([], [], ls="", marker="o", color=STRONG, label="fell more (index < 0)"),
        ],
        loc="lower right",
        fontsize=7.5,
        frameon=False,
    )
    ax.set_yticks(y, [_short(c, 36) for c in data["cluster_name"]], fontsize=7.5)
    ax.axvline(0, color="#555", lw=0.8)
    _label(ax, "resistance index (> 0: fell less than the same cluster nationally)", "")
    ax.set_title(title, loc="left")
    # the n/a rows are labels, not data marks: the chart claims the dots it draws
    return _finish(fig, len(reliable), ax.get_xlabel(), "", title)


# -- evidence --------------------------------------------------------------------------------
def forest(rows: pd.DataFrame, title: str) -> Chart | None:
    """DID estimates with 95% CIs, one row per outcome and window (percent: 100 x log points).

    ``rows``: label, estimate, conf_low, conf_high (and optionally boot_conf_low/high).
    """
    data = rows.dropna(subset=["estimate"]).reset_index(drop=True)
    if data.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 0.34 * len(data) + 1.0))
    y = np.arange(len(data))[::-1]
    ax.hlines(y, data["conf_low"], data["conf_high"], color=REGION, lw=2)
    if {"boot_conf_low", "boot_conf_high"} <= set(data.columns):
        ok = data["boot_conf_low"].notna()
        ax.hlines(
            y[ok] - 0.18,
            data.loc[ok, "boot_conf_low"],
            data.loc[ok, "boot_conf_high"],
            color="#e08a1e",
            lw=1.4,
            label="wild bootstrap 95% CI",
        )
    _marks(
        ax, data["estimate"], y, s=30, color=REGION, zorder=3, label="estimate, clustered 95% CI"
    )
    ax.axvline(0, color="#555", lw=0.8, ls="--")
    ax.set_yticks(y, data["label"].tolist(), fontsize=8)
    _pct_axis(ax, "x")
    _label(ax, "difference, cluster regions − other regions (percent)", "")
    ax.set_title(title, loc="left")
    ax.legend(fontsize=7.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    return _finish(fig, len(data), ax.get_xlabel(), "", title)


def event_study(frame: pd.DataFrame, title: str) -> Chart | None:
    """Event-study gaps (cluster regions − others, relative to the year before the shock) with
    95% CIs, one panel per outcome; the pre-trend test's p-value in each panel's title."""
    if frame is None or frame.empty:
        return None
    plt = _plt()
    outcomes = list(dict.fromkeys(frame["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(7.4, 2.9), squeeze=False, sharey=True)
    points = 0
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        part = frame.loc[frame["outcome"] == outcome].sort_values("year")
        base = int(part["base_year"].iloc[0])
        ax.axvspan(base + 0.5, part["year"].max() + 0.5, color=SHOCK_SHADE, alpha=0.5, lw=0)
        ax.vlines(part["year"], part["conf_low"], part["conf_high"], color=REGION, lw=1.4)
        _marks(ax, part["year"], part["estimate"], s=16, color=REGION, zorder=3)
        points += len(part)
        ax.axhline(0, color="#555", lw=0.8)
        p = part["pretrend_p"].iloc[0] if "pretrend_p" in part.columns else np.nan
        ax.set_title(f"{outcome_name(outcome)}\npre-trend p = {labels.p_value(p)}", fontsize=8.5)
        ax.xaxis.set_major_locator(_year_locator())
        _pct_axis(ax)
        _label(ax, "year", "gap vs year before the shock" if ax is axes[0][0] else "")
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    return _finish(fig, points, "year", "gap vs year before the shock", title)


def rd_placebo(frame: pd.DataFrame, title: str) -> Chart | None:
    """RD estimates at placebo cut-offs with robust 95% CIs; the true cut-off in red."""
    data = frame.dropna(subset=["estimate"]).sort_values("cutoff")
    if data.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 2.4))
    true = data["true_cutoff"].astype(bool)
    ax.vlines(data["cutoff"], data["conf_low"], data["conf_high"], color="#888", lw=1.4)
    _marks(
        ax,
        data["cutoff"],
        data["estimate"],
        s=24,
        color=[STRONG if t else REGION for t in true],
        zorder=3,
    )
    ax.axhline(0, color="#555", lw=0.8)
    _pct_axis(ax)
    _label(ax, "cut-off (LQ percentile − 75; 0 = the strong-cluster cut-off)", "RD estimate")
    ax.set_title(title, loc="left")
    return _finish(fig, len(data), ax.get_xlabel(), "RD estimate", title)


def rd_bandwidth(frame: pd.DataFrame, title: str) -> Chart | None:
    """RD estimate and robust 95% CI as the bandwidth goes from half to twice the optimal one."""
    if frame is None or frame.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 2.2))
    ax.vlines(frame["h"], frame["conf_low"], frame["conf_high"], color="#888", lw=1.4)
    _marks(ax, frame["h"], frame["estimate"], s=24, color=REGION, zorder=3)
    ax.axhline(0, color="#555", lw=0.8)
    _pct_axis(ax)
    _label(ax, "bandwidth h (LQ percentile points)", "RD estimate")
    ax.set_title(title, loc="left")
    return _finish(fig, len(frame), ax.get_xlabel(), "RD estimate", title)
