"""The lock: exact versions of everything clusteratlas[dev] pulls in, as the suite last passed.

    python scripts/lock.py write    # write requirements/constraints.txt from this environment
    python scripts/lock.py check    # exit 0 if this environment already matches the lock

``pyproject.toml`` keeps floor versions for users (``pip install clusteratlas``). The lock is
a pip constraints file (``pip install -c requirements/constraints.txt -e '.[dev]'``) holding
the installed version of every distribution the project needs: its dependencies, its ``dev``
extra and, transitively, what those require (with the extras they ask for, markers evaluated
for this interpreter and platform). Tools installed beside it that it does not need (linters
of other projects, notebooks...) are left out; the project itself is not pinned (it is
installed from the checkout).

``check`` is what ``scripts/setup.sh`` runs first, so a set-up machine costs no pip run: it
passes when every locked distribution is installed at its locked version and every
requirement of the current ``pyproject.toml`` is installed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]
try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # a bare interpreter: pip vendors packaging
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "constraints.txt"
EXTRAS = ("dev",)


def project() -> tuple[str, list[Requirement]]:
    """The project's name and its requirements (dependencies plus the :data:`EXTRAS`)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(meta.get("dependencies", []))
    for extra in EXTRAS:
        texts += meta.get("optional-dependencies", {}).get(extra, [])
    return meta["name"], [Requirement(text) for text in texts]


def _wanted(requirement: Requirement, extras: set[str]) -> bool:
    """Whether ``requirement`` applies here for a distribution asked for with ``extras``."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def closure(roots: list[Requirement]) -> tuple[dict[str, str], list[str]]:
    """Installed version of every distribution ``roots`` need, transitively; and the names of
    those that are not installed."""
    extras: dict[str, set[str]] = {}
    versions: dict[str, str] = {}
    missing: list[str] = []
    queue = [(r, set()) for r in roots if _wanted(r, set())]
    while queue:
        requirement, _ = queue.pop()
        name = canonicalize_name(requirement.name)
        asked = set(requirement.extras)
        if name in extras and asked <= extras[name]:
            continue
        extras[name] = extras.get(name, set()) | asked
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        versions[name] = dist.version
        for text in dist.requires or []:
            child = Requirement(text)
            if _wanted(child, extras[name]):
                queue.append((child, set()))
    return versions, sorted(set(missing))


def write(path: Path = LOCK) -> int:
    name, roots = project()
    versions, missing = closure(roots)
    if missing:
        print(
            f"lock: not installed: {', '.join(missing)}; run scripts/setup.sh first",
            file=sys.stderr,
        )
        return 1
    versions.pop(canonicalize_name(name), None)
    lines = [
        "# Exact versions clusteratlas[dev] needs, transitively, as installed when the test",
        "# suite last passed. Written by `bash scripts/lock.sh` (scripts/lock.py); installed by",
        "# scripts/setup.sh with `pip install -c requirements/constraints.txt -e '.[dev]'`.",
        "# Users install with the floors in pyproject.toml instead: `pip install clusteratlas`.",
        f"# Resolved for CPython {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {dt.date.today().isoformat()}.",
        *(f"{dist}=={version}" for dist, version in sorted(versions.items())),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"lock: {len(versions)} distributions written to {path.relative_to(ROOT)}")
    return 0


def read(path: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*==\s*([^\s;#]+).*", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def check(path: Path = LOCK) -> int:
    """0 if the environment matches the lock and holds every current requirement."""
    name, roots = project()
    problems = []
    for dist, version in read(path).items():
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            problems.append(f"{dist} missing (locked {version})")
            continue
        if installed != version:
            problems.append(f"{dist} {installed} (locked {version})")
    _, missing = closure([*roots, Requirement(name)])
    problems += [f"{dist} missing (required)" for dist in missing]
    if not missing:
        # the package itself must be the editable install of THIS checkout: a clone elsewhere
        # (CI, a second worktree) would otherwise run another copy's `clusteratlas` command
        source = metadata.distribution(name).read_text("direct_url.json") or ""
        here = ROOT.resolve().as_uri()
        if f'"{here}"' not in source and f'"{here}/"' not in source:
            problems.append(f"{name} is not installed from this checkout ({ROOT})")
    for problem in problems:
        print(f"lock: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["write", "check"])
    args = parser.parse_args()
    return write() if args.command == "write" else check()


if __name__ == "__main__":
    sys.exit(main())
