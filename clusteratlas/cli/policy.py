"""``clusteratlas policy``: APEC guideline-area diagnostics of a region (clusteratlas.policy)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""

    @app.command("policy")
    def policy(
        store: Path = typer.Option(
            None, "--store", help="DuckDB store with a cluster_panel (from 'clusteratlas run')."
        ),
        region: str = typer.Option(..., "--region", help="Region id, e.g. state FIPS 01."),
        region_type: str = typer.Option(
            "state", "--region-type", help="state, county, msa or economic_area."
        ),
        peers: str = typer.Option("", "--peers", help="Comma-separated peer region ids."),
        year: int = typer.Option(0, "--year", help="Panel year (0 = latest)."),
        csv: Path = typer.Option(None, "--csv", help="Also write the tidy table to this CSV."),
    ) -> None:
        """Diagnose a region's clusters against the seven APEC cluster-policy areas (measurable proxies only)."""
        from clusteratlas import atomic, tables
        from clusteratlas.policy.diagnostics import diagnose
        from clusteratlas.store import Store

        with Store(store, read_only=True) as st:
            result = diagnose(
                st,
                region,
                region_type=region_type,
                peers=[p for p in peers.split(",") if p] or None,
                year=year or None,
            )
        typer.echo(result.summary())
        if csv:
            atomic.write_text(csv, tables.to_csv(result.tidy()))
