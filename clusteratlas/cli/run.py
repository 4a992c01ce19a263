"""``clusteratlas run`` and ``clusteratlas init-config``: the main job.

The study is :mod:`clusteratlas.studies.cluster_resilience` (config, stages, cache); its last
stage, the report, is :func:`clusteratlas.report.html.report_stage`, passed in from here.
"""

from __future__ import annotations

from pathlib import Path

import typer

from clusteratlas.studies.cluster_resilience.config import help_text

RUN_HELP = (
    "Run the whole study in one command and write ONE offline HTML report (plus CSV/LaTeX "
    "tables): load -> panel -> outcomes -> resilience -> causal -> theory -> policy -> report. "
    "Give --data DIR (real files laid out like shared/data) or --demo (SYNTHETIC national "
    "county panel with known effects). Stages whose inputs, parameters and version are "
    "unchanged are reused from the output folder's manifest.json.\n\n"
    "Config keys (TOML, all optional; write the defaults with 'clusteratlas init-config'):\n\n"
    + help_text()
)


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""

    @app.command("run", help=RUN_HELP)
    def run(
        data: Path = typer.Option(
            None, "--data", help="Folder of real input files (shared/data layout)."
        ),
        demo: bool = typer.Option(
            False, "--demo", help="Use the SYNTHETIC demo panel (offline, seconds)."
        ),
        config: Path = typer.Option(
            None, "--config", help="TOML config file (see the keys below)."
        ),
        out: Path = typer.Option(Path("clusteratlas-output"), "--out", help="Output folder."),
        store: Path = typer.Option(
            None, "--store", help="DuckDB store file (default OUT/clusteratlas.duckdb)."
        ),
        seed: int = typer.Option(20240101, "--seed", help="Random seed of the demo generator."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
        force: bool = typer.Option(
            False,
            "--force",
            help="Rerun every stage, ignoring the cache (e.g. after upgrading code in place).",
        ),
        pdf: bool = typer.Option(
            False,
            "--pdf",
            help="Also print report.pdf and a one-page brief-<region>.pdf per region of "
            "interest (headless Chromium: /usr/bin/chromium or CLUSTERATLAS_CHROMIUM).",
        ),
    ) -> None:
        from clusteratlas.report.html import report_stage
        from clusteratlas.studies.cluster_resilience.config import from_mapping, load
        from clusteratlas.studies.cluster_resilience.pipeline import Pipeline

        if demo:
            typer.secho(
                "SYNTHETIC DEMO: generated data with known effects, NOT official statistics.",
                fg=typer.colors.RED,
                bold=True,
            )
        cfg = (
            load(config)
            if config
            else (
                from_mapping({"study": {"region_type": "county", "regions": ["17031"]}})
                if demo
                else load(None)
            )
        )
        pipeline = Pipeline(cfg, out_dir=out, data_dir=data, demo=demo, store_path=store, seed=seed)
        result = pipeline.run(progress=not quiet, force=force, render=report_stage)
        typer.echo(result.summary())
        if pdf:
            from clusteratlas.report.pdf import write_pdfs

            for path in write_pdfs(out, cfg.regions):
                typer.echo(f"pdf: {path}")
        if demo:
            typer.secho(
                "Reminder: this report is built from SYNTHETIC data.",
                fg=typer.colors.RED,
                bold=True,
            )

    @app.command("init-config")
    def init_config(
        path: Path = typer.Argument(
            Path("clusteratlas.toml"), help="Where to write the default config."
        ),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    ) -> None:
        """Write the default ``clusteratlas run`` config (seed-study design) as commented TOML."""
        from clusteratlas import atomic
        from clusteratlas.errors import ParameterError
        from clusteratlas.studies.cluster_resilience.config import to_toml

        if path.exists() and not force:
            raise ParameterError("path", f"{path} exists; pass --force to overwrite")
        atomic.write_text(path, to_toml())
        typer.echo(f"wrote {path}")
