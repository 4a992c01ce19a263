"""``clusteratlas replicate cho2024``: run the Cho et al. (2024) replication (offline, or with
``--fetch`` the Census API data the offline folder lacks) and write its tables.

The study is :mod:`clusteratlas.studies.cho2024`; its tables and narrative are written by
:mod:`clusteratlas.report.cho2024`."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from clusteratlas.errors import ClusterAtlasWarning


def _replicate_group(app: typer.Typer) -> typer.Typer:
    """The ``replicate`` sub-app of ``app`` (created once, shared by every replication)."""
    for group in app.registered_groups:
        if group.name == "replicate" and group.typer_instance is not None:
            return group.typer_instance
    sub = typer.Typer(
        help="Replicate published studies from the public data, with a corrected design beside each.",
        no_args_is_help=True,
    )
    app.add_typer(sub, name="replicate")
    return sub


def register(app: typer.Typer) -> None:
    """Add ``replicate cho2024`` to the root clusteratlas app."""
    replicate = _replicate_group(app)

    @replicate.command("cho2024")
    def cho2024_command(
        data: Path = typer.Option(
            None,
            "--data",
            help="Data folder with clusters/, cbp/, bea/, qcew/ (default: the shared data).",
        ),
        out: Path = typer.Option(
            Path("clusteratlas-output/cho2024"),
            "--out",
            help="Folder for the tables and the report.",
        ),
        control: str = typer.Option(
            "16",
            "--control-state",
            help="State FIPS code of the paper's 'non-cluster' group (as printed: 16, Idaho; "
            "its growth rates are the printed intercepts).",
        ),
        store: Path = typer.Option(
            None,
            "--store",
            help="Also save every table into this DuckDB store as `cho2024_<table>` (for the dashboard).",
        ),
        bootstrap: bool = typer.Option(
            True,
            "--bootstrap/--no-bootstrap",
            help="Wild cluster bootstrap p-values (9,999 draws).",
        ),
        fetch: bool = typer.Option(
            False,
            "--fetch/--no-fetch",
            help="Fetch what the offline data lack from the Census APIs (state exports and "
            "imports 2017-2022, CBP 2022), cached; CLUSTERATLAS_OFFLINE=1 reads only the cache.",
        ),
        trade_file: list[Path] = typer.Option(
            [],
            "--trade-file",
            help="A USA Trade Online 'State Exports/Imports by NAICS Commodities' download "
            "with every state (repeat for exports and imports).",
        ),
    ) -> None:
        """Cho, Lee, Yoo, Kim & Park (2024): Tables 2-6 as printed, then the state-level design.

        Writes table*_*.csv/.tex/.html, the genuine RD, the state-level DID, event study and
        pre-trend tests, and cho2024_report.md/.html explaining where and why they differ.
        """
        from rich.progress import Progress

        from clusteratlas.report.cho2024 import write
        from clusteratlas.studies import cho2024

        with Progress(transient=True) as progress:
            task = progress.add_task("replicating Cho et al. (2024)", total=2)
            # the study's warnings are printed as notes after the progress bar (printed while it
            # runs they would break it); the study silences only the ones it expects itself
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ClusterAtlasWarning)
                result = cho2024.run(
                    data,
                    control=control,
                    bootstrap=bootstrap,
                    fetch=fetch,
                    trade_files=trade_file,
                )
            progress.advance(task)
            paths = write(result, out)
            progress.advance(task)
        if store is not None:
            from clusteratlas.store import Store

            with Store(store) as db:
                for name, frame in result.tables.items():
                    db.write(f"cho2024_{name}", frame)
            typer.echo(f"stored {len(result.tables)} tables (cho2024_*) in {store}")
        for note in result.notes:
            typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
        for item in caught:
            typer.secho(
                f"warning: {item.category.__name__}: {item.message}",
                fg=typer.colors.YELLOW,
                err=True,
            )
        typer.echo(
            result.tables["comparison"].to_string(index=False, float_format=lambda x: f"{x:.4f}")
        )
        typer.echo(f"\nwrote {len(paths)} files to {out} (report: {out / 'cho2024_report.html'})")
