"""Cluster definitions: USCM benchmark (real files) and user definitions (small CSVs written here)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clusteratlas.data import cbp, clusters
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import CLUSTER_DEFINITIONS

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def national(shared_data):
    return cbp.read_setzler_national_industry(
        shared_data / "cbp/setzler_CBP_national_industry6.csv"
    )


@pytest.mark.parametrize(
    ("year", "vintage"),
    [(1998, 1997), (2002, 1997), (2003, 2002), (2007, 2002), (2008, 2007), (2012, 2007),
     (2013, 2012), (2016, 2012), (2017, 2017), (2022, 2017)],
)  # fmt: skip
def test_naics_vintage_for_year_follows_the_uscm_table(year, vintage):
    assert clusters.naics_vintage_for_year(year) == vintage


def test_census_vintage_differs_from_uscm_only_in_2012():
    differ = [
        y
        for y in range(1998, 2023)
        if clusters.census_naics_vintage(y) != clusters.naics_vintage_for_year(y)
    ]
    assert differ == [2012]
    with pytest.raises(ParameterError, match="1998"):
        clusters.naics_vintage_for_year(1990)


@pytest.mark.parametrize("vintage", clusters.USCM_VINTAGES)
def test_uscm_definition_shape(shared_data, vintage):
    frame = clusters.load_definition("uscm", naics_vintage=vintage)
    assert list(frame.columns) == list(CLUSTER_DEFINITIONS)
    assert frame.dtypes.astype(str).to_dict() == CLUSTER_DEFINITIONS
    # 51 traded + 16 local clusters (Delgado, Porter & Stern 2016)
    codes = frame.drop_duplicates("cluster_code")
    assert codes["traded"].sum() == 51 and (~codes["traded"]).sum() == 16
    assert set(codes.loc[codes["traded"], "cluster_code"]) == {str(i) for i in range(1, 52)}
    assert set(codes.loc[~codes["traded"], "cluster_code"]) == {str(i) for i in range(101, 117)}
    assert frame["naics"].str.fullmatch(r"\d{6}").all()
    assert not frame.duplicated("naics").any()


@pytest.mark.parametrize(
    ("year", "definition_vintage", "codes"),
    [
        (2001, 1997, 1082),
        (2005, 2002, 1092),
        (2010, 2007, 1088),
        (2016, 2012, 978),
        (2021, 2017, 970),
    ],
)
def test_every_national_cbp_industry_is_mapped(national, year, definition_vintage, codes):
    """Real CBP 6-digit universe of each vintage is covered exactly by the USCM definition."""
    year_rows = national[national["year"] == year]
    assert len(year_rows) == codes
    coverage = clusters.cluster_coverage(
        year_rows, clusters.load_definition("uscm", definition_vintage)
    )
    assert len(coverage.unmapped) == 0
    assert coverage.mapped["naics"].nunique() == codes


def test_setzler_2016_has_978_codes_all_mapped_by_2012_definition(national):
    year_rows = national[national["year"] == 2016]
    assert year_rows["naics"].nunique() == 978
    coverage = clusters.cluster_coverage(year_rows, clusters.load_definition("uscm", 2012))
    assert coverage.unmapped.empty
    assert coverage.mapped["emp"].sum() == year_rows["emp"].sum()


def test_alabama_2021_every_industry_accounted_for(shared_data):
    counts = cbp.read_cbp_api_csv(shared_data / "cbp/modelearth_cbpapi_state_naics6_AL_2021.csv")
    raw = pd.read_csv(shared_data / "cbp/modelearth_cbpapi_state_naics6_AL_2021.csv")
    coverage = clusters.cluster_coverage(counts, clusters.load_definition("uscm", 2017))
    assert len(coverage.mapped) + len(coverage.unmapped) == len(raw) == 796
    assert coverage.mapped["emp"].sum() + coverage.unmapped["emp"].sum() == raw["Employees"].sum()
    assert raw["Employees"].sum() == 1_705_695
    summary = coverage.summary()
    assert summary.loc["mapped", "industries"] + summary.loc["unmapped", "industries"] == 796


def test_coverage_refuses_a_definition_of_another_vintage(national):
    with pytest.raises(ParameterError, match="vintage"):
        clusters.cluster_coverage(
            national[national["year"] == 2021], clusters.load_definition("uscm", 2012)
        )


def test_census_concordance_reproduces_the_2017_definition(shared_data):
    """Independent derivation: 2012 definition x Census 2012->2017 concordance = shipped 2017 file."""
    concordance = clusters.read_naics_2012_2017()
    assert len(concordance) == 1069 and concordance["naics2017"].nunique() == 1057
    derived, problems = clusters.crosswalk_definition(
        clusters.load_definition("uscm", 2012), concordance
    )
    assert (problems["reason"] == "ambiguous").sum() == 0
    assert (problems["reason"] == "unmapped").sum() == 87
    shipped = clusters.load_definition("uscm", 2017)
    merged = derived.merge(shipped, on="naics", suffixes=("", "_shipped"), validate="one_to_one")
    assert len(merged) == len(shipped) == len(derived) == 970
    for column in ("cluster_code", "cluster_name", "traded", "subcluster_code"):
        ours = merged[column].astype("string").fillna("")
        assert (ours == merged[f"{column}_shipped"].astype("string").fillna("")).all(), column
    unmapped = set(problems["naics2017"])
    assert {"814110", "541120", "491110"} <= unmapped  # households, notaries, postal service


def test_2012_csv_agrees_with_the_clustermapping_api_dump(shared_data):
    """The derived 2012 CSV and the raw API JSON put every industry in the same cluster."""
    records = json.loads(
        (shared_data / "clusters/clustermapping_api_clusterLib_2015.json").read_text()
    )["clusters"]
    from_json = {code: str(r["cluster_code_t"]) for r in records for code in r["naics_2012"]}
    csv = clusters.load_definition("uscm", 2012)
    assert dict(zip(csv["naics"], csv["cluster_code"], strict=True)) == from_json


def test_related_pairs(shared_data):
    pairs = clusters.read_related_pairs()
    assert len(pairs) == 51 * 50  # ordered pairs of distinct traded clusters
    assert not pairs.duplicated(["cluster_code", "related_cluster_code"]).any()
    percentiles = [
        "relatedness_pct",
        "colocation_emp_pct",
        "colocation_est_pct",
        "io_pct",
        "occupation_pct",
    ]
    assert pairs[percentiles].notna().all().all()
    assert pairs[percentiles].apply(lambda s: s.between(0, 100)).all().all()
    # cross-check with the clusterLib list of the 2015 API dump (an earlier release than the
    # 2016 pairs file): the related_90 pairs agree at least 95%, and the ones that changed sit
    # just below the 90th-percentile cut in the 2016 release
    lib = pd.read_csv(shared_data / "clusters/related_clusters_clusterLib.csv", dtype=str)
    lib90 = lib[lib["related_90"] == "1"]
    merged = lib90.merge(pairs, on=["cluster_code", "related_cluster_code"], how="left")
    assert merged["related"].notna().all()
    assert merged["related"].mean() >= 0.95
    assert (merged.loc[~merged["related"].astype(bool), "relatedness_pct"] >= 85).all()
    apparel_printing = pairs[
        (pairs["cluster_code"] == "3") & (pairs["related_cluster_code"] == "39")
    ].iloc[0]
    assert apparel_printing["related"] and apparel_printing["io_pct"] == 99


# -- user definitions (small CSVs written by the test; not real data) ------------------------------
def _write(tmp_path, text):
    path = tmp_path / "my_clusters.csv"
    path.write_text(text)
    return path


def test_user_definition_any_country_codes(tmp_path):
    path = _write(
        tmp_path,
        "industry,cluster_code,cluster_name,traded,subcluster_name\n"
        "C10.1,FOOD,Food processing,traded,Meat\n"
        "C10.5,FOOD,Food processing,traded,Dairy\n"
        "G47,RETAIL,Local retail,local,\n",
    )
    frame = clusters.read_definition_csv(path, naics_vintage=0)
    assert list(frame.columns) == list(CLUSTER_DEFINITIONS)
    assert frame["definition"].unique().tolist() == ["my_clusters"]
    assert frame["traded"].tolist() == [True, True, False]
    assert frame["naics"].tolist() == ["C10.1", "C10.5", "G47"]
    assert frame["subcluster_name"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("naics,cluster_code\n111110,1\n", 1, "cluster_name", "missing column"),
        ("naics,cluster_code,cluster_name\n111110,1,A\n111110,2,B\n", 3, "naics", "more than once"),
        (
            "naics,cluster_code,cluster_name\n111110,1,A\n111120,1,B\n",
            3,
            "cluster_name",
            "more than one",
        ),
        (
            "naics,cluster_code,cluster_name,traded\n111110,1,A,1\n111120,1,A,0\n",
            3,
            "traded",
            "more than one",
        ),
        (
            "naics,cluster_code,cluster_name,traded\n111110,1,A,maybe\n",
            2,
            "traded",
            "traded must be",
        ),
        ("naics,cluster_code,cluster_name\n111110,,A\n", 2, "cluster_code", "empty"),
        (
            "naics,cluster_code,cluster_name,naics_vintage\n111110,1,A,x\n",
            2,
            "naics_vintage",
            "year",
        ),
    ],
)
def test_user_definition_errors_name_file_line_column(tmp_path, text, line, column, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=message) as caught:
        clusters.read_definition_csv(path, naics_vintage=2017)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert caught.value.column == column


def test_user_definition_needs_a_vintage(tmp_path):
    path = _write(tmp_path, "naics,cluster_code,cluster_name\n111110,1,A\n")
    with pytest.raises(ParameterError, match="naics_vintage"):
        clusters.read_definition_csv(path)


def test_unknown_uscm_vintage():
    with pytest.raises(ParameterError, match="2022"):
        clusters.load_definition("uscm", naics_vintage=2022)


def test_definitions_for_a_multi_vintage_panel(national):
    """2010-2021 national counts span NAICS 2007, 2012 and 2017: every row finds its cluster."""
    panel = national[national["year"] >= 2010]
    definitions = clusters.load_definitions_for(panel)
    assert sorted(definitions["naics_vintage"].unique()) == [2007, 2012, 2017]
    coverage = clusters.cluster_coverage(panel, definitions)
    assert coverage.unmapped.empty and len(coverage.mapped) == len(panel)
