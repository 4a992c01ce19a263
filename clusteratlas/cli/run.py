"""``clusteratlas run`` and ``clusteratlas init-config``: the main job.

The study is :mod:`clusteratlas.studies.cluster_resilience` (config, stages, cache); its last
stage, the report, is :func:`clusteratlas.report.html.report_stage`, passed in from here. The
options choose where the inputs come from (``--data``, ``--fetch``, ``--store``, ``--demo``)
and override the config's region type, years, regions (``--regions`` ids, or ``--region NAME|ID``
resolved by :mod:`clusteratlas.data.region_lookup`) and states.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from clusteratlas.studies.cluster_resilience.config import help_text

RUN_HELP = (
    "Run the whole study in one command and write ONE offline HTML report (plus CSV/LaTeX "
    "tables): load -> panel -> outcomes -> resilience -> causal -> theory -> policy -> report. "
    "Inputs, one of: --data DIR (a folder of public files, recognised by content), --fetch "
    "(the Census CBP API, BEA GDP, BLS QCEW and the Census trade API for --years at "
    "--region-type; cached, so a second run is offline), --store FILE alone (a store you built "
    "with 'clusteratlas load' and 'clusteratlas panel build': any country, any cluster "
    "definition) or --demo (SYNTHETIC national county panel with known effects). The report "
    "says, per stage, which data it used and what it could not do and why. Stages whose "
    "inputs, parameters and version are unchanged are reused from the output folder's "
    "manifest.json.\n\n"
    "Config keys (TOML, all optional; write the defaults with 'clusteratlas init-config'):\n\n"
    + help_text()
)


def _overrides(region_type, years, regions, states) -> dict:
    study: dict = {}
    if region_type:
        study["region_type"] = region_type
    if years:
        study["years"] = years
    if regions:
        study["regions"] = [r.strip() for r in regions.split(",") if r.strip()]
    if states:
        study["states"] = [s.strip().zfill(2) for s in states.split(",") if s.strip()]
    return study


def _resolve_region(query: str, region_type: str) -> str:
    """``--region``'s NAME or ID as a region id of ``region_type``
    (:func:`clusteratlas.data.region_lookup.resolve_region`). An id needs no names file."""
    from clusteratlas.data.region_lookup import region_names, resolve_region
    from clusteratlas.errors import DataUnavailableError, InputError

    try:
        names = region_names(region_type)
    except (DataUnavailableError, InputError) as error:
        if re.fullmatch(r"\d{2,5}|EA\d{3}", query.strip()):
            return query.strip()  # an id: checked against the data when the run loads it
        raise DataUnavailableError(
            f"--region {query!r}: the {region_type} names are not available ({error}); "
            "give the region's id instead"
        ) from None
    return resolve_region(query, names, region_type, option="--region")


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""

    @app.command("run", help=RUN_HELP)
    def run(
        data: Path = typer.Option(
            None,
            "--data",
            help="Folder of public data files, recognised by content (CBP, BEA, QCEW, LAUS, "
            "USCM, cluster definitions, crosswalks; any names, any sub-folders). With --fetch: "
            "where the cluster definitions and crosswalks are (default: the shared data folder).",
        ),
        fetch: bool = typer.Option(
            False,
            "--fetch",
            help="Fetch the inputs from the publishers for --years at --region-type (keys from "
            "CENSUS_API_KEY and BEA_API_KEY when set, never written anywhere; without "
            "BEA_API_KEY BEA's public zip files are used). Cached: a rerun is offline.",
        ),
        demo: bool = typer.Option(
            False, "--demo", help="Use the SYNTHETIC demo panel (offline, seconds)."
        ),
        region_type: str = typer.Option(
            None,
            "--region-type",
            help="state, county, msa or economic_area (config study.region_type).",
        ),
        years: str = typer.Option(
            None,
            "--years",
            help="Panel years, e.g. 2015-2022 (config study.years; needed with --fetch).",
        ),
        regions: str = typer.Option(
            None,
            "--regions",
            help="Regions of interest, comma-separated ids (config study.regions).",
        ),
        region: list[str] = typer.Option(
            [],
            "--region",
            help="A region of interest by NAME or ID, repeatable: 'Michigan', 26, 'Wayne "
            "County, Michigan', Detroit (names ignore case; several matches are listed with "
            "their ids). Default: Alabama's at the --region-type (state 01; county 01073 "
            "Jefferson; msa 13820 Birmingham; the economic area holding Jefferson County), "
            "else the region with the most jobs; --demo: county 17031 (Cook, IL).",
            metavar="NAME|ID",
        ),
        states: str = typer.Option(
            None,
            "--states",
            help="With --fetch at county / economic-area level: only these states' counties, "
            "e.g. 01,13,47 (config study.states).",
        ),
        config: Path = typer.Option(
            None, "--config", help="TOML config file (see the keys below)."
        ),
        out: Path = typer.Option(Path("clusteratlas-output"), "--out", help="Output folder."),
        store: Path = typer.Option(
            None,
            "--store",
            help="DuckDB store file. Alone: the inputs (a store you built; the run adds its "
            "run_* tables to it). With --data/--fetch/--demo: where the run's store goes "
            "(default OUT/clusteratlas.duckdb).",
        ),
        seed: int = typer.Option(20240101, "--seed", help="Random seed of the demo generator."),
        offline: bool = typer.Option(
            False, "--offline", help="With --fetch: read only the download cache (no network)."
        ),
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
        import os

        from clusteratlas.errors import ParameterError
        from clusteratlas.report.html import report_stage
        from clusteratlas.studies.cluster_resilience.config import from_mapping, load
        from clusteratlas.studies.cluster_resilience.pipeline import Pipeline

        if offline:
            os.environ["CLUSTERATLAS_OFFLINE"] = "1"
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
        overrides = _overrides(region_type, years, regions, states)
        if region:
            if regions:
                raise ParameterError("--region", "give --region or --regions, not both")
            level = overrides.get("region_type") or cfg.region_type
            overrides["regions"] = [_resolve_region(name, level) for name in region]
        if overrides:
            raw = cfg.as_dict()
            raw["study"].update(overrides)
            cfg = from_mapping(raw, source="the command line")
        pipeline = Pipeline(
            cfg, out_dir=out, data_dir=data, demo=demo, store_path=store, seed=seed, fetch=fetch
        )
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
