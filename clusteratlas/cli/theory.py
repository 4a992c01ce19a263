"""The theory commands (clusteratlas.theory), added to the root app by :func:`register`.

``clusteratlas theory solve | map | sweep | audit | derive``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from clusteratlas.errors import ParameterError

theory_app = typer.Typer(
    help=(
        "The infra-marginal general-equilibrium model of industrial clusters (Li Ke): corner "
        "equilibria, the general equilibrium, regime maps, and an audit of the paper's claims."
    ),
    no_args_is_help=True,
)


def _params(K, t, alpha, b, F, e, theta, K_x, K_y, K_z, t_x, t_y, t_z, z_scale):
    from clusteratlas.theory.model import Params

    return Params(K=K, t=t, alpha=alpha, b=b, F=F, e=e, theta=theta, K_x=K_x, K_y=K_y,
                  K_z=K_z, t_x=t_x, t_y=t_y, t_z=t_z, z_scale=z_scale)  # fmt: skip


_K = typer.Option(0.8, "--K", help="General trading conditions K (k_i = (1 - t_i) K_i).")
_T = typer.Option(0.1, "--t", help="Relative geographic distance t in [0, 1).")
_ALPHA = typer.Option(0.5, "--alpha", help="Roundabout-production elasticity alpha (> 0).")
_B = typer.Option(0.1, "--b", help="Fixed learning cost of y and z, in (0, 1).")
_F = typer.Option(0.2, "--F", help="Fixed learning cost of x, in [0, 1).")
_E = typer.Option(0.3, "--e", help="Institutional efficiency of mutual trust e in (0, 1).")
_THETA = typer.Option(0.2, "--theta", help="Cluster coordination cost theta in (0, 1).")
_KG = {g: typer.Option(None, f"--K-{g}", help=f"K for good {g} (default: --K).") for g in "xyz"}
_TG = {g: typer.Option(None, f"--t-{g}", help=f"t for good {g} (default: --t).") for g in "xyz"}
_SCALE = typer.Option(
    1.0, "--z-scale",
    help="VARIANT 'scaled-z': productivity of z labour, z = s (l_z - b). 1 = the paper's model.",
)  # fmt: skip
_STRUCTURES = typer.Option(
    "paper", "--structures", help="'paper' (the seven) or 'all' (every Lemma-1 structure)."
)


def _check_structures(structures: str) -> str:
    if structures not in ("paper", "all"):
        raise ParameterError("structures", f"unknown value {structures!r}", "paper, all")
    return structures


@theory_app.command("solve")
def solve_command(
    K: float = _K, t: float = _T, alpha: float = _ALPHA, b: float = _B, F: float = _F,
    e: float = _E, theta: float = _THETA,
    K_x: float = _KG["x"], K_y: float = _KG["y"], K_z: float = _KG["z"],
    t_x: float = _TG["x"], t_y: float = _TG["y"], t_z: float = _TG["z"],
    z_scale: float = _SCALE, structures: str = _STRUCTURES,
    out: Path = typer.Option(None, "--out", help="Write the structure table to OUT.csv/.tex/.html."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    printed: bool = typer.Option(
        False, "--printed", help="Also show the paper's printed Table 1 beside the derivation."
    ),
) -> None:  # fmt: skip
    """Every structure's corner equilibrium and the general equilibrium at one point."""
    from clusteratlas.tables import export
    from clusteratlas.theory.solve import solve

    params = _params(K, t, alpha, b, F, e, theta, K_x, K_y, K_z, t_x, t_y, t_z, z_scale)
    result = solve(params, _check_structures(structures))
    if as_json:
        payload = {
            "params": params.as_dict(),
            "general_equilibrium": result.winner,
            "ties": result.ties,
            "cost_benefit_check_passed": result.check_passed,
            "structures": {n: c.__dict__ for n, c in result.corners.items()},
        }
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        typer.echo(result.summary())
    if printed:
        from clusteratlas.theory.audit import table1_comparison

        table = table1_comparison(params)
        typer.echo(
            "\nPrinted Table 1 beside the derivation (the derivation wins where they differ):"
        )
        typer.echo(table.drop(columns="note").to_string(index=False))
    if out is not None:
        for path in export(result.tidy(), out.with_suffix(""), caption="Corner equilibria"):
            typer.echo(f"wrote {path}")


@theory_app.command("map")
def map_command(
    x: str = typer.Option("K", "--x", help="Parameter on the horizontal axis."),
    y: str = typer.Option("t", "--y", help="Parameter on the vertical axis."),
    x_range: str = typer.Option("0.05:1", "--x-range", help="LOW:HIGH of the x parameter."),
    y_range: str = typer.Option("0:0.9", "--y-range", help="LOW:HIGH of the y parameter."),
    resolution: int = typer.Option(200, "--resolution", help="Grid points per axis."),
    out: Path = typer.Option(Path("map.png"), "--out", help="map.png, .svg, .html or .csv"),
    K: float = _K, t: float = _T, alpha: float = _ALPHA, b: float = _B, F: float = _F,
    e: float = _E, theta: float = _THETA,
    K_x: float = _KG["x"], K_y: float = _KG["y"], K_z: float = _KG["z"],
    t_x: float = _TG["x"], t_y: float = _TG["y"], t_z: float = _TG["z"],
    z_scale: float = _SCALE, structures: str = _STRUCTURES,
) -> None:  # fmt: skip
    """Regime map (phase diagram) of the general equilibrium over two parameters."""
    from clusteratlas.theory.maps import parse_range, regime_map

    if resolution < 2:
        raise ParameterError("resolution", "must be at least 2")
    fixed = _params(K, t, alpha, b, F, e, theta, K_x, K_y, K_z, t_x, t_y, t_z, z_scale)
    result = regime_map(
        x, parse_range(x_range, "x-range"), y, parse_range(y_range, "y-range"), fixed,
        resolution, _check_structures(structures),
    )  # fmt: skip
    result.save(out)
    shares = ", ".join(f"{n} {s:.1%}" for n, s in result.shares().items())
    typer.echo(f"wrote {out} ({resolution}x{resolution} points): {shares}")


@theory_app.command("sweep")
def sweep_command(
    param: str = typer.Option("K", "--param", help="Parameter to vary."),
    value_range: str = typer.Option("0.05:1", "--range", help="LOW:HIGH of the parameter."),
    points: int = typer.Option(400, "--points", help="Number of points."),
    out: Path = typer.Option(Path("sweep.png"), "--out", help="sweep.png, .svg or .csv"),
    K: float = _K, t: float = _T, alpha: float = _ALPHA, b: float = _B, F: float = _F,
    e: float = _E, theta: float = _THETA,
    K_x: float = _KG["x"], K_y: float = _KG["y"], K_z: float = _KG["z"],
    t_x: float = _TG["x"], t_y: float = _TG["y"], t_z: float = _TG["z"],
    z_scale: float = _SCALE, structures: str = _STRUCTURES,
) -> None:  # fmt: skip
    """Per-capita real income of every structure along one parameter, with the jumps."""
    from clusteratlas.theory.maps import parse_range, save_sweep, sweep

    fixed = _params(K, t, alpha, b, F, e, theta, K_x, K_y, K_z, t_x, t_y, t_z, z_scale)
    table = sweep(
        param, parse_range(value_range, "range"), fixed, points, _check_structures(structures)
    )
    save_sweep(table, out)
    jumps = table[table["jump"]]
    first = table["equilibrium"].iloc[0]
    steps = " -> ".join(
        [first] + [f"{r.equilibrium} (at {param}={r[param]:.4g})" for _, r in jumps.iterrows()]
    )
    typer.echo(f"wrote {out}; equilibrium along {param}: {steps}")


@theory_app.command("audit")
def audit_command(
    samples: int = typer.Option(20000, "--samples", help="Random admissible parameter points."),
    seed: int = typer.Option(20260401, "--seed", help="Random seed (results are reproducible)."),
    z_scale: float = _SCALE,
    out: Path = typer.Option(None, "--out", help="Write tables to OUT-claims.csv/.html etc."),
) -> None:
    """Printed Table 1 vs the derivation, and every comparative-statics claim evaluated."""
    import pandas as pd

    from clusteratlas.tables import export
    from clusteratlas.theory.audit import (
        audit_claims,
        regime_frequencies,
        sample,
        table1_comparison,
    )
    from clusteratlas.theory.model import Params

    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 80)
    pd.set_option("display.max_rows", 500)
    table1 = table1_comparison(Params().validate())
    typer.echo("Table 1: printed formulas beside the derivation (default parameters)")
    typer.echo(table1.drop(columns="note").to_string(index=False))
    claims = audit_claims(samples, seed, z_scale)
    typer.echo("\nClaims of Propositions 1-2, Scenarios 1-4 and Table 2")
    typer.echo(claims.drop(columns=["source"]).to_string(index=False))
    for scope in ("paper", "all"):
        typer.echo(f"\nGeneral-equilibrium structures over the sample ({scope} structures):")
        typer.echo(regime_frequencies(sample(samples, seed, z_scale), scope).to_string(index=False))
    if out is not None:
        stem = out.with_suffix("")
        for frame, name in ((table1, "table1"), (claims, "claims")):
            for path in export(frame, f"{stem}-{name}", formats=("csv", "html")):
                typer.echo(f"wrote {path}")


@theory_app.command("derive")
def derive_command(
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of sympy text."),
) -> None:
    """Print the symbolic (sympy) derivation of every configuration and paper structure."""
    from clusteratlas.theory.derive import main

    main(["--latex"] if latex else [])


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""
    app.add_typer(theory_app, name="theory")
