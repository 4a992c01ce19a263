"""Shared fixtures.

Real-data tests take the ``shared_data`` fixture: it points at ``../shared/data`` (or
``CLUSTERATLAS_DATA``). Where that folder is absent they skip and say why, except under CI
(``CI=true``), where its absence is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clusteratlas.paths import shared_data_dir
from clusteratlas.store import Store


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session", autouse=True)
def _no_disk_sql_cache():
    """build_panel keeps its compiled SQL in memory only during tests (no files in the user's
    cache); tests/panel/test_panel_sqlcache.py turns the disk copy back on in a temp folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLUSTERATLAS_SQL_CACHE", "off")
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder; skips (or fails under CI) where it is absent."""
    path = shared_data_dir()
    if path is None:
        message = (
            "real public data not found: expected ../shared/data beside the checkout "
            "(or set CLUSTERATLAS_DATA); see the project README"
        )
        if _in_ci():
            pytest.fail(message + " -- under CI its absence is a failure, not a skip")
        pytest.skip(message)
    return path


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    """A fresh on-disk store in a temporary folder."""
    with Store(tmp_path / "test.duckdb") as s:
        yield s


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clusteratlas.cli", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="session")
def cli():
    """Run ``clusteratlas ARGS...`` in a subprocess (as a user would)."""
    return run_cli


# -- one demo run and one real-data run per test session (each takes a minute or so) ----------
# The report and the dashboard tests both read them; --pdf (where Chromium is installed) so
# the printed report is checked too (tests/report/test_report_browser.py).
PDF = ("--pdf",) if Path("/usr/bin/chromium").exists() else ()


@pytest.fixture(scope="session")
def demo_run(cli, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo")
    done = cli("run", "--demo", "--out", str(out), "--quiet", *PDF)
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.fixture(scope="session")
def real_run(shared_data, cli, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("real")
    done = cli("run", "--data", str(shared_data), "--out", str(out), "--quiet", *PDF)
    assert done.returncode == 0, done.stderr
    return out, done
