"""One demo run and one real-data run per test session (each takes a minute or two)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_run(cli, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo")
    done = cli("run", "--demo", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.fixture(scope="session")
def real_run(shared_data, cli, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("real")
    done = cli("run", "--data", str(shared_data), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return out, done
