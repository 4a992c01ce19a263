"""Human labels and number formats shared by the report and the dashboard (report/labels.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clusteratlas.report import labels
from clusteratlas.web import charts


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("emp", 48772.4, "48,772"),
        ("emp", 48772, "48,772"),
        ("emp_change", -1234.6, "−1,235"),
        ("wage", 53115.42, "$53,115"),
        ("lq", 3.973262, "3.97"),
        ("cluster_strength", 0.38712, "38.7%"),
        ("growth", 0.008391, "+0.8%"),
        ("growth", -0.01499, "−1.5%"),
        ("growth", 0.0004, "+0.04%"),  # never "+0.0%"
        ("growth", 0.0, "0.0%"),
        ("resilience", 0.807037, "+0.81"),
        ("resilience", -2.2, "−2.20"),
        ("p_value", 0.390439, "0.39"),
        ("p_value", 0.047091, "0.047"),
        ("p_value", 0.0004, "< 0.001"),
        ("p_value", 0.999, "1.00"),
        ("strong", True, "yes"),
        ("strong", np.bool_(False), "no"),
        ("region_id", "06037", "06037"),
        ("year", 2016.0, "2016"),
        ("cluster_code", 4, "4"),
        ("emp", None, "–"),
        ("lq", float("nan"), "–"),
        ("wage", pd.NA, "–"),
        ("reading", "regions_short", "regions short"),
        ("unknown_number", 1234567.0, "1,234,567"),
        ("unknown_number", 0.012345, "0.0123"),
    ],
)
def test_values_print_for_people(column, value, text):
    assert labels.cell(column, value) == text


def test_labels_never_leave_a_raw_name():
    for column in [*labels.LABELS, "emp_per_est", "some_new_column", "x"]:
        shown = labels.label(column)
        assert not labels.is_snake_case(shown), (column, shown)
    assert labels.label("boot_p_value") == "Wild bootstrap p"
    assert labels.label("emp_per_est") == "Emp per est"
    assert labels.is_snake_case("se_type") and not labels.is_snake_case("Std. error")


def test_not_measured_and_intervals():
    assert labels.not_measured("exports by state") == "not measured: needs exports by state"
    assert labels.not_measured("") == "not measured"
    assert labels.ci(-0.011, 0.028) == "−1.1% to +2.8%"
    assert labels.ci(float("nan"), 0.1) == "–"


def test_formatted_frame_has_labels_and_no_raw_values():
    frame = pd.DataFrame(
        {
            "cluster_name": ["Automotive", None],
            "emp": [48772.0, math.nan],
            "strong": [True, False],
            "boot_p_value": [0.39, np.nan],
        }
    )
    shown = labels.formatted(frame)
    assert list(shown.columns) == ["Cluster", "Employment", "Strong", "Wild bootstrap p"]
    assert shown.iloc[0].tolist() == ["Automotive", "48,772", "yes", "0.39"]
    assert shown.iloc[1].tolist() == ["–", "–", "no", "–"]


def test_the_dashboard_prints_numbers_as_the_report():
    for value in (48772.4, 0.0123, 3.97, True, None, float("nan"), "x"):
        assert charts.fmt(value) == labels.general(value)


def test_nice_ticks_are_round_and_inside():
    ticks = charts.nice_ticks(-0.022, 0.009)
    assert ticks == pytest.approx([-0.02, -0.01, 0.0])
    assert all(-0.022 <= t <= 0.009 for t in ticks)
    assert charts.nice_ticks(16338, 99328) == [20000, 40000, 60000, 80000]
