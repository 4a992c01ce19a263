"""``clusteratlas load ...`` and ``clusteratlas fetch ...``: public files into the store (clusteratlas.data).

Every load goes through :class:`clusteratlas.store.Store` (atomic, idempotent per file
content hash), so running the same command twice adds nothing the second time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from clusteratlas.errors import InputError
from clusteratlas.store import Store

console = Console(stderr=True)

load_app = typer.Typer(
    help=(
        "Load public data files into the clusteratlas store (a DuckDB file). Loads are atomic "
        "and idempotent: a file already loaded is skipped."
    ),
    no_args_is_help=True,
)
fetch_app = typer.Typer(
    help="Download public data (cached under ~/.cache/clusteratlas) and load it into the store.",
    no_args_is_help=True,
)

STORE_OPTION = typer.Option(
    None, "--store", help="DuckDB store file (default: clusteratlas-output/clusteratlas.duckdb)."
)


def _report(rows: list[tuple]) -> None:
    """Rows (file, table, rows added[, why none]); without the reason, none means the file
    was already loaded."""
    table = Table("file", "table", "rows added")
    for file, name, added, *why in rows:
        reason = why[0] if why else "already loaded"
        table.add_row(file, name, f"{added:,}" + (f" ({reason})" if not added and reason else ""))
    Console().print(table)


def _detect_cbp(path: Path) -> str:
    """Which CBP reader fits ``path``: by file name first, then by header."""
    from clusteratlas.data import guard
    from clusteratlas.data.cbp import _FILE_NAME, LIMITS

    if _FILE_NAME.search(path.name):
        return "flatfile"
    header = guard.first_line(path, what="CBP file", limits=LIMITS).lower().replace('"', "")
    columns = [c.strip() for c in header.split(",")]
    if "employment_march" in columns:
        if "naics" in columns:
            return "setzler_industry"
        if "county_fips" in columns:
            return "setzler_county"
        if "state_fips" in columns:
            return "setzler_state"
        return "setzler_nation"
    return "api"


def _read_cbp(path: Path, kind: str, year: int | None) -> pd.DataFrame:
    """A CBP file that is not a flat file (those stream into the store) as one frame."""
    from clusteratlas.data import cbp

    if kind == "setzler_industry":
        return cbp.read_setzler_national_industry(path)
    if kind == "setzler_county":
        return cbp.read_setzler_county_total(path)
    if kind == "setzler_state":
        return cbp.read_setzler_state_total(path)
    if kind == "setzler_nation":
        return cbp.read_setzler_national_total(path)
    # the all-industries rows go to region_totals (the published totals, not a sum of cells)
    return cbp.read_cbp_api_csv(path, year=year, include_totals=True)


def register(app: typer.Typer) -> None:
    """Add ``load`` and ``fetch`` to the root clusteratlas app."""
    app.add_typer(load_app, name="load")
    app.add_typer(fetch_app, name="fetch")


@load_app.command("cbp")
def load_cbp(
    paths: list[Path] = typer.Argument(
        ...,
        help="CBP files: flat files cbpYY{us,st,co,msa}.txt/.zip, CBP API CSV extracts, or "
        "setzler CBP_*.csv files (the kind is detected).",
    ),
    store: Path | None = STORE_OPTION,
    year: int | None = typer.Option(None, help="Reference year when the file name lacks it."),
    geo: str | None = typer.Option(None, help="nation, state, county or msa (flat files)."),
) -> None:
    """Load County Business Patterns files into industry_counts and region_totals.

    Flat files stream into the store (memory holds one part of a file, whatever its size).
    """
    from clusteratlas.data import guard
    from clusteratlas.data.cbp import (
        COUNTS_TABLE,
        TOTALS_TABLE,
        load_cbp_flatfile,
        load_into_store,
    )

    rows = []
    with Store(store) as db:
        for path in track(paths, description="loading CBP", console=console):
            path = guard.check_file(path, what="CBP file")  # before hashing: a FIFO would block
            kind = _detect_cbp(path)
            already = db.loaded(COUNTS_TABLE, path) or db.loaded(TOTALS_TABLE, path)
            if kind == "flatfile":
                added = load_cbp_flatfile(db, path, year=year, geo=geo)
            else:
                added = load_into_store(db, _read_cbp(path, kind, year), source_file=path)
            why = "already loaded" if already else "the file has no data rows"
            rows.append((path.name, "industry_counts/region_totals", added, why))
    _report(rows)


@load_app.command("uscm")
def load_uscm(
    paths: list[Path] = typer.Argument(
        ..., help="clustermapping.us region x cluster CSV downloads."
    ),
    store: Path | None = STORE_OPTION,
) -> None:
    """Load US Cluster Mapping downloads into the uscm_reference table (for comparisons)."""
    from clusteratlas.data.uscm import read_uscm

    rows = []
    with Store(store) as db:
        for path in track(paths, description="loading USCM", console=console):
            frame = read_uscm(path)
            added = db.append(
                "uscm_reference",
                frame,
                key=["region_type", "region_id", "year", "cluster_code"],
                replace=["region_type", "region_id", "year"],
                source_file=path,
            )
            rows.append((path.name, "uscm_reference", added))
    _report(rows)


@load_app.command("clusters")
def load_clusters(
    paths: list[Path] = typer.Argument(
        None,
        help="User definition CSVs (naics, cluster_code, cluster_name, traded, ...). "
        "Without paths, the USCM benchmark definitions for every NAICS vintage are loaded.",
    ),
    store: Path | None = STORE_OPTION,
    name: str | None = typer.Option(
        None, help="Definition name for user CSVs (default: file stem)."
    ),
    naics_vintage: int | None = typer.Option(
        None, help="NAICS vintage of a user CSV without a naics_vintage column (0 = unversioned)."
    ),
) -> None:
    """Load cluster definitions into cluster_definitions."""
    from clusteratlas.data.clusters import USCM_VINTAGES, load_definition, read_definition_csv

    # (label, definitions, source file for idempotent loads or None)
    if paths:
        loads = [
            (
                path.name,
                read_definition_csv(path, definition=name, naics_vintage=naics_vintage),
                path,
            )
            for path in paths
        ]
    else:
        vintages = track(USCM_VINTAGES, description="USCM definitions", console=console)
        loads = [(f"uscm NAICS {v}", load_definition("uscm", v), None) for v in vintages]
    rows = []
    with Store(store) as db:
        for label, frame, source in loads:
            added = db.append(
                "cluster_definitions",
                frame,
                key=["definition", "naics_vintage", "naics"],
                replace=["definition", "naics_vintage"],
                source_file=source,
            )
            rows.append((label, "cluster_definitions", added))
    _report(rows)


@load_app.command("geo")
def load_geo(
    custom: list[Path] = typer.Argument(
        None,
        help="Custom region CSVs (region_id, county_fips). Without paths, the built-in "
        "state, county, CBSA and BEA economic-area crosswalks are loaded.",
    ),
    store: Path | None = STORE_OPTION,
) -> None:
    """Load regions and region_members (county -> state, CBSA, economic area, custom)."""
    from clusteratlas.data import geo

    rows = []
    with Store(store) as db:
        if not custom:
            regions = pd.concat(
                [geo.state_names(), geo.county_names(), geo.cbsa_regions(), geo.ea_regions()],
                ignore_index=True,
            )
            db.write("regions", regions)
            rows.append(("states, counties, CBSAs, EAs", "regions", len(regions)))
            counties = geo.county_names()["region_id"]
            members = pd.concat(
                [geo.county_to_state(counties), geo.read_county_cbsa(), geo.read_county_ea()],
                ignore_index=True,
            )
            added = db.append(
                "region_members",
                members,
                key=["region_type", "region_id", "member_id"],
                replace=["region_type"],
            )
            rows.append(("county -> state/msa/economic_area", "region_members", added))
        for path in custom or []:
            members = geo.read_custom_regions(path)
            added = db.append(
                "region_members",
                members,
                key=["region_type", "region_id", "member_id"],
                replace=["region_type", "region_id"],
                source_file=path,
            )
            rows.append((path.name, "region_members", added))
    _report(rows)


@fetch_app.command("cbp")
def fetch_cbp_command(
    year: list[int] = typer.Option(
        ..., "--year", help="CBP reference year(s), 1998-2022; repeat for several."
    ),
    geo: str = typer.Option("state", help="us, state, county or msa."),
    flat: bool = typer.Option(
        False, "--flat", help="Download the flat-file zip instead of using the API."
    ),
    store: Path | None = STORE_OPTION,
    offline: bool = typer.Option(False, "--offline", help="Use only the download cache."),
    refresh: bool = typer.Option(False, "--refresh", help="Download again even if cached."),
) -> None:
    """Fetch County Business Patterns from the Census Bureau and load it into the store."""
    from clusteratlas.data import cbp
    from clusteratlas.data.census_api import fetch_cbp
    from clusteratlas.data.fetch import Fetcher, cbp_flatfile_url

    if geo not in ("us", "state", "county", "msa"):
        raise InputError(f"--geo {geo!r} is not one of us, state, county, msa")
    fetcher = Fetcher(offline=offline or None, progress=flat)
    rows = []
    with Store(store) as db:
        for one_year in track(year, description="fetching CBP", console=console):
            if flat:
                path = fetcher.fetch(cbp_flatfile_url(one_year, geo), refresh=refresh)
                added = cbp.load_cbp_flatfile(
                    db, path, year=one_year, geo="nation" if geo == "us" else geo
                )
            else:
                frame = fetch_cbp(
                    one_year, geo, fetcher=fetcher, refresh=refresh, include_totals=True
                )
                added = cbp.load_into_store(db, frame)
            rows.append((f"CBP {one_year} {geo}", "industry_counts/region_totals", added))
    _report(rows)
