"""CBP flat-file readers on FORMAT FIXTURES.

No raw CBP flat file is in the shared data, so these tests write small files that mimic the
record layouts Census documents (county layout 1998-2006, noise layout 2007-2016, 2018 on;
``lfo`` in US files from 2008 and state files from 2010; ``empflag`` dropped in 2018; header
case varies by year). The numbers in them are made up for the format test, not real data.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from clusteratlas.data import cbp
from clusteratlas.errors import InputError, ParameterError
from clusteratlas.schema import INDUSTRY_COUNTS

# 2016 state layout: lfo, EMPFLAG size class and noise flags, aggregates, total line.
STATE_2016 = """fipstate,naics,lfo,empflag,emp_nf,emp,qp1_nf,qp1,ap_nf,ap,est,n1_4,n5_9
01,------,-,,G,1600000,G,15000000,G,62000000,99000,50000,20000
01,------,C,,G,900000,G,9000000,G,38000000,40000,20000,9000
01,11----,-,,G,9000,G,80000,G,350000,1200,800,200
01,1133//,-,,G,3000,G,30000,G,120000,400,300,50
01,113310,-,,G,3664,H,40000,G,179892,505,350,80
01,113310,C,,G,2000,G,20000,G,90000,200,150,30
01,336111,-,E,D,0,D,0,D,0,3,0,1
01,336112,-,,H,8000,H,110000,H,460000,5,0,0
02,------,-,,G,250000,G,3000000,G,12000000,21000,12000,4000
02,113310,-,A,D,0,D,0,D,0,4,3,1
"""

# 2002 county layout: lower-case quoted header, no lfo, no noise flags, 999 statewide rows.
COUNTY_2002 = """"fipstate","fipscty","naics","empflag","emp","qp1","ap","est","n1_4","censtate","cencty"
"01","001","------","",9100,48000,200000,790,400,"63","001"
"01","001","113310","",120,700,3000,12,8,"63","001"
"01","001","336111","M",0,0,0,2,0,"63","001"
"01","003","113310","B",0,0,0,6,3,"63","003"
"01","999","113310","",15,90,400,3,3,"63","999"
"01","999","------","",15,90,400,3,3,"63","999"
"""

# 2021 US layout: upper case, lfo, noise flags only (no EMPFLAG after 2017).
US_2021 = """LFO,NAICS,EMP_NF,EMP,QP1_NF,QP1,AP_NF,AP,EST,N<5,N5_9
-,------,G,128346299,G,2014037035,G,8500000000,8148606,4000000,1500000
-,113310,G,45000,G,600000,G,2500000,8000,5000,1500
-,491110,S,0,S,0,S,0,20,10,2
Z,113310,G,100,G,1000,G,5000,30,20,5
"""

# 2019 MSA layout.
MSA_2019 = """msa,naics,emp_nf,emp,qp1_nf,qp1,ap_nf,ap,est,n<5
10180,------,G,60000,G,500000,G,2100000,4000,2000
10180,113310,J,12,J,100,J,450,2,1
10180,3361//,G,500,G,5000,G,20000,3,1
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_state_2016_rules(tmp_path):
    parsed = cbp.parse_cbp_flatfile(_write(tmp_path, "cbp16st.txt", STATE_2016))
    counts, totals = parsed.counts, parsed.totals
    assert list(counts.columns) == list(INDUSTRY_COUNTS)
    assert counts.dtypes.astype(str).to_dict() == INDUSTRY_COUNTS
    assert set(counts["year"]) == {2016} and set(counts["naics_vintage"]) == {2012}
    assert set(counts["region_type"]) == {"state"}
    # only lfo '-' and full 6-digit codes survive; totals go to the totals frame
    assert sorted(counts["naics"] + "@" + counts["region_id"]) == [
        "113310@01", "113310@02", "336111@01", "336112@01"
    ]  # fmt: skip
    assert totals.set_index("region_id")["emp"].to_dict() == {"01": 1_600_000, "02": 250_000}
    row = counts.set_index(["region_id", "naics"])
    # suppressed: USCM midpoint of the size class, nothing reported, payroll set aside
    assert row.loc[("01", "336111"), "emp"] == 375  # class E
    assert row.loc[("02", "113310"), "emp"] == 10  # class A
    assert row.loc[("01", "336111"), ["emp_reported", "ap", "qp1"]].tolist() == [0, 0, 0]
    assert row.loc[("01", "336111"), "emp_flag"] == "E"
    # published: kept as is, noise flag recorded
    assert row.loc[("01", "113310"), ["emp", "emp_reported", "ap", "est"]].tolist() == [
        3664,
        3664,
        179892,
        505,
    ]
    assert row.loc[("01", "336112"), "emp_flag"] == "H"
    assert parsed.dropped["NAICS aggregate (code with '-' or '/')"] == 2
    assert parsed.dropped["legal form of organization other than '-' (all)"] == 2


def test_county_2002_lowercase_quoted_and_999(tmp_path):
    parsed = cbp.parse_cbp_flatfile(_write(tmp_path, "cbp02co.txt", COUNTY_2002))
    counts = parsed.counts
    assert set(counts["region_id"]) == {"01001", "01003"}  # 999 dropped
    assert parsed.dropped["statewide 999 pseudo-county"] == 2
    assert set(counts["naics_vintage"]) == {1997}
    row = counts.set_index(["region_id", "naics"])
    assert row.loc[("01001", "336111"), "emp"] == 100_000  # class M
    assert row.loc[("01003", "113310"), ["emp", "emp_reported"]].tolist() == [60, 0]  # class B
    assert parsed.totals["region_id"].tolist() == ["01001"]


def test_us_2021_noise_flags(tmp_path):
    parsed = cbp.parse_cbp_flatfile(_write(tmp_path, "cbp21us.txt", US_2021))
    counts = parsed.counts.set_index("naics")
    assert set(parsed.counts["region_id"]) == {"US"}
    assert set(parsed.counts["naics_vintage"]) == {2017}
    assert counts.loc["113310", "emp"] == 45000  # the lfo 'Z' row was dropped
    # S: not published; no size class exists after 2017, so nothing is imputed
    assert counts.loc["491110", ["emp", "emp_reported"]].tolist() == [0, 0]
    assert counts.loc["491110", "emp_flag"] == "S"
    assert parsed.totals["emp"].tolist() == [128_346_299]


def test_msa_2019(tmp_path):
    counts = cbp.read_cbp_flatfile(_write(tmp_path, "cbp19msa.txt", MSA_2019))
    assert counts[["region_type", "region_id", "naics", "emp_flag"]].values.tolist() == [
        ["msa", "10180", "113310", "J"]
    ]


def test_zip_and_gzip_files_read_like_plain(tmp_path):
    plain = cbp.read_cbp_flatfile(_write(tmp_path, "cbp16st.txt", STATE_2016))
    archive = tmp_path / "cbp16st.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("cbp16st.txt", STATE_2016)
    packed = tmp_path / "cbp16st.txt.gz"
    packed.write_bytes(gzip.compress(STATE_2016.encode()))
    assert cbp.read_cbp_flatfile(archive).equals(plain)
    assert cbp.read_cbp_flatfile(packed).equals(plain)


# -- errors ------------------------------------------------------------------------------------------
def _error(tmp_path, name, text, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        cbp.read_cbp_flatfile(_write(tmp_path, name, text), **kwargs)
    assert caught.value.path and caught.value.path.endswith(name)
    return caught.value


def test_truncated_file(tmp_path):
    cut = STATE_2016[: STATE_2016.index("01,336112") + 12]  # download stopped mid-line
    error = _error(tmp_path, "cbp16st.txt", cut)
    assert error.line == 9 and "truncated" in str(error)


def test_wrong_delimiter(tmp_path):
    error = _error(tmp_path, "cbp16st.txt", STATE_2016.replace(",", "\t"))
    assert error.line == 1 and "'\\t'" in str(error)


def test_unknown_vintage(tmp_path):
    error = _error(tmp_path, "cbp97st.txt", STATE_2016)
    assert "unknown NAICS vintage" in str(error)
    error = _error(tmp_path, "cbp23st.txt", STATE_2016)
    assert "2023" in str(error)


def test_duplicate_rows(tmp_path):
    text = STATE_2016 + "01,113310,-,,G,1,G,1,G,1,1,1,0\n"
    error = _error(tmp_path, "cbp16st.txt", text)
    assert error.line == 12 and "duplicate" in str(error)


def test_negative_count(tmp_path):
    error = _error(tmp_path, "cbp16st.txt", STATE_2016.replace("3664", "-3664"))
    assert (error.line, error.column) == (6, "emp") and "negative" in str(error)


def test_missing_column(tmp_path):
    text = STATE_2016.replace(",est,", ",estx,")
    error = _error(tmp_path, "cbp16st.txt", text)
    assert (error.line, error.column) == (1, "est")


def test_not_a_number_and_unknown_flags(tmp_path):
    error = _error(tmp_path, "cbp16st.txt", STATE_2016.replace("179892", "17x892"))
    assert (error.line, error.column) == (6, "ap")
    error = _error(tmp_path, "cbp16st.txt", STATE_2016.replace("-,E,D", "-,Q,D"))
    assert (error.line, error.column) == (8, "empflag")


def test_year_needed_when_name_lacks_it(tmp_path):
    with pytest.raises(ParameterError, match="year"):
        cbp.read_cbp_flatfile(_write(tmp_path, "state.txt", STATE_2016))
    counts = cbp.read_cbp_flatfile(tmp_path / "state.txt", year=2016)
    assert set(counts["region_type"]) == {"state"}  # geography from the columns


# -- store ---------------------------------------------------------------------------------------------
def test_store_load_is_idempotent_and_replaces_by_region_year(tmp_path, store):
    path = _write(tmp_path, "cbp16st.txt", STATE_2016)
    parsed = cbp.parse_cbp_flatfile(path)
    frame = pd.concat([parsed.counts, parsed.totals], ignore_index=True)
    assert cbp.load_into_store(store, frame, source_file=path) == len(frame)
    assert cbp.load_into_store(store, frame, source_file=path) == 0  # same file: skipped
    assert len(store.read("industry_counts")) == len(parsed.counts)
    assert len(store.read("region_totals")) == 2
    # a corrected copy of the file replaces the same region-years, it does not duplicate them
    fixed = _write(tmp_path, "cbp16st_fixed.txt", STATE_2016.replace("3664", "3700"))
    parsed = cbp.parse_cbp_flatfile(fixed, year=2016)
    cbp.load_into_store(store, parsed.counts, source_file=fixed)
    table = store.read("industry_counts")
    assert len(table) == 4
    assert table.set_index(["region_id", "naics"]).loc[("01", "113310"), "emp"] == 3700


def test_store_rejects_duplicates_without_partial_writes(store, tmp_path):
    parsed = cbp.parse_cbp_flatfile(_write(tmp_path, "cbp16st.txt", STATE_2016))
    doubled = pd.concat([parsed.counts, parsed.counts.iloc[:1]], ignore_index=True)
    with pytest.raises(InputError, match="duplicate key"):
        cbp.load_into_store(store, doubled)
    assert "industry_counts" not in store.tables()


def test_truncated_archive(tmp_path):
    archive = tmp_path / "cbp16st.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("cbp16st.txt", STATE_2016 * 50)
    archive.write_bytes(archive.read_bytes()[:-40])  # interrupted download
    with pytest.raises(InputError, match="truncated") as caught:
        cbp.read_cbp_flatfile(archive)
    assert caught.value.path == str(archive)


def test_empty_file(tmp_path):
    error = _error(tmp_path, "cbp16st.txt", "")
    assert "empty" in str(error)
