"""Export of result tables to CSV, LaTeX and HTML (atomic writes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from clusteratlas import atomic
from clusteratlas.errors import ParameterError

FORMATS = ("csv", "tex", "html")


def readable_number(value: float) -> str:
    """Counts and money with thousands separators, other values with 4 significant digits.

    Analysts read "48,770" faster than "4.877e+04"; shares and indices keep their precision.
    """
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


FloatFormat = str | Callable[[float], str]


def _formatter(float_format: FloatFormat) -> Callable[[float], str]:
    return float_format if callable(float_format) else float_format.__mod__


def to_latex(
    frame: pd.DataFrame, caption: str | None = None, float_format: FloatFormat = "%.4f"
) -> str:
    return frame.to_latex(index=False, caption=caption, float_format=_formatter(float_format))


def to_html(
    frame: pd.DataFrame, caption: str | None = None, float_format: FloatFormat = readable_number
) -> str:
    html = frame.to_html(
        index=False, float_format=_formatter(float_format), border=0, classes="table"
    )
    return f"<figure><figcaption>{caption}</figcaption>{html}</figure>" if caption else html


def export(
    frame: pd.DataFrame,
    stem: str | Path,
    formats: Iterable[str] = FORMATS,
    caption: str | None = None,
) -> list[Path]:
    """Write ``frame`` to ``stem.csv``, ``stem.tex`` and/or ``stem.html``; return the paths."""
    written = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise ParameterError("formats", f"unknown format {fmt!r}", allowed=", ".join(FORMATS))
        target = Path(f"{stem}.{fmt}")
        if fmt == "csv":
            text = frame.to_csv(index=False)
        elif fmt == "tex":
            text = to_latex(frame, caption)
        else:
            text = to_html(frame, caption)
        written.append(atomic.write_text(target, text))
    return written
