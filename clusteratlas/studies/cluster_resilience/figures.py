"""Static figures of the report (matplotlib, Agg backend): event study, RD plot, bandwidth sensitivity.

Each figure is written atomically as PNG under ``<out>/figures/`` and embedded in the HTML
report as base64, so the report stays one offline file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas import __version__, atomic


def data_source(p) -> str:
    """Where a run's numbers come from, as figures and the report cite it (``p``: the
    :class:`~clusteratlas.studies.cluster_resilience.study.ClusterResilience` run)."""
    kind = getattr(p, "source", None)
    if getattr(p, "demo", False) or kind == "demo":
        return "synthetic-demo (generated, see clusteratlas.studies.cluster_resilience.demo)"
    if kind == "fetch":
        return "fetched from the publishers (Census, BEA, BLS)"
    if kind == "store":
        return f"store {p.store_path.name}"
    return f"data folder {p.data_dir}"


def source_line(p, inputs: str) -> str:
    """ "Source: <inputs>; <data>; clusteratlas <version>" (charts, maps and PNG figures)."""
    return f"Source: {inputs}; {data_source(p)}; clusteratlas {__version__}"


def stamp(fig, source: str) -> None:
    """A source line under the figure (kept by ``bbox_inches="tight"``), so an exported PNG
    says where its numbers come from."""
    if source:
        fig.text(0.01, -0.01, source, fontsize=7, color="#555", va="top", ha="left", gid="source")


def _save(fig, target: Path, source: str = "") -> str:
    import io

    stamp(fig, source)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    atomic.write_bytes(target, buffer.getvalue())
    return str(target)


def save_figure(fig, out_dir: Path, rel: str, source: str = "") -> str:
    """Write a matplotlib figure as PNG under ``out_dir`` (with ``source`` as a line under
    it); return its relative path."""
    import matplotlib.pyplot as plt

    _save(fig, Path(out_dir) / rel, source)
    plt.close(fig)
    return rel


def causal_figures(
    out_dir: Path,
    event: pd.DataFrame,
    rd_points: pd.DataFrame | None,
    sensitivity: pd.DataFrame | None,
    source: str = "",
) -> list[str]:
    """Write the causal-section figures (``source`` as a line under each); return their
    paths relative to ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    folder = Path(out_dir) / "figures"
    if event is not None and not event.empty:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for outcome, part in event.groupby("outcome"):
            part = part.sort_values("year")
            ax.errorbar(
                part["year"],
                part["estimate"],
                yerr=1.96 * part["std_error"],
                marker="o",
                capsize=3,
                label=outcome,
            )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("year")
        ax.set_ylabel("cluster - other regions, log points\n(relative to the pre-shock base year)")
        ax.set_title("Event study: mean log-outcome gap, 95% CI")
        ax.legend(fontsize=8)
        written.append(_save(fig, folder / "event_study.png", source))
        plt.close(fig)
    if rd_points is not None and not rd_points.empty:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        bins = pd.cut(rd_points["x"], np.arange(-75, 26, 5), include_lowest=True)
        binned = rd_points.groupby(bins, observed=True).agg(
            x=("x", "mean"), y=("log_growth", "mean")
        )
        ax.scatter(binned["x"], binned["y"], s=18, color="#1f4e79")
        for side in (rd_points["x"] < 0, rd_points["x"] >= 0):
            part = rd_points.loc[side]
            if len(part) > 3:
                coef = np.polyfit(part["x"], part["log_growth"], 1)
                grid = np.linspace(part["x"].min(), part["x"].max(), 20)
                ax.plot(grid, np.polyval(coef, grid), color="#c0392b")
        ax.axvline(0, color="grey", ls="--")
        ax.set_xlabel("LQ percentile within cluster - 75 (strong-cluster cut-off)")
        ax.set_ylabel("region outcome log growth, shock")
        ax.set_title("RD plot: binned means and linear fits each side")
        written.append(_save(fig, folder / "rd_plot.png", source))
        plt.close(fig)
    if sensitivity is not None and not sensitivity.empty:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        ax.errorbar(
            sensitivity["h"],
            sensitivity["estimate"],
            yerr=[
                sensitivity["estimate"] - sensitivity["conf_low"],
                sensitivity["conf_high"] - sensitivity["estimate"],
            ],
            marker="s",
            capsize=3,
        )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("bandwidth h (LQ percentile points)")
        ax.set_ylabel("RD estimate (robust 95% CI)")
        ax.set_title("RD bandwidth sensitivity")
        written.append(_save(fig, folder / "rd_bandwidth.png", source))
        plt.close(fig)
    return [str(Path(w).relative_to(out_dir)) for w in written]
