"""The report's resilience displays when a reference change is too small for a ratio index
(issue #21 item 5): such rows read "n/a: reference change too small" and never set a chart's
scale; exported numbers are kept."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clusteratlas.report import charts, labels
from clusteratlas.report.shocks import shown_index


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _ticks(svg: str) -> list[float]:
    out = []
    for text in _texts(svg):
        try:
            out.append(float(text.replace("−", "-")))
        except ValueError:
            continue
    return out


def test_unreliable_bar_does_not_flatten_the_scale():
    frame = pd.DataFrame(
        {
            "cluster_name": ["Automotive", "Forestry", "Textiles", "Biopharma", "Oil and Gas"],
            "resilience": [-0.5, -0.1, 0.2, 0.6, -377.3],
            "index_reliable": [True, True, True, True, False],
        }
    )
    chart = charts.cluster_resilience(frame, "clusters")
    assert charts.NA_TOO_SMALL in _texts(chart.svg)
    ticks = _ticks(chart.svg)
    assert ticks and max(abs(t) for t in ticks) < 2  # the axis spans the reliable -0.5..0.6
    # without the flag the outlier sets the axis (the chart the issue saw)
    flat = charts.cluster_resilience(frame.drop(columns="index_reliable"), "clusters")
    assert max(abs(t) for t in _ticks(flat.svg)) > 100


def test_only_unreliable_rows_still_draw():
    frame = pd.DataFrame({"cluster_name": ["A"], "resilience": [-377.3], "index_reliable": [False]})
    chart = charts.cluster_resilience(frame, "clusters")
    assert chart is not None and charts.NA_TOO_SMALL in _texts(chart.svg)


def test_tables_show_na_and_keep_numbers():
    frame = pd.DataFrame(
        {
            "resilience": [-377.3, 0.118],
            "difference_pp": [-10.0, 12.1],
            "index_reliable": [False, True],
        }
    )
    shown = shown_index(frame)
    assert shown["resilience"].tolist() == [charts.NA_TOO_SMALL, 0.118]
    assert frame["resilience"].tolist() == [-377.3, 0.118]  # the input (exported) is untouched
    assert labels.cell("difference_pp", -10.0) == "−10.0 pp"
    assert labels.cell("difference_pp", np.nan) == labels.MISSING
