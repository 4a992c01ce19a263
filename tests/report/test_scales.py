"""Map colour scales (clusteratlas.report.scales) on real data: LQs on log LQ centred at 1, growth
against the nation clipped at robust quantiles, legends in the data's units."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusteratlas.errors import InputError
from clusteratlas.report import maps, scales


def _state_lqs(shared_data: Path, cluster_word: str) -> pd.Series:
    """LQ_rc = (E_rc / E_r) / (E_c / E) of one cluster by state, USCM 2016 inputs (computed
    here from employment, independently of the panel engine)."""
    from clusteratlas.data.uscm import read_uscm

    frame = read_uscm(shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz")
    region_total = frame.groupby("region_id")["emp"].transform("sum")
    cluster_total = frame.groupby("cluster_code")["emp"].transform("sum")
    lq = (frame["emp"] / region_total) / (cluster_total / frame["emp"].sum())
    chosen = frame["cluster_name"].str.contains(cluster_word) & frame["traded"].astype(bool)
    assert frame.loc[chosen, "cluster_code"].nunique() == 1, cluster_word
    return pd.Series(lq[chosen].to_numpy(), index=frame.loc[chosen, "region_id"].to_numpy())


def _county_growth_vs_nation(shared_data: Path, start: int, end: int) -> pd.Series:
    """g_r - g_N of county employment (CBP county totals), as the report's context map."""
    from clusteratlas.data.cbp import read_setzler_county_total

    frame = read_setzler_county_total(shared_data / "cbp" / "setzler_CBP_county_total.csv.gz")
    wide = frame.pivot_table(index="region_id", columns="year", values="emp", aggfunc="sum")
    growth = wide[end] / wide[start] - 1
    national = wide[end].sum() / wide[start].sum() - 1
    return (growth - national).replace([np.inf, -np.inf], np.nan).dropna()


@pytest.mark.parametrize("cluster", ["Forestry", "Automotive"])
def test_lq_scale_is_log_centred_at_one_on_real_lqs(shared_data: Path, cluster: str):
    lq = _state_lqs(shared_data, cluster)
    assert lq.max() > 3  # a skewed ratio: the old linear scale centred at 1 went negative
    scale = scales.ratio_scale(lq)
    low, high = scale.domain()
    assert low > 0 and high > 1  # no negative (or zero) LQ in the domain
    assert low * high == pytest.approx(1.0, rel=1e-12)  # symmetric in log LQ
    # the half-width is the larger of |log| at the 2nd / 98th percentiles of log LQ
    logs = np.log(lq[lq > 0])
    half = max(abs(np.quantile(logs, 0.02)), abs(np.quantile(logs, 0.98)))
    assert math.log(high) == pytest.approx(half, rel=1e-12)
    # LQ = 1 is the middle colour; LQ = 2 and 1/2 are equally far from it
    assert scale.position(1.0)[0] == pytest.approx(0.5, abs=1e-12)
    up, down = scale.position([2.0, 0.5])
    assert up - 0.5 == pytest.approx(0.5 - down, abs=1e-12)
    # tick labels are LQs (positive numbers), and 1 is one of them, at the middle
    ticks = scale.ticks()
    assert all(not text.lstrip("≤≥ ").startswith(("-", "−")) for _, text in ticks)
    assert (0.5, "1") in [(round(p, 12), t) for p, t in ticks]


def test_lq_map_legend_shows_no_negative_value(shared_data: Path):
    lq = _state_lqs(shared_data, "Forestry")
    svg = maps.choropleth_svg(lq, "state", title="Forestry LQ", scale="ratio", legend_label="LQ")
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)
    assert len(ticks) >= 3 and "1" in ticks
    assert not any("−" in t or "-" in t for t in ticks), ticks
    assert "log scale, 1 = national share" in svg
    # the state farthest from LQ = 1 (in log) takes an end colour of the bar
    fills = dict(re.findall(r'data-id="(\d+)" fill="(#[0-9a-f]{6})"', svg))
    scale = scales.ratio_scale(lq)
    farthest = np.log(lq[lq > 0]).abs().idxmax()
    assert fills[farthest] in (scale.ramp(14)[0], scale.ramp(14)[-1])
    assert fills[farthest] == scale.colours([lq[farthest]])[0]


def test_ratio_scale_rejects_negative_values():
    with pytest.raises(InputError, match="cannot be negative"):
        scales.ratio_scale(pd.Series([0.5, -1.0]))


def test_county_growth_scale_clips_the_outliers(shared_data: Path):
    values = _county_growth_vs_nation(shared_data, 2019, 2020)
    assert len(values) > 3000
    assert values.abs().max() > 4  # one county's employment grew ~5-fold: it set the old scale
    scale = scales.diverging_scale(values, percent=True)
    q02, q98 = np.quantile(values, [0.02, 0.98])
    half = max(abs(q02), abs(q98))
    assert (scale.low, scale.high) == pytest.approx((-half, half), rel=1e-12)
    assert half < 0.3  # the colours now resolve the bulk of counties
    assert scale.clipped_low and scale.clipped_high
    inside = values.between(-half, half).mean()
    assert inside > 0.95
    assert scale.position(0.0)[0] == pytest.approx(0.5, abs=1e-12)
    svg = maps.choropleth_svg(values, "county", scale="diverging", percent=True)
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)
    assert ticks[0] == f"≤ −{100 * half:.0f}%" and ticks[-1] == f"≥ +{100 * half:.0f}%"
    assert "0%" in ticks
    # the outlier county takes the end colour, not a colour off the bar
    fills = dict(re.findall(r'data-id="(\d+)" fill="(#[0-9a-f]{6})"', svg))
    assert fills[values.idxmax()] == scale.ramp(14)[-1]


def test_sequential_scale_spans_the_data():
    scale = scales.sequential_scale(pd.Series([0.1, 0.3, np.nan]), percent=True)
    assert scale.domain() == pytest.approx((0.1, 0.3))
    assert [t for _, t in scale.ticks()] == ["10%", "30%"]


def test_colours_equal_one_colour_map_call_per_value():
    """colours() maps all values in one call; each colour is the colour map's at the value's
    position, as one call per value gives it (NaN -> None)."""
    import matplotlib

    from clusteratlas.report.scales import ColourScale, hex_colour

    values = np.concatenate([np.linspace(-3.0, 12.0, 997), [np.nan, 0.0, np.inf, -np.inf]])
    for kind, cmap in (("sequential", "viridis"), ("ratio", "RdBu_r"), ("diverging", "RdBu")):
        scale = ColourScale(kind, cmap, -1.3, 2.1)
        colormap = matplotlib.colormaps[cmap]
        one_by_one = [
            None if np.isnan(p) else hex_colour(colormap(p)) for p in scale.position(values)
        ]
        assert scale.colours(values) == one_by_one
