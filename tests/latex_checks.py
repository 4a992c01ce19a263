"""Compile exported ``.tex`` tables with pdflatex (tests of :mod:`clusteratlas.tables`).

Every table goes into one minimal document each, as a user would ``\\input`` it. booktabs
(``\\toprule``...) is used when installed; Debian's small ``texlive-latex-base`` (which
scripts/setup.sh installs) lacks it, so its rules then fall back to ``\\hline``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

PDFLATEX = shutil.which("pdflatex")

PREAMBLE = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\IfFileExists{booktabs.sty}{\usepackage{booktabs}}{%
  \newcommand{\toprule}{\hline}\newcommand{\midrule}{\hline}\newcommand{\bottomrule}{\hline}}
\begin{document}
"""


def require_pdflatex() -> str:
    """pdflatex's path; skip (fail under CI, where setup.sh installs it) when absent."""
    if PDFLATEX:
        return PDFLATEX
    message = "pdflatex not found (Debian: apt-get install texlive-latex-base); needed to compile .tex tables"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + " -- under CI its absence is a failure, not a skip")
    pytest.skip(message)


def compile_tables(tables: Iterable[Path], workdir: Path) -> dict[str, str]:
    """Compile each ``.tex`` table in its own document; {table name: pdflatex's error} of
    those that failed (empty when all compiled)."""
    pdflatex = require_pdflatex()
    failures = {}
    workdir.mkdir(parents=True, exist_ok=True)
    for table in tables:
        document = workdir / f"doc_{table.stem}.tex"
        document.write_text(PREAMBLE + table.read_text(encoding="utf-8") + "\n\\end{document}\n")
        done = subprocess.run(
            [pdflatex, "-interaction=nonstopmode", "-halt-on-error", document.name],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not document.with_suffix(".pdf").exists():
            log = document.with_suffix(".log")
            text = log.read_text(errors="replace") if log.exists() else done.stdout
            lines = text.splitlines()
            errors = [" ".join(lines[i : i + 3]) for i, x in enumerate(lines) if x.startswith("!")]
            failures[table.name] = " | ".join(errors[:2]) or text[-500:]
    return failures
