"""The report renders the tables the main job is about to write, and degrades without them.

On a copy of the SYNTHETIC demo run's store: ``run_provenance`` (one row per stage and input,
with a "not possible" row), a ``level`` column on ``run_did`` ("region", "region x cluster"),
a ``shock`` column on ``run_cluster_resilience`` and one more ``run_theory_*`` table. The
report shows the provenance as the appendix's "Data used" table and the "not possible" row as
a sentence in its section, groups the DID by level, names the shock, and lists the new theory
table; every key-finding number still equals its cell.
"""

from __future__ import annotations

import html
import json
import re
import shutil

import pandas as pd

from clusteratlas.report.html import render_report
from clusteratlas.store import Store
from clusteratlas.studies.cluster_resilience.config import from_mapping
from clusteratlas.studies.cluster_resilience.pipeline import Pipeline


def _cells(page: str) -> dict[tuple[str, str, str], str]:
    """(table id, row key, column) -> cell text, from the report's own table markup."""
    out = {}
    for table_id, body in re.findall(
        r'<table class="table" id="([^"]+)".*?<tbody>(.*?)</tbody>', page, re.S
    ):
        for key, row in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', body, re.S):
            for col, text in re.findall(r'<td data-col="([^"]+)"[^>]*>(.*?)</td>', row, re.S):
                out[(table_id, html.unescape(key), col)] = html.unescape(text)
    return out


def _finding_numbers(page: str) -> list[tuple[str, str, str, str]]:
    findings = page[page.index('<section id="findings">') : page.index("</section>")]
    return [
        (t, html.unescape(k), c, html.unescape(n))
        for t, k, c, n in re.findall(
            r'<a class="num" href="#[^"]+" data-table="([^"]+)" data-key="([^"]*)" '
            r'data-col="([^"]+)">(.*?)</a>',
            findings,
        )
    ]


def _render(out, demo_out) -> str:
    manifest = json.loads((demo_out / "manifest.json").read_text())
    pipeline = Pipeline(from_mapping(manifest["config"]), out_dir=out, demo=True)
    pipeline.notes = {k: v.get("notes", []) for k, v in manifest["stages"].items()}
    with Store(out / "clusteratlas.duckdb", read_only=True) as store:
        render_report(pipeline, store)
    return (out / "report.html").read_text()


def test_tables_the_main_job_will_write(demo_run, tmp_path):
    demo_out, _ = demo_run
    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(demo_out / "clusteratlas.duckdb", out / "clusteratlas.duckdb")
    shutil.copytree(demo_out / "figures", out / "figures")
    with Store(out / "clusteratlas.duckdb") as store:
        store.write(
            "run_provenance",
            pd.DataFrame(
                {
                    "stage": ["load", "panel", "causal"],
                    "input": ["county_business_patterns", "uscm_definitions", "qcew_quarterly"],
                    "source": ["Census CBP", "USCM", "BLS QCEW"],
                    "years": ["2016-2022", "2012", ""],
                    "region_level": ["county", "county", "county"],
                    "status": ["used", "used", "not possible"],
                    "reason": ["", "", "quarterly files not in the data folder"],
                }
            ),
        )
        did = store.read("run_did")
        store.write(
            "run_did",
            pd.concat(
                [did.assign(level="region"), did.assign(level="region x cluster")],
                ignore_index=True,
            ),
        )
        cres = store.read("run_cluster_resilience")
        store.write("run_cluster_resilience", cres.assign(shock="COVID-19"))
        store.write(
            "run_theory_closed_forms",
            pd.DataFrame({"regime": ["A", "P_C"], "boundary": ["K < 0.7", "K >= 0.7"]}),
        )
    page = _render(out, demo_out)
    appendix = page[page.index('<section id="appendix">') :]
    assert 'id="tbl-data-used"' in appendix and "BLS QCEW" in appendix
    assert "quarterly files not in the data folder" in appendix
    evidence = page[page.index('<section id="evidence">') : page.index('<section id="theory">')]
    assert (
        "Not possible with these data: qcew quarterly (quarterly files not in the data folder)."
        in evidence
    )
    assert "Difference in differences (region level)" in evidence
    assert "Difference in differences (region x cluster level)" in evidence
    assert 'id="tbl-did-corrected-region-x-cluster"' in evidence
    shocks = page[page.index('<section id="resilience">') : page.index('<section id="evidence">')]
    assert "the COVID-19 shock" in shocks
    theory = page[page.index('<section id="theory">') : page.index('<section id="policy">')]
    assert "Theory closed forms" in theory and "K &lt; 0.7" in theory
    assert "run_theory_closed_forms" not in re.sub(r'data-col="[^"]*"|Inputs:[^<]*', "", theory)
    cells = _cells(page)
    numbers = _finding_numbers(page)
    assert len(numbers) >= 10
    for table, key, col, number in numbers:
        assert cells.get((table, key, col)) == number, (table, key, col, number)


def test_without_the_optional_tables(demo_run, tmp_path):
    """No related clusters, no cluster resilience, no event study: sentences say what is
    missing, the report still has its findings."""
    demo_out, _ = demo_run
    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(demo_out / "clusteratlas.duckdb", out / "clusteratlas.duckdb")
    with Store(out / "clusteratlas.duckdb") as store:
        for table in ("run_related_clusters", "run_cluster_resilience", "run_event_study"):
            store.drop(table)
    page = _render(out, demo_out)  # no figures folder either
    assert "Related clusters: not measured: needs the USCM related-cluster pairs file" in page
    assert "Resistance and recovery per cluster: not measured" in page
    assert "Event study: no estimates" in page
    assert "RD plot: region outcome growth" in page and "figure not produced" in page
    assert 5 <= page.count('<li class="finding">') <= 8
    cells = _cells(page)
    for table, key, col, number in _finding_numbers(page):
        assert cells.get((table, key, col)) == number, (table, key, col, number)
