"""``clusteratlas serve``: the local dashboard over a store (clusteratlas.web)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: worker processes without --workers: one per core up to this (each keeps its own caches)
MAX_DEFAULT_WORKERS = 4


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root clusteratlas app."""

    @app.command("serve")
    def serve(
        store: Path = typer.Option(
            None,
            "--store",
            help="The clusteratlas store (DuckDB file) to explore; opened read-only. Default: CLUSTERATLAS_STORE or clusteratlas-output/clusteratlas.duckdb.",
        ),
        port: int = typer.Option(
            8765, "--port", min=0, max=65535, help="TCP port (0 picks a free one)."
        ),
        host: str = typer.Option(
            "127.0.0.1",
            "--host",
            help="Interface to bind. Only this machine can connect unless you give another address explicitly.",
        ),
        allow_host: list[str] = typer.Option(
            None,
            "--allow-host",
            help="Another host name the dashboard answers to (repeatable), e.g. this machine's "
            "name when binding 0.0.0.0. Requests for any other Host are refused (DNS rebinding).",
        ),
        workers: int = typer.Option(
            None,
            "--workers",
            min=1,
            max=32,
            show_default="one per core, at most 4",
            help="Server processes. Pages are rendered in Python, one core per process, so "
            "several users at once are answered faster with one worker per core (each "
            "opens the store read-only and keeps its own cache). 1: one process.",
        ),
        log_level: str = typer.Option(
            "warning", "--log-level", help="uvicorn log level (debug, info, warning, error)."
        ),
    ) -> None:
        """Start the local dashboard over a store: regions, clusters, maps, comparisons, causal results and the theory model's regime map."""
        import uvicorn

        from clusteratlas.paths import default_store_path
        from clusteratlas.web.app import create_app

        path = store if store is not None else default_store_path()
        hosts = [host, *(allow_host or [])]
        # checks the store before workers
        application = create_app(path, allowed_hosts=hosts, prepare=True)
        if host not in LOOPBACK:
            typer.secho(
                f"warning: binding {host}: anyone who can reach this machine on port {port} can read the store "
                "(the dashboard has no login). Use --host 127.0.0.1 to keep it local.",
                fg=typer.colors.YELLOW,
                err=True,
            )
        shown = f"[{host}]" if ":" in host else host
        typer.echo(
            f"clusteratlas dashboard on http://{shown}:{port}/ (store {path}); Ctrl+C to stop"
        )
        if workers is None:
            workers = max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))
        if workers == 1:
            uvicorn.run(application, host=host, port=port, log_level=log_level)
            return
        from clusteratlas.web.app import HOSTS_ENV, STORE_ENV

        application.state.dashboard.close()
        os.environ[STORE_ENV] = str(Path(path).resolve())
        os.environ[HOSTS_ENV] = ",".join(hosts)
        uvicorn.run(
            "clusteratlas.web.app:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
        )
