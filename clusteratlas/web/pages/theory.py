"""Page ``/theory``: the regime map of the general-equilibrium cluster model over two parameters.

Each grid cell is the structure with the highest per-capita real income among those whose
corner equilibrium exists (:func:`clusteratlas.theory.model.regimes`), the other parameters
held at the values in the query string.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusteratlas.errors import ParameterError
from clusteratlas.theory.model import Params, regimes
from clusteratlas.web.dashboard import Dashboard, Page, Section
from clusteratlas.web.forms import Query, select

NAME = "theory"
TITLE = "Theory"

# GE model parameters the regime map can put on an axis: default value and axis range.
THEORY_PARAMS: dict[str, tuple[float, float, float]] = {
    "K": (0.8, 0.05, 1.0),
    "t": (0.1, 0.0, 0.95),
    "alpha": (0.5, 0.05, 0.95),
    "b": (0.1, 0.0, 0.5),
    "F": (0.2, 0.0, 0.5),
    "e": (0.3, 0.0, 0.6),
    "theta": (0.2, 0.0, 0.6),
}
MAX_GRID = 120


def build(dash: Dashboard, q: Query) -> Page:
    x = q.choice("x", THEORY_PARAMS, "K")
    y = q.choice("y", THEORY_PARAMS, "t")
    fixed = {name: value for name in THEORY_PARAMS if (value := q.number(name)) is not None}
    return theory_page(x, y, fixed, q.integer("n", 40))


def fields(dash: Dashboard, q: Query, page: Page) -> list[dict]:
    out = [
        select("x", "x axis", list(THEORY_PARAMS), q.text("x") or "K"),
        select("y", "y axis", list(THEORY_PARAMS), q.text("y") or "t"),
        {"name": "n", "label": "Grid", "kind": "number", "value": q.text("n") or "40"},
    ]
    out += [
        {"name": p, "label": f"{p} (fixed)", "kind": "number", "value": q.text(p) or str(d)}
        for p, (d, _, _) in THEORY_PARAMS.items()
    ]
    return out


def theory_page(x: str, y: str, fixed: dict[str, float], n: int) -> Page:
    """Regime map of the GE model (:func:`clusteratlas.theory.model.regimes`) over two axes.

    Each grid cell is the structure with the highest per-capita real income among those whose
    corner equilibrium exists (Yang's theorem), the others held at ``fixed``.
    """
    for name, value in (("x", x), ("y", y)):
        if value not in THEORY_PARAMS:
            raise ParameterError(
                name, f"unknown model parameter {value[:20]!r}", allowed=", ".join(THEORY_PARAMS)
            )
    if x == y:
        raise ParameterError("y", "the two axes must be different parameters")
    if not 2 <= n <= MAX_GRID:
        raise ParameterError("n", f"grid size {n} out of range", allowed=f"2..{MAX_GRID}")
    page = Page(
        "Regime map of the general-equilibrium cluster model",
        info={"x axis": x, "y axis": y, "grid": f"{n} x {n}"},
    )
    values = {name: fixed.get(name, default) for name, (default, _, _) in THEORY_PARAMS.items()}
    page.info.update({f"{k} (fixed)": v for k, v in values.items() if k not in (x, y)})
    xs = np.linspace(THEORY_PARAMS[x][1], THEORY_PARAMS[x][2], n)
    ys = np.linspace(THEORY_PARAMS[y][1], THEORY_PARAMS[y][2], n)
    grid_x, grid_y = np.meshgrid(xs, ys)
    values[x], values[y] = grid_x, grid_y
    try:
        result = regimes(Params(**values), "paper")
    except Exception as error:  # the model raising must show as a message, not a crash
        page.messages.append(
            f"The model could not be solved on this grid ({type(error).__name__}: {error})."
        )
        return page
    labels = np.broadcast_to(result.labels(), grid_x.shape)
    utility = np.broadcast_to(result.utility, grid_x.shape)
    table = pd.DataFrame(
        {
            x: grid_x.ravel(),
            y: grid_y.ravel(),
            "structure": labels.ravel().astype(str),
            "real_income": utility.ravel(),
        }
    )
    page.sections.append(
        Section(
            "regimes",
            f"Equilibrium structure over {x} x {y}",
            table,
            chart={"kind": "heatmap", "x": x, "y": y, "category": "structure"},
        )
    )
    counts = (
        table["structure"].value_counts().rename_axis("structure").reset_index(name="grid_points")
    )
    page.sections.append(Section("regime_shares", "Grid points per structure", counts))
    return page
