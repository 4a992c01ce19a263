"""``python -m clusteratlas.panel build|show|coverage ...``: the panel commands alone.

The same commands as ``clusteratlas panel ...``, without loading the other domains'
command modules (the root command line imports them all, with pandas, before it runs any
command): for scripts that run the panel often, e.g. file to file on a schedule.
"""

from __future__ import annotations

import typer

from clusteratlas.errors import ClusterAtlasError
from clusteratlas.panel.cli import panel_app


def main() -> None:
    """Run the panel commands; clusteratlas errors become a one-line message (exit 2)."""
    try:
        panel_app(prog_name="python -m clusteratlas.panel", standalone_mode=False)
    except ClusterAtlasError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except Exception as error:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(error, click.ClickException):
            error.show()
            raise SystemExit(error.exit_code) from None
        raise


if __name__ == "__main__":
    main()
