"""Where things live: the user's cache, the default store, and the project's shared real data."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Download cache for fetched public files (``CLUSTERATLAS_CACHE`` or ``~/.cache/clusteratlas``)."""
    root = os.environ.get("CLUSTERATLAS_CACHE") or Path.home() / ".cache" / "clusteratlas"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_store_path() -> Path:
    """The embedded DuckDB store used when no ``--store`` is given."""
    return Path(os.environ.get("CLUSTERATLAS_STORE", "clusteratlas-output/clusteratlas.duckdb"))


def shared_data_dir() -> Path | None:
    """The real public data folder (``../shared/data`` beside a checkout), if present.

    ``CLUSTERATLAS_DATA`` overrides the location.
    """
    env = os.environ.get("CLUSTERATLAS_DATA")
    candidates = [Path(env)] if env else []
    repo_root = Path(__file__).resolve().parent.parent
    candidates.append(repo_root.parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None
