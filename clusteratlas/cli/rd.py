"""``clusteratlas rd``: regression discontinuity from a CSV file (clusteratlas.causal.rd)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from clusteratlas.atomic import atomic_path
from clusteratlas.errors import InputError


def _list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _pair(value: str | None) -> float | tuple[float, float] | None:
    if value is None:
        return None
    parts = [float(v) for v in value.split(",")]
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def _save_figure(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=150, bbox_inches="tight")


def register(app: typer.Typer) -> None:
    """Add the ``rd`` command to ``app``."""

    @app.command("rd")
    def rd_command(
        data: Path = typer.Option(
            ..., "--data", exists=True, dir_okay=False, help="CSV file with one row per unit."
        ),
        y: str = typer.Option(..., "--y", help="Outcome column."),
        x: str = typer.Option(..., "--x", help="Running variable column."),
        c: float = typer.Option(
            0.0, "--c", help="Cutoff (units at or above c are on the right/treated side)."
        ),
        fuzzy: str | None = typer.Option(
            None, "--fuzzy", help="Treatment column for a fuzzy design."
        ),
        covs: str | None = typer.Option(None, "--covs", help="Comma-separated covariate columns."),
        cluster: str | None = typer.Option(
            None,
            "--cluster",
            help="Cluster column (cluster-robust standard errors: CR1, or CR2/CR3 with --vce).",
        ),
        weights: str | None = typer.Option(
            None, "--weights", help="Column of non-negative weights."
        ),
        p: int | None = typer.Option(
            None, "--p", help="Polynomial order for the estimate (default 1)."
        ),
        q: int | None = typer.Option(
            None, "--q", help="Polynomial order for the bias correction (default p+1)."
        ),
        deriv: int | None = typer.Option(None, "--deriv", help="Derivative (1 = kink RD)."),
        h: str | None = typer.Option(None, "--h", help="Bandwidth, or 'left,right'."),
        b: str | None = typer.Option(None, "--b", help="Bias bandwidth, or 'left,right'."),
        rho: float | None = typer.Option(None, "--rho", help="b = h / rho."),
        kernel: str = typer.Option("tri", "--kernel", help="tri, epa or uni."),
        bwselect: str = typer.Option(
            "mserd",
            "--bwselect",
            help="mserd, msetwo, msesum, msecomb1/2, cerrd, certwo, cersum, cercomb1/2.",
        ),
        vce: str = typer.Option(
            "nn",
            "--vce",
            help="nn, hc0, hc1, hc2, hc3; with --cluster cr1 (default), cr2 (Bell-McCaffrey) "
            "or cr3 (Pustejovsky-Tipton); hc2/hc3 switch to cr2/cr3 when clustered.",
        ),
        nnmatch: int = typer.Option(3, "--nnmatch", help="Neighbours for vce=nn."),
        alpha: float = typer.Option(
            0.05, "--alpha", help="Significance level: 0.05 gives 95% confidence intervals."
        ),
        level: float | None = typer.Option(
            None,
            "--level",
            hidden=True,
            help="Deprecated: confidence level in percent; use --alpha.",
        ),
        masspoints: str = typer.Option("adjust", "--masspoints", help="adjust, check or off."),
        show_all: bool = typer.Option(False, "--all", help="Show the bias-corrected row too."),
        density: bool = typer.Option(
            False, "--density", help="Also run the CJM manipulation test."
        ),
        placebo: str | None = typer.Option(
            None, "--placebo", help="Placebo cutoffs ('auto' or comma-separated values)."
        ),
        sensitivity: bool = typer.Option(
            False, "--sensitivity", help="Estimates over 0.5-2 x the optimal bandwidth."
        ),
        plot: Path | None = typer.Option(
            None, "--plot", help="Write an rdplot figure (png/pdf/svg)."
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            help="Write tables as OUT.csv/.tex/.html (and OUT_placebo..., OUT_sensitivity...).",
        ),
        dropna: bool = typer.Option(
            False, "--dropna", help="Drop rows with missing values instead of stopping."
        ),
    ) -> None:
        """Regression discontinuity: local polynomial estimates with robust bias-corrected
        confidence intervals (same numbers as rdrobust), optional density test, placebo
        cutoffs, bandwidth sensitivity and an RD plot."""
        from clusteratlas.causal.rd import (
            rd_bandwidth_sensitivity,
            rd_placebo,
            rddensity,
            rdplot,
            rdrobust,
        )
        from clusteratlas.tables import export

        try:
            frame = pd.read_csv(data)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read CSV: {exc}", path=str(data)) from exc
        options = dict(
            c=c, fuzzy=fuzzy, covs=_list(covs), cluster=cluster, weights=weights, p=p, q=q, deriv=deriv,
            h=_pair(h), b=_pair(b), rho=rho, kernel=kernel, bwselect=bwselect, vce=vce, nnmatch=nnmatch,
            alpha=alpha, level=level, masspoints=masspoints, all=show_all, data=frame, dropna=dropna,
        )  # fmt: skip
        result = rdrobust(y, x, **options)
        typer.echo(result.summary())
        if out is not None:
            export(result.tidy(), out, caption=f"RD estimate of {y} at {x} = {c}")
        if density:
            dens = rddensity(x, c=c, data=frame, dropna=dropna)
            typer.echo("\n" + dens.summary())
            if out is not None:
                export(
                    dens.tidy(), out.with_name(out.name + "_density"), caption="Manipulation test"
                )
        common = {
            k: v
            for k, v in options.items()
            if k not in ("c", "h", "b", "rho", "all", "data", "dropna")
        }
        if placebo:
            cutoffs = None if placebo == "auto" else [float(v) for v in placebo.split(",")]
            table = rd_placebo(y, x, c=c, cutoffs=cutoffs, data=frame, dropna=dropna, **common)
            typer.echo("\nPlacebo cutoffs:\n" + table.table.to_string(index=False))
            if out is not None:
                export(table.table, out.with_name(out.name + "_placebo"), caption="Placebo cutoffs")
                _save_figure(table.figure, out.with_name(out.name + "_placebo.png"))
        if sensitivity:
            table = rd_bandwidth_sensitivity(y, x, c=c, data=frame, dropna=dropna, **common)
            typer.echo("\nBandwidth sensitivity:\n" + table.table.to_string(index=False))
            if out is not None:
                export(
                    table.table,
                    out.with_name(out.name + "_sensitivity"),
                    caption="Bandwidth sensitivity",
                )
                _save_figure(table.figure, out.with_name(out.name + "_sensitivity.png"))
        if plot is not None:
            _save_figure(rdplot(y, x, c=c, data=frame, dropna=dropna).figure, plot)
            typer.echo(f"\nRD plot written to {plot}")
