"""One demo run and one real-data run per test session (each takes a minute or two)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clusteratlas.cli", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="session")
def cli():
    """Run ``clusteratlas ARGS...`` in a subprocess (as a user would)."""
    return run_cli


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo")
    done = run_cli("run", "--demo", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.fixture(scope="session")
def real_run(shared_data, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("real")
    done = run_cli("run", "--data", str(shared_data), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return out, done
