"""``clusteratlas panel build | show | coverage``: the region x cluster panel (clusteratlas.panel)."""

from __future__ import annotations

from pathlib import Path

import typer

from clusteratlas.errors import InputError, ParameterError

PANEL_KEY = ["region_type", "region_id", "year", "cluster_code"]
SUMMARY_KEY = ["region_type", "region_id", "year"]

panel_app = typer.Typer(
    help="Build and inspect the region x cluster x year panel (US Cluster Mapping methodology).",
    no_args_is_help=True,
)


def _definitions(store, definition: str):
    """Definitions from the store's cluster_definitions table, else the bundled USCM ones."""
    if store.has("cluster_definitions"):
        defs = store.read("cluster_definitions")
        if "definition" in defs.columns and definition in set(defs["definition"]):
            return defs.loc[defs["definition"] == definition]
    try:
        from clusteratlas.data.clusters import load_definition
    except ImportError as missing:
        raise InputError(
            "the store has no cluster_definitions table and clusteratlas.data.clusters is not available",
            hint="load definitions first (clusteratlas data ...)",
        ) from missing
    import pandas as pd

    return pd.concat(
        [load_definition(definition, naics_vintage=v) for v in (2012, 2017)], ignore_index=True
    )


@panel_app.command("build")
def build(
    store_path: Path = typer.Option(
        None, "--store", help="DuckDB store holding industry_counts (default: CLUSTERATLAS_STORE)."
    ),
    region_type: str = typer.Option(
        "state", "--region-type", help="state, county, msa, economic_area or custom."
    ),
    definition: str = typer.Option(
        "uscm", "--definition", help="Cluster definition name in cluster_definitions."
    ),
    backend: str = typer.Option(
        "duckdb", "--backend", help="duckdb (default) or spark (local mode)."
    ),
    years: str = typer.Option(None, "--years", help="Only these years, e.g. 2016 or 2012-2016."),
    uscm_file: Path = typer.Option(
        None,
        "--uscm",
        help="Build from a clustermapping.us region x cluster download instead of industry "
        "counts (the national rows of industry_counts still give the denominators).",
    ),
    counts_files: str = typer.Option(
        None,
        "--counts",
        help="Parquet file(s) of industry counts, a path or a glob such as "
        "'cbp/county_*.parquet', read by the engine itself instead of the store's "
        "industry_counts (for inputs too large to load; with --backend spark, Spark reads them).",
    ),
    national_files: str = typer.Option(
        None,
        "--national",
        help="Parquet file(s) of national 6-digit counts for the denominators (with --counts; "
        "default: the counts' rows with region_type 'nation').",
    ),
) -> None:
    """Build cluster_panel and region_summary for one region type and write them to the store.

    Reads industry_counts (rows of the region type, or counties plus region_members for msa /
    economic_area / custom) and the national rows (region_type 'nation') for the denominators,
    or the Parquet files given with --counts / --national. Rows of the same region type
    already in the tables are replaced.
    """
    if counts_files is None and national_files is not None:
        raise ParameterError("--national", "goes with --counts (the store has its own rows)")
    if counts_files is not None and (years or uscm_file is not None):
        raise ParameterError(
            "--counts", "cannot be combined with --years or --uscm", allowed="filter the files"
        )
    from rich.console import Console

    from clusteratlas.panel.build import build_panel, panel_from_uscm
    from clusteratlas.panel.metrics import region_summary
    from clusteratlas.store import Store

    console = Console(stderr=True)
    with Store(store_path) as store:
        defs = _definitions(store, definition)
        if uscm_file is not None:
            panel = _from_uscm(
                store, uscm_file, region_type, defs, backend, console, panel_from_uscm
            )
        elif counts_files is not None:
            members = _members(store, region_type)
            with console.status(f"building the {region_type} cluster panel from {counts_files}"):
                panel = build_panel(
                    counts_files,
                    defs,
                    region_type=region_type,
                    national=national_files,
                    backend=backend,
                    members=members,
                )
        elif backend == "duckdb":
            # the counts stay in the store: the panel query runs on its DuckDB connection
            # (3x faster than through pandas at one year of county data, and no copy in memory)
            if not store.has("industry_counts"):
                store.read("industry_counts")  # raises the store's "no table" error
            con = store.ibis()
            counts = con.table("industry_counts")
            if years:
                first, last = _year_range(years)
                counts = counts.filter(counts.year.between(first, last))
            members = _members(store, region_type, con)
            with console.status(f"building the {region_type} cluster panel in {store.path}"):
                panel = build_panel(
                    counts, defs, region_type=region_type, members=members, connection=con
                )
        else:
            counts = store.read("industry_counts", where=_year_filter(years))
            members = _members(store, region_type)
            with console.status(
                f"building the {region_type} cluster panel ({len(counts):,} count rows, {backend})"
            ):
                panel = build_panel(
                    counts, defs, region_type=region_type, backend=backend, members=members
                )
        summary = region_summary(panel)
        store.append("cluster_panel", panel, key=PANEL_KEY, replace=["region_type"])
        store.append("region_summary", summary, key=SUMMARY_KEY, replace=["region_type"])
    console.print(
        f"[green]cluster_panel[/green]: {len(panel):,} rows ({panel['region_id'].nunique()} regions, "
        f"{panel['year'].nunique()} years); [green]region_summary[/green]: {len(summary):,} rows -> {store.path}"
    )


def _members(store, region_type: str, con=None):
    """The store's region_members where the region type is built from counties, else None
    (as a table on ``con``, the store's Ibis connection, if given; else as pandas)."""
    if store.has("region_members") and region_type not in ("state", "county", "nation"):
        return con.table("region_members") if con is not None else store.read("region_members")
    return None


def _from_uscm(
    store, uscm_file: Path, region_type: str, defs, backend: str, console, panel_from_uscm
):
    """The panel from a USCM download, with national denominators from the store."""
    from clusteratlas.data.uscm import read_uscm

    download = read_uscm(uscm_file)
    download = download.loc[download["region_type"] == region_type]
    if download.empty:
        raise InputError(f"no {region_type} rows in the USCM download", path=str(uscm_file))
    year_list = ", ".join(str(int(y)) for y in sorted(download["year"].unique()))
    national = store.read(
        "industry_counts", where=f"region_type = 'nation' and year in ({year_list})"
    )
    if national.empty:
        raise InputError(
            f"the store has no national industry counts for {year_list}",
            hint="load the national CBP 6-digit file first (clusteratlas data ...)",
        )
    with console.status(f"computing the {region_type} panel from {uscm_file.name}"):
        return panel_from_uscm(download, national, defs, backend=backend)


@panel_app.command("show")
def show(
    region: str = typer.Argument(..., help="Region id, e.g. 01 (Alabama) or 06037."),
    store_path: Path = typer.Option(None, "--store", help="DuckDB store with cluster_panel."),
    region_type: str = typer.Option("state", "--region-type"),
    year: int = typer.Option(None, "--year", help="Default: latest year in the panel."),
    top: int = typer.Option(15, "--top", help="How many clusters to list (by LQ)."),
    all_clusters: bool = typer.Option(
        False, "--all", help="List all traded clusters, not only strong ones."
    ),
) -> None:
    """Print a region's cluster strength and its strongest traded clusters."""
    from rich.console import Console
    from rich.table import Table

    from clusteratlas.panel.metrics import region_summary
    from clusteratlas.store import Store

    with Store(store_path, read_only=True) as store:
        rows = store.sql(
            "select * from cluster_panel where region_type = ? and region_id = ?",
            [region_type, region],
        )
    if rows.empty:
        raise InputError(
            f"no {region_type} region {region!r} in cluster_panel",
            hint="run clusteratlas panel build first",
        )
    year = int(rows["year"].max()) if year is None else year
    rows = rows.loc[rows["year"] == year]
    summary = region_summary(rows).iloc[0]
    console = Console()
    console.print(
        f"[bold]{region_type} {region}, {year}[/bold]: employment {summary['emp']:,.0f} "
        f"(traded {summary['emp_traded']:,.0f}); {summary['n_strong']} strong clusters; "
        f"cluster strength {summary['cluster_strength']:.1%}"
    )
    traded = (
        rows.loc[rows["traded"] & (rows["strong"] | all_clusters)]
        .sort_values("lq", ascending=False)
        .head(top)
    )
    table = Table("cluster", "name", "emp", "est", "LQ", "national share", "flags")
    for r in traded.itertuples():
        flags = (
            "strong10"
            if r.strong10
            else "strong"
            if r.strong
            else "significant"
            if r.significant
            else "qualifying"
            if r.qualifying
            else ""
        )
        table.add_row(
            str(r.cluster_code),
            str(r.cluster_name),
            f"{r.emp:,.0f}",
            f"{r.est:,.0f}",
            f"{r.lq:.2f}",
            f"{r.national_share:.2%}",
            flags,
        )
    console.print(table)


@panel_app.command("coverage")
def coverage(
    store_path: Path = typer.Option(None, "--store", help="DuckDB store with cluster_panel."),
    region_type: str = typer.Option("state", "--region-type"),
    year: int = typer.Option(None, "--year", help="Default: latest year in the panel."),
    tolerance: float = typer.Option(0.01, "--tolerance", help="Relative gap that still agrees."),
    csv: Path = typer.Option(None, "--csv", help="Also write the whole table to this CSV file."),
) -> None:
    """Check that the regions add up to the national counts, traded cluster by cluster.

    For each traded cluster: national employment (the LQ denominator), the sum over the
    regions, the gap, the share of regional jobs imputed for suppressed cells, and a reading:
    agrees, imputation (above the nation by no more than the imputed jobs), regions short
    (regions missing, e.g. DC in a 50-state file) or inconsistent.
    """
    from rich.console import Console
    from rich.table import Table

    from clusteratlas.atomic import write_text
    from clusteratlas.panel.metrics import national_coverage
    from clusteratlas.store import Store

    with Store(store_path, read_only=True) as store:
        if not store.has("cluster_panel"):
            raise InputError("the store has no cluster_panel", hint="run clusteratlas panel build")
        rows = store.sql("select * from cluster_panel where region_type = ?", [region_type])
    if rows.empty:
        raise InputError(
            f"no {region_type} rows in cluster_panel", hint="run clusteratlas panel build first"
        )
    year = int(rows["year"].max()) if year is None else year
    rows = rows.loc[(rows["year"] == year) & rows["traded"]]
    if rows.empty:
        raise ParameterError("--year", f"no {region_type} rows in {year}")
    table = national_coverage(rows, tolerance=tolerance)
    if csv is not None:
        write_text(csv, table.to_csv(index=False))
    readings = table["reading"].value_counts()
    console = Console()
    console.print(
        f"[bold]{region_type}, {year}[/bold]: {readings.get('agrees', 0)} of {len(table)} traded "
        f"clusters within {tolerance:.1%} of the national count; "
        + ", ".join(f"{k}: {v}" for k, v in readings.items() if k != "agrees")
    )
    shown = Table("cluster", "name")
    for heading in ("national", "regions", "gap", "imputed"):
        shown.add_column(heading, justify="right")
    shown.add_column("reading")
    for r in table.loc[table["reading"] != "agrees"].sort_values("gap").itertuples():
        shown.add_row(
            str(r.cluster_code),
            str(r.cluster_name),
            f"{r.emp_national:,.0f}",
            f"{r.regions_emp:,.0f}",
            f"{r.gap:+.2%}",
            f"{r.imputed_share:.1%}",
            str(r.reading),
        )
    console.print(shown)


def _year_range(years: str) -> tuple[int, int]:
    """``2016`` -> (2016, 2016); ``2012-2016`` -> (2012, 2016)."""
    try:
        if "-" in years:
            lo, hi = (int(y) for y in years.split("-", 1))
            return lo, hi
        return int(years), int(years)
    except ValueError as bad:
        raise ParameterError(
            "--years", f"cannot read {years!r}", allowed="a year (2016) or a range (2012-2016)"
        ) from bad


def _year_filter(years: str | None) -> str | None:
    """The SQL condition of ``--years`` (None: every year)."""
    if not years:
        return None
    first, last = _year_range(years)
    return f"year between {first} and {last}"


def register(app: typer.Typer) -> None:
    """Add ``clusteratlas panel ...`` to the root app."""
    app.add_typer(panel_app, name="panel")
