"""Input checks shared by the causal estimators: columns present, numeric, nothing missing.

Owns :func:`check_frame`, the one place where a DID design's data frame is validated, so every
estimator names the same column and row in the same words.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clusteratlas.errors import DroppedObservationsWarning, InputError, ParameterError


def check_frame(
    data: pd.DataFrame,
    numeric: Sequence[str],
    keys: Sequence[str] = (),
    *,
    missing: str = "raise",
    what: str = "data",
) -> pd.DataFrame:
    """Check that columns exist, ``numeric`` ones are numeric and nothing is missing.

    ``missing="raise"`` raises :class:`InputError` naming the column and the first bad row;
    ``missing="drop"`` drops those rows with a warning saying how many. Returns a copy holding
    only the needed columns.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    if missing not in ("raise", "drop"):
        raise ParameterError("missing", f"unknown value {missing!r}", allowed="raise, drop")
    wanted = list(dict.fromkeys([*keys, *numeric]))
    absent = [c for c in wanted if c not in data.columns]
    if absent:
        raise InputError(
            f"{what} has no column(s) {', '.join(map(repr, absent))}",
            hint=f"available: {', '.join(map(str, data.columns))}",
        )
    frame = data.loc[:, wanted].copy()
    for column in numeric:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype(float)
        if not pd.api.types.is_numeric_dtype(frame[column]):
            converted = pd.to_numeric(frame[column], errors="coerce")
            bad = frame[column].notna() & converted.isna()
            if bad.any():
                row = bad.idxmax()
                raise InputError(
                    f"{what}: non-numeric value {frame[column][row]!r} in row {row}",
                    column=column,
                    hint="this column must hold numbers",
                )
            frame[column] = converted
        frame[column] = frame[column].astype(float)
        if np.isinf(frame[column]).any():
            raise InputError(f"{what}: infinite values", column=column)
    nulls = frame.isna()
    if nulls.any().any():
        counts = nulls.sum()
        named = ", ".join(f"{c!r} ({n} rows)" for c, n in counts.items() if n)
        if missing == "raise":
            first = nulls.any(axis=1).idxmax()
            raise InputError(
                f"{what}: missing values in {named}; first at row {first}",
                hint="clean them, or pass missing='drop' to drop those rows",
            )
        warnings.warn(
            f"{what}: dropped {int(nulls.any(axis=1).sum())} rows with missing {named}",
            category=DroppedObservationsWarning,
            stacklevel=3,
        )
        frame = frame.loc[~nulls.any(axis=1)]
    if frame.empty:
        raise InputError(f"{what} has no rows")
    return frame
