"""Run configuration: defaults, TOML round trip, and errors that name the key and allowed values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clusteratlas.errors import ParameterError
from clusteratlas.studies.cluster_resilience import config as cfgmod
from clusteratlas.studies.cluster_resilience.config import Availability


def test_defaults_reproduce_the_seed_design_and_round_trip(tmp_path):
    default = cfgmod.defaults()
    assert default.region_type == "state"
    assert default.windows["shock"] == [2018, 2020] and default.windows["recovery"] == [2020, 2022]
    assert default.windows["corrected_shock"] == [2019, 2020]
    path = tmp_path / "c.toml"
    path.write_text(cfgmod.to_toml())
    assert cfgmod.load(path).as_dict() == default.as_dict()
    custom = cfgmod.from_mapping(
        {"theory": {"params": {"K": 0.6, "t": 0.2}}, "study": {"peers": ["13"]}}
    )
    path.write_text(cfgmod.to_toml(custom))
    assert cfgmod.load(path).as_dict() == custom.as_dict()
    for section, keys in cfgmod.KEYS.items():  # every key is documented in --help
        for key in keys:
            assert f"{section}.{key}" in cfgmod.help_text()


@pytest.mark.parametrize(
    ("raw", "key", "allowed"),
    [
        ({"study": {"regionz": ["01"]}}, "study.regionz", "regions"),
        ({"stdy": {}}, "stdy", "study"),
        ({"study": {"region_type": "province"}}, "study.region_type", "county"),
        ({"windows": {"shock": [2020, 2018]}}, "windows.shock", None),
        ({"treatment": {"rule": "vibes"}}, "treatment.rule", "any_strong"),
        ({"outcomes": {"names": ["gdp", "happiness"]}}, "outcomes.names", "mfg_gdp"),
        ({"theory": {"x": "Q"}}, "theory.x", "alpha"),
        ({"theory": {"params": {"kappa": 1.0}}}, "theory.params.kappa", "theta"),
    ],
)
def test_static_errors_name_the_key(raw, key, allowed):
    with pytest.raises(ParameterError) as info:
        cfgmod.from_mapping(raw)
    assert info.value.name == key
    if allowed:
        assert allowed in str(info.value)


AVAILABLE = Availability(
    frozenset({"01", "02"}),
    {"gdp": (1997, 2022), "mfg_gdp": (1997, 2022), "employment": (2001, 2021)},
    (2016,),
    frozenset({"1", "2"}),
    "test data",
)


@pytest.mark.parametrize(
    ("raw", "key", "allowed"),
    [
        ({"study": {"regions": ["99"]}}, "study.regions", "01, 02"),
        ({"study": {"peers": ["77"]}}, "study.peers", "01, 02"),
        ({"study": {"map_cluster": "999"}}, "study.map_cluster", "1, 2"),
        ({"study": {"base_year": 2011}}, "study.base_year", "2016"),
        ({"windows": {"shock": [1990, 2020]}}, "windows.shock", "1997 and 2022"),
        ({"outcomes": {"names": ["exports"]}}, "outcomes.names", "employment, gdp, mfg_gdp"),
    ],
)
def test_data_errors_name_the_key_and_allowed_values(raw, key, allowed):
    config = cfgmod.from_mapping(raw)
    with pytest.raises(ParameterError) as info:
        cfgmod.validate_against(config, AVAILABLE)
    assert info.value.name == key and allowed in str(info.value)


def test_bad_config_stops_the_cli_before_any_work(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nregion_type = "county"\nregions = ["99999"]\n')
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "clusteratlas.cli",
            "run",
            "--demo",
            "--config",
            str(bad),
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "study.regions" in run.stderr and "99999" in run.stderr and "allowed" in run.stderr
    assert not out.exists()  # nothing was loaded, no store, no manifest


def test_init_config_writes_loadable_defaults(tmp_path):
    target = tmp_path / "clusteratlas.toml"
    run = subprocess.run(
        [sys.executable, "-m", "clusteratlas.cli", "init-config", str(target)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert cfgmod.load(target).as_dict() == cfgmod.defaults().as_dict()
