"""Errors and warnings users see.

Errors name the file, row, column or parameter at fault and what to do. Warnings say what the
result leaves out or rests on; each has a named class (below :class:`ClusterAtlasWarning`) so
callers can filter or escalate exactly one kind::

    import warnings
    from clusteratlas.errors import SuppressedDataWarning
    warnings.simplefilter("ignore", SuppressedDataWarning)   # known, counted elsewhere
    warnings.simplefilter("error", ClusterAtlasWarning)      # or: every one is an error

Inside the package a block that expects a warning silences that class only, with
:func:`expected_warnings` (never a blanket ``simplefilter("ignore")``, which would hide
the warning nobody expected).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


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


# -------------------------------------------------------------------------------------------
# warnings: the result is computed, but the user must know what it leaves out or rests on
# -------------------------------------------------------------------------------------------
class ClusterAtlasWarning(UserWarning):
    """Base class for every warning clusteratlas raises on purpose (a ``UserWarning``, so code
    filtering ``UserWarning`` keeps working)."""


class DataWarning(ClusterAtlasWarning):
    """Something about the input data: part of it is withheld, missing or approximated."""


class SuppressedDataWarning(DataWarning):
    """Cells withheld by the publisher (CBP ``D`` flags, BEA ``(D)``/``(NA)``, undisclosed QCEW
    rows) are left out or count as 0, so totals may be understated."""


class DataCoverageWarning(DataWarning):
    """The data do not cover exactly what was asked: rows left out for reasons other than
    disclosure (partial periods, unmatched names, unmapped industry codes, zero bases), figures
    approximated (Connecticut planning regions), or a benchmark built from the regions given
    instead of the national record."""


class EstimationWarning(ClusterAtlasWarning):
    """An estimate is computed but rests on something the user should know (mass points in the
    running variable, collinear terms dropped, undefined indices, a grid edge reached)."""


class DroppedObservationsWarning(EstimationWarning):
    """Rows or units are left out of an estimation sample (missing values, unbalanced units,
    units treated in every period) and the message says how many."""


class SmallSampleWarning(EstimationWarning):
    """Too few clusters, observations or regions for the inference or flags to be reliable."""


class DesignWarning(EstimationWarning):
    """The research design is weak as specified: no never-treated units, every region in one
    group, an outcome measured before the shock, a phase or window mixing periods."""


class ParameterWarning(ClusterAtlasWarning):
    """A parameter was adjusted to a value that works (the message says to which)."""


class DeprecatedNameWarning(ClusterAtlasWarning, FutureWarning):
    """An old column name or argument of a result was used; the message names the new one.

    A :class:`FutureWarning` so that users see it outside test runs too (Python hides plain
    ``DeprecationWarning`` raised from library code); ``pytest.deprecated_call`` catches it.
    """


@contextlib.contextmanager
def expected_warnings(*categories: type[Warning], message: str = "") -> Iterator[None]:
    """Silence only ``categories`` (and, with ``message``, only warnings whose text starts
    with that regular expression) inside the block; every other warning passes as usual.

    For a caller that expects those warnings and accounts for them another way (counts
    them, writes a note, reports the rows left out): say why at the call site.
    """
    if not categories:
        raise ParameterError("categories", "name the warning classes the block expects")
    with warnings.catch_warnings():
        for category in categories:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield
