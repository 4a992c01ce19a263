"""The report's charts and PNG figures carry a title (region, year), a legend for every colour
and a source line, so a chart copied or exported out of the report still says what it shows."""

from __future__ import annotations

import html
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from clusteratlas.report import charts
from clusteratlas.studies.cluster_resilience import figures


def _texts(svg: str) -> list[str]:
    found = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return [html.unescape(t).strip() for t in found if t.strip()]


def _michigan_traded(shared_data: Path) -> pd.DataFrame:
    """Michigan's traded clusters, USCM 2016 inputs, LQ computed here from employment;
    "strong" here is a plain LQ >= 1.5 flag (the chart, not the USCM rule, is under test)."""
    from clusteratlas.data.uscm import read_uscm

    frame = read_uscm(shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz")
    region_total = frame.groupby("region_id")["emp"].transform("sum")
    cluster_total = frame.groupby("cluster_code")["emp"].transform("sum")
    frame["lq"] = (frame["emp"] / region_total) / (cluster_total / frame["emp"].sum())
    mine = frame.loc[(frame["region_id"] == "26") & frame["traded"].astype(bool)].copy()
    mine["strong"] = mine["lq"] >= 1.5
    return mine


def test_portfolio_has_title_legend_and_source(shared_data: Path):
    traded = _michigan_traded(shared_data)
    assert traded["strong"].any() and (~traded["strong"]).any()
    chart = charts.portfolio(traded, "wage", "Average wage", "Cluster portfolio of Michigan, 2016")
    texts = _texts(chart.svg)
    assert "Cluster portfolio of Michigan, 2016" in texts  # region and year in the title
    assert "strong clusters" in texts and "other traded clusters" in texts  # the red's legend
    source = "Source: cluster_panel; data folder ../shared/data; clusteratlas 0.0"
    stamped = charts.with_source(chart, source)
    assert source in _texts(stamped.svg)
    before = [float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', chart.svg).groups()]
    after = [float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', stamped.svg).groups()]
    assert after[0] == before[0] and after[1] > before[1]  # room made for the line, not on top
    assert charts.with_source(stamped, source).svg == stamped.svg  # stamped once
    # a long source wraps instead of running off the chart
    long = charts.with_source(chart, "Source: " + "x " * 300)
    assert len(re.findall('class="chart-source"', long.svg)) > 1


def test_cluster_resilience_colours_have_a_legend():
    frame = pd.DataFrame(
        {
            "cluster_name": ["Production Technology and Heavy Machinery", "Automotive", "Food"],
            "resilience": [-0.4, 0.2, 0.6],
        }
    )
    chart = charts.cluster_resilience(frame, "Michigan: clusters that resisted 2020 best and worst")
    texts = _texts(chart.svg)
    assert "fell more (index < 0)" in texts and "fell less (index > 0)" in texts


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_figures_carry_a_source_line(tmp_path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    figures.stamp(fig, "Source: run_event_study; data folder x; clusteratlas 1")
    assert [t.get_text() for t in fig.texts] == [
        "Source: run_event_study; data folder x; clusteratlas 1"
    ]
    plt.close(fig)
    # SYNTHETIC event-study rows (the figure's layout is under test, not the numbers)
    event = pd.DataFrame(
        {"outcome": "emp", "year": np.arange(2016, 2022), "estimate": 0.01, "std_error": 0.005}
    )
    plain, stamped = tmp_path / "plain", tmp_path / "stamped"
    figures.causal_figures(plain, event, None, None)
    figures.causal_figures(stamped, event, None, None, source="Source: run_event_study; x")
    width0, height0 = _png_size(plain / "figures" / "event_study.png")
    width1, height1 = _png_size(stamped / "figures" / "event_study.png")
    assert height1 > height0 + 5  # the tight bounding box kept the source line


def test_data_source_names_where_numbers_come_from(tmp_path: Path):
    class Run:
        demo, source, data_dir, store_path = False, "folder", Path("/data"), tmp_path / "s.duckdb"

    assert figures.data_source(Run()) == "data folder /data"
    Run.source = "store"
    assert figures.data_source(Run()) == "store s.duckdb"
    Run.demo, Run.source = True, "demo"
    assert "synthetic" in figures.data_source(Run())
    assert figures.source_line(Run(), "cluster_panel").startswith("Source: cluster_panel; ")
