"""PDF copies of the report and the region briefs, printed by headless Chromium.

Owns :func:`print_pdf` (one HTML file -> one PDF, Chromium's print-to-PDF with the page size
of the page's ``@page`` rule, A4) and :func:`write_pdfs` (``report.pdf`` and one
``brief-<region>.pdf`` per region of interest beside the HTML files). Chromium runs with a
fresh profile in a temporary folder, no network, no GPU and no sandbox (it runs as the
user's own process on a local file); the files are written atomically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from clusteratlas import atomic
from clusteratlas.errors import ClusterAtlasError, DataUnavailableError

#: where Debian installs chromium; CLUSTERATLAS_CHROMIUM overrides
DEFAULT_CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-pdf-header-footer",
    "--run-all-compositor-stages-before-draw",
)


def chromium() -> str:
    """The Chromium executable (``CLUSTERATLAS_CHROMIUM``, /usr/bin/chromium, or on PATH)."""
    for candidate in (
        os.environ.get("CLUSTERATLAS_CHROMIUM"),
        DEFAULT_CHROMIUM,
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise DataUnavailableError(
        "writing a PDF needs Chromium: none found at /usr/bin/chromium or on PATH",
        hint="install it (Debian: apt-get install chromium) or set CLUSTERATLAS_CHROMIUM",
    )


def print_pdf(html: Path, pdf: Path, timeout: float = 180.0) -> Path:
    """Print the local HTML file ``html`` to ``pdf`` with headless Chromium."""
    html, pdf = Path(html).resolve(), Path(pdf)
    if not html.is_file():
        raise DataUnavailableError(f"{html} does not exist", hint="run the report first")
    with tempfile.TemporaryDirectory(prefix="clusteratlas-chromium-") as profile:
        target = Path(profile) / "out.pdf"
        command = [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}/profile",
            f"--print-to-pdf={target}",
            html.as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise ClusterAtlasError(
                f"Chromium did not print {html.name} within {timeout:.0f} s"
            ) from None
        if not target.is_file() or target.stat().st_size == 0:
            raise ClusterAtlasError(
                f"Chromium printed no PDF of {html.name} (exit {done.returncode}): "
                + (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            )
        atomic.write_bytes(pdf, target.read_bytes())
    return pdf


def write_pdfs(out_dir: Path, regions: list[str] | None = None) -> list[Path]:
    """``report.pdf`` and ``brief-<region>.pdf`` for each brief in ``out_dir``."""
    out_dir = Path(out_dir)
    written = [print_pdf(out_dir / "report.html", out_dir / "report.pdf")]
    briefs = (
        [out_dir / f"brief-{r}.html" for r in regions]
        if regions
        else sorted(out_dir.glob("brief-*.html"))
    )
    for brief in briefs:
        written.append(print_pdf(brief, brief.with_suffix(".pdf")))
    return written
