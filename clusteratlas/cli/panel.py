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
    import pandas as pd

    from clusteratlas.data.clusters import load_definition

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
    definitions_file: str = typer.Option(
        None,
        "--definitions",
        help="Cluster definitions file instead of --definition: Parquet (read by the engine) "
        "with naics, naics_vintage, cluster_code, cluster_name, traded; or a definition CSV.",
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
    members_file: str = typer.Option(
        None,
        "--members",
        help="Parquet file of region members (county -> msa / economic_area / custom) for "
        "--counts (default: the store's region_members).",
    ),
    out: Path = typer.Option(
        None,
        "--out",
        help="Write the panel to this Parquet file (straight from the engine) instead of the "
        "store; no store is opened when --counts and --definitions are given.",
    ),
    metrics: str = typer.Option(
        None,
        "--metrics",
        help="Only these metrics, comma-separated (only what they need is computed), e.g. "
        "'lq,strong' or 'lq,national_share,flags'. Names: emp, emp_reported, est, ap, qp1, "
        "wage, lq, region_share, national_share, qualifying, significant, strong, strong10, "
        "emp_region_group, emp_national, the growth columns; groups: measures, shares, flags, "
        "growth, all. Default: all.",
    ),
    sort: bool = typer.Option(
        False, "--sort", help="Order the rows of --out by region, year and cluster."
    ),
    complete: bool = typer.Option(
        True,
        "--complete/--no-complete",
        help="A row for every region x cluster x year, zeros where absent (USCM's layout).",
    ),
    growth: bool = typer.Option(
        True, "--growth/--no-growth", help="The change columns (without --metrics)."
    ),
    suppressed: str = typer.Option(
        "uscm",
        "--suppressed",
        help="How withheld cells are filled: uscm (default: the national counts, as USCM), "
        "hierarchy (adding-up constraints; the counts too) or none.",
    ),
    national_parents: Path = typer.Option(
        None,
        "--national-parents",
        help="setzler CBP_national_industry{2,3,4}.csv: the national lines withheld national "
        "cells are derived from.",
    ),
) -> None:
    """Build the cluster panel for one region type: into the store (cluster_panel and
    region_summary) or, with --out, into a Parquet file.

    Reads industry_counts (rows of the region type, or counties plus region_members for msa /
    economic_area / custom) and the national rows (region_type 'nation') for the denominators,
    or the Parquet files given with --counts / --national. Rows of the same region type
    already in the tables are replaced. With --counts, --definitions (Parquet) and --out the
    whole run is file to file on DuckDB: nothing goes through pandas.
    """
    from clusteratlas.panel import selection

    selection.select(metrics, growth=growth)  # a bad --metrics fails before any work
    if counts_files is None and (national_files is not None or members_file is not None):
        raise ParameterError("--national/--members", "go with --counts (the store has its own)")
    if counts_files is not None and (years or uscm_file is not None):
        raise ParameterError(
            "--counts", "cannot be combined with --years or --uscm", allowed="filter the files"
        )
    options = {
        "metrics": metrics,
        "growth": growth,
        "complete": complete,
        "suppressed": suppressed,
    }
    lean = (
        out is not None
        and counts_files is not None
        and backend == "duckdb"
        and definitions_file is not None
        and definitions_file.lower().endswith((".parquet", ".pq"))
        and national_parents is None
        and suppressed != "hierarchy"
    )
    if lean:
        from clusteratlas.panel import engine

        try:
            outcome, _ = engine.write_files(
                counts=counts_files,
                definitions=definitions_file,
                out=out,
                region_type=region_type,
                national=national_files,
                members=members_file,
                sort=sort,
                **options,
            )
        except engine.NeedsFill:
            lean = False  # the national file needs the (pandas) fill: the full path below
        else:
            typer.echo(
                f"cluster panel: {outcome.rows:,} rows (about {outcome.n_regions:,} regions) -> {out}",
                err=True,
            )
            return
    _build_full(
        store_path, region_type, definition, definitions_file, backend, years, uscm_file,
        counts_files, national_files, members_file, out, sort, national_parents, options,
    )  # fmt: skip


def _build_full(
    store_path, region_type, definition, definitions_file, backend, years, uscm_file,
    counts_files, national_files, members_file, out, sort, national_parents, options,
) -> None:  # fmt: skip
    """Every other case of ``panel build`` (store, USCM download, Spark, CSV inputs)."""
    from rich.console import Console

    from clusteratlas.panel import build as panel
    from clusteratlas.panel.metrics import SUMMARY_NEEDS, summary_sql
    from clusteratlas.store import Store

    console = Console(stderr=True)
    parents = None
    if national_parents is not None:
        from clusteratlas.data.suppression import read_setzler_national_parents

        parents = read_setzler_national_parents(national_parents)
    needs_store = (
        definitions_file is None or counts_files is None or out is None or uscm_file is not None
    )
    with Store(store_path) if needs_store else _no_store() as store:
        defs = _definitions_from(store, definition, definitions_file)
        members = (
            members_file
            if members_file is not None
            else (_members(store, region_type) if store is not None else None)
        )
        fill = {"suppressed": options["suppressed"], "national_parents": parents}
        if out is not None and uscm_file is None:
            counts = counts_files if counts_files is not None else _store_counts(store, years)
            national = national_files
            with console.status(f"building the {region_type} cluster panel -> {out}"):
                written = panel.write_panel(
                    counts, defs, out, region_type=region_type, national=national,
                    backend=backend, members=members, sort=sort,
                    metrics=options["metrics"], growth=options["growth"],
                    complete=options["complete"], **fill,
                )  # fmt: skip
            console.print(
                f"[green]cluster panel[/green]: {written.rows:,} rows "
                f"(about {written.n_regions:,} regions) -> {out}"
            )
            return
        if uscm_file is not None:
            frame = _from_uscm(
                store, uscm_file, region_type, defs, backend, console, panel.panel_from_uscm,
                **fill,
            )  # fmt: skip
            if out is not None:
                from clusteratlas.atomic import atomic_path

                with atomic_path(out) as tmp:
                    frame.to_parquet(tmp, index=False)
                console.print(f"[green]cluster panel[/green]: {len(frame):,} rows -> {out}")
                return
            _store_frame(store, frame, console)
            return
        if backend == "duckdb":
            # straight from the engine into the store (no pandas): the counts stay in the
            # store, or are read from the Parquet files by DuckDB
            con = store.ibis()
            if counts_files is not None:
                counts = counts_files
            else:
                if not store.has("industry_counts"):
                    store.read("industry_counts")  # raises the store's "no table" error
                counts = con.table("industry_counts")
                if years:
                    first, last = _year_range(years)
                    counts = counts.filter(counts.year.between(first, last))
            if members is not None and not isinstance(members, str):
                members = con.table("region_members")
            status = console.status(f"building the {region_type} cluster panel in {store.path}")
            with status, store.transaction():
                outcome, _ = panel.build_into(
                    "cluster_panel", counts, defs, connection=con,
                    region_type=region_type, national=national_files, members=members,
                    metrics=options["metrics"], growth=options["growth"],
                    complete=options["complete"], **fill,
                )  # fmt: skip
                summary = _summary_into_store(store, region_type, SUMMARY_NEEDS, summary_sql)
            console.print(
                f"[green]cluster_panel[/green]: {outcome.rows:,} rows "
                f"(about {outcome.n_regions:,} regions); [green]region_summary[/green]: "
                f"{summary} -> {store.path}"
            )
            return
        if counts_files is not None:
            counts = counts_files
        else:
            counts = store.read("industry_counts", where=_year_filter(years))
        with console.status(f"building the {region_type} cluster panel ({backend})"):
            frame = panel.build_panel(
                counts, defs, region_type=region_type, backend=backend, members=members,
                metrics=options["metrics"], growth=options["growth"],
                complete=options["complete"], national=national_files, **fill,
            )  # fmt: skip
        _store_frame(store, frame, console)


class _no_store:
    """Stands for the store when none is needed (``with`` gives None)."""

    def __enter__(self):
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _definitions_from(store, definition: str, definitions_file: str | None):
    """--definitions (a Parquet path, passed on to the engine, or a CSV), else the store's
    or the bundled definitions."""
    if definitions_file is None:
        return _definitions(store, definition)
    if definitions_file.lower().endswith((".parquet", ".pq")):
        return definitions_file
    from clusteratlas.data.clusters import read_definition_csv

    return read_definition_csv(definitions_file, definition=definition)


def _store_counts(store, years: str | None):
    con = store.ibis()
    if not store.has("industry_counts"):
        store.read("industry_counts")
    counts = con.table("industry_counts")
    if years:
        first, last = _year_range(years)
        counts = counts.filter(counts.year.between(first, last))
    return counts


def _summary_into_store(store, region_type: str, needs, summary_sql) -> str:
    """region_summary of the rows just written, computed in the store (no pandas)."""
    from clusteratlas.panel import engine, sqlcache

    columns = sqlcache.describe_columns(store.con.execute("DESCRIBE cluster_panel").fetchall())
    if not all(any(c[0] == n for c in columns) for n in needs):
        return "not updated (the panel lacks " + ", ".join(needs) + ")"
    rows = (
        "(SELECT * FROM cluster_panel WHERE region_type = "
        + sqlcache.quote_literal(region_type)
        + ")"
    )
    query = summary_sql(columns).replace(sqlcache.placeholder("panel"), rows)
    count = engine.insert_rows(store.con, query, "region_summary", region_type)
    return f"{count:,} rows"


def _store_frame(store, frame, console) -> None:
    """A pandas panel (USCM download, Spark) and its summary into the store."""
    from clusteratlas.panel.metrics import SUMMARY_NEEDS, region_summary

    note = "not updated (the panel lacks some of its columns)"
    with store.transaction():  # the panel and its summary commit together or not at all
        store.append("cluster_panel", frame, key=PANEL_KEY, replace=["region_type"])
        if all(c in frame.columns for c in SUMMARY_NEEDS):
            summary = region_summary(frame)
            store.append("region_summary", summary, key=SUMMARY_KEY, replace=["region_type"])
            note = f"{len(summary):,} rows"
    console.print(
        f"[green]cluster_panel[/green]: {len(frame):,} rows ({frame['region_id'].nunique()} "
        f"regions, {frame['year'].nunique()} years); [green]region_summary[/green]: {note} "
        f"-> {store.path}"
    )


def _members(store, region_type: str, con=None):
    """The store's region_members where the region type is built from counties, else None
    (as a table on ``con``, the store's Ibis connection, if given; else as pandas)."""
    if store.has("region_members") and region_type not in ("state", "county", "nation"):
        return con.table("region_members") if con is not None else store.read("region_members")
    return None


def _from_uscm(
    store, uscm_file: Path, region_type: str, defs, backend: str, console, panel_from_uscm,
    **fill,
):  # fmt: skip
    """The panel from a USCM download, with national denominators from the store."""
    from clusteratlas.data.uscm import read_uscm

    download = read_uscm(uscm_file)
    download = download.loc[download["region_type"] == region_type]
    if download.empty:
        raise InputError(f"no {region_type} rows in the USCM download", path=str(uscm_file))
    years = [int(y) for y in sorted(download["year"].unique())]
    national = store.read(
        "industry_counts",
        where=f"region_type = 'nation' and year in ({', '.join('?' for _ in years)})",
        params=years,
    )
    if national.empty:
        raise InputError(
            f"the store has no national industry counts for {', '.join(map(str, years))}",
            hint="load the national CBP 6-digit file first (clusteratlas data ...)",
        )
    with console.status(f"computing the {region_type} panel from {uscm_file.name}"):
        return panel_from_uscm(download, national, defs, backend=backend, **fill)


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

    from clusteratlas import tables
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
        write_text(csv, tables.to_csv(table))
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
