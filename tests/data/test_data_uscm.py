"""USCM download reader on the real clustermapping.us 2016 state file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from clusteratlas.data import uscm
from clusteratlas.errors import InputError

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def frame(shared_data):
    return uscm.read_uscm(shared_data / "clusters/uscm_state_cluster_2016_inputs.csv.gz")


def test_shape_and_names(frame):
    assert list(frame.columns) == uscm.COLUMNS
    assert len(frame) == 3350 and frame["region_id"].nunique() == 50
    assert set(frame["region_type"]) == {"state"} and set(frame["year"]) == {2016}
    assert frame.loc[frame["region_id"] == "01", "region_name"].iloc[0] == "Alabama"
    assert frame["traded"].sum() == 51 * 50


def test_wage_is_payroll_over_reported_employment(frame):
    """USCM's rule (naics_reducer.js): private_wage = ap x 1000 / emp_reported."""
    published = frame["emp_reported"] > 0
    recomputed = frame.loc[published, "ap"] * 1000 / frame.loc[published, "emp_reported"]
    assert np.allclose(recomputed, frame.loc[published, "wage"], rtol=1e-6)
    assert frame.loc[~published, "wage"].isna().all()  # USCM prints 0: not a wage
    assert (frame["emp"] >= frame["emp_reported"]).all()  # imputed employment only adds


def test_region_codes_are_translated(tmp_path):
    text = (
        "cluster_code_t,cluster_name_t,traded_b,year_t,region_type_t,region_code_t,region_name_t,emp_tl\n"
        "1,Aerospace,TRUE,2016,economic,57094,Some EA,10\n"
        "1,Aerospace,TRUE,2016,country,98,United States,20\n"
        "1,Aerospace,TRUE,2016,county,1001,Autauga,5\n"
    )
    path = tmp_path / "uscm.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    frame = uscm.read_uscm(path)
    assert frame["region_id"].tolist() == ["EA094", "US", "01001"]
    assert frame["region_type"].tolist() == ["economic_area", "nation", "county"]
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("economic", "galaxy"))
    with pytest.raises(InputError, match="galaxy") as caught:
        uscm.read_uscm(bad)
    assert (caught.value.line, caught.value.column) == (2, "region_type_t")
