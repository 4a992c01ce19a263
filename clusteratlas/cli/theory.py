"""The theory commands (clusteratlas.theory), added to the root app by :func:`register`.

``clusteratlas theory solve | map | sweep | statics | audit | table1 | table2 | derive``.
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
    boundaries: bool = typer.Option(
        True, "--boundaries/--no-boundaries",
        help="Draw the closed-form regime boundaries as lines (PNG/SVG/HTML).",
    ),
) -> None:  # fmt: skip
    """Regime map (phase diagram) of the general equilibrium over two parameters.

    Closed-form boundaries between the paper's structures are drawn as black lines where
    the two structures are the best ones (see `clusteratlas theory derive --section
    boundaries`).
    """
    from clusteratlas.theory.maps import parse_range, regime_map

    if resolution < 2:
        raise ParameterError("resolution", "must be at least 2")
    fixed = _params(K, t, alpha, b, F, e, theta, K_x, K_y, K_z, t_x, t_y, t_z, z_scale)
    result = regime_map(
        x, parse_range(x_range, "x-range"), y, parse_range(y_range, "y-range"), fixed,
        resolution, _check_structures(structures),
    )  # fmt: skip
    result.save(out, boundaries=boundaries)
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


def _wide_pandas() -> None:
    import pandas as pd

    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 160)
    pd.set_option("display.max_rows", 500)


def _export(frame, out: Path | None, caption: str) -> None:
    """Write ``frame`` as OUT.csv/.tex/.html (the extension of OUT picks one, none: all three)."""
    if out is None:
        return
    from clusteratlas.tables import FORMATS, export

    suffix = out.suffix.lower().lstrip(".")
    formats = (suffix,) if suffix in FORMATS else FORMATS
    for path in export(frame, out.with_suffix("") if suffix else out, formats, caption=caption):
        typer.echo(f"wrote {path}")


CLAIM_COLUMNS = ["claim_id", "forms", "design", "evaluated", "informative", "share_holding",
                 "verdict", "proof", "region"]  # fmt: skip


@theory_app.command("audit")
def audit_command(
    samples: int = typer.Option(20000, "--samples", help="Random admissible parameter points."),
    seed: int = typer.Option(20260401, "--seed", help="Random seed (results are reproducible)."),
    z_scale: float = _SCALE,
    out: Path = typer.Option(
        None, "--out", help="Write tables to OUT-table1 and OUT-claims (.csv, .tex, .html)."
    ),
) -> None:
    """Printed Table 1 vs the derivation, and every comparative-statics claim evaluated.

    Derivative claims use closed-form derivatives (proved signs where possible); regime
    claims count only the informative sweeps (those along which the attribute the claim is
    about changes) and list the switches seen with the sign of d log(u2/u1)/dp.
    """
    from clusteratlas.theory.audit import (
        audit_claims,
        regime_frequencies,
        sample,
        table1_comparison,
    )
    from clusteratlas.theory.model import Params

    _wide_pandas()
    table1 = table1_comparison(Params().validate())
    typer.echo("Table 1: printed formulas beside the derivation (default parameters)")
    typer.echo(table1.drop(columns="note").to_string(index=False))
    claims = audit_claims(samples, seed, z_scale)
    typer.echo("\nClaims of Propositions 1-2, Scenarios 1-4 and Table 2")
    typer.echo(claims[CLAIM_COLUMNS].to_string(index=False))
    typer.echo("\nClosed-form derivatives of the derivative claims")
    derivative = claims[claims["method"] == "derivative"]
    typer.echo(derivative[["claim_id", "forms", "derivative"]].to_string(index=False))
    typer.echo("\nSwitches of the general equilibrium seen along the informative sweeps")
    sweeps = claims[(claims["method"] == "sweeps") & (claims["analytic"] != "")]
    typer.echo(sweeps[["claim_id", "forms", "design", "analytic"]].to_string(index=False))
    for scope in ("paper", "all"):
        typer.echo(f"\nGeneral-equilibrium structures over the sample ({scope} structures):")
        typer.echo(regime_frequencies(sample(samples, seed, z_scale), scope).to_string(index=False))
    if out is not None:
        stem = out.with_suffix("")
        _export(table1, Path(f"{stem}-table1"), "Printed Table 1 beside the derivation")
        _export(claims, Path(f"{stem}-claims"), "Claims audit")


@theory_app.command("table1")
def table1_command(
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of text."),
    out: Path = typer.Option(None, "--out", help="Write OUT.csv/.tex/.html (no extension: all)."),
) -> None:
    """Corrected Table 1: derived closed forms of the 7 structures beside the printed ones.

    Each row: a quantity (income u, relative price, relative number) in simplified form with
    general k_x, k_y, k_z and z_scale s, in the paper's form (common k, s = 1), as printed,
    and the difference named exactly (printed / derived, or printed x derived when the print
    is a reciprocal, and whose income a wrong printed income is).
    """
    from clusteratlas.theory.paper_tables import corrected_table1

    table = corrected_table1()
    suffix = "_latex" if latex else ""
    for row in table.to_dict("records"):
        typer.echo(f"{row['structure']}  {row['quantity']}")
        typer.echo(f"  derived          {row['derived' + suffix]}")
        typer.echo(f"  paper form       {row['derived_paper_form' + suffix]}")
        if row["printed"]:
            typer.echo(f"  printed          {row['printed' + suffix]}")
        typer.echo(f"  -> {row['difference']}")
    _export(table, out, "Table 1 corrected: derived closed forms beside the printed ones")


@theory_app.command("table2")
def table2_command(
    samples: int = typer.Option(2000, "--samples", help="Random points per column region."),
    seed: int = typer.Option(20260402, "--seed", help="Random seed (results are reproducible)."),
    z_scale: float = _SCALE,
    structures: str = _STRUCTURES,
    out: Path = typer.Option(None, "--out", help="Write OUT.csv/.tex/.html (no extension: all)."),
) -> None:
    """The paper's Table 2 column by column: region, model's structure and margin, verdict.

    Each of the 12 columns' verbal conditions is read as stated ranges (column region_used),
    sampled, and solved: the share of the region where the paper's structure is the general
    equilibrium, the structure at a representative point with its income margin over the
    runner-up, and how close the paper's structure gets (paper_structure_gap).
    """
    from clusteratlas.theory.paper_tables import table2_columns

    _wide_pandas()
    table = table2_columns(samples, seed, z_scale, _check_structures(structures))
    shown = ["column", "paper_region", "paper_structure", "model_structures", "model_structure",
             "runner_up", "margin", "paper_structure_gap", "verdict"]  # fmt: skip
    typer.echo(table[shown].to_string(index=False))
    typer.echo("\nRegions sampled:")
    for row in table.itertuples():
        typer.echo(f"  {row.column:2d}: {row.region_used}")
    _export(table, out, "Table 2 column by column")


@theory_app.command("statics")
def statics_command(
    param: str = typer.Option("b", "--param", help="Parameter to vary."),
    value_range: str = typer.Option("0.01:0.45", "--range", help="LOW:HIGH of the parameter."),
    points: int = typer.Option(401, "--points", help="Number of points."),
    out: Path = typer.Option(Path("statics.png"), "--out", help="statics.png, .svg or .csv"),
    K: float = _K, t: float = _T, alpha: float = _ALPHA, b: float = _B, F: float = _F,
    e: float = _E, theta: float = _THETA,
    K_x: float = _KG["x"], K_y: float = _KG["y"], K_z: float = _KG["z"],
    t_x: float = _TG["x"], t_y: float = _TG["y"], t_z: float = _TG["z"],
    z_scale: float = _SCALE, structures: str = _STRUCTURES,
) -> None:  # fmt: skip
    """Comparative statics: per-capita real income and the degree of division of labour.

    Along one parameter: the general equilibrium's income, d log u / d param (closed form
    inside each structure, finite differences as a check), the number of traded goods and
    the share of the population in specialised configurations, with every switch located
    (closed form where one exists).
    """
    from clusteratlas.theory.maps import parse_range
    from clusteratlas.theory.statics import comparative_statics

    if points < 3:
        raise ParameterError("points", "must be at least 3")
    fixed = _params(K, t, alpha, b, F, e, theta, K_x, K_y, K_z, t_x, t_y, t_z, z_scale)
    result = comparative_statics(
        param, parse_range(value_range, "range"), fixed.validate(), points,
        _check_structures(structures),
    )  # fmt: skip
    typer.echo(result.summary())
    typer.echo(f"wrote {result.save(out)}")


SECTIONS = ("configurations", "table1", "boundaries")


@theory_app.command("derive")
def derive_command(
    latex: bool = typer.Option(False, "--latex", help="Print LaTeX instead of sympy text."),
    section: list[str] = typer.Option(
        list(SECTIONS), "--section",
        help="What to print (repeatable): configurations (sympy first-order conditions, "
        "~1 min), table1 (simplified corner equilibria), boundaries (closed-form regime "
        "boundaries).",
    ),
) -> None:  # fmt: skip
    """Print the symbolic derivation: configurations, corner equilibria, regime boundaries.

    Boundaries: for every pair of the paper's structures and every parameter where
    u_first = u_second has a closed form (explicit or quadratic), the threshold, the
    derivative d log(u_second/u_first)/dp and its sign where proved. With a common k the
    general equilibrium switches between A and P_C where (1-F-b)^2 = k (1-b)(1-F).
    """
    for name in section:
        if name not in SECTIONS:
            raise ParameterError("section", f"unknown section {name!r}", ", ".join(SECTIONS))
    if "configurations" in section:
        from clusteratlas.theory.configs import CONFIGURATIONS
        from clusteratlas.theory.derive import indirect_utility
        from clusteratlas.theory.symbolic import show

        typer.echo("Indirect utilities V_c(p) from the first-order conditions "
                   "(E = effective labour, s = z_scale):")  # fmt: skip
        for name in CONFIGURATIONS:
            typer.echo(f"  V[{name}] = {show(indirect_utility(name), latex)}")
    if "table1" in section:
        from clusteratlas.theory.paper_tables import corrected_table1

        typer.echo("\nCorner equilibria of the paper's structures (simplified):")
        column = "derived_latex" if latex else "derived"
        for row in corrected_table1().to_dict("records"):
            if row[column]:
                typer.echo(f"  {row['structure']}: {row['quantity']} = {row[column]}")
    if "boundaries" in section:
        from clusteratlas.theory.boundaries import boundary, boundary_table

        headline = boundary("A", "P_C", "K")
        typer.echo(
            "\nGeneral-equilibrium boundary of the paper's model (common k, z_scale = 1): "
            f"A below, P_C above\n  {headline.text(latex)}"
        )
        for parameter in ("t", "b", "F"):
            typer.echo(f"  {boundary('A', 'P_C', parameter).text(latex)}")
        table = boundary_table()
        typer.echo("\nEvery closed-form boundary between two paper structures (common k):")
        column = "boundary_latex" if latex else "boundary"
        for row in table.to_dict("records"):
            typer.echo(f"  {row['first']} | {row['second']}  ({row['kind']}): {row[column]}")
            typer.echo(
                f"      d log(u_{row['second']}/u_{row['first']})/d{row['parameter']} = "
                f"{row['gain']}  (sign: {row['gain_sign']})"
            )


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""
    app.add_typer(theory_app, name="theory")
