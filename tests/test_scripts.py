"""The set-up scripts work in the project virtual environment (issue #21 item 1): nothing but
the venv's interpreter installs or runs (a stock Debian 12 python3 refuses pip, and another
project's interpreter must not be overwritten). The fresh-clone run itself (`git clone`, then
`PIP_REQUIRE_VIRTUALENV=true bash scripts/run.sh`) needs a package index and minutes: it is
checked by hand, not here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["scripts/setup.sh", "scripts/run.sh", "scripts/test.sh", ".ci/run"]


def _code(path: str) -> list[str]:
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0] for line in lines if not line.lstrip().startswith("#")]


def test_scripts_parse():
    for path in SCRIPTS:
        done = subprocess.run(["bash", "-n", str(ROOT / path)], capture_output=True, text=True)
        assert done.returncode == 0, f"{path}: {done.stderr}"


def test_only_the_venv_installs_and_runs():
    setup = "\n".join(_code("scripts/setup.sh"))
    assert "VENV=.venv" in setup and '-m venv "$VENV"' in setup
    # pip and the lock check run with the venv's python, never $PYTHON / python3
    assert re.search(r'"\$VPY" -m pip install .*-c "\$LOCK" -e', setup)
    assert '"$VPY" scripts/lock.py check' in setup
    assert not re.search(r"(\$PYTHON|python3)\s+-m\s+pip", setup)
    run = "\n".join(_code("scripts/run.sh"))
    assert "CLUSTERATLAS=.venv/bin/clusteratlas" in run
    assert not re.search(r"exec clusteratlas\b", run)
    test = "\n".join(_code("scripts/test.sh"))
    assert "PYTHON=.venv/bin/python" in test and '"$PYTHON" -m pytest' in test
    assert "bash scripts/test.sh" in "\n".join(_code(".ci/run"))


def test_the_venv_is_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".venv/" in ignored
