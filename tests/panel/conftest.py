"""Real-data inputs for the panel tests, read in place from the shared data folder with the
data engineer's readers (clusteratlas.data); nothing is copied into the repository."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clusteratlas.data import cbp, clusters, uscm

REFERENCE_CSV = Path(__file__).with_name("uscm_published_2016_reference.csv")
TRADED_REFERENCE_CSV = Path(__file__).with_name("uscm_published_2016_traded_all_states.csv")


@pytest.fixture(scope="session")
def reference_csv() -> Path:
    """USCM's published 2016 values for Alabama and Alaska (see the file's header)."""
    return REFERENCE_CSV


@pytest.fixture(scope="session")
def definitions_2012(shared_data: Path) -> pd.DataFrame:
    return clusters.load_definition("uscm", naics_vintage=2012)


@pytest.fixture(scope="session")
def definitions_2017(shared_data: Path) -> pd.DataFrame:
    return clusters.load_definition("uscm", naics_vintage=2017)


@pytest.fixture(scope="session")
def uscm_2016(shared_data: Path) -> pd.DataFrame:
    return uscm.read_uscm(shared_data / "clusters" / "uscm_state_cluster_2016_inputs.csv.gz")


@pytest.fixture(scope="session")
def national_all_years(shared_data: Path) -> pd.DataFrame:
    """setzler national 6-digit CBP 2001-2021 (suppressed cells: emp 0, emp_flag 'D')."""
    return cbp.read_setzler_national_industry(
        shared_data / "cbp" / "setzler_CBP_national_industry6.csv"
    )


def _year(frame: pd.DataFrame, *years: int) -> pd.DataFrame:
    return frame.loc[frame["year"].isin(years)].reset_index(drop=True)


@pytest.fixture(scope="session")
def national_2016(national_all_years) -> pd.DataFrame:
    return _year(national_all_years, 2016)


@pytest.fixture(scope="session")
def national_2021(national_all_years) -> pd.DataFrame:
    return _year(national_all_years, 2021)


@pytest.fixture(scope="session")
def national_panel_years(national_all_years) -> pd.DataFrame:
    """National 6-digit counts 2013-2016 (one NAICS vintage, 2012)."""
    return _year(national_all_years, 2013, 2014, 2015, 2016)


@pytest.fixture(scope="session")
def alabama_2021(shared_data: Path) -> pd.DataFrame:
    """Census CBP API 2021, Alabama x 6-digit NAICS 2017 (ModelEarth extract)."""
    path = shared_data / "cbp" / "modelearth_cbpapi_state_naics6_AL_2021.csv"
    return cbp.read_cbp_api_csv(path, year=2021, region_type="state", region_id="01")


@pytest.fixture(scope="session")
def traded_reference_csv() -> Path:
    """USCM's published 2016 traded-cluster values for every state in its file (see header)."""
    return TRADED_REFERENCE_CSV
