"""Errors users see. Each names the file, row, column or parameter at fault and what to do."""

from __future__ import annotations


class ClusterAtlasError(Exception):
    """Base class for every error clusteratlas raises on purpose."""


class InputError(ClusterAtlasError, ValueError):
    """A data file or frame is malformed.

    Parameters name where the problem is, so the message can say it:
    ``InputError("negative employment", path="cbp16st.txt", line=12, column="emp",
    hint="check the file is a CBP state file")``.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.column = column
        self.hint = hint
        where = []
        if path is not None:
            where.append(f"file {path}")
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        message = f"{', '.join(where)}: {problem}" if where else problem
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ParameterError(ClusterAtlasError, ValueError):
    """A parameter (function argument, CLI option or config key) has a value that cannot work."""

    def __init__(self, name: str, problem: str, allowed: str | None = None) -> None:
        self.name = name
        message = f"parameter {name!r}: {problem}"
        if allowed:
            message += f"; allowed: {allowed}"
        super().__init__(message)


class EstimationError(ClusterAtlasError, RuntimeError):
    """An estimator cannot produce a number (empty bandwidth, singular design, no variation...)."""


class DataUnavailableError(ClusterAtlasError, FileNotFoundError):
    """A source is neither cached nor reachable; the message says which file to download and where."""


class StoreBusyError(ClusterAtlasError, RuntimeError):
    """The store file is locked by another process (DuckDB has one writer); the message names
    the process."""
