"""The package's warnings are named (clusteratlas.errors) and the suite escalates unasserted ones.

Every ``warnings.warn`` in the package names a subclass of :class:`ClusterAtlasWarning`, so a
user can silence or escalate one kind, and pyproject's ``filterwarnings`` turns any of them that
a test does not assert with ``pytest.warns`` into an error (a new warning is noticed).
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import clusteratlas
from clusteratlas import errors
from clusteratlas.errors import (
    ClusterAtlasWarning,
    DataCoverageWarning,
    DataWarning,
    DesignWarning,
    DroppedObservationsWarning,
    EstimationWarning,
    ParameterWarning,
    SmallSampleWarning,
    SuppressedDataWarning,
)

PACKAGE = Path(clusteratlas.__file__).parent


def _warn_calls():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("warnings.warn", "warn"):
                yield path.relative_to(PACKAGE.parent), node


def test_the_hierarchy():
    assert issubclass(ClusterAtlasWarning, UserWarning)
    for kind in (SuppressedDataWarning, DataCoverageWarning):
        assert issubclass(kind, DataWarning)
    for kind in (DroppedObservationsWarning, SmallSampleWarning, DesignWarning):
        assert issubclass(kind, EstimationWarning)
    for kind in (DataWarning, EstimationWarning, ParameterWarning):
        assert issubclass(kind, ClusterAtlasWarning)


def test_every_warning_the_package_raises_is_named():
    """No bare UserWarning: each call passes a ClusterAtlasWarning subclass as its category
    (or a variable chosen among them, checked by the test of that module)."""
    unnamed, seen = [], 0
    for where, call in _warn_calls():
        seen += 1
        category = call.args[1] if len(call.args) > 1 else None
        for keyword in call.keywords:
            if keyword.arg == "category":
                category = keyword.value
        if isinstance(category, ast.Name) and category.id == "kind":
            continue  # resilience.indices picks DataCoverageWarning or DesignWarning
        name = ast.unparse(category) if category is not None else "UserWarning (default)"
        kind = getattr(errors, name, None)
        if not (isinstance(kind, type) and issubclass(kind, ClusterAtlasWarning)):
            unnamed.append(f"{where}:{call.lineno}: {name}")
    assert seen > 30
    assert not unnamed, "\n".join(unnamed)


def test_unasserted_package_warnings_are_errors_in_the_suite():
    """pyproject's filterwarnings escalates ClusterAtlasWarning (this test runs under it)."""
    with pytest.raises(SmallSampleWarning):
        warnings.warn("only 3 clusters", SmallSampleWarning, stacklevel=1)
    with pytest.warns(SmallSampleWarning, match="clusters"):
        warnings.warn("only 3 clusters", SmallSampleWarning, stacklevel=1)


def _blanket_ignores():
    """``simplefilter("ignore")`` / ``filterwarnings("ignore")`` calls that name no category."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name not in ("warnings.simplefilter", "warnings.filterwarnings"):
                continue
            action = node.args[0] if node.args else None
            if not (isinstance(action, ast.Constant) and action.value == "ignore"):
                continue
            named = len(node.args) > (1 if name.endswith("simplefilter") else 2) or any(
                k.arg == "category" for k in node.keywords
            )
            if not named:
                yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def test_no_blanket_ignore_of_warnings():
    # a block that expects a warning silences that class only (errors.expected_warnings)
    assert list(_blanket_ignores()) == []


def test_expected_warnings_silences_only_the_named_classes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with errors.expected_warnings(SuppressedDataWarning):
            warnings.warn("2 suppressed cells left out", SuppressedDataWarning, stacklevel=1)
            warnings.warn("1 unit dropped", DroppedObservationsWarning, stacklevel=1)
            warnings.warn("a third-party warning", RuntimeWarning, stacklevel=1)
        with errors.expected_warnings(DesignWarning, message="no never-treated"):
            warnings.warn("no never-treated units", DesignWarning, stacklevel=1)
            warnings.warn("every unit is eventually treated", DesignWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "1 unit dropped",
        "a third-party warning",
        "every unit is eventually treated",
    ]
    with pytest.raises(errors.ParameterError, match="categories"), errors.expected_warnings():
        pass
