"""What each stage of the main job used, and what it could not do and why: ``run_provenance``.

Owns the store table ``run_provenance``, one row per (stage, input): ``stage`` (load, panel,
outcomes, resilience, causal, theory, policy), ``input`` (what it is, in words), ``source``
(publisher and route, or the file; never an API key), ``years``, ``region_level``, ``status``
(``used``, ``partial``, ``not possible``) and ``reason`` (a plain sentence, empty when used).
Each stage replaces its own rows (:func:`record`), so a stage reused from the cache keeps its
rows and a rerun one updates them. The rows that are not ``used`` also become the stage's
notes, which the report prints in the stage's section.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from clusteratlas.data.acquire import year_span

if TYPE_CHECKING:
    from clusteratlas.store import Store

TABLE = "run_provenance"
COLUMNS = ["stage", "input", "source", "years", "region_level", "status", "reason"]
STATUSES = ("used", "partial", "not possible")


def row(
    input: str,
    source: str,
    years: Iterable[int] | str,
    region_level: str,
    status: str = "used",
    reason: str = "",
) -> dict:
    """One provenance row (``years`` as a list of years or already as text, e.g. "2015-2022")."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    text = years if isinstance(years, str) else year_span(years)
    return {
        "input": input,
        "source": source,
        "years": text,
        "region_level": region_level,
        "status": status,
        "reason": reason,
    }


def record(store: Store, stage: str, rows: Iterable[dict]) -> list[str]:
    """Replace ``stage``'s rows of ``run_provenance``; return the notes of the rows not fully
    used ("<input>: <status>: <reason>") for the stage's notes."""
    frame = pd.DataFrame(list(rows), columns=COLUMNS[1:]).fillna("")
    frame.insert(0, "stage", stage)
    frame = frame.astype(str).drop_duplicates().reset_index(drop=True)
    if frame.empty:
        frame = pd.DataFrame([[stage, "(nothing)", "", "", "", "used", ""]], columns=COLUMNS)
    key = [c for c in COLUMNS if c != "reason"]
    frame = frame.drop_duplicates(key, keep="last")
    # (stage, input) names a row for readers (the report keys its table on it): rows of one
    # input that differ by level or source say which in the input itself
    for extra in ("region_level", "source", "years"):
        twice = frame.duplicated(["stage", "input"], keep=False)
        if not twice.any():
            break
        frame.loc[twice, "input"] = frame.loc[twice, "input"] + " [" + frame.loc[twice, extra] + "]"
    store.append(TABLE, frame, key=key, replace=["stage"])
    return [
        f"{r.input} ({', '.join(x for x in (r.region_level, r.years) if x)}): {r.status}: {r.reason}"
        for r in frame.itertuples()
        if r.status != "used"
    ]
