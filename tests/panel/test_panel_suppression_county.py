"""The suppression-imputation option (``suppressed="hierarchy"``) on a county fixture.

SYNTHETIC data with a known truth: 15 counties in 3 states, real NAICS-2012 industries
(36 codes under 10 four-digit lines of the USCM definitions), lognormal employment. State and nation
cells and every 4-digit line are the sums of the truth, as in CBP (where noise is added per
establishment, so published lines add up exactly: see tests/data/test_data_suppression.py).
Cells are then withheld CBP-style (few establishments, or at random), with their EMPFLAG size
class and the reader's midpoint in ``emp``, as clusteratlas.data.cbp reads pre-2017 files.

1. When the adding-up constraints identify every withheld cell (industry lines within each
   region, counties -> state -> nation), the option recovers the truth, and the county panel
   has the truth's LQs within 1e-6 and the same flags; the midpoints (USCM) do not.
2. With withholding the constraints cannot fully identify, exact cells are still exact,
   allocated ones stay within their size class and the lines still add up.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clusteratlas.data import cbp, suppression
from clusteratlas.panel import build_panel
from clusteratlas.schema import INDUSTRY_COUNTS

FLAGS = ["qualifying", "significant", "strong", "strong10"]
STATES = ["01", "02", "04"]
COUNTIES_PER_STATE = 5


@pytest.fixture(scope="module")
def industries(definitions_2012) -> pd.DataFrame:
    """10 four-digit industries with 3-6 six-digit children each (real codes, SYNTHETIC use)."""
    defs = definitions_2012.assign(parent=definitions_2012["naics"].str[:4])
    sizes = defs.groupby("parent")["naics"].transform("size")
    pool = defs.loc[sizes.between(3, 6)]
    parents = sorted(pool["parent"].unique())
    rng = np.random.default_rng(7)
    chosen = rng.choice(parents, size=10, replace=False)
    return pool.loc[pool["parent"].isin(chosen), ["naics", "parent"]].reset_index(drop=True)


def _truth(industries: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SYNTHETIC county x industry employment and establishments (no zeros, no gaps)."""
    rng = np.random.default_rng(seed)
    rows = []
    for state in STATES:
        for k in range(COUNTIES_PER_STATE):
            county = f"{state}{2 * k + 1:03d}"
            scale = rng.lognormal(0, 0.8)
            for naics in industries["naics"]:
                emp = float(np.round(rng.lognormal(4.0, 1.3) * scale)) + 1.0
                est = float(max(1, round(emp / rng.uniform(8, 40))))
                rows.append((county, naics, emp, est))
    return pd.DataFrame(rows, columns=["region_id", "naics", "emp", "est"])


def _published(truth: pd.DataFrame, industries: pd.DataFrame) -> pd.DataFrame:
    """Counties, states, the nation and every region's 4-digit lines, as INDUSTRY_COUNTS."""
    counties = truth.assign(region_type="county")
    states = (
        truth.assign(region_id=truth["region_id"].str[:2])
        .groupby(["region_id", "naics"], as_index=False)[["emp", "est"]]
        .sum()
        .assign(region_type="state")
    )
    nation = (
        truth.groupby("naics", as_index=False)[["emp", "est"]]
        .sum()
        .assign(region_type="nation", region_id="US")
    )
    cells = pd.concat([counties, states, nation], ignore_index=True)
    lines = (
        cells.assign(naics=cells["naics"].str[:4])
        .groupby(["region_type", "region_id", "naics"], as_index=False)[["emp", "est"]]
        .sum()
    )
    frame = pd.concat([cells, lines], ignore_index=True)
    return pd.DataFrame(
        {
            "source": "synthetic",
            "year": 2016,
            "region_type": frame["region_type"],
            "region_id": frame["region_id"],
            "naics": frame["naics"],
            "naics_vintage": 2012,
            "emp": frame["emp"],
            "emp_reported": frame["emp"],
            "emp_flag": "",
            "est": frame["est"],
            "ap": frame["emp"] * 40.0,
            "qp1": frame["emp"] * 10.0,
        }
    ).astype(INDUSTRY_COUNTS)


def _withhold(published: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """CBP-style withholding: size-class letter, the reader's midpoint, nothing reported."""
    out = published.copy()
    letters = [suppression._class_of(v) for v in out.loc[mask, "emp"]]
    out.loc[mask, "emp_flag"] = letters
    out.loc[mask, "emp"] = [float(cbp.EMPFLAG_MIDPOINTS[x]) for x in letters]
    out.loc[mask, "emp_reported"] = 0.0
    out.loc[mask, "ap"] = 0.0
    return out


def _members() -> pd.DataFrame:
    counties = [f"{s}{2 * k + 1:03d}" for s in STATES for k in range(COUNTIES_PER_STATE)]
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "region_type": "state",
                    "region_id": [c[:2] for c in counties],
                    "member_type": "county",
                    "member_id": counties,
                }
            ),
            pd.DataFrame(
                {
                    "region_type": "nation",
                    "region_id": "US",
                    "member_type": "state",
                    "member_id": STATES,
                }
            ),
        ],
        ignore_index=True,
    )


def _identified_mask(published: pd.DataFrame, seed: int) -> np.ndarray:
    """Withhold small cells and 20% at random (counties, states, nation), then publish back
    the ones the constraints cannot identify until all are identified (the fixture's design)."""
    rng = np.random.default_rng(seed)
    cell = published["naics"].str.len().eq(6).to_numpy()
    mask = cell & ((published["est"].to_numpy() <= 2) | (rng.random(len(published)) < 0.2))
    while True:
        fill = suppression.fill_suppressed(
            _withhold(published, mask), method="hierarchy", geography=_members()
        )
        not_exact = fill.cells.loc[~fill.cells["exact"]]
        if not_exact.empty:
            return mask
        key = published[["region_type", "region_id", "naics"]].astype(str).agg("|".join, axis=1)
        back = not_exact[["region_type", "region_id", "naics"]].astype(str).agg("|".join, axis=1)
        mask &= ~key.isin(set(back.iloc[: max(1, len(back) // 2)])).to_numpy()


def _panel(counts: pd.DataFrame, definitions: pd.DataFrame, suppressed: str) -> pd.DataFrame:
    six = counts.loc[counts["naics"].str.len() == 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unmapped industries: only 40 are in the fixture
        return build_panel(
            six.loc[six["region_type"] == "county"],
            definitions,
            region_type="county",
            national=six.loc[six["region_type"] == "nation"],
            suppressed=suppressed,
            growth=False,
        )


def _compare(panel: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    keys = ["region_id", "cluster_code"]
    return truth.merge(panel, on=keys, suffixes=("_truth", ""), validate="1:1")


def test_identified_cells_give_the_truths_lqs_and_flags(industries, definitions_2012):
    truth = _published(_truth(industries, seed=11), industries)
    mask = _identified_mask(truth, seed=12)
    assert mask.sum() >= 100  # a real test: >= 100 of the 915 cells withheld
    withheld = _withhold(truth, mask)
    assert (withheld["region_type"][mask] != "county").any()  # states and nation too

    fill = suppression.fill_suppressed(withheld, method="hierarchy", geography=_members())
    assert len(fill.cells) == mask.sum() and fill.cells["exact"].all()
    rules = set(fill.cells["rule"])
    assert rules == {"residual", "geography residual"}  # both kinds of constraint used
    got = fill.counts.set_index(["region_type", "region_id", "naics"])["emp"]
    want = truth.loc[truth["naics"].str.len() == 6].set_index(
        ["region_type", "region_id", "naics"]
    )["emp"]
    np.testing.assert_allclose(got.loc[want.index], want, rtol=1e-12)

    truth_panel = _panel(truth, definitions_2012, "none")
    filled_panel = _panel(fill.counts, definitions_2012, "none")
    merged = _compare(filled_panel, truth_panel)
    assert len(merged) == len(truth_panel) and merged["emp"].gt(0).sum() > 100
    np.testing.assert_allclose(merged["lq"], merged["lq_truth"], rtol=1e-6, atol=1e-12)
    for flag in FLAGS:
        assert (merged[flag] == merged[f"{flag}_truth"]).all(), flag
    assert merged["strong"].sum() > 5  # the flags are not all False

    # the USCM default keeps the midpoints: the LQs are off
    midpoints = _compare(_panel(withheld, definitions_2012, "uscm"), truth_panel)
    error = (midpoints["lq"] / midpoints["lq_truth"] - 1).abs()
    assert error.max() > 1e-2


def test_build_panel_hierarchy_option_uses_the_counties_own_lines(industries, definitions_2012):
    """build_panel(suppressed="hierarchy") fills counties from their own 4-digit lines (no
    geography): cells alone under their line are exact, as in the direct call."""
    truth = _published(_truth(industries, seed=21), industries)
    rng = np.random.default_rng(22)
    county_cells = truth["region_type"].eq("county") & truth["naics"].str.len().eq(6)
    # one withheld cell per county x 4-digit line at most: every one identified
    pick = (
        truth.loc[county_cells]
        .assign(parent=lambda f: f["naics"].str[:4], r=rng.random(county_cells.sum()))
        .sort_values("r")
        .drop_duplicates(["region_id", "parent"])
        .sample(frac=0.5, random_state=3)
        .index
    )
    mask = truth.index.isin(pick)
    withheld = _withhold(truth, mask)
    counties = withheld.loc[withheld["region_type"] == "county"]
    nation = truth.loc[(truth["region_type"] == "nation") & truth["naics"].str.len().eq(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = build_panel(
            counties, definitions_2012, region_type="county", national=nation,
            suppressed="hierarchy", growth=False,
        )  # fmt: skip
    merged = _compare(panel, _panel(truth, definitions_2012, "none"))
    np.testing.assert_allclose(merged["lq"], merged["lq_truth"], rtol=1e-6, atol=1e-12)
    for flag in FLAGS:
        assert (merged[flag] == merged[f"{flag}_truth"]).all(), flag
    report = pd.DataFrame(panel.attrs["suppression"])
    assert report["cells"].sum() == len(pick) and report["exact_cells"].sum() == len(pick)


def test_partly_identified_withholding(industries, definitions_2012):
    """Random CBP-style withholding (30%): exact cells equal the truth, the others stay in
    their size class, and every line still adds up unless a class bound binds."""
    truth = _published(_truth(industries, seed=31), industries)
    rng = np.random.default_rng(32)
    cell = truth["naics"].str.len().eq(6).to_numpy()
    mask = cell & (rng.random(len(truth)) < 0.3)
    fill = suppression.fill_suppressed(
        _withhold(truth, mask), method="hierarchy", geography=_members()
    )
    cells = fill.cells.merge(
        truth[["region_type", "region_id", "naics", "emp"]],
        on=["region_type", "region_id", "naics"],
        suffixes=("", "_truth"),
    )
    exact = cells.loc[cells["exact"]]
    allocated = cells.loc[cells["rule"] == "allocated"]
    assert len(exact) > 50 and len(allocated) > 10  # both regimes present
    np.testing.assert_allclose(exact["emp"], exact["emp_truth"], rtol=1e-12)
    assert (allocated["emp"] >= allocated["low"] - 1e-9).all()
    assert (allocated["emp"] <= allocated["high"] + 1e-9).all()
    # lines: each region's 4-digit line against the sum of its filled cells
    lines = truth.loc[~cell].set_index(["region_type", "region_id", "naics"])["emp"]
    sums = fill.counts.groupby(
        [fill.counts["region_type"], fill.counts["region_id"], fill.counts["naics"].str[:4]]
    )["emp"].sum()
    gap = (sums.loc[lines.index] / lines - 1).abs()
    assert (gap < 1e-9).mean() > 0.9  # the few that miss are lines where a bound binds
    # allocated values are closer to the truth than the midpoints they replace
    midpoint = allocated["emp_flag"].map(cbp.EMPFLAG_MIDPOINTS).astype(float)
    assert (allocated["emp"] - allocated["emp_truth"]).abs().sum() < (
        (midpoint - allocated["emp_truth"]).abs().sum()
    )
