"""The package's architecture holds: imports follow the layers without cycles, only the data
catalog names the shared data files, modules stay small, and the committed picture is current.

The import check is ``scripts/architecture.py`` (every import counts, including the ones inside
functions); it is also run here on small planted packages, to show it fails where it must.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from clusteratlas.data import catalog

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clusteratlas"


def _load_checker():
    spec = importlib.util.spec_from_file_location(
        "architecture", ROOT / "scripts" / "architecture.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


architecture = _load_checker()


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    """A small package named clusteratlas under ``tmp_path`` with the given modules."""
    root = tmp_path / "clusteratlas"
    for name, text in {"__init__.py": '"""x"""\n', **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# -- imports ---------------------------------------------------------------------------------
def test_imports_follow_the_layers_without_cycles():
    problems = architecture.check(PACKAGE, ROOT)
    assert problems == [], "\n".join(problems)


def test_a_lazy_import_of_a_higher_layer_is_caught_and_named(tmp_path):
    root = _plant(
        tmp_path,
        {
            "errors.py": '"""core"""\n',
            "data/__init__.py": '"""data"""\n',
            "data/catalog.py": '"""catalog"""\n',
            "data/reader.py": """\
                '''reads'''
                from clusteratlas.errors import x


                def read():
                    from clusteratlas.report.html import render  # a layer breach

                    return render
                """,
            "report/__init__.py": '"""report"""\n',
            "report/html.py": '"""renders"""\nfrom clusteratlas.data import catalog\n',
        },
    )
    problems = architecture.check(root, tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith("clusteratlas/data/reader.py:6: ")
    assert "clusteratlas.data.reader imports clusteratlas.report.html" in problems[0]
    assert "data (layer 1) must not import from report (layer 5" in problems[0]


def test_a_cycle_within_a_layer_is_caught_with_each_import(tmp_path):
    root = _plant(
        tmp_path,
        {
            "panel/__init__.py": '"""panel"""\n',
            "panel/a.py": '"""a"""\nfrom . import b\n',
            "panel/b.py": '"""b"""\nfrom typing import TYPE_CHECKING\n\n'
            "if TYPE_CHECKING:\n    from clusteratlas.panel.c import C\n",
            "panel/c.py": '"""c"""\n\n\ndef f():\n    from clusteratlas.panel.a import g\n',
        },
    )
    problems = architecture.check(root, tmp_path)
    assert problems == [
        "import cycle: clusteratlas.panel.a -> clusteratlas.panel.b (clusteratlas/panel/a.py:2); "
        "clusteratlas.panel.b -> clusteratlas.panel.c (clusteratlas/panel/b.py:5); "
        "clusteratlas.panel.c -> clusteratlas.panel.a (clusteratlas/panel/c.py:5)"
    ]


def test_dynamic_imports_and_unplaced_packages_are_reported(tmp_path):
    root = _plant(
        tmp_path,
        {
            "cli/__init__.py": """\
                '''cli'''
                import importlib

                for name in ("data",):
                    importlib.import_module(f"clusteratlas.{name}.cli")
                importlib.import_module("clusteratlas.web.app")  # a constant name is an edge
                """,
            "web/__init__.py": '"""web"""\n',
            "web/app.py": '"""app"""\nimport clusteratlas.cli\n',
            "extras/__init__.py": '"""nobody placed this"""\n',
            "extras/thing.py": '"""thing"""\n',
        },
    )
    problems = architecture.check(root, tmp_path)
    assert (
        "clusteratlas/cli/__init__.py:5: dynamic import the layer check cannot follow"
        in (problems[0])
    )
    assert any("clusteratlas.extras.thing belongs to no layer" in p for p in problems)
    assert any(
        p.startswith("clusteratlas/web/app.py:2: clusteratlas.web.app imports clusteratlas.cli")
        for p in problems
    )
    assert any(
        p.startswith("import cycle: clusteratlas.cli -> clusteratlas.web.app") for p in problems
    )


def test_relative_imports_resolve_to_their_modules(tmp_path):
    root = _plant(
        tmp_path,
        {
            "data/__init__.py": '"""data"""\nfrom .sub import reader\n',
            "data/sub/__init__.py": '"""sub"""\n',
            "data/sub/reader.py": '"""r"""\nfrom ..other import thing\nfrom ... import errors\n',
            "data/other.py": '"""o"""\n',
            "errors.py": '"""e"""\n',
        },
    )
    graph = architecture.import_graph(root, tmp_path)
    edges = {(i.source, i.target) for i in graph.imports}
    assert edges == {
        ("clusteratlas.data", "clusteratlas.data.sub.reader"),
        ("clusteratlas.data.sub.reader", "clusteratlas.data.other"),
        ("clusteratlas.data.sub.reader", "clusteratlas.errors"),
    }


# -- one way to find inputs ------------------------------------------------------------------
def _shared_file_names(shared_data: Path | None) -> set[str]:
    names = {entry.name for entry in catalog.KNOWN.values()}
    if shared_data is not None:  # also files the catalog does not list yet
        names |= {p.name for p in shared_data.rglob("*") if p.is_file()}
    return names - {"PROVENANCE.md"}  # documentation, cited in messages, not an input


def test_only_the_catalog_names_the_shared_data_files(request):
    shared = None
    with contextlib.suppress(pytest.skip.Exception):  # without the data: the catalog's own list
        shared = request.getfixturevalue("shared_data")
    names = _shared_file_names(shared)
    assert len(names) >= len(catalog.KNOWN)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "data" / "catalog.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {name}" for name in sorted(names) if name in text]
    assert found == [], "file names of the shared data outside data/catalog.py:\n" + "\n".join(
        found
    )


def test_the_catalog_knows_every_file_it_names(shared_data):
    missing = [
        e.relative for e in catalog.KNOWN.values() if not (shared_data / e.relative).is_file()
    ]
    assert missing == []
    found = catalog.Catalog(shared_data)
    assert found.path("bea_gdp") == shared_data / "bea" / "SAGDP2N__ALL_AREAS_1997_2022.csv.gz"
    assert set(found.digests(["bea_gdp", "cluster_list"])) == {"bea_gdp", "cluster_list"}


def test_a_missing_input_is_named_with_what_it_holds(tmp_path):
    from clusteratlas.errors import DataUnavailableError, ParameterError

    folder = catalog.Catalog(tmp_path)
    with pytest.raises(
        DataUnavailableError, match=r"SAGDP2N__ALL_AREAS_1997_2022\.csv\.gz not found \(BEA"
    ):
        folder.path("bea_gdp")
    with pytest.raises(DataUnavailableError, match=r"lacks clusters/cluster_list\.csv, cbp/"):
        folder.require(["cluster_list", "state_total"])
    with pytest.raises(ParameterError, match="no known input 'gdp'"):
        folder.path("gdp")
    assert folder.digests(["bea_gdp"]) == {}


# the load stage reads BEA GDP (2 suppressed cells) and ITA exports (MSAs the OMB file does not
# name): warnings that become the stage's notes in a run; here only the catalog keys count
@pytest.mark.filterwarnings("ignore::clusteratlas.errors.SuppressedDataWarning")
@pytest.mark.filterwarnings("ignore::clusteratlas.errors.DataCoverageWarning")
def test_both_studies_find_their_inputs_through_the_catalog(shared_data, tmp_path, monkeypatch):
    """The main job's load stage and the replication ask the same catalog for the same files."""
    from clusteratlas.store import Store
    from clusteratlas.studies import cho2024
    from clusteratlas.studies.cluster_resilience import config, stages
    from clusteratlas.studies.cluster_resilience.study import ClusterResilience

    asked: list[str] = []
    find = catalog.Catalog.find
    monkeypatch.setattr(
        catalog.Catalog, "find", lambda self, key: asked.append(key) or find(self, key)
    )

    cho2024.load_inputs(shared_data)
    replication = set(asked)
    asked.clear()
    study = ClusterResilience(config.defaults(), out_dir=tmp_path, data_dir=shared_data)
    with Store(tmp_path / "s.duckdb") as store:
        stages.stage_load(study, store)
    main_job = set(asked)
    shared = {"uscm_state_2016", "definitions_2012", "national_industry", "bea_gdp"}
    assert shared | {"state_total", "laus_state"} <= replication
    assert shared | {"state_total", "national_total", "laus_state", "cbsa_delineation"} <= main_job


# -- size and docstrings -----------------------------------------------------------------------
#: modules allowed over MAX_LINES, each one cohesive algorithm (docs/architecture.md says why)
LARGE_MODULES = {
    "clusteratlas/causal/rd/core.py",  # rdrobust's computational core, kept whole
}
MAX_LINES = 750  # "about 700"


def test_no_module_outgrows_about_700_lines_unless_listed():
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    large = {name for name, n in sizes.items() if n > MAX_LINES}
    assert large <= LARGE_MODULES, {name: sizes[name] for name in large - LARGE_MODULES}
    documented = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert all(name.removeprefix("clusteratlas/") in documented for name in LARGE_MODULES)


def test_every_module_says_what_it_owns():
    bare = [
        str(p.relative_to(ROOT))
        for p in sorted(PACKAGE.rglob("*.py"))
        if len(ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or "") < 20
    ]
    assert bare == []


# -- the picture ---------------------------------------------------------------------------------
def test_the_committed_architecture_picture_is_current():
    drawn = architecture.svg(architecture.import_graph(PACKAGE, ROOT))
    committed = (ROOT / "docs" / "architecture.svg").read_text(encoding="utf-8")
    assert committed == drawn, (
        "docs/architecture.svg is stale: python scripts/architecture.py --svg docs/architecture.svg"
    )
    assert drawn.count('<path d="') == len(
        architecture.group_edges(architecture.import_graph(PACKAGE))[1]
    )
