"""Geography crosswalks on the real Census/OMB/BEA files, and the county-equivalent rules."""

from __future__ import annotations

import pandas as pd
import pytest

from clusteratlas.data import cbp, geo
from clusteratlas.errors import InputError
from clusteratlas.schema import REGION_MEMBERS, REGIONS

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def county_totals(shared_data):
    return cbp.read_setzler_county_total(shared_data / "cbp/setzler_CBP_county_total.csv.gz")


def test_state_names(shared_data):
    states = geo.state_names()
    assert list(states.columns) == list(REGIONS)
    assert len(states) == 52  # 50 states, DC, Puerto Rico
    names = states.set_index("region_id")["region_name"]
    assert names["06"] == "California" and names["11"] == "District of Columbia"
    assert set(states["region_id"]) == set(geo.STATE_POSTAL_TO_FIPS.values())


def test_county_cbsa(shared_data):
    members = geo.read_county_cbsa()
    assert list(members.columns) == list(REGION_MEMBERS)
    plain = geo.read_county_cbsa(connecticut_2022=False)
    assert len(plain) == 1916 and plain["region_id"].nunique() == 939  # OMB Bulletin 20-01
    assert len(members) == 1916 + 9  # + the CT planning regions, on their main county's CBSA
    cbsa_of = members.set_index("member_id")["region_id"]
    assert cbsa_of["09120"] == cbsa_of["09001"]  # Greater Bridgeport -> Bridgeport-Stamford
    assert not members["member_id"].duplicated().any()
    la = members[members["region_id"] == "31080"]["member_id"]
    assert set(la) == {"06037", "06059"}  # Los Angeles-Long Beach-Anaheim
    names = geo.cbsa_regions().set_index("region_id")["region_name"]
    assert names["31080"].startswith("Los Angeles")


def test_every_current_county_has_an_economic_area(shared_data):
    members = geo.read_county_ea()
    assert members["region_id"].nunique() == 179
    assert members["region_id"].str.fullmatch(r"EA\d{3}").all()
    counties = geo.county_names()
    current = {
        c for c in counties["region_id"] if not c.startswith("72")
    }  # EAs do not cover Puerto Rico
    assert current <= set(members["member_id"])
    ea_of = members.set_index("member_id")["region_id"]
    assert ea_of["12086"] == ea_of["12025"]  # Miami-Dade inherits Dade's EA


def test_bea_county_equivalents_sit_in_one_ea(shared_data):
    """Every BEA combined county's members are in the same EA in the BEA file itself."""
    raw = pd.read_csv(shared_data / "geo/bea_economic_areas_county_2004.csv", dtype=str)
    ea_of = raw.set_index("FIPS")["EA"]
    for combined, members in geo.BEA_COUNTY_EQUIVALENTS.items():
        present = [m for m in members if m in ea_of.index]
        assert len(present) == len(members), (combined, members)
        assert ea_of[present].nunique() == 1, combined


def test_merge_bea_county_equivalents_on_real_county_totals(county_totals):
    year = county_totals[county_totals["year"] == 2019]
    merged = geo.merge_bea_county_equivalents(year)
    emp = merged.set_index("region_id")["emp"]
    original = year.set_index("region_id")["emp"]
    assert emp["51901"] == original["51003"] + original["51540"]  # Albemarle + Charlottesville
    assert emp["55901"] == original["55078"] + original["55115"]
    assert "51540" not in emp.index
    assert merged["emp"].sum() == year["emp"].sum()
    assert (
        merged.groupby(merged["region_id"].str[:2])["est"]
        .sum()
        .equals(year.groupby(year["region_id"].str[:2])["est"].sum())
    )


def test_connecticut_planning_regions_warn_and_keep_state_total():
    # format fixture: the nine planning-region ids of CBP 2022 with made-up counts
    regions = list(geo.CT_PLANNING_REGION_TO_COUNTY)
    frame = pd.DataFrame(
        {
            "source": "cbp", "year": 2022, "region_type": "county", "region_id": regions,
            "naics": "total", "naics_vintage": 2017, "emp": range(100, 100 + 9 * 10, 10),
            "emp_reported": 0.0, "emp_flag": "", "est": 1.0, "ap": 0.0, "qp1": 0.0,
        }
    )  # fmt: skip
    with pytest.warns(UserWarning, match="do not nest"):
        remapped = geo.remap_connecticut(frame)
    assert remapped["emp"].sum() == frame["emp"].sum()
    assert set(remapped["region_id"]) <= {f"09{c:03d}" for c in range(1, 16, 2)}
    assert "09013" not in set(remapped["region_id"])  # Tolland gets no planning region
    fairfield = remapped.set_index("region_id").loc["09001", "emp"]
    assert fairfield == 110 + 180  # Greater Bridgeport + Western


def test_custom_regions(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text(
        "region_id,county_fips,region_name\nGulf,1097,Mobile\nGulf,01003,Baldwin\nN,01089,x\n"
    )
    members = geo.read_custom_regions(path)
    assert members["member_id"].tolist() == ["01097", "01003", "01089"]
    assert set(members["region_type"]) == {"custom"}
    path.write_text("region_id,county_fips\nGulf,01097\nGulf,01097\n")
    with pytest.raises(InputError, match="twice") as caught:
        geo.read_custom_regions(path)
    assert caught.value.line == 3
    path.write_text("region_id,county_fips\nGulf,Mobile\n")
    with pytest.raises(InputError, match="5-digit") as caught:
        geo.read_custom_regions(path)
    assert (caught.value.line, caught.value.column) == (2, "county_fips")
    path.write_text("region,county\nGulf,01097\n")
    with pytest.raises(InputError, match="region_id"):
        geo.read_custom_regions(path)


def test_county_to_state():
    members = geo.county_to_state(["1001", "06037"])
    assert members[["region_id", "member_id"]].values.tolist() == [["01", "01001"], ["06", "06037"]]
