"""``clusteratlas run --region NAME|ID`` (issue #21 item 8): names resolve case-insensitively
to ids of the run's region level, ambiguous names list every match with its id, unknown names
are an error naming --region with suggestions; the resolved ids reach the study's config."""

from __future__ import annotations

import pytest

from clusteratlas.data.region_lookup import region_names, resolve_region
from clusteratlas.errors import ParameterError


@pytest.fixture()
def seen(monkeypatch):
    """Run ``clusteratlas run`` up to the pipeline: the config it would run with."""
    import typer

    from clusteratlas.cli import run as run_cli
    from clusteratlas.studies.cluster_resilience import pipeline

    captured = {}

    class Stop(Exception):
        pass

    class Capture:
        def __init__(self, cfg, **kwargs):
            captured["cfg"] = cfg
            raise Stop

    monkeypatch.setattr(pipeline, "Pipeline", Capture)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    run_cli.register(app)

    def invoke(*args: str):
        from typer.testing import CliRunner

        result = CliRunner().invoke(app, ["run", *args])
        if isinstance(result.exception, Stop):
            return captured["cfg"]
        return result.exception

    return invoke


def test_state_names_ignore_case_and_ids_pass(seen):
    for query in ("Michigan", "michigan", "  MICHIGAN ", "26"):
        cfg = seen("--region", query)
        assert cfg.region_type == "state" and cfg.study["regions"] == ["26"]
    assert seen("--region", "1").study["regions"] == ["01"]
    both = seen("--region", "Michigan", "--region", "ohio")
    assert both.study["regions"] == ["26", "39"]


def test_county_and_msa_names(seen, shared_data):
    cfg = seen("--region-type", "county", "--region", "Wayne County, Michigan")
    assert cfg.study["regions"] == ["26163"]
    cfg = seen("--region-type", "msa", "--region", "detroit")
    assert cfg.study["regions"] == ["19820"]


def test_ambiguous_name_lists_every_match_with_its_id(seen):
    error = seen("--region-type", "county", "--region", "Cook County")
    assert isinstance(error, ParameterError) and "--region" in str(error)
    for listed in ("(13075)", "(17031)", "(27031)"):
        assert listed in str(error)
    error = seen("--region", "Carolina")
    assert "North Carolina (37)" in str(error) and "South Carolina (45)" in str(error)


def test_unknown_name_is_a_named_error_with_suggestions(seen):
    error = seen("--region", "Michgan")
    assert isinstance(error, ParameterError)
    assert "parameter '--region'" in str(error) and "no state named 'Michgan'" in str(error)
    assert "did you mean Michigan (26)" in str(error)
    error = seen("--region", "Michigan", "--regions", "26")
    assert isinstance(error, ParameterError) and "not both" in str(error)


def test_exact_name_beats_a_longer_one():
    names = region_names("state")
    assert resolve_region("Virginia", names, "state") == "51"  # not West Virginia
    assert resolve_region("west virginia", names, "state") == "54"
    with pytest.raises(ParameterError, match="empty region name"):
        resolve_region(" ", names, "state")
