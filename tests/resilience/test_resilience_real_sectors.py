"""Resilience per state x 3-digit NAICS on REAL CBP data (setzler state x industry file).

Every index is checked against an independent plain-pandas computation written here from the
formulas of docs/resilience.md (the file is read with ``pandas.read_csv``, not the project
reader); indices to 1e-10 (relative and absolute), shift-share effects to 1e-10 relative /
1e-6 jobs. Windows: the Great Recession as CBP's mid-March counts see it (2008, 2010, 2014,
dated from the national total with ``detect_window``) and COVID-19 (2019, 2020, 2021).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from clusteratlas.data.cbp import read_setzler_national_total
from clusteratlas.errors import InputError
from clusteratlas.resilience.sectors import (
    STATES,
    SectorPanel,
    naics_sectors,
    national_benchmark,
    read_state_sectors,
    sector_resilience,
)
from clusteratlas.resilience.windows import ShockWindow, detect_window

pytestmark = pytest.mark.realdata

FILE = "cbp/setzler_CBP_state_industry3.csv.gz"
GREAT_RECESSION = ShockWindow(2008, 2010, 2014)
COVID = ShockWindow(2019, 2020, 2021)
INDEX_TOL = {"rtol": 1e-10, "atol": 1e-10}
JOBS_TOL = {"rtol": 1e-10, "atol": 1e-6}


# ------------------------------------------------------------ independent reference (pandas)
@pytest.fixture(scope="module")
def raw(shared_data: Path) -> pd.DataFrame:
    """The file as pandas reads it: state (2-digit FIPS), naics, year, emp."""
    frame = pd.read_csv(shared_data / FILE, dtype={"naics": str})
    return pd.DataFrame(
        {
            "state": frame["state_fips"].map("{:02d}".format),
            "naics": frame["naics"],
            "year": frame["year"],
            "emp": frame["employment_march"].astype(float),
        }
    )


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> SectorPanel:
    return read_state_sectors(shared_data / FILE)


def _phase(raw: pd.DataFrame, t0: int, t1: int, *, absent: float | None = 0.0) -> pd.DataFrame:
    """state x naics rows with e0, e1: a cell absent in one year counts as ``absent``
    (0 for region totals over sectors; None keeps NaN, for cells compared on their own)."""
    wide = raw[raw.year.isin([t0, t1])].pivot_table(
        index=["state", "naics"], columns="year", values="emp", aggfunc="sum"
    )
    wide = wide if absent is None else wide.fillna(absent)
    return wide.rename(columns={t0: "e0", t1: "e1"}).reset_index()


def _reference_by_state(raw: pd.DataFrame, t0: int, t1: int) -> pd.DataFrame:
    """Martin beta, MSGT (aggregate and sectoral), Lagravinese and NS/IM/CS per state.

    g_N = ΔE_N/E_N and g_iN = ΔE_iN/E_iN over the sum of the states; NS = g_N E_r,
    IM = Σ_i E_ir (g_iN − g_N), CS = Σ_i (ΔE_ir − g_iN E_ir); MSGT = (ΔE − ΔE^exp)/|ΔE^exp|.
    """
    cells = _phase(raw, t0, t1)
    nat = cells.groupby("naics")[["e0", "e1"]].sum()
    g_n = nat["e1"].sum() / nat["e0"].sum() - 1
    g_i = (nat["e1"] / nat["e0"] - 1).rename("g_i")
    cells = cells.join(g_i, on="naics")
    # a sector with no national base (NAICS 521 in 2008-2014) has no regional base either
    cells["expected_i"] = np.where(cells["e0"] > 0, cells["g_i"] * cells["e0"], 0.0)
    cells["d"] = cells["e1"] - cells["e0"]
    ref = cells.groupby("state").agg(
        e0=("e0", "sum"), e1=("e1", "sum"), d=("d", "sum"), expected=("expected_i", "sum")
    )
    ref["g_n"] = g_n
    ref["growth"] = ref["d"] / ref["e0"]
    ref["beta"] = ref["growth"] / g_n
    ref["lagravinese"] = (ref["growth"] - g_n) / abs(g_n)
    ns = g_n * ref["e0"]
    ref["msgt_aggregate"] = (ref["d"] - ns) / ns.abs()
    ref["msgt_sectoral"] = (ref["d"] - ref["expected"]) / ref["expected"].abs()
    ref["ns"] = ns
    ref["im"] = ref["expected"] - ns  # Σ_i E_ir g_iN − g_N Σ_i E_ir
    ref["cs"] = ref["d"] - ref["expected"]
    return ref


def _ours(panel: SectorPanel, window: ShockWindow, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sector_resilience(panel.regions, panel.national, window, **kwargs).tidy()


# ------------------------------------------------------------------------- the window itself
def test_great_recession_window_from_the_national_total(shared_data, raw):
    """CBP US total: 120.90 M (2008) -> 111.97 M (2010), back above 2008 in 2014 (121.07 M)."""
    us = read_setzler_national_total(shared_data / "cbp/setzler_CBP_national_total.csv")
    window = detect_window(us, value="emp")
    assert window == GREAT_RECESSION
    # the 3-digit file covers a constant share of the state totals over 2008-2014 only: the
    # recovery window must end before the 2015 coverage jump (else it measures coverage)
    totals = pd.read_csv(shared_data / "cbp/setzler_CBP_state_total.csv")
    coverage = raw.groupby("year")["emp"].sum() / totals.groupby("year")["employment_march"].sum()
    assert coverage.loc[2008:2014].between(0.889, 0.896).all()
    assert coverage.loc[2015] > 0.95 and coverage.loc[2018:2021].between(0.978, 0.981).all()


# -------------------------------------------------------------------- reader and benchmark
def test_reader_and_national_benchmark(panel, raw):
    regions, national = panel.regions, panel.national
    assert set(regions.region_id) == STATES and len(STATES) == 51
    assert len(regions) == len(raw) == 90_178
    assert regions.naics.str.fullmatch(r"\d{3}").all()
    assert (regions.source.str.contains("CBP")).all()  # so CBP timing warnings apply
    # national = Σ over the 50 states + DC of the same sectors (not the published US total)
    expected = raw.groupby(["year", "naics"])["emp"].sum()
    got = national.set_index(["year", "naics"])["emp"]
    assert got.to_dict() == expected.to_dict()
    assert (national.region_type == "nation").all()


# ------------------------------------------------------------------ Great Recession, by state
@pytest.mark.parametrize("expected", ["aggregate", "sectoral"])
def test_state_indices_match_reference(panel, raw, expected):
    table = _ours(panel, GREAT_RECESSION, expected=expected)
    for phase, (t0, t1) in GREAT_RECESSION.phases.items():
        ref = _reference_by_state(raw, t0, t1)
        ours = table[table.phase == phase].set_index("region_id").loc[ref.index]
        np.testing.assert_allclose(ours["national_growth"], ref["g_n"], **INDEX_TOL)
        np.testing.assert_allclose(ours["growth"], ref["growth"], **INDEX_TOL)
        np.testing.assert_allclose(ours["sensitivity"], ref["beta"], **INDEX_TOL)
        np.testing.assert_allclose(ours["lagravinese"], ref["lagravinese"], **INDEX_TOL)
        np.testing.assert_allclose(ours["resilience"], ref[f"msgt_{expected}"], **INDEX_TOL)
        for column, name in (
            ("national_share_effect", "ns"),
            ("industry_mix_effect", "im"),
            ("competitive_effect", "cs"),
            ("change", "d"),
        ):
            np.testing.assert_allclose(ours[column], ref[name], **JOBS_TOL)
        np.testing.assert_allclose(ours["structural_component"], ref.im / ref.ns.abs(), **INDEX_TOL)
        np.testing.assert_allclose(
            ours["competitive_component"], ref.cs / ref.ns.abs(), **INDEX_TOL
        )


def test_shift_share_identity_and_benchmark_consistency(panel):
    table = _ours(panel, GREAT_RECESSION, expected="sectoral")
    total = table.national_share_effect + table.industry_mix_effect + table.competitive_effect
    np.testing.assert_allclose(total, table.change, rtol=0, atol=1e-6)  # exact up to rounding
    # benchmark = sum of the same states' rows, so over the nation IM and CS cancel and NS is
    # the national change; with the published US total they would carry the 11 % coverage gap
    for _, part in table.groupby("phase"):
        scale = part.value_start.sum()
        assert abs(part.industry_mix_effect.sum()) < 1e-9 * scale
        assert abs(part.competitive_effect.sum()) < 1e-9 * scale
        assert part.national_share_effect.sum() == pytest.approx(part.change.sum(), rel=1e-12)


def test_great_recession_published_facts(panel, raw):
    """Facts of the 2008-2010 bust, computed from the file itself.

    Nevada (-12.8 %) and Arizona (-12.1 %) lost the largest shares of their CBP jobs and stay
    the least resistant after the sectoral expectation (their competitive component is
    -0.56 / -0.47 of NS, their mix only -0.08); North Dakota (Bakken oil) recovered fastest
    2010-2014 (+28.3 % vs +8.25 % nationally).
    """
    table = _ours(panel, GREAT_RECESSION, expected="sectoral")
    res = table[table.phase == "resistance"].set_index("region_id")
    rec = table[table.phase == "recovery"].set_index("region_id")
    assert res.national_growth.iloc[0] == pytest.approx(-0.0781, abs=5e-5)
    assert rec.national_growth.iloc[0] == pytest.approx(0.0825, abs=5e-5)
    assert list(res.resilience.nsmallest(2).index) == ["32", "04"]  # Nevada, Arizona
    assert res.loc["32", "growth"] == pytest.approx(-0.1281, abs=5e-5)
    assert (res.loc[["32", "04"], "competitive_component"] < -0.45).all()
    assert rec.resilience.idxmax() == "38"  # North Dakota
    assert rec.loc["38", "growth"] == pytest.approx(0.2829, abs=5e-5)


def test_construction_bust_by_state(panel, raw):
    """US construction (NAICS 236-238) lost 24.0 % of its jobs 2008->2010 in CBP
    (6,800,301 -> 5,168,467); Nevada (-46.2 %) and Arizona (-42.1 %) lost the most."""
    con = raw[raw.naics.isin(["236", "237", "238"])]
    us = con.groupby("year")["emp"].sum()
    assert (us[2008], us[2010]) == (6_800_301, 5_168_467)
    assert us[2010] / us[2008] - 1 < -0.20
    # the same through the library, on NAICS sectors (23 = 236 + 237 + 238)
    sectors = naics_sectors(panel)
    table = _ours(sectors, GREAT_RECESSION, by_sector=True)
    con23 = table[(table.naics == "23") & (table.phase == "resistance")].set_index("region_id")
    assert con23.national_growth.iloc[0] == pytest.approx(us[2010] / us[2008] - 1, rel=1e-12)
    by_state = con.pivot_table(index="state", columns="year", values="emp", aggfunc="sum")
    hand = (by_state[2010] / by_state[2008] - 1 - con23.national_growth.iloc[0]) / abs(
        con23.national_growth.iloc[0]
    )
    np.testing.assert_allclose(con23.loc[hand.index, "resilience"], hand, **INDEX_TOL)
    assert list(con23.resilience.nsmallest(2).index) == ["32", "04"]
    assert con23.loc["32", "growth"] == pytest.approx(-0.4624, abs=5e-5)


# ------------------------------------------------------------- per state x 3-digit sector
def test_state_by_sector_indices_match_reference(panel, raw):
    with pytest.warns(UserWarning) as caught:
        result = sector_resilience(panel.regions, panel.national, GREAT_RECESSION, by_sector=True)
    messages = " | ".join(str(w.message) for w in caught)
    assert "sectors 521 have zero national employment" in messages
    assert "781 unit-phase rows have undefined indices" in messages  # zero-base cells
    table = result.tidy()
    assert "521" not in set(table.naics)  # central banks: 0 jobs in every state 2008-2014
    missing = []
    for phase, (t0, t1) in GREAT_RECESSION.phases.items():
        cells = _phase(raw, t0, t1, absent=None)
        nat = cells.groupby("naics")[["e0", "e1"]].sum()  # NaN-skipping: all the state rows
        cells = cells[cells.naics.isin(nat.index[nat.e0 > 0])]
        # a state x sector without a row in one phase year has no growth: left out, listed
        gap = cells[["e0", "e1"]].isna().any(axis=1)
        missing += [("state", s, n) for s, n in cells.loc[gap, ["state", "naics"]].to_numpy()]
        cells = cells[~gap]
        cells["g_i"] = cells.naics.map(nat.e1 / nat.e0 - 1)
        ours = table[table.phase == phase].set_index(["region_id", "naics"])
        ref = cells.set_index(["state", "naics"])
        ours = ours.loc[ref.index]
        assert len(ours) == len(ref)
        defined = ref.e0 > 0
        growth = (ref.e1 - ref.e0) / ref.e0
        np.testing.assert_allclose(ours.national_growth, ref.g_i, **INDEX_TOL)
        np.testing.assert_allclose(
            ours.sensitivity[defined], (growth / ref.g_i)[defined], **INDEX_TOL
        )
        np.testing.assert_allclose(
            ours.lagravinese[defined], ((growth - ref.g_i) / ref.g_i.abs())[defined], **INDEX_TOL
        )
        exp = ref.g_i * ref.e0
        np.testing.assert_allclose(
            ours.resilience[defined], ((ref.e1 - ref.e0 - exp) / exp.abs())[defined], **INDEX_TOL
        )
        assert ours.resilience[~defined].isna().all()  # zero base: NaN with a note, never 0
        assert (ours.note[~defined] != "").all()
    assert sorted(result.dropped) == sorted(missing) and len(missing) == 35
    # Michigan motor vehicles & parts (336) lost 29.7 % 2008->2010 (129,051 -> 90,698)
    mi = table[(table.region_id == "26") & (table.naics == "336") & (table.phase == "resistance")]
    assert (mi.value_start.iloc[0], mi.value_end.iloc[0]) == (129_051, 90_698)


# ----------------------------------------------------------------------------- COVID window
@pytest.mark.filterwarnings(
    "ignore:.*reference change below:clusteratlas.errors.EstimationWarning"
)  # national changes near 0 in a few sectors: the flag is tested in tests/resilience
def test_covid_window_with_cbp_timing_warning(panel, raw):
    """CBP counts mid-March: 2019->2020 is pre-lockdown (+0.91 %), the fall shows 2020->2021
    (-4.31 % nationally; Hawaii -14.7 %, the least resilient, with a tourism mix)."""
    with pytest.warns(UserWarning, match="March 12"):
        result = sector_resilience(panel.regions, panel.national, COVID, expected="sectoral")
    assert any("pre-lockdown" in note for note in result.warnings)
    table = result.tidy()
    for phase, (t0, t1) in COVID.phases.items():
        ref = _reference_by_state(raw, t0, t1)
        ours = table[table.phase == phase].set_index("region_id").loc[ref.index]
        np.testing.assert_allclose(ours.resilience, ref.msgt_sectoral, **INDEX_TOL)
        np.testing.assert_allclose(ours.industry_mix_effect, ref.im, **JOBS_TOL)
    res = table[table.phase == "resistance"].set_index("region_id")
    rec = table[table.phase == "recovery"].set_index("region_id")
    assert res.national_growth.iloc[0] == pytest.approx(0.0091, abs=5e-5)  # no COVID yet
    assert rec.national_growth.iloc[0] == pytest.approx(-0.0431, abs=5e-5)
    assert rec.resilience.idxmin() == "15"  # Hawaii
    assert rec.loc["15", "growth"] == pytest.approx(-0.1466, abs=5e-5)
    assert rec.loc["15", "structural_component"] < -0.5  # accommodation and food services


@pytest.mark.filterwarnings(
    "ignore:.*reference change below:clusteratlas.errors.EstimationWarning"
)  # national changes near 0 in a few sectors: the flag is tested in tests/resilience
def test_window_across_a_naics_revision_is_warned(panel):
    """2001-2002 are NAICS 1997 (233-235 construction), 2003 on NAICS 2002 (236-238)."""
    with pytest.warns(UserWarning, match=r"233, 234, 235.*classification change"):
        sector_resilience(panel.regions, panel.national, (2001, 2003, 2005), expected="sectoral")


# --------------------------------------------------------------------------------- the CLI
def test_cli_sectors_file_end_to_end(shared_data, panel, tmp_path):
    from clusteratlas.cli import app
    from clusteratlas.store import Store

    runner = CliRunner()
    db = tmp_path / "s.duckdb"
    args = ["resilience", "--store", str(db), "--sectors", str(shared_data / FILE)]
    great = ["--peak", "2008", "--trough", "2010", "--end", "2014"]
    sectoral = runner.invoke(
        app, [*args, *great, "--expected", "sectoral", "--out", str(tmp_path / "o")]
    )
    assert sectoral.exit_code == 0, sectoral.output
    assert "national growth -7.81%" in sectoral.output
    by_sector = runner.invoke(app, [*args, *great, "--by-sector"])
    assert by_sector.exit_code == 0, by_sector.output
    assert "national growth per sector" in by_sector.output  # no single national rate
    with Store(db) as s:
        stored = s.read("resilience_naics3_emp_sectoral")
        per_sector = s.read("resilience_naics3_emp")
    written = pd.read_csv(tmp_path / "o" / "resilience_naics3_emp_sectoral.csv", dtype=str)
    assert len(stored) == len(written) == 102
    direct = _ours(panel, GREAT_RECESSION, expected="sectoral")
    merged = stored.merge(direct, on=["region_id", "phase"], suffixes=("", "_direct"))
    assert len(merged) == 102
    np.testing.assert_allclose(merged.resilience, merged.resilience_direct, rtol=1e-12)
    assert len(per_sector) == len(_ours(panel, GREAT_RECESSION, by_sector=True))
    covid = runner.invoke(app, [*args, "--peak", "2019", "--trough", "2020", "--end", "2021"])
    assert covid.exit_code == 0, covid.output
    assert "March 12" in covid.output
    both = runner.invoke(app, [*args, *great, "--panel"])
    assert both.exit_code != 0 and "not both" in str(both.exception)


# ------------------------------------------------------------------------- bad files (small)
def _write(path: Path, rows: list[str]) -> Path:
    header = "state_fips,state_name,year,naics,employment_march,establishments,payroll_quarter1"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_bad_files_name_the_problem(tmp_path, shared_data):
    """SYNTHETIC small files in the setzler layout, each with one defect."""
    good = "1,Alabama,2008,236,100,10,1000"
    with pytest.raises(InputError, match=r"line 3.*'naics'.*not 3 digits"):
        read_state_sectors(_write(tmp_path / "a.csv", [good, "1,Alabama,2008,2361,5,1,10"]))
    with pytest.raises(InputError, match=r"line 2.*negative"):
        read_state_sectors(_write(tmp_path / "b.csv", ["1,Alabama,2008,236,-5,1,10"]))
    with pytest.raises(InputError, match="72 are not among the 50 states"):
        read_state_sectors(_write(tmp_path / "c.csv", [good, "72,Puerto Rico,2008,236,5,1,10"]))
    with pytest.raises(InputError, match=r"year 2008 lacks state\(s\) 02, 04"):
        read_state_sectors(_write(tmp_path / "d.csv", [good]))
    (tmp_path / "e.csv").write_text("state_fips,year,naics\n1,2008,236\n")
    with pytest.raises(InputError, match="missing column 'employment_march'"):
        read_state_sectors(tmp_path / "e.csv")
    with pytest.raises(InputError, match="duplicate row"):
        read_state_sectors(_write(tmp_path / "f.csv", [good, good]))


def test_national_benchmark_is_the_sum_of_the_rows():
    """SYNTHETIC: two regions, two sectors."""
    regions = pd.DataFrame(
        {
            "region_type": "state",
            "region_id": ["01", "01", "02", "02"],
            "naics": ["236", "311", "236", "311"],
            "year": 2008,
            "emp": [1.0, 2.0, 3.0, 4.0],
        }
    )
    national = national_benchmark(regions)
    assert national.set_index("naics")["emp"].to_dict() == {"236": 4.0, "311": 6.0}
