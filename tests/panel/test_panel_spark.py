"""The same Ibis expressions on PySpark (local mode) and DuckDB give the same panel (real data)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clusteratlas.panel import build_panel, panel_from_uscm
from clusteratlas.panel.build import connect

pytestmark = [pytest.mark.spark, pytest.mark.realdata, pytest.mark.slow]

NUMERIC = [
    "emp",
    "emp_reported",
    "est",
    "ap",
    "qp1",
    "wage",
    "lq",
    "region_share",
    "national_share",
    "emp_region_group",
    "emp_national",
]
FLAGS = ["qualifying", "significant", "strong", "strong10"]


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    con = connect("spark")
    yield con
    con._session.stop()


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = ["region_type", "region_id", "year", "cluster_code"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    assert a[key].equals(b[key])
    for column in NUMERIC:
        np.testing.assert_allclose(
            a[column].astype(float),
            b[column].astype(float),
            rtol=1e-9,
            atol=1e-9,
            equal_nan=True,
            err_msg=column,
        )
    for column in FLAGS:
        assert (a[column] == b[column]).all(), column


def test_uscm_states_2016_same_on_spark(spark, uscm_2016, national_2016, definitions_2012):
    """All 50 states (the flags need the whole pool) x 12 clusters: quantiles must agree too."""
    subset = uscm_2016.loc[
        uscm_2016["cluster_code"].isin(
            [str(c) for c in (1, 4, 6, 10, 17, 20, 31, 35, 44, 101, 103, 115)]
        )
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        duck = panel_from_uscm(subset, national_2016, definitions_2012, growth=False)
        sp = panel_from_uscm(
            subset, national_2016, definitions_2012, growth=False, connection=spark
        )
    assert duck["strong"].sum() > 30
    _assert_same(duck, sp)


def test_build_panel_with_growth_same_on_spark(spark, national_panel_years, definitions_2012):
    """6-digit aggregation, LQ and the growth windows (lag over years), national 2015-2016."""
    two = national_panel_years.loc[national_panel_years["year"] >= 2015]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        duck = build_panel(two, definitions_2012, region_type="nation", national=two)
        sp = build_panel(
            two, definitions_2012, region_type="nation", national=two, connection=spark
        )
    _assert_same(duck, sp)
    for column in ["emp_change", "emp_growth", "expected_emp_change", "lq_change"]:
        np.testing.assert_allclose(
            duck[column], sp[column], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=column
        )
    assert duck["emp_growth"].notna().sum() == 67


def test_selected_metrics_same_on_spark(spark, national_panel_years, definitions_2012):
    """--metrics on Spark: the same columns and values as on DuckDB, growth windows included."""
    two = national_panel_years.loc[national_panel_years["year"] >= 2015]
    for metrics in ("lq,strong", "national_share,wage,growth"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            duck = build_panel(
                two, definitions_2012, region_type="nation", national=two, metrics=metrics
            )
            sp = build_panel(
                two, definitions_2012, region_type="nation", national=two, metrics=metrics,
                connection=spark,
            )  # fmt: skip
        assert list(sp.columns) == list(duck.columns), metrics
        pd.testing.assert_frame_equal(sp, duck, check_exact=False, rtol=1e-9, atol=1e-9)
