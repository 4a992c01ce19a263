"""Export of result tables to CSV, LaTeX and HTML (atomic writes).

Owns the one place where a table becomes a file, and so the safety of each format:

- CSV (:func:`to_csv`): text cells a spreadsheet would run as a formula (leading ``=``, ``+``,
  ``-``, ``@``, tab or carriage return, OWASP "CSV injection") are prefixed with ``'``, which
  Excel, LibreOffice and Google Sheets read as "this cell is text". Numbers, and text that is
  just a number (``-0.5``), are left alone: a negative number is not a formula.
- LaTeX (:func:`to_latex`): headers, cells and caption have ``_ % & # $ { } ~ ^ \\``
  escaped, so any name (a region, cluster or column a user supplied) compiles.
- HTML (:func:`to_html`): cells and caption are HTML-escaped.
"""

from __future__ import annotations

import html
import io
import re
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


#: first characters that make a spreadsheet cell a formula (or, tab/CR, hide one)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def csv_safe_text(value: object) -> object:
    """``value`` as a spreadsheet shows it as text: ``'`` before a formula-like string.

    ``"=HYPERLINK(...)"`` -> ``"'=HYPERLINK(...)"``; ``"-0.5"``, ``-0.5`` and ``None`` unchanged.
    """
    formula_like = isinstance(value, str) and value.startswith(FORMULA_STARTS)
    return "'" + value if formula_like and not _PLAIN_NUMBER.match(value) else value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`csv_safe_text` applied to its text columns and column names
    (a copy; numeric, boolean and date columns are not touched), line breaks as ``\\n``."""
    text_columns = [
        c
        for c in frame.columns
        if pd.api.types.is_object_dtype(frame[c])
        or pd.api.types.is_string_dtype(frame[c])
        or isinstance(frame[c].dtype, pd.CategoricalDtype)
    ]
    safe = frame.copy()
    for column in text_columns:
        values = safe[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        safe[column] = values.map(_csv_cell)
    safe.columns = [csv_safe_text(c) for c in safe.columns]
    return safe


def _csv_cell(value: object) -> object:
    value = csv_safe_text(value)
    if isinstance(value, str) and "\r" in value:
        # the csv writer quotes a field holding "\n" but not a bare "\r", which most readers
        # take for the end of the row: line breaks inside a cell are written as "\n"
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def to_csv(frame: pd.DataFrame) -> str:
    """The CSV text of ``frame`` (no index), safe to open in a spreadsheet (:func:`csv_safe`)."""
    buffer = io.StringIO()
    csv_safe(frame).to_csv(buffer, index=False)
    return buffer.getvalue()


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
#: characters pdflatex's default (T1, utf8) set-up has no glyph for, as LaTeX writes them
_LATEX_UNICODE = {
    "\u2212": r"\textminus{}",  # minus sign
    "\u2013": "--",
    "\u2014": "---",
    "\u2026": r"\ldots{}",
    "\u00d7": r"\texttimes{}",
    "\u00b1": r"\textpm{}",
    "\u2264": r"$\leq$",
    "\u2265": r"$\geq$",
    "\u2248": r"$\approx$",
    "\u2192": r"$\rightarrow$",
    "\u0394": r"$\Delta$",
    "\u03b1": r"$\alpha$",
    "\u03b2": r"$\beta$",
    "\u03c3": r"$\sigma$",
    "\u03c4": r"$\tau$",
    "\u03c1": r"$\rho$",
}
_LATEX_SPECIALS.update(_LATEX_UNICODE)
_LATEX_SPECIAL = re.compile("|".join(map(re.escape, _LATEX_SPECIALS)))


def latex_escape(text: object) -> str:
    """``text`` with LaTeX's special characters escaped: ``"a_b 50%"`` -> ``"a\\_b 50\\%"``;
    symbols pdflatex cannot print as typed (``−``, ``–``, ``≥``, Greek letters) as commands."""
    return _LATEX_SPECIAL.sub(lambda m: _LATEX_SPECIALS[m.group()], str(text))


def to_latex(
    frame: pd.DataFrame, caption: str | None = None, float_format: FloatFormat = "%.4f"
) -> str:
    """A ``booktabs`` table of ``frame`` (no index) with headers, cells and caption escaped."""
    body = frame.copy()
    body.columns = [latex_escape(c) for c in body.columns]
    for column in body.columns:
        if not pd.api.types.is_numeric_dtype(body[column]):
            body[column] = body[column].map(lambda v: v if _missing(v) else latex_escape(v))
    return body.to_latex(
        index=False,
        escape=False,  # done above, once, with the same rules for headers, cells and caption
        caption=latex_escape(caption) if caption else None,
        float_format=_formatter(float_format),
    )


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays
        return False


def to_html(
    frame: pd.DataFrame, caption: str | None = None, float_format: FloatFormat = readable_number
) -> str:
    table = frame.to_html(
        index=False, float_format=_formatter(float_format), border=0, classes="table", escape=True
    )
    if not caption:
        return table
    return f"<figure><figcaption>{html.escape(caption)}</figcaption>{table}</figure>"


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
            text = to_csv(frame)
        elif fmt == "tex":
            text = to_latex(frame, caption)
        else:
            text = to_html(frame, caption)
        written.append(atomic.write_text(target, text))
    return written
