"""Fixtures of the data tests: readers run in a child process under a memory ceiling.

``run_child`` runs a ``clusteratlas`` command or a Python snippet in a child process whose
address space is capped with ``RLIMIT_AS`` and returns how it ended (error type and message,
exit status) and its peak resident memory. The hostile-input and streaming tests record each
child's peak with ``peak_memory``; the table is printed at the end of the run (the evidence
that each case failed fast, or streamed, well below the ceiling).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Address-space ceiling of each child. Importing clusteratlas, pandas, pyarrow and DuckDB and
#: loading a small file takes about 1.4 GiB of address space (200 MB resident), so 2 GiB
#: leaves a few hundred MB for the work: a reader whose memory grows with its input dies.
CEILING = 2 << 30

# The child: cap the address space, run one CLI command or one snippet, report how it ended.
CHILD = r"""
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
call = json.loads(sys.argv[2])
outcome = {"error": None, "exit": None, "result": None}
try:
    if "cli" in call:
        from clusteratlas.cli import main
        sys.argv = ["clusteratlas", *call["cli"]]
        try:
            main()
        except SystemExit as stop:
            outcome["exit"] = stop.code
    else:
        scope = {}
        exec(call["code"], scope)
        outcome["result"] = scope.get("result")
except BaseException as error:
    outcome["error"] = type(error).__name__
    outcome["message"] = str(error)[:2000]
# peak resident memory of this process: VmHWM (ru_maxrss would do, but Linux carries the
# parent's high-water mark across fork + exec into it)
try:
    with open("/proc/self/status") as status:
        hwm = next(l for l in status if l.startswith("VmHWM:"))
    outcome["maxrss_mib"] = int(hwm.split()[1]) / 1024
except OSError:
    outcome["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(outcome))
"""


class ChildRunner:
    """``run_child({"cli": [...]} or {"code": "..."}, cwd)`` -> (report, stderr)."""

    ceiling = CEILING

    def __call__(self, call: dict, cwd: Path) -> tuple[dict, str]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per thread otherwise
            "OPENBLAS_NUM_THREADS": "1",
            "CLUSTERATLAS_OFFLINE": "1",
        }
        # the timeout only turns a hang (a FIFO opened for reading blocks) into a failure
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(self.ceiling), json.dumps(call)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=900,
            check=False,
        )
        report = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        assert report, (
            f"the child died without reporting (exit status {done.returncode}; a negative "
            f"status is the signal that killed it):\n{done.stderr[-3000:]}"
        )
        return json.loads(report[-1][len("RESULT ") :]), done.stderr


@pytest.fixture(scope="session")
def run_child() -> ChildRunner:
    return ChildRunner()


PEAKS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def peak_memory(request) -> list[tuple[str, float, str]]:
    """Rows (case, peak resident memory in MiB, outcome) of the children."""
    return request.config.stash.setdefault(PEAKS, [])


def pytest_terminal_summary(terminalreporter, config) -> None:
    rows = config.stash.get(PEAKS, [])
    if not rows:
        return
    terminalreporter.section(
        f"readers in a child process under a {CEILING >> 30} GiB address-space ceiling: "
        "peak resident memory"
    )
    for case, peak, outcome in sorted(rows):
        terminalreporter.write_line(f"{case:<40} {peak:8.1f} MiB   {outcome}")
