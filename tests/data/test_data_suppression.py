"""Filling withheld CBP cells (clusteratlas.data.suppression).

Real data: the national CBP 2016 6-digit file in ../shared/data and its 4-digit lines
(tests/data/cbp_national_naics4_2016.csv, provenance in tests/data/fixtures.md). The small
frames built by hand below are SYNTHETIC and test the rules' mechanics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusteratlas.data import cbp, suppression
from clusteratlas.data.clusters import load_definition
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import INDUSTRY_COUNTS

PARENTS_2016 = Path(__file__).with_name("cbp_national_naics4_2016.csv")


@pytest.fixture(scope="module")
def national_2016(shared_data) -> pd.DataFrame:
    frame = cbp.read_setzler_national_industry(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    )
    return frame.loc[frame["year"] == 2016].reset_index(drop=True)


@pytest.fixture(scope="module")
def parents_2016() -> pd.DataFrame:
    return suppression.read_setzler_national_parents(PARENTS_2016)


def _children_sums(national: pd.DataFrame) -> pd.DataFrame:
    """Independent: 6-digit published employment/establishments per 4-digit prefix."""
    frame = national.assign(
        prefix=national["naics"].str[:4],
        withheld=national["emp_flag"].eq("D"),
        published=national["emp"].where(~national["emp_flag"].eq("D"), 0.0),
    )
    return frame.groupby("prefix").agg(
        emp=("published", "sum"), est=("est", "sum"), withheld=("withheld", "sum")
    )


@pytest.mark.realdata
def test_parent_lines_add_up_to_their_children(national_2016, parents_2016):
    """The identity the residual rule rests on: every 2016 national 4-digit line without a
    withheld child equals the sum of its 6-digit lines, to the job and the establishment."""
    assert len(parents_2016) == 289 and list(parents_2016.columns) == list(INDUSTRY_COUNTS)
    sums = _children_sums(national_2016)
    lines = parents_2016.set_index("naics")[["emp", "est"]]
    assert set(lines.index) == set(sums.index)
    both = lines.merge(sums, left_index=True, right_index=True, suffixes=("", "_children"))
    complete = both.loc[both["withheld"] == 0]
    assert len(complete) == 287
    assert (complete["emp"] == complete["emp_children"]).all()
    assert (complete["est"] == complete["est_children"]).all()
    gaps = (both["emp"] - both["emp_children"]).loc[both["withheld"] > 0]
    assert gaps.to_dict() == {"3352": 7264.0, "5221": 2490.0}  # computed, not assumed


@pytest.mark.realdata
def test_uscm_rule_on_the_2016_national_file(national_2016, parents_2016):
    fill = suppression.fill_suppressed(national_2016, parents=parents_2016)
    assert fill.method == "uscm" and len(fill.counts) == len(national_2016) == 978
    cells = fill.cells.set_index("naics")
    sums = _children_sums(national_2016)
    residual = parents_2016.set_index("naics")["emp"] - sums["emp"]
    # 335224: only withheld industry of 33522, which has three published siblings: residual
    assert cells.loc["335224", "rule"] == "residual"
    assert cells.loc["335224", "emp"] == residual["3352"]
    # 522190: the only 6-digit industry of 52219, so CBP withholds 52219 too: the midpoint of
    # the size class its residual falls in (2,490 -> G, 1,000-2,499 -> 1,750)
    assert cells.loc["522190", "rule"] == "midpoint, class from residual"
    assert cells.loc["522190", "residual"] == residual["5221"]
    assert cells.loc["522190", "emp"] == cbp.EMPFLAG_MIDPOINTS["G"]
    filled = fill.counts.set_index("naics")
    assert filled.loc["335224", "emp_reported"] == 0  # wages stay on published jobs
    untouched = ~national_2016["naics"].isin(["335224", "522190"])
    np.testing.assert_array_equal(
        fill.counts.loc[untouched.to_numpy(), "emp"], national_2016.loc[untouched, "emp"]
    )


@pytest.mark.realdata
def test_hierarchy_and_none_on_the_2016_national_file(national_2016, parents_2016):
    fill = suppression.fill_suppressed(national_2016, parents=parents_2016, method="hierarchy")
    cells = fill.cells.set_index("naics")
    assert cells["rule"].eq("residual").all() and cells["exact"].all()
    assert cells.loc["522190", "emp"] == 2490 and cells.loc["335224", "emp"] == 7264
    # the whole national file now adds up to its 4-digit lines
    sums = fill.counts.groupby(fill.counts["naics"].str[:4])["emp"].sum()
    np.testing.assert_array_equal(
        sums.sort_index(), parents_2016.set_index("naics")["emp"].sort_index()
    )

    none = suppression.fill_suppressed(national_2016, parents=parents_2016, method="none")
    assert none.cells["rule"].eq("unfilled").all() and none.cells["emp"].eq(0).all()
    pd.testing.assert_frame_equal(none.counts, national_2016)


@pytest.mark.realdata
def test_without_parent_lines_the_cells_stay_unfilled(national_2016, shared_data):
    fill = suppression.fill_suppressed(national_2016)
    assert len(fill.unfilled) == 2 and fill.unfilled["emp"].eq(0).all()
    definitions = load_definition("uscm", naics_vintage=2012)
    text = suppression.describe(fill, definitions)
    assert "2 left at 0" in text and "335224 2016" in text


@pytest.mark.realdata
def test_report_per_cluster(national_2016, parents_2016, shared_data):
    """Cells and jobs imputed per cluster, against a recount by hand."""
    definitions = load_definition("uscm", naics_vintage=2012)
    fill = suppression.fill_suppressed(national_2016, parents=parents_2016)
    report = fill.by_cluster(definitions).set_index("cluster_code")
    lookup = definitions.set_index("naics")["cluster_code"]
    assert lookup["335224"] == "44" and lookup["522190"] == "16"
    assert report.loc["44", ["cells", "jobs", "exact_cells", "exact_jobs"]].tolist() == [
        1,
        7264.0,
        1,
        7264.0,
    ]
    assert report.loc["16", ["cells", "jobs", "exact_cells"]].tolist() == [1, 1750.0, 0]
    summary = fill.summary().set_index("rule")
    assert summary["jobs"].sum() == 9014 and summary["cells"].sum() == 2
    assert "cluster 44 7,264" in suppression.describe(fill, definitions)


# -------------------------------------------------------------------------------------------
# SYNTHETIC frames: the mechanics of each rule
# -------------------------------------------------------------------------------------------
def _rows(region: str, lines: dict[str, tuple[float, str, float]]) -> pd.DataFrame:
    """SYNTHETIC INDUSTRY_COUNTS rows: naics -> (emp as read, emp_flag, emp_reported)."""
    return pd.DataFrame(
        [
            {
                "source": "synthetic",
                "year": 2016,
                "region_type": "state",
                "region_id": region,
                "naics": naics,
                "naics_vintage": 2012,
                "emp": emp,
                "emp_reported": reported,
                "emp_flag": flag,
                "est": 5.0,
                "ap": 0.0,
                "qp1": 0.0,
            }
            for naics, (emp, flag, reported) in lines.items()
        ]
    ).astype(INDUSTRY_COUNTS)


def test_size_classes_and_noise_flags_are_told_apart():
    """A midpoint put in by the reader (class letter, nothing reported) is withheld; a
    published zero with the noise flag G is not; a 'D' cell without a class is."""
    frame = _rows(
        "01",
        {
            "111111": (1750.0, "G", 0.0),  # withheld, class G, midpoint already in emp
            "111112": (0.0, "G", 0.0),  # published 0 with low noise
            "111113": (0.0, "D", 0.0),  # withheld, no class
            "111114": (40.0, "H", 40.0),  # published with moderate noise
        },
    )
    assert suppression.withheld_count(frame) == 2
    fill = suppression.fill_suppressed(frame)
    cells = fill.cells.set_index("naics")
    assert set(cells.index) == {"111111", "111113"}
    assert cells.loc["111111", "rule"] == "midpoint" and cells.loc["111111", "emp"] == 1750
    assert (cells.loc["111111", ["low", "high"]] == [1000, 2499]).all()
    assert cells.loc["111113", "rule"] == "unfilled"


def test_state_cells_keep_midpoints_under_uscm_but_not_under_hierarchy():
    """USCM overrides national cells only; the hierarchy method uses the state's own line."""
    frame = _rows(
        "01",
        {
            "3352": (1000.0, "", 1000.0),  # a parent line (4 digits)
            "335221": (400.0, "", 400.0),
            "335224": (375.0, "E", 0.0),  # withheld, class E (250-499); the line says 400
            "335228": (200.0, "", 200.0),
        },
    )
    uscm = suppression.fill_suppressed(frame).cells.set_index("naics")
    assert uscm.loc["335224", "emp"] == 375 and uscm.loc["335224", "rule"] == "midpoint"
    assert uscm.loc["335224", "residual"] == 400  # identified, but USCM kept the midpoint
    hier = suppression.fill_suppressed(frame, method="hierarchy").cells.set_index("naics")
    assert hier.loc["335224", "emp"] == 400 and hier.loc["335224", "rule"] == "residual"


def test_allocation_shares_a_residual_within_the_size_classes():
    """Two withheld cells under one line: not identified, so the residual (900) is shared in
    proportion to the class midpoints, each kept inside its class, summing to the line."""
    frame = _rows(
        "01",
        {
            "3352": (1000.0, "", 1000.0),
            "335221": (100.0, "", 100.0),
            "335222": (175.0, "C", 0.0),  # 100-249
            "335224": (750.0, "F", 0.0),  # 500-999
        },
    )
    fill = suppression.fill_suppressed(frame, method="hierarchy")
    cells = fill.cells.set_index("naics")
    assert cells["rule"].eq("allocated").all() and not cells["exact"].any()
    assert cells["emp"].sum() == pytest.approx(900.0, abs=1e-6)
    assert (cells["emp"] >= cells["low"] - 1e-9).all() and (cells["emp"] <= cells["high"]).all()
    # unconstrained shares would be 900 x 175/925 = 170.3 and 729.7: both inside their class
    assert cells.loc["335222", "emp"] == pytest.approx(900 * 175 / 925, rel=1e-9)

    # a residual too large for the classes: the bounds win (C at 249, F at 999)
    frame.loc[frame["naics"] == "3352", "emp"] = 2000.0
    capped = suppression.fill_suppressed(frame, method="hierarchy").cells.set_index("naics")
    assert capped.loc["335222", "emp"] == 249 and capped.loc["335224", "emp"] == 999


def test_geography_identifies_what_the_industry_lines_cannot():
    """Two withheld cells under a state's line; the nation's cell minus the other state's
    gives one of them, and then the line gives the other (propagation)."""
    a = _rows(
        "01",
        {"3352": (1000.0, "", 1000.0), "335221": (0.0, "D", 0.0), "335222": (0.0, "D", 0.0)},
    )
    b = _rows("02", {"335221": (50.0, "", 50.0), "335222": (70.0, "", 70.0)})
    nation = _rows("US", {"335221": (650.0, "", 650.0), "335222": (470.0, "", 470.0)})
    nation["region_type"] = "nation"
    counts = pd.concat([a, b, nation], ignore_index=True)
    members = pd.DataFrame(
        {
            "region_type": "nation",
            "region_id": "US",
            "member_type": "state",
            "member_id": ["01", "02"],
        }
    )
    fill = suppression.fill_suppressed(counts, method="hierarchy", geography=members)
    cells = fill.cells.set_index("naics")
    assert cells.loc["335221", "emp"] == 600 and cells.loc["335222", "emp"] == 400
    assert cells["exact"].all()
    assert set(cells["rule"]) <= {"residual", "geography residual"}


def test_bad_arguments_are_named(tmp_path):
    frame = _rows("01", {"111111": (1.0, "", 1.0)})
    with pytest.raises(ParameterError, match="method"):
        suppression.fill_suppressed(frame, method="midpoints")
    with pytest.raises(ParameterError, match="geography"):
        suppression.fill_suppressed(frame, geography=pd.DataFrame())
    with pytest.raises(InputError, match="lack column"):
        suppression.fill_suppressed(frame.drop(columns="emp"))
    six = tmp_path / "six.csv"
    six.write_text(
        '"naics","employment_march","establishments","payroll_quarter1","year"\n'
        '"3352",10,1,1000,2016\n"335224",5,1,500,2016\n'
    )
    with pytest.raises(InputError, match="2- to 5-digit") as error:
        suppression.read_setzler_national_parents(six)
    assert error.value.line == 3
