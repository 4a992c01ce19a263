"""The catalog recognises input files by content: renamed and re-foldered files are still found."""

from __future__ import annotations

import gzip
import os

import pytest

from clusteratlas.data import catalog, inputs
from clusteratlas.errors import DataUnavailableError
from clusteratlas.store import file_sha256

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def renamed(shared_data, tmp_path_factory):
    """Every shared file linked under a meaningless name in a flat or nested folder, as a
    browser's downloads folder would hold them."""
    folder = tmp_path_factory.mktemp("downloads")
    links = {}
    for i, path in enumerate(sorted(p for p in shared_data.rglob("*") if p.is_file())):
        suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
        target = folder / ("sub" if i % 3 == 0 else ".") / f"download ({i}){suffix}"
        target.parent.mkdir(exist_ok=True)
        os.symlink(path, target)
        links[path.relative_to(shared_data).as_posix()] = target
    return folder, links


def test_every_known_file_is_found_by_content(renamed, shared_data):
    folder, links = renamed
    found = catalog.Catalog(folder)
    for key, entry in catalog.KNOWN.items():
        if catalog.KINDS[entry.of_kind].many:
            # one file of a many-file kind: every file of the kind is listed
            assert links[entry.relative] in found.files(entry.of_kind), key
            continue
        path = found.path(key)
        assert file_sha256(path) == file_sha256(shared_data / entry.relative), key


def test_inventory_lists_unrecognised_files_and_kinds(renamed):
    folder, _ = renamed
    inventory = catalog.Catalog(folder).inventory()
    kinds = inventory.groupby("kind").size()
    assert kinds["laus_county"] == 4 and kinds["usatrade"] == 2
    unknown = inventory.loc[inventory["kind"] == ""]
    # PROVENANCE.md, two ACR1 workbooks and two legacy .xls: listed, not used
    assert len(unknown) == 5
    assert (unknown["holds"] == "not recognised (not used)").all()


def test_a_file_is_recognised_by_its_header_not_its_name(tmp_path, shared_data):
    # the national 6-digit file saved under the name of the state totals: still national
    source = shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    fake = tmp_path / "cbp" / "setzler_CBP_state_total.csv"
    fake.parent.mkdir()
    fake.write_bytes(source.read_bytes())
    found = catalog.Catalog(tmp_path)
    assert catalog.recognise(fake) == "national_industry"
    assert found.find("state_total") is None
    assert found.path("national_industry") == fake
    with pytest.raises(DataUnavailableError, match="CBP state totals"):
        found.path("state_total")
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    assert catalog.recognise(gz) == "national_industry"


def test_loaders_read_a_renamed_folder_like_the_shared_one(renamed, shared_data):
    folder, _ = renamed
    mine, shared = catalog.Catalog(folder), catalog.Catalog(shared_data)
    # the USCM definitions are read under other names through a temporary folder of links
    for vintage in (2007, 2012, 2017):
        a = inputs.uscm_definitions(mine, vintage)
        b = inputs.uscm_definitions(shared, vintage)
        assert a.equals(b)
    assert inputs.outcome_years(mine, "county") == inputs.outcome_years(shared, "county")
    kinds = {(s.kind, s.region_type, s.levels) for s in inputs.region_count_sources(mine)}
    assert kinds == {
        ("uscm_state_2016", "state", True),
        ("cbp_state_countysum", "state", False),
        ("cbp_cbsa_naics", "msa", True),
    }
