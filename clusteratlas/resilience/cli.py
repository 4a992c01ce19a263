"""Command-line commands of clusteratlas.resilience (added to the root app by :func:`register`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""
