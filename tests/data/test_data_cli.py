"""``clusteratlas load ...`` end to end on the real files, into a temporary store."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from clusteratlas.cli import app
from clusteratlas.store import Store

pytestmark = pytest.mark.realdata
runner = CliRunner()


def test_load_everything_twice(shared_data, tmp_path):
    store = tmp_path / "atlas.duckdb"
    cbp_files = [
        shared_data / "cbp/setzler_CBP_national_industry6.csv",
        shared_data / "cbp/setzler_CBP_state_total.csv",
        shared_data / "cbp/setzler_CBP_national_total.csv",
        shared_data / "cbp/modelearth_cbpapi_state_naics6_AL_2021.csv",
    ]
    commands = [
        ["load", "cbp", *map(str, cbp_files)],
        ["load", "clusters"],
        ["load", "geo"],
        ["load", "uscm", str(shared_data / "clusters/uscm_state_cluster_2016_inputs.csv.gz")],
    ]
    for command in commands:
        result = runner.invoke(app, [*command, "--store", str(store)])
        assert result.exit_code == 0, result.output
    with Store(store) as db:
        before = {name: len(db.read(name)) for name in db.tables()}
    assert before["industry_counts"] == 21_716 + 796
    assert before["region_totals"] == 1_071 + 21
    assert before["cluster_definitions"] == 1082 + 1092 + 1088 + 978 + 970
    assert before["uscm_reference"] == 3350
    for command in commands:  # idempotent: nothing is added or duplicated
        assert runner.invoke(app, [*command, "--store", str(store)]).exit_code == 0
    with Store(store) as db:
        assert {name: len(db.read(name)) for name in db.tables()} == before
        us = db.sql(
            "select emp, est from region_totals where region_id = 'US' and year = 2021"
        ).to_dict("records")
    assert us == [{"emp": 128_346_299.0, "est": 8_148_606.0}]


def test_bad_file_gives_a_one_line_error(tmp_path):
    bad = tmp_path / "cbp16st.txt"
    bad.write_text("fipstate\tnaics\temp\n01\t113310\t5\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "clusteratlas.cli",
            "load",
            "cbp",
            str(bad),
            "--store",
            str(tmp_path / "s.duckdb"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "cbp16st.txt" in result.stderr and "line 1" in result.stderr and "'\\t'" in result.stderr
    assert "Traceback" not in result.stderr
