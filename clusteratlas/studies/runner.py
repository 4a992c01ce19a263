"""The stage runner of a study: run stages in order, and reuse those whose inputs did not change.

Owns the stage cache. A study is a list of :class:`Stage` (name, function, parameters). Each
stage function takes the study and the open :class:`~clusteratlas.store.Store`, writes its
tables to the store and its files under the output folder, and returns
``{"tables": [...], "files": [...], "notes": [...]}``. :func:`run_stages` keys every stage by
a SHA-256 of the key of the stage before it, its name, its parameters and the package version
(the first stage chains from the study's input key: the hashes of its input files), and
records it in ``manifest.json`` in the output folder as soon as it finishes. A rerun skips a
stage whose key is unchanged and whose tables and files still exist, so an interrupted run
resumes where it stopped and a finished one repeats in seconds.

Warnings raised inside a stage become its notes (library deprecation chatter excepted), and
the report prints them in the stage's section.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clusteratlas import atomic
from clusteratlas.store import Store

MANIFEST = "manifest.json"

#: a stage function: (study, store) -> {"tables": [...], "files": [...], "notes": [...]}
StageFunction = Callable[[Any, Store], dict]


@dataclass(frozen=True)
class Stage:
    """One step of a study: its name, its function and the parameters that key its cache."""

    name: str
    function: StageFunction
    params: Any = None


@dataclass
class StageRecord:
    """What one stage did in a run: its cache key, whether it was reused, time and notes."""

    name: str
    key: str
    skipped: bool
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """What a run did: per-stage records, the report path and the output folder."""

    out_dir: Path
    report: Path
    stages: list[StageRecord]
    synthetic: bool

    def summary(self) -> str:
        lines = [f"report: {self.report}" + ("  [SYNTHETIC DEMO DATA]" if self.synthetic else "")]
        for s in self.stages:
            state = "cached" if s.skipped else f"{s.seconds:.1f}s"
            shown = [n if len(n) <= 160 else n[:157] + "..." for n in s.notes[:3]]
            if len(s.notes) > 3:
                shown.append(f"{len(s.notes) - 3} more notes in the report")
            lines.append(f"  {s.name:<11} {state}" + (f"  ({'; '.join(shown)})" if shown else ""))
        return "\n".join(lines)


def content_hash(payload: Any) -> str:
    """SHA-256 of a JSON-able payload (keys sorted, so dict order does not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict:
    """The output folder's manifest, or an empty one (absent or unreadable)."""
    path = Path(out_dir) / MANIFEST
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return {}
    return {}


def run_stages(
    study: Any,
    stages: Sequence[Stage],
    *,
    out_dir: Path,
    store_path: Path,
    input_key: dict,
    version: str,
    manifest_fields: dict,
    notes: dict[str, list[str]],
    progress: bool = True,
    force: bool = False,
) -> list[StageRecord]:
    """Run (or reuse) every stage in order; return one :class:`StageRecord` per stage.

    ``input_key`` identifies the study's inputs (file hashes, seed, ...); ``manifest_fields``
    are written at the top of the manifest with each finished stage; ``notes`` receives each
    stage's notes by stage name (the report prints them). ``force`` reruns every stage.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out_dir)
    manifest.setdefault("stages", {})
    previous = content_hash(
        {"version": version, "inputs": input_key, "store": str(store_path.resolve())}
    )
    records: list[StageRecord] = []
    with _progress(progress) as live, Store(store_path) as store:
        task = live.add_task("clusteratlas run", total=len(stages)) if live else None
        if hasattr(study, "live"):  # a stage may add its own bars (downloads) to the display
            study.live = live
        for stage in stages:
            key = content_hash(
                {
                    "previous": previous,
                    "stage": stage.name,
                    "params": stage.params,
                    "version": version,
                }
            )
            entry = manifest["stages"].get(stage.name, {})
            outputs_ok = all((out_dir / f).is_file() for f in entry.get("files", [])) and all(
                store.has(t) for t in entry.get("tables", [])
            )
            if live:
                live.update(task, description=f"stage {stage.name}")
            if entry.get("key") == key and outputs_ok and not force:
                records.append(StageRecord(stage.name, key, True, 0.0, entry.get("notes", [])))
            else:
                start = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    produced = stage.function(study, store)
                found = produced.get("notes", []) + sorted(
                    {str(w.message)[:300] for w in caught if _worth_noting(w)}
                )
                found = list(dict.fromkeys(found))  # same message from several outcomes: once
                entry = {
                    "key": key,
                    "tables": produced.get("tables", []),
                    "files": produced.get("files", []),
                    "notes": found,
                    "seconds": round(time.perf_counter() - start, 2),
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                }
                manifest["stages"][stage.name] = entry
                manifest.update({"version": version, **manifest_fields})
                # record each finished stage at once, so an interrupted run resumes here
                atomic.write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2, default=str))
                records.append(StageRecord(stage.name, key, False, entry["seconds"], found))
            notes[stage.name] = records[-1].notes
            previous = key
            if live:
                live.advance(task)
    if hasattr(study, "live"):
        study.live = None
    return records


def _worth_noting(caught: warnings.WarningMessage) -> bool:
    """Library deprecation chatter is not a finding about the data: keep it out of the report."""
    if issubclass(caught.category, DeprecationWarning | FutureWarning):
        return False
    return "deprecated" not in str(caught.message)


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool):
    if not enabled:
        return _NoProgress()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
