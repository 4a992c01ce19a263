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

import sys
from typing import Any

import typer

from clusteratlas import __version__
from clusteratlas.errors import ClusterAtlasError

HELP = (
    "Measure industrial clusters and their resilience to shocks: build US Cluster Mapping "
    "style panels from County Business Patterns data, compute resilience indices, run "
    "difference-in-differences and regression-discontinuity designs, solve the general-"
    "equilibrium cluster model, and write a report or serve a local dashboard."
)

#: Order = order in `--help`: the main job first, then the data path, then the analyses.
GROUPS = (
    "run",
    "serve",
    "data",
    "panel",
    "resilience",
    "did",
    "rd",
    "replicate",
    "theory",
    "policy",
)

#: top-level command -> the module that registers it; a command loads only its own module
#: (each pulls in pandas, Ibis, the estimators... which a file-to-file panel build never needs)
COMMAND_GROUP = {
    "run": "run",
    "init-config": "run",
    "serve": "serve",
    "load": "data",
    "fetch": "data",
    "panel": "panel",
    "load-outcomes": "resilience",
    "resilience": "resilience",
    "did": "did",
    "rd": "rd",
    "replicate": "replicate",
    "theory": "theory",
    "policy": "policy",
}


def _group_module(name: str) -> Any:
    # imported by name (not importlib) so the layer check sees every edge
    if name == "run":
        from clusteratlas.cli import run as module
    elif name == "serve":
        from clusteratlas.cli import serve as module
    elif name == "data":
        from clusteratlas.cli import data as module
    elif name == "panel":
        from clusteratlas.cli import panel as module
    elif name == "resilience":
        from clusteratlas.cli import resilience as module
    elif name == "did":
        from clusteratlas.cli import did as module
    elif name == "rd":
        from clusteratlas.cli import rd as module
    elif name == "replicate":
        from clusteratlas.cli import replicate as module
    elif name == "theory":
        from clusteratlas.cli import theory as module
    else:
        from clusteratlas.cli import policy as module
    return module


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clusteratlas {__version__}")
        raise typer.Exit()


def build_app(groups: tuple[str, ...] = GROUPS) -> typer.Typer:
    """The root app with the commands of ``groups`` (all of them by default)."""
    root = typer.Typer(
        name="clusteratlas",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        # Markdown mode re-flows docstring paragraphs to the terminal width (rich mode keeps
        # the source line breaks, which wrap badly in an 80-column terminal).
        rich_markup_mode="markdown",
    )

    @root.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """clusteratlas command line."""

    for name in groups:
        _group_module(name).register(root)
    return root


def __getattr__(name: str) -> Any:
    """``clusteratlas.cli.app``: the root app with every command (built on first use)."""
    if name == "app":
        full = build_app()
        globals()["app"] = full
        return full
    raise AttributeError(f"module 'clusteratlas.cli' has no attribute {name!r}")


def _app_for(argv: list[str]) -> typer.Typer:
    """Only the command group the command line names; every group for help or a typo."""
    command = next((a for a in argv if not a.startswith("-")), None)
    group = COMMAND_GROUP.get(command or "")
    return build_app((group,)) if group else build_app()


def main() -> None:
    """Entry point: run the CLI, turning clusteratlas errors into a one-line message."""
    try:
        _app_for(sys.argv[1:])(standalone_mode=False)
    except ClusterAtlasError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except Exception as error:  # click usage errors arrive here in non-standalone mode
        if isinstance(error, _click_exceptions()):
            error.show()
            raise SystemExit(error.exit_code) from None
        raise


def _click_exceptions() -> tuple[type[Exception], ...]:
    """click's usage-error class, and typer's own copy of it (typer >= 0.20 vendors click,
    so a bad option value raises ``typer._click``'s ``BadParameter``, not click's)."""
    import click

    classes: list[type[Exception]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # an older typer, on click itself
        pass
    else:
        classes.append(ClickException)
    return tuple(classes)
