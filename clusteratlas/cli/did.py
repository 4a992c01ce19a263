"""``clusteratlas did``: difference-in-differences from a data file (clusteratlas.causal.did).

Runs a 2x2 DID, two-way fixed effects, an event study, Callaway-Sant'Anna or a
heterogeneity-robust design (two-stage, imputation, Sun-Abraham, Bacon; :mod:`.did_robust`)
on a CSV/Parquet/Stata file and prints a tidy table; ``--out`` writes it as CSV, LaTeX and HTML.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from clusteratlas.cli.did_robust import ROBUST_DESIGNS, run_honest, run_robust_design
from clusteratlas.errors import InputError, ParameterError

DESIGNS = ("auto", "2x2", "twfe", "event", "cs", *ROBUST_DESIGNS)


def read_table(path: Path) -> pd.DataFrame:
    """Read a data file by extension (.csv, .csv.gz, .parquet, .dta)."""
    if not path.exists():
        raise InputError("file not found", path=str(path))
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return pd.read_csv(path)
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if name.endswith(".dta"):
        return pd.read_stata(path)
    raise InputError("unknown file type", path=str(path), hint="use .csv, .parquet or .dta")


def _print(frame: pd.DataFrame, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)


def did_command(
    data: Path = typer.Option(..., "--data", help="Panel file (.csv, .parquet, .dta)."),
    y: str = typer.Option(..., "--y", help="Outcome column."),
    time: str = typer.Option(..., "--time", help="Period column (e.g. year)."),
    treat: str = typer.Option(
        None, "--treat", help="Treatment column: 0/1 group (2x2, event study) or D_it (TWFE)."
    ),
    unit: str = typer.Option(None, "--unit", help="Unit (region) id column."),
    design: str = typer.Option(
        "auto",
        "--design",
        help="2x2 | twfe | event | cs | did2s | imputation | sunab | bacon. auto: event with "
        "--event-study, cs with --cohort and no --treat, 2x2 with --pre/--post or two periods, "
        "else twfe. did2s (Gardner), imputation (Borusyak-Jaravel-Spiess) and sunab "
        "(Sun-Abraham) need --unit and --cohort (add --event-study for event times with did2s "
        "and imputation); bacon decomposes TWFE (Goodman-Bacon) and reports "
        "de Chaisemartin-D'Haultfoeuille weights.",
    ),
    event_study_flag: bool = typer.Option(False, "--event-study", help="Run an event study."),
    cohort: str = typer.Option(
        None, "--cohort", help="First-treated-period column (0 = never) for event study / CS."
    ),
    shock_year: int = typer.Option(None, "--shock-year", help="Common treatment start."),
    pre: int = typer.Option(None, "--pre", help="2x2: pre period (e.g. 2018)."),
    post: int = typer.Option(None, "--post", help="2x2: post period (e.g. 2020)."),
    cluster: str = typer.Option(None, "--cluster", help="Cluster SEs by this column (CRV1)."),
    vcov: str = typer.Option(None, "--vcov", help="iid | HC1 | CRV1 (default by design)."),
    leads: int = typer.Option(None, "--leads", help="Event study: number of leads."),
    lags: int = typer.Option(None, "--lags", help="Event study: number of lags."),
    bin_endpoints: bool = typer.Option(False, "--bin-endpoints", help="Bin event-time ends."),
    control_group: str = typer.Option("nevertreated", "--control", help="CS control group."),
    est_method: str = typer.Option("dr", "--est-method", help="CS: dr | ipw | reg."),
    aggregate: str = typer.Option(
        "dynamic", "--aggregate", help="CS: simple|group|dynamic|calendar."
    ),
    covariates: list[str] = typer.Option([], "--covariate", help="Covariate (repeatable)."),
    weights: str = typer.Option(None, "--weights", help="did2s/imputation/sunab: weight column."),
    pretrends: int = typer.Option(
        0, "--pretrends", help="imputation: BJS pre-trend test with this many leads."
    ),
    control_cohort: str = typer.Option(
        "never", "--control-cohort", help="sunab: never | last (last-treated cohort as control)."
    ),
    balance_e: int = typer.Option(
        None, "--balance-e", help="CS dynamic: keep cohorts observed this many periods after."
    ),
    min_e: int = typer.Option(None, "--min-e", help="CS dynamic: first event time."),
    max_e: int = typer.Option(None, "--max-e", help="CS dynamic: last event time."),
    base_period: str = typer.Option(
        "varying", "--base-period", help="CS: varying | universal (universal for --honest)."
    ),
    honest: str = typer.Option(
        None, "--honest", help="HonestDiD sensitivity of the event study: rm | sd."
    ),
    mbar: list[float] = typer.Option(
        [], "--mbar", help="HonestDiD: value of Mbar (rm) or M (sd); repeatable."
    ),
    l_vec: list[float] = typer.Option(
        [], "--l-vec", help="HonestDiD: weight of each post period in theta; repeatable."
    ),
    wild_bootstrap: int = typer.Option(
        0, "--wild-bootstrap", help="Wild cluster bootstrap draws (0 = off; 9999 suggested)."
    ),
    weights_type: str = typer.Option("rademacher", "--boot-weights", help="rademacher | webb."),
    out: Path = typer.Option(None, "--out", help="Write STEM.csv/.tex/.html."),
    plot: Path = typer.Option(None, "--plot", help="Event study / CS: save the plot (PNG)."),
) -> None:
    """Difference-in-differences: 2x2 (Cho et al. 2024 Eq. 1), TWFE, event study, Callaway-Sant'Anna,
    two-stage (Gardner), imputation (Borusyak-Jaravel-Spiess), Sun-Abraham, Bacon decomposition,
    with HonestDiD sensitivity (--honest rm|sd) of any event study."""
    from clusteratlas.causal import did as did_module

    frame = read_table(data)
    if design not in DESIGNS:
        raise ParameterError("--design", f"unknown {design!r}", allowed=", ".join(DESIGNS))
    if design == "auto":
        if event_study_flag:
            design = "event"
        elif cohort and not treat:
            design = "cs"
        elif pre is not None or post is not None or frame[time].nunique() == 2:
            design = "2x2"
        else:
            design = "twfe"
    extra: list[tuple[pd.DataFrame, str]] = []
    if design in ROBUST_DESIGNS:
        result, extra = run_robust_design(
            design,
            frame,
            y=y,
            unit=unit,
            time=time,
            cohort=cohort,
            event_study=event_study_flag,
            leads=leads,
            lags=lags,
            covariates=covariates,
            cluster=cluster,
            weights=weights,
            pretrends=pretrends,
            control_cohort=control_cohort,
        )
        if design == "bacon":
            typer.echo(result.summary())
            _print(result.tidy(), "2x2 comparisons")
            for table, title in extra:
                _print(table, title)
            if out is not None:
                written = result.export(out)
                typer.echo("wrote " + ", ".join(str(p) for p in written))
            if plot is not None:
                _save_plot(result, plot)
            return
    elif design == "cs":
        if not (unit and cohort):
            raise ParameterError("--cohort", "Callaway-Sant'Anna needs --unit and --cohort")
        attgt = did_module.callaway_santanna(
            frame,
            y,
            unit,
            time,
            cohort,
            covariates=covariates,
            control_group=control_group,
            est_method=est_method,
            base_period=base_period,
        )
        bounds = {k: v for k, v in (("min_e", min_e), ("max_e", max_e)) if v is not None}
        result = attgt.aggregate(aggregate, balance_e=balance_e, **bounds)
        extra.append((attgt.tidy(), "ATT(g,t)"))
        if not result.by.empty:
            extra.append((result.by, f"{aggregate} aggregation"))
    elif design == "2x2":
        if not treat:
            raise ParameterError("--treat", "the 2x2 design needs --treat")
        result = did_module.did_2x2(
            frame,
            y,
            treat,
            time,
            pre=pre,
            post=post,
            unit=unit,
            cluster=cluster,
            vcov=vcov or ("CRV1" if cluster else "iid"),
        )
    elif design == "twfe":
        if not (unit and treat):
            raise ParameterError("--treat", "TWFE needs --unit and --treat")
        result = did_module.twfe(
            frame,
            y,
            unit,
            time,
            treat,
            covariates=covariates,
            cluster=cluster or "unit",
            vcov=vcov or "CRV1",
        )
    else:
        if not unit:
            raise ParameterError("--unit", "the event study needs --unit")
        result = did_module.event_study(
            frame,
            y,
            unit,
            time,
            cohort=cohort,
            treat=None if cohort else treat,
            shock_year=shock_year,
            leads=leads,
            lags=lags,
            bin_endpoints=bin_endpoints,
            covariates=covariates,
            cluster=cluster or "unit",
            vcov=vcov or "CRV1",
        )
    typer.echo(f"{result.method}\nObservations: {result.nobs}   SE: {result.se_type}")
    _print(result.tidy(), "Estimates")
    for table, title in extra:
        _print(table, title)
    for key, value in result.info.items():
        if key.startswith("pretrend"):
            typer.echo(f"{key}: {value}")
    tables = [result.tidy()]
    sensitivity = run_honest(result, honest, list(mbar), list(l_vec)) if honest else None
    if sensitivity is not None:
        typer.echo(sensitivity.summary())
    if wild_bootstrap:
        param = None if design != "event" else "rel_p0"
        boot = did_module.wild_cluster_bootstrap(
            result, param=param, reps=wild_bootstrap, weights_type=weights_type, cluster=cluster
        )
        typer.echo(boot.summary())
        tables.append(boot.tidy())
    if out is not None:
        written = result.export(out)
        if wild_bootstrap:
            from clusteratlas import tables as export_tables

            written += export_tables.export(tables[1], f"{out}_wild_bootstrap")
        for table, title in extra:
            from clusteratlas import tables as export_tables

            slug = "attgt" if title.startswith("ATT") else aggregate
            if design in ROBUST_DESIGNS:
                slug = "cohort_effects"
            written += export_tables.export(table, f"{out}_{slug}", caption=title)
        if sensitivity is not None:
            written += sensitivity.export(f"{out}_honest")
        typer.echo("wrote " + ", ".join(str(p) for p in written))
    if plot is not None:
        _save_plot(result, plot)


def _save_plot(result: object, plot: Path) -> None:
    if not hasattr(result, "plot"):
        raise ParameterError("--plot", "only event studies and CS aggregates have a plot")
    from clusteratlas import atomic

    figure = result.plot()
    with atomic.atomic_path(plot) as target:
        figure.savefig(target, format="png", dpi=150)
    typer.echo(f"wrote {plot}")


def register(app: typer.Typer) -> None:
    """Add ``did`` to the root clusteratlas app."""
    app.command("did")(did_command)
