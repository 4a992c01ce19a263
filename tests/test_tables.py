"""Table export (clusteratlas.tables): CSV safe in spreadsheets, LaTeX that compiles, HTML escaped."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from latex_checks import compile_tables

from clusteratlas import tables

HOSTILE_NAMES = [
    "=cmd|' /C calc'!A0",
    "+SUM(A1:A9)",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example","x")',
]


def hostile_frame() -> pd.DataFrame:
    n = len(HOSTILE_NAMES)
    return pd.DataFrame(
        {
            "cluster_name": HOSTILE_NAMES,
            "cluster_code": pd.Series(["1", "-0.5", "+3", "2e-3", "-", "a", "b"], dtype="string"),
            "kind": pd.Categorical(["=x", "ok", "ok", "ok", "ok", "ok", "ok"]),
            "emp": np.arange(n) - 3.0,  # negative numbers: not formulas
            "change": pd.array([-1, 2, None, -4, 5, 6, 7], dtype="Int64"),
            "strong": [True] * n,
        }
    )


def test_csv_neutralises_formula_cells_and_keeps_numbers():
    frame = hostile_frame()
    text = tables.to_csv(frame)
    rows = list(csv.DictReader(io.StringIO(text)))
    # every formula-like text cell starts with ' (read as text by Excel, LibreOffice, Sheets)
    # (a bare CR inside a cell is written as LF, which the writer quotes: one row per row)
    expected = ["'" + name.replace("\r", "\n") for name in HOSTILE_NAMES]
    assert [r["cluster_name"] for r in rows] == expected
    # text that is only a number is not a formula; a lone "-" is not a number
    assert [r["cluster_code"] for r in rows] == ["1", "-0.5", "+3", "2e-3", "'-", "a", "b"]
    assert rows[0]["kind"] == "'=x" and rows[1]["kind"] == "ok"
    back = pd.read_csv(io.StringIO(text))
    assert back["emp"].tolist() == frame["emp"].tolist()  # -3.0 ... untouched
    assert back["change"].tolist()[:2] == [-1, 2] and pd.isna(back["change"][2])
    assert back["strong"].all()
    assert frame["cluster_name"].tolist() == HOSTILE_NAMES  # the caller's frame is not changed
    header = tables.to_csv(pd.DataFrame({"=bad": [1], "ok": [2]})).splitlines()[0]
    assert header == "'=bad,ok"


def test_export_writes_the_safe_csv(tmp_path: Path):
    (written,) = tables.export(hostile_frame(), tmp_path / "t", formats=("csv",))
    assert written.read_text() == tables.to_csv(hostile_frame())
    assert "\n'=cmd|" in written.read_text()


def test_latex_escapes_headers_cells_and_caption():
    frame = pd.DataFrame(
        {"region_type": ["a_b", "50% & #1 $x {y} ~z ^w \\q"], "value_%": [1.5, -2.0]}
    )
    tex = tables.to_latex(frame, caption="Growth_rate & 100% {raw}")
    assert r"region\_type & value\_\% \\" in tex
    assert r"a\_b & 1.5000 \\" in tex
    expected = r"50\% \& \#1 \$x \{y\} \textasciitilde{}z \textasciicircum{}w \textbackslash{}q"
    assert expected + r" & -2.0000 \\" in tex
    assert r"\caption{Growth\_rate \& 100\% \{raw\}}" in tex
    assert tables.latex_escape("2014–2017 −0.5 ≥ 1 Δ") == (
        r"2014--2017 \textminus{}0.5 $\geq$ 1 $\Delta$"
    )


def test_html_caption_and_cells_are_escaped():
    page = tables.to_html(pd.DataFrame({"name": ["<script>x</script>"]}), caption="<b>&</b>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<figcaption>&lt;b&gt;&amp;&lt;/b&gt;</figcaption>" in page


def test_hostile_tables_compile_with_pdflatex(tmp_path: Path):
    frame = hostile_frame().assign(
        odd=["a_b", "50%", "&#$", "{x}", "~^", "\\end{document}", "2014–2017 −1 × ≥ Δβ"]
    )
    frame.columns = [f"{c}_#%" for c in frame.columns]
    written = tables.export(frame, tmp_path / "hostile_names", formats=("tex",), caption="a_b & c%")
    assert compile_tables(written, tmp_path / "latex") == {}
    # the check can fail: an unescaped table does not compile
    raw = tmp_path / "raw.tex"
    raw.write_text(frame.to_latex(index=False))
    assert "raw.tex" in compile_tables([raw], tmp_path / "latex")


@pytest.mark.parametrize("value", ["=1", "@a", "+a", "-a", "\tx", "\rx"])
def test_csv_safe_text_prefixes_each_trigger(value: str):
    assert tables.csv_safe_text(value) == "'" + value
