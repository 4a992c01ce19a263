"""The main job passes the national 4-digit CBP lines to the panel (issue #15 wired in).

A folder run on the real data (../shared/data, linked file by file into a temporary folder)
plus the cited fixture tests/data/cbp_national_naics4_2016.csv (published CBP 2016 national
4-digit lines): the load stage recognises the fixture by content and stores it as
``national_parents``; the panel then derives the withheld national cell NAICS 335224 as the
residual of its 4-digit line 3352, computed here independently from the two CSV files, and
gives 522190 the size-class midpoint of its residual, 1,750 jobs, the value in USCM's
published 2016 national record. Without the fixture the cells count as 0 and the run's
provenance (and so the report's appendix) says so.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clusteratlas.store import Store
from clusteratlas.studies.cluster_resilience import config
from clusteratlas.studies.cluster_resilience.load import stage_load
from clusteratlas.studies.cluster_resilience.panels import stage_panel
from clusteratlas.studies.cluster_resilience.study import ClusterResilience

FIXTURE = Path(__file__).parents[1] / "data" / "cbp_national_naics4_2016.csv"
#: USCM's published 2016 national record (clusteratlas.data.suppression module docstring)
USCM_522190 = 1750.0


def _folder(root: Path, shared: Path, extra: tuple[Path, ...] = ()) -> Path:
    for path in shared.rglob("*"):
        if path.is_file():
            link = root / path.relative_to(shared)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
    for path in extra:
        (root / "cbp" / path.name).symlink_to(path.resolve())
    return root


def _load_and_panel(folder: Path, out: Path) -> dict[str, pd.DataFrame | None]:
    study = ClusterResilience(config.defaults(), out_dir=out, data_dir=folder)
    with Store(out / "store.duckdb") as store:
        stage_load(study, store)
        stage_panel(study, store)
        names = ("cluster_panel", "run_provenance", "national_parents")
        return {n: store.read(n) if store.has(n) else None for n in names}


def _cluster_of(shared: Path, naics: str) -> str:
    defs = pd.read_csv(shared / "clusters" / "cluster_naics2012_definitions.csv", dtype=str)
    return str(defs.loc[defs["naics2012"] == naics, "cluster_code"].iloc[0])


def _national_emp(panel: pd.DataFrame, cluster: str) -> float:
    rows = panel.loc[(panel["year"] == 2016) & (panel["cluster_code"].astype(str) == cluster)]
    return float(rows["emp_national"].iloc[0])


@pytest.mark.realdata
@pytest.mark.filterwarnings(  # the run's data notes (BEA (D) cells, ITA names): asserted in tests/data
    "ignore::clusteratlas.errors.DataWarning"
)
def test_national_parent_lines_fill_withheld_cells_as_uscm(shared_data, tmp_path):
    with_lines = _load_and_panel(
        _folder(tmp_path / "with", shared_data, (FIXTURE,)), tmp_path / "out_with"
    )
    without = _load_and_panel(_folder(tmp_path / "without", shared_data), tmp_path / "out_without")
    # the residual of 3352, independently from the published files
    six = pd.read_csv(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv", dtype={"naics": str}
    )
    six = six.loc[six["year"] == 2016]
    four = pd.read_csv(FIXTURE, dtype={"naics": str})
    children = six.loc[six["naics"].str.startswith("3352"), "employment_march"]
    residual = float(four.loc[four["naics"] == "3352", "employment_march"].iloc[0]) - float(
        children.sum()
    )  # NA (the withheld cell) skipped by the sum
    assert residual == pytest.approx(7264, abs=0.5)  # the figure the suppression docs cite
    # stored as read, and the panel's national cluster employment gains exactly the fills
    parents = with_lines["national_parents"]
    assert parents is not None and len(parents) == len(four)
    assert set(parents["naics"]) == set(four["naics"])
    assert without["national_parents"] is None
    for naics, filled in (("335224", residual), ("522190", USCM_522190)):
        cluster = _cluster_of(shared_data, naics)
        gain = _national_emp(with_lines["cluster_panel"], cluster) - _national_emp(
            without["cluster_panel"], cluster
        )
        assert gain == pytest.approx(filled, abs=0.5), naics

    # provenance: what was filled and how, or that the fallback was used and how many jobs
    def fill_row(prov: pd.DataFrame) -> pd.Series:
        rows = prov.loc[prov["input"].str.startswith("withheld national CBP cells")]
        assert len(rows) == 1
        return rows.iloc[0]

    used = fill_row(with_lines["run_provenance"])
    assert used["status"] == "used"
    assert used["reason"].startswith("2 withheld national 6-digit cells")
    assert f"1 ({residual:,.0f} jobs) derived exactly" in used["reason"]
    fallback = fill_row(without["run_provenance"])
    assert fallback["status"] == "partial"
    assert "2 with neither a size class nor a parent line count as 0 jobs" in fallback["reason"]
    assert "CBP_national_industry4.csv" in fallback["reason"]


def test_the_real_run_report_says_how_national_cells_were_filled(real_run):
    out, _ = real_run
    html = (out / "report.html").read_text()
    assert "withheld national 6-digit cells in the clusters" in html
    assert "count as 0 jobs" in html
