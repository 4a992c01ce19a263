"""``clusteratlas load-outcomes`` and ``clusteratlas resilience`` (clusteratlas.resilience).

* ``clusteratlas load-outcomes``: read BEA / LAUS / CBP / trade files into the store's
  ``outcomes`` table (idempotent per file).
* ``clusteratlas resilience``: resistance/recovery indices of every region for one outcome and
  one shock window, printed and exported (CSV, LaTeX, HTML); ``--panel`` uses the store's
  region x cluster panel and ``--sectors FILE`` a state x 3-digit NAICS file instead.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import typer

from clusteratlas.errors import InputError, ParameterError

OUTCOME_KEY = ["region_type", "region_id", "year", "outcome", "source"]


def _load(store_path: Path | None, reader, path: Path, **kwargs) -> int:
    from clusteratlas.store import Store

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = reader(path, **kwargs)
    for note in caught:
        typer.secho(f"note: {note.message}", fg=typer.colors.YELLOW, err=True)
    with Store(store_path) as store:
        store.append("outcomes", frame, key=OUTCOME_KEY, replace=OUTCOME_KEY, source_file=path)
    return len(frame)


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""

    @app.command("load-outcomes")
    def load_outcomes(
        store: Path = typer.Option(
            None,
            "--store",
            help="DuckDB store file (default: clusteratlas-output/clusteratlas.duckdb).",
        ),
        bea: list[Path] = typer.Option(
            [], "--bea", help="BEA SAGDP2N or CAGDP2 'all areas' CSV (gdp, mfg_gdp)."
        ),
        laus_state: list[Path] = typer.Option(
            [], "--laus-state", help="BLS LAUS staadata.xlsx (state employment)."
        ),
        laus_county: list[Path] = typer.Option(
            [], "--laus-county", help="BLS LAUS laucntyYY.xlsx (county employment)."
        ),
        cbp_totals: list[Path] = typer.Option(
            [], "--cbp-totals", help="CBP state/county totals CSV (setzler layout)."
        ),
        qcew: list[Path] = typer.Option([], "--qcew", help="BLS QCEW annual singlefile CSV."),
        trade: list[Path] = typer.Option(
            [], "--trade", help="Census USA Trade Online exports/imports CSV."
        ),
        ita: list[Path] = typer.Option([], "--ita", help="ITA metro exports CSV."),
    ) -> None:
        """Load outcome files (GDP, employment, exports, imports) into the store's outcomes table."""
        from clusteratlas.data import bea as bea_mod
        from clusteratlas.data import laus
        from clusteratlas.data import trade as trade_mod

        jobs = (
            [(bea_mod.read_gdp_csv, p) for p in bea]
            + [(laus.read_laus_state_annual, p) for p in laus_state]
            + [(laus.read_laus_county_annual, p) for p in laus_county]
            + [(laus.read_cbp_totals, p) for p in cbp_totals]
            + [(laus.read_qcew_annual_singlefile, p) for p in qcew]
            + [(trade_mod.read_usatrade, p) for p in trade]
            + [(trade_mod.read_ita_msa_exports, p) for p in ita]
        )
        if not jobs:
            raise ParameterError(
                "files", "give at least one file (--bea, --laus-state, --cbp-totals, ...)"
            )
        for reader, path in jobs:
            n = _load(store, reader, path)
            typer.echo(f"{path.name}: {n:,} outcome rows")

    @app.command("resilience")
    def resilience_command(
        store: Path = typer.Option(
            None, "--store", help="DuckDB store with an outcomes table (see load-outcomes)."
        ),
        outcome: str = typer.Option(
            "gdp", "--outcome", help="Outcome: gdp, mfg_gdp, employment, exports, imports."
        ),
        peak: int = typer.Option(..., "--peak", help="Pre-shock peak year."),
        trough: int = typer.Option(..., "--trough", help="Trough year (end of the contraction)."),
        end: int = typer.Option(..., "--end", help="Last year of the recovery window."),
        region_type: str = typer.Option(
            "state", "--region-type", help="Region type to compare with the nation."
        ),
        source: str = typer.Option(
            None, "--source", help="Keep one source (e.g. 'BEA SAGDP2N', 'Census CBP')."
        ),
        out: Path = typer.Option(
            None, "--out", help="Folder for `resilience_<outcome>.csv/.tex/.html`."
        ),
        panel: bool = typer.Option(
            False,
            "--panel",
            help="Use the store's cluster_panel employment (region x cluster) instead of outcomes.",
        ),
        expected: str = typer.Option(
            "aggregate",
            "--expected",
            help="With --panel/--sectors: 'aggregate' (national rate) or 'sectoral' (national cluster rates on each region's mix).",
        ),
        by_cluster: bool = typer.Option(
            False,
            "--by-cluster",
            "--by-sector",
            help="With --panel/--sectors: one row per region x cluster (sector) vs its national "
            "cluster (sector).",
        ),
        sectors: Path = typer.Option(
            None,
            "--sectors",
            help="Region x sector employment file instead of the store: setzler's CBP state x "
            "3-digit NAICS file (CBP_state_industry3.csv.gz); the nation is the sum of its states.",
        ),
    ) -> None:
        """Resistance (peak->trough) and recovery (trough->end) of every region vs the nation.

        Prints Martin's sensitivity, the MSGT/Lagravinese index and the shift-share split, and
        stores them as table `resilience_<outcome>` (shown on the dashboard's region pages).
        With --panel the region x cluster employment of the cluster panel is used (sectoral
        expectation, or --by-cluster for every region x cluster); --sectors FILE does the same
        for a state x 3-digit NAICS file.
        """
        from clusteratlas.resilience.indices import resilience
        from clusteratlas.store import Store
        from clusteratlas.tables import export

        for name, given in (("outcome", outcome), ("region-type", region_type)):
            if not re.fullmatch(r"[A-Za-z0-9_]+", given):
                raise ParameterError(
                    name, f"{given!r} is not a plain name", allowed="letters, digits, _"
                )
        window = (peak, trough, end)
        if panel and sectors is not None:
            raise ParameterError("sectors", "give either --panel or --sectors, not both")
        if sectors is not None:
            _sectors_resilience(store, sectors, window, expected, by_cluster, out)
            return
        if panel:
            _panel_resilience(store, region_type, window, expected, by_cluster, out)
            return
        with Store(store) as db:
            if not db.has("outcomes"):
                raise InputError(
                    "the store has no outcomes table", hint="run clusteratlas load-outcomes first"
                )
            where = "outcome = ? and region_type in (?, 'nation')"
            frame = db.read("outcomes", where=where, params=[outcome, region_type])
        if source:
            frame = frame[frame["source"] == source]
        if frame.empty:
            raise InputError(
                f"no {outcome!r} rows for region type {region_type!r}",
                hint="check --outcome/--region-type",
            )
        if frame["source"].nunique() > 1:
            raise ParameterError(
                "source",
                "several sources hold this outcome",
                allowed=", ".join(sorted(frame["source"].unique())),
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = resilience(frame, (peak, trough, end), outcome=outcome)
        typer.echo(result.summary())
        # summary() lists the timing and benchmark notes; the rest (unreliable or undefined
        # rows) are shown here rather than dropped
        for note in caught:
            if str(note.message) not in result.warnings:
                typer.secho(f"note: {note.message}", fg=typer.colors.YELLOW, err=True)
        table = result.tidy().assign(outcome=outcome, window=f"{peak}-{trough}-{end}")
        name = f"resilience_{outcome}"
        with Store(store) as db:
            db.write(name, table)  # the dashboard shows tables named resilience_* per region
        typer.echo(f"\nstored table {name} ({len(table)} rows)")
        if out is not None:
            paths = export(table, out / name, caption=f"Resilience of {outcome}, {result.window}")
            typer.echo("wrote " + ", ".join(str(p) for p in paths))


def _panel_resilience(
    store: Path | None,
    region_type: str,
    window: tuple[int, int, int],
    expected: str,
    by_cluster: bool,
    out: Path | None,
) -> None:
    """Resilience of cluster-panel employment: region totals over the cluster mix, or per cluster."""
    from clusteratlas.store import Store

    with Store(store) as db:
        if not db.has("cluster_panel"):
            raise InputError(
                "the store has no cluster_panel table", hint="build it with clusteratlas panel"
            )
        frame = db.read("cluster_panel", where="region_type in (?, 'nation')", params=[region_type])
    if frame.empty:
        raise InputError(f"no cluster_panel rows for region type {region_type!r}")
    frame = frame[["region_type", "region_id", "year", "cluster_code", "emp"]]
    national = frame[frame["region_type"] == "nation"]
    regions = frame[frame["region_type"] != "nation"]
    name = "resilience_cluster_emp" if by_cluster else f"resilience_emp_{expected}"
    _grouped_resilience(
        store, regions, None if national.empty else national, "cluster_code", window,
        expected=expected, by_group=by_cluster, out=out, name=name, what="cluster employment",
    )  # fmt: skip


def _sectors_resilience(
    store: Path | None,
    path: Path,
    window: tuple[int, int, int],
    expected: str,
    by_sector: bool,
    out: Path | None,
) -> None:
    """Resilience of a state x 3-digit NAICS file against the sum of its states."""
    from clusteratlas.resilience.sectors import read_state_sectors

    panel = read_state_sectors(path)
    name = "resilience_naics3_emp" if by_sector else f"resilience_naics3_emp_{expected}"
    _grouped_resilience(
        store, panel.regions, panel.national, panel.sector, window, expected=expected,
        by_group=by_sector, out=out, name=name, what="employment by 3-digit NAICS",
    )  # fmt: skip


def _grouped_resilience(
    store: Path | None,
    regions,
    national,
    group: str,
    window: tuple[int, int, int],
    *,
    expected: str,
    by_group: bool,
    out: Path | None,
    name: str,
    what: str,
) -> None:
    """Run :func:`sector_resilience`, print the summary and warnings, store and export."""
    from clusteratlas.resilience.sectors import sector_resilience
    from clusteratlas.store import Store
    from clusteratlas.tables import export

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sector_resilience(
            regions, national, window, sector=group, by_sector=by_group, expected=expected
        )
    typer.echo(result.summary())
    # summary() lists the timing notes; the rest (code changes, undefined rows) are shown here
    for note in caught:
        if str(note.message) not in result.warnings:
            typer.secho(f"note: {note.message}", fg=typer.colors.YELLOW, err=True)
    table = result.tidy().assign(window="-".join(map(str, window)))
    with Store(store) as db:
        db.write(name, table)
    typer.echo(f"\nstored table {name} ({len(table)} rows)")
    if out is not None:
        paths = export(table, out / name, caption=f"Resilience of {what}, {result.window}")
        typer.echo("wrote " + ", ".join(str(p) for p in paths))
