"""Regime maps (phase diagrams) over two parameters and 1-D sweeps, as PNG/SVG/HTML.

Everything is vectorised: a map evaluates the general equilibrium on a whole numpy grid in
one pass (:func:`clusteratlas.theory.model.regimes`). The HTML output is self-contained: the
map is an inline base64 PNG and a few lines of inline JavaScript look up the structure and
income under the mouse from an embedded JSON grid (no CDN, works offline).
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas import atomic
from clusteratlas.errors import ParameterError
from clusteratlas.theory.model import Params, regimes

MAP_PARAMETERS = Params.NAMES
PALETTE = [
    "#d9d9d9", "#bdbdbd", "#fdae6b", "#e6550d", "#fd8d3c", "#3182bd", "#6baed6",
    "#74c476", "#31a354", "#9e9ac8", "#756bb1", "#fdd0a2", "#c6dbef", "#a1d99b",
]  # fmt: skip


def parse_range(text: str, name: str) -> tuple[float, float]:
    """``"0.05:1"`` -> ``(0.05, 1.0)`` with a clear error otherwise."""
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise ParameterError(name, f"{text!r} is not a range", "LOW:HIGH, e.g. 0.05:1") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ParameterError(name, f"range {text!r} is not finite", "finite LOW:HIGH, e.g. 0.05:1")
    if not lo < hi:
        raise ParameterError(name, f"range {text!r} is empty", "LOW < HIGH")
    return lo, hi


#: largest regime-map grid per axis: 1,000 x 1,000 = a million equilibria (20,000 per axis
#: would be 400 million, beyond any machine's memory)
MAX_RESOLUTION = 1000


def _check_parameter(name: str, option: str) -> None:
    if name not in MAP_PARAMETERS:
        raise ParameterError(option, f"unknown parameter {name!r}", ", ".join(MAP_PARAMETERS))


@dataclass
class RegimeMap:
    """The general-equilibrium structure on a 2-D grid of two parameters."""

    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray
    names: list[str]
    index: np.ndarray  # shape (len(y), len(x)); -1 where nothing exists or inadmissible
    utility: np.ndarray
    ties: np.ndarray
    fixed: Params
    structures: str | tuple[str, ...] = "paper"

    def labels(self) -> np.ndarray:
        return np.array(self.names + ["none"], dtype=object)[self.index]

    def tidy(self) -> pd.DataFrame:
        xx, yy = np.meshgrid(self.x, self.y)
        return pd.DataFrame(
            {
                self.x_name: xx.ravel(),
                self.y_name: yy.ravel(),
                "structure": self.labels().ravel(),
                "per_capita_real_income": self.utility.ravel(),
                "tie": self.ties.ravel(),
            }
        )

    def shares(self) -> pd.Series:
        return pd.Series(self.labels().ravel()).value_counts(normalize=True)

    def boundaries(self, points: int = 400) -> list[dict]:
        """Closed-form general-equilibrium boundaries on this map (see
        :func:`clusteratlas.theory.boundaries.boundary_curves`)."""
        from clusteratlas.theory.boundaries import boundary_curves

        present = [self.names[i] for i in sorted(set(self.index.ravel().tolist())) if i >= 0]
        return boundary_curves(
            self.x_name, (float(self.x[0]), float(self.x[-1])),
            self.y_name, (float(self.y[0]), float(self.y[-1])),
            self.fixed, present, self.structures, points,
        )  # fmt: skip

    def figure(self, boundaries: bool = True):
        """The map (matplotlib Figure); closed-form regime boundaries drawn as black lines."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        present = sorted(set(self.index.ravel().tolist()))
        colours = {i: ("#ffffff" if i < 0 else PALETTE[i % len(PALETTE)]) for i in present}
        remap = {i: n for n, i in enumerate(present)}
        image = np.vectorize(remap.get)(self.index)
        fig, ax = plt.subplots(figsize=(7.5, 5.5))
        ax.imshow(
            image, origin="lower", aspect="auto", interpolation="nearest",
            extent=(self.x[0], self.x[-1], self.y[0], self.y[-1]),
            cmap=ListedColormap([colours[i] for i in present]), vmin=0, vmax=max(len(present) - 1, 1),
        )  # fmt: skip
        handles = [
            Patch(color=colours[i], label=self.names[i] if i >= 0 else "no equilibrium")
            for i in present
        ]
        curves = self.boundaries() if boundaries else []
        lines = {}
        for curve in curves:
            style = "-" if curve["kind"] == "income tie" else "--"
            (lines[curve["kind"]],) = ax.plot(
                curve["x"], curve["y"], color="black", lw=1.4, ls=style
            )
        ax.set_xlim(self.x[0], self.x[-1])
        ax.set_ylim(self.y[0], self.y[-1])
        if lines:  # inside the axes, so the map keeps its size (the HTML hover maps pixels)
            labels = {"income tie": "closed-form boundary", "existence limit": "existence limit"}
            inside = ax.legend(handles=list(lines.values()), labels=[labels[k] for k in lines],
                               loc="lower right", fontsize=7, framealpha=0.85)  # fmt: skip
            ax.add_artist(inside)
        # the structure legend is the axes' own legend, so tight_layout makes room for it
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
        ax.set_xlabel(self.x_name)
        ax.set_ylabel(self.y_name)
        fixed = ", ".join(
            f"{k}={v:.3g}"
            for k, v in _fixed_values(self.fixed).items()
            if k not in (self.x_name, self.y_name)
        )
        ax.set_title(f"General equilibrium structure\n{fixed}", fontsize=9)
        fig.tight_layout()
        return fig

    def save(self, path: str | Path, boundaries: bool = True) -> Path:
        """Write ``.png``, ``.svg``, ``.html`` (self-contained) or ``.csv`` by extension."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return atomic.write_text(path, self.tidy().to_csv(index=False))
        if suffix in (".png", ".svg"):
            fig = self.figure(boundaries)
            with atomic.atomic_path(path) as tmp:
                fig.savefig(tmp, format=suffix[1:], dpi=120)
            return path
        if suffix == ".html":
            return atomic.write_text(path, self.html(boundaries))
        raise ParameterError("out", f"unsupported extension {suffix!r}", ".png, .svg, .html, .csv")

    def html(self, boundaries: bool = True) -> str:
        fig = self.figure(boundaries)
        ax = fig.axes[0]
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        # the axes box in figure pixels lets the script map the mouse to grid cells
        width, height = fig.get_size_inches() * 110
        box = ax.get_position()
        frame = {
            "left": box.x0 * width, "right": box.x1 * width,
            "top": (1 - box.y1) * height, "bottom": (1 - box.y0) * height,
        }  # fmt: skip
        data = {
            "x": self.x.round(6).tolist(), "y": self.y.round(6).tolist(),
            "names": self.names, "index": self.index.tolist(),
            "u": np.where(np.isfinite(self.utility), self.utility, -1).round(8).tolist(),
            "frame": frame, "xname": self.x_name, "yname": self.y_name,
        }  # fmt: skip
        image = base64.b64encode(buffer.getvalue()).decode("ascii")
        return _HTML.replace("__IMAGE__", image).replace("__DATA__", json.dumps(data))


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>clusteratlas regime map</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5em}#info{margin-top:.5em;min-height:1.4em}
img{display:block;cursor:crosshair}</style></head><body>
<h1 style="font-size:1.2em">General-equilibrium structure (infra-marginal cluster model)</h1>
<img id="map" src="data:image/png;base64,__IMAGE__" alt="regime map">
<div id="info">Move the mouse over the map.</div>
<script>
const D = __DATA__;
const img = document.getElementById('map'), info = document.getElementById('info');
img.addEventListener('mousemove', ev => {
  const r = img.getBoundingClientRect(), sx = img.naturalWidth / r.width, sy = img.naturalHeight / r.height;
  const px = (ev.clientX - r.left) * sx, py = (ev.clientY - r.top) * sy, f = D.frame;
  if (px < f.left || px > f.right || py < f.top || py > f.bottom) { info.textContent = ''; return; }
  const i = Math.min(D.x.length - 1, Math.floor((px - f.left) / (f.right - f.left) * D.x.length));
  const j = Math.min(D.y.length - 1, Math.floor((f.bottom - py) / (f.bottom - f.top) * D.y.length));
  const k = D.index[j][i], u = D.u[j][i];
  info.textContent = `${D.xname} = ${D.x[i]}, ${D.yname} = ${D.y[j]}: ` +
    (k < 0 ? 'no corner equilibrium' : `${D.names[k]}, per-capita real income ${u}`);
});
</script></body></html>
"""


def _fixed_values(params: Params) -> dict[str, float]:
    out = {}
    for name in MAP_PARAMETERS:
        raw = getattr(params, name)
        if raw is not None and np.ndim(raw) == 0:
            out[name] = float(raw)
    return out


def regime_map(
    x_name: str,
    x_range: tuple[float, float],
    y_name: str,
    y_range: tuple[float, float],
    fixed: Params | None = None,
    resolution: int = 200,
    structures: str | Iterable[str] = "paper",
) -> RegimeMap:
    """General-equilibrium structure over a ``resolution x resolution`` grid of two parameters."""
    _check_parameter(x_name, "x")
    _check_parameter(y_name, "y")
    if x_name == y_name:
        raise ParameterError("y", "must differ from x")
    fixed = fixed or Params()
    if isinstance(resolution, bool) or not 2 <= resolution <= MAX_RESOLUTION:
        raise ParameterError(
            "resolution", f"{resolution!r} grid points per axis", f"2 to {MAX_RESOLUTION:,}"
        )
    for name, bounds in (("x_range", x_range), ("y_range", y_range)):
        if not all(math.isfinite(v) for v in bounds):
            raise ParameterError(name, f"{tuple(bounds)!r} is not finite", "finite LOW, HIGH")
    x = np.linspace(*x_range, resolution)
    y = np.linspace(*y_range, resolution)
    xx, yy = np.meshgrid(x, y)
    grid = fixed.replace(**{x_name: xx, y_name: yy})
    result = regimes(grid, structures)
    admissible = np.broadcast_to(grid.admissible(), xx.shape)
    index = np.where(admissible, result.index, -1)
    utility = np.where(admissible, result.utility, np.nan)
    chosen = structures if isinstance(structures, str) else tuple(structures)
    return RegimeMap(x_name, y_name, x, y, result.names, index, utility, result.ties, fixed, chosen)


def sweep(
    name: str,
    value_range: tuple[float, float],
    fixed: Params | None = None,
    points: int = 400,
    structures: str = "paper",
) -> pd.DataFrame:
    """Per-capita real income of every structure and the equilibrium along one parameter."""
    _check_parameter(name, "param")
    fixed = fixed or Params()
    values = np.linspace(*value_range, points)
    grid = fixed.replace(**{name: values})
    result = regimes(grid, structures)
    admissible = np.broadcast_to(grid.admissible(), values.shape)
    table = pd.DataFrame({name: values})
    for structure, u in result.utilities.items():
        table[structure] = np.where(admissible, np.broadcast_to(u, values.shape), np.nan)
    table["equilibrium"] = np.where(admissible, result.labels(), "none")
    table["per_capita_real_income"] = np.where(admissible, result.utility, np.nan)
    table["jump"] = table["equilibrium"].ne(table["equilibrium"].shift()) & (table.index > 0)
    return table


def save_sweep(table: pd.DataFrame, path: str | Path) -> Path:
    """Plot (PNG/SVG) or write (CSV) a sweep; jumps between structures are marked."""
    path = Path(path)
    name = table.columns[0]
    if path.suffix.lower() == ".csv":
        return atomic.write_text(path, table.to_csv(index=False))
    if path.suffix.lower() not in (".png", ".svg"):
        raise ParameterError("out", f"unsupported extension {path.suffix!r}", ".png, .svg, .csv")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    skip = {name, "equilibrium", "per_capita_real_income", "jump"}
    for column in table.columns:
        if column not in skip and table[column].notna().any():
            ax.plot(table[name], table[column], lw=1, label=column)
    ax.plot(table[name], table["per_capita_real_income"], color="black", lw=2.5, alpha=0.4,
            label="general equilibrium")  # fmt: skip
    for _, row in table[table["jump"]].iterrows():
        ax.axvline(row[name], color="grey", ls=":", lw=1)
        ax.annotate(row["equilibrium"], (row[name], ax.get_ylim()[1]), fontsize=7, rotation=90,
                    va="top", ha="right")  # fmt: skip
    ax.set_xlabel(name)
    ax.set_ylabel("per-capita real income")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:], dpi=120)
    return path
