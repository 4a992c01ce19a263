"""The ``clusteratlas`` command line: the top layer, one module per command group.

Owns the root app and :func:`main` (the ``clusteratlas`` entry point). Each module of this
package adds its commands through a ``register(app)`` function and calls the layers below
(studies, report, web, the estimators, the readers); nothing below imports from here.

=============  ==================================================================
module         commands
=============  ==================================================================
``run``        ``run``, ``init-config`` (the main job: studies.cluster_resilience)
``serve``      ``serve`` (the dashboard: web)
``data``       ``load ...``, ``fetch ...``
``panel``      ``panel build | show | coverage``
``resilience`` ``load-outcomes``, ``resilience``
``did``        ``did``
``rd``         ``rd``
``replicate``  ``replicate cho2024`` (studies.cho2024)
``theory``     ``theory solve | map | sweep | audit | derive``
``policy``     ``policy``
=============  ==================================================================
"""

from __future__ import annotations

import typer

from clusteratlas import __version__
from clusteratlas.cli import data, did, panel, policy, rd, replicate, resilience, run, serve, theory
from clusteratlas.errors import ClusterAtlasError

app = typer.Typer(
    name="clusteratlas",
    help=(
        "Measure industrial clusters and their resilience to shocks: build US Cluster Mapping "
        "style panels from County Business Patterns data, compute resilience indices, run "
        "difference-in-differences and regression-discontinuity designs, solve the general-"
        "equilibrium cluster model, and write a report or serve a local dashboard."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Markdown mode re-flows docstring paragraphs to the terminal width (rich mode keeps the
    # source line breaks, which wrap badly in an 80-column terminal).
    rich_markup_mode="markdown",
)

# Order = order in `--help`: the main job first, then the data path, then the analyses.
COMMAND_GROUPS = (run, serve, data, panel, resilience, did, rd, replicate, theory, policy)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clusteratlas {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """clusteratlas command line."""


for _group in COMMAND_GROUPS:
    _group.register(app)


def main() -> None:
    """Entry point: run the CLI, turning clusteratlas errors into a one-line message."""
    try:
        app(standalone_mode=False)
    except ClusterAtlasError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except Exception as error:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(error, click.ClickException):
            error.show()
            raise SystemExit(error.exit_code) from None
        raise
