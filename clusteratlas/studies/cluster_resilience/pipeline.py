"""``clusteratlas run``: the staged pipeline from raw data (or the synthetic demo) to one report.

This module owns the stage order (:data:`STAGES`: load -> panel -> outcomes -> resilience ->
causal -> theory -> policy -> report), the stage cache and the calls into the other parts of
clusteratlas. Each stage reads its inputs from the DuckDB store, writes its outputs to the store
(one transaction per table, :class:`clusteratlas.store.Store`) and to files (atomic writes), and
records a content hash of its inputs + parameters + package version in ``manifest.json`` in
the output folder. A rerun skips every stage whose hash is unchanged and whose outputs exist,
so an interrupted run resumes and a finished one repeats in seconds.

Parts written by other engineers are called through their public names; if one is missing
(ImportError/AttributeError) the stage records that as a note and the report says so in the
section instead of inventing numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusteratlas import __version__, atomic
from clusteratlas.errors import ClusterAtlasError, DataUnavailableError, ParameterError
from clusteratlas.report.config import (
    Availability,
    RunConfig,
    custom_definition,
    validate_against,
)
from clusteratlas.store import Store

STAGES = ("load", "panel", "outcomes", "resilience", "causal", "theory", "policy", "report")
MANIFEST = "manifest.json"

#: real-data files the load stage reads (relative to --data); their hashes key the cache
DATA_FILES = {
    "uscm_state_2016": "clusters/uscm_state_cluster_2016_inputs.csv.gz",
    "definitions_2012": "clusters/cluster_naics2012_definitions.csv",
    "cluster_list": "clusters/cluster_list.csv",
    "national_industry": "cbp/setzler_CBP_national_industry6.csv",
    "state_total": "cbp/setzler_CBP_state_total.csv",
    "national_total": "cbp/setzler_CBP_national_total.csv",
    "bea_gdp": "bea/SAGDP2N__ALL_AREAS_1997_2022.csv.gz",
    "laus_state": "qcew/laus_state_annual_1976_2018_staadata.xlsx",
    "related_pairs": "clusters/related_clusters_cmp_pairs.csv",
    "county_total": "cbp/setzler_CBP_county_total.csv.gz",
    "ita_exports": "trade/ita_msa_exports_2012_2021.csv",
    "cbsa_delineation": "geo/omb2020_county_cbsa_delineation.csv",
    "ea_crosswalk": "geo/bea_economic_areas_county_2004.csv",
}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class StageRecord:
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
            lines.append(
                f"  {s.name:<11} {state}" + (f"  ({'; '.join(s.notes)})" if s.notes else "")
            )
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# small helpers shared by the stages
# ------------------------------------------------------------------------------------------
def optional(module: str, name: str) -> Callable | None:
    """A function from another clusteratlas part, or None when that part is not there yet."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _read_uscm(path: Path) -> pd.DataFrame:
    """USCM region x cluster download -> the columns panel_from_uscm needs."""
    reader = optional("clusteratlas.data.uscm", "read_uscm")
    if reader is not None:
        return reader(path)
    # the data part's reader is not there yet: the columns are documented in PROVENANCE.md
    raw = pd.read_csv(path, dtype={"region_code_t": str, "cluster_code_t": str})
    return pd.DataFrame(
        {
            "region_type": raw["region_type_t"],
            "region_id": raw["region_code_t"].str.zfill(2),
            "region_name": raw["region_name_t"],
            "year": raw["year_t"].astype(int),
            "cluster_code": raw["cluster_code_t"],
            "cluster_name": raw["cluster_name_t"],
            "traded": raw["traded_b"].astype(str).str.upper().eq("TRUE"),
            "emp": raw["emp_tl"].astype(float),
            "emp_reported": raw["emp_reported_tl"].astype(float),
            "est": raw["est_tl"].astype(float),
            "ap": raw["ap_tl"].astype(float),
            "qp1": raw["qp1_tl"].astype(float),
            "wage": raw["private_wage_tf"].astype(float),
        }
    )


def data_availability(data_dir: Path | None, demo: bool, config: RunConfig) -> Availability:
    """What the inputs support, read cheaply (for validation before any stage runs)."""
    if demo:
        from clusteratlas.report.demo import COUNT_YEARS, OUTCOME_YEARS
        from clusteratlas.report.maps import shapes

        ids = shapes("counties")["id"] if config.region_type == "county" else shapes("states")["id"]
        if config.region_type not in ("county", "state"):
            raise ParameterError(
                "study.region_type", "the demo is a county panel", allowed="county, state"
            )
        span = (min(OUTCOME_YEARS), max(OUTCOME_YEARS))
        codes = _demo_cluster_codes()
        return Availability(
            frozenset(ids),
            {"gdp": span, "mfg_gdp": span, "employment": (min(COUNT_YEARS), max(COUNT_YEARS))},
            tuple(COUNT_YEARS),
            codes,
            "the synthetic demo",
        )
    if data_dir is None or not data_dir.is_dir():
        raise ParameterError(
            "--data",
            f"data folder {data_dir} does not exist",
            allowed="a folder laid out like shared/data",
        )
    missing = [rel for rel in DATA_FILES.values() if not (data_dir / rel).is_file()]
    needed = [
        DATA_FILES[k]
        for k in ("uscm_state_2016", "definitions_2012", "national_industry", "bea_gdp")
    ]
    if any(m in needed for m in missing):
        raise DataUnavailableError(
            f"{data_dir} lacks {', '.join(m for m in missing if m in needed)}"
        )
    if config.region_type != "state":
        raise ParameterError(
            "study.region_type",
            f"the real data in {data_dir} has region x cluster counts only for states (USCM 2016 state file)",
            allowed="state",
        )
    uscm = _read_uscm(data_dir / DATA_FILES["uscm_state_2016"])
    clusters = pd.read_csv(data_dir / DATA_FILES["cluster_list"], dtype={"cluster_code": str})
    years = {"gdp": (1997, 2022), "mfg_gdp": (1997, 2022)}
    if (data_dir / DATA_FILES["state_total"]).is_file():
        totals = pd.read_csv(data_dir / DATA_FILES["state_total"], usecols=["year"])
        years["employment"] = (int(totals["year"].min()), int(totals["year"].max()))
    return Availability(
        frozenset(uscm["region_id"].astype(str)),
        years,
        tuple(sorted(uscm["year"].unique().tolist())),
        frozenset(clusters["cluster_code"].astype(str)),
        f"the data in {data_dir}",
    )


def _demo_cluster_codes() -> frozenset[str]:
    loader = optional("clusteratlas.data.clusters", "load_definition")
    try:
        return (
            frozenset(loader("uscm", naics_vintage=2012)["cluster_code"].astype(str))
            if loader
            else frozenset()
        )
    except ClusterAtlasError:
        return frozenset(str(k + 1) for k in range(14)) | frozenset(str(101 + k) for k in range(6))


# ------------------------------------------------------------------------------------------
# the pipeline
# ------------------------------------------------------------------------------------------
class Pipeline:
    """One ``clusteratlas run``: validate, then run (or reuse) each stage in order."""

    def __init__(
        self,
        config: RunConfig,
        *,
        out_dir: str | Path = "clusteratlas-output",
        data_dir: str | Path | None = None,
        demo: bool = False,
        store_path: str | Path | None = None,
        seed: int = 20240101,
    ) -> None:
        if demo == (data_dir is not None):
            raise ParameterError("--data/--demo", "give exactly one of --data DIR or --demo")
        self.config = config
        self.demo = demo
        self.seed = seed
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.out_dir = Path(out_dir)
        self.store_path = Path(store_path) if store_path else self.out_dir / "clusteratlas.duckdb"
        # validation BEFORE any work: raises ParameterError naming the key and allowed values
        self.definitions = custom_definition(config)
        self.available = data_availability(self.data_dir, demo, config)
        if self.definitions is not None:
            if not demo:
                raise ParameterError(
                    "clusters.definition",
                    f"the real data in {self.data_dir} has region x cluster counts only as USCM's "
                    "state x cluster file, fixed to the USCM clusters; a custom definition needs "
                    "region x 6-digit industry counts (the --demo panel, or `clusteratlas panel` "
                    "on your own counts)",
                    allowed='"uscm" with --data',
                )
            codes = frozenset(self.definitions["cluster_code"].astype(str))
            self.available = dataclasses.replace(self.available, cluster_codes=codes)
        validate_against(config, self.available)
        self.notes: dict[str, list[str]] = {}

    # -- cache --------------------------------------------------------------------------------
    def _manifest(self) -> dict:
        path = self.out_dir / MANIFEST
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                return {}
        return {}

    def _input_key(self) -> dict:
        definition = str(self.config.clusters["definition"]).strip()
        # a custom definition is keyed by its content, so editing the CSV reruns every stage
        clusters = definition if definition == "uscm" else file_digest(Path(definition))
        if self.demo:
            return {"demo": True, "seed": self.seed, "clusters": clusters}
        files = {
            k: file_digest(self.data_dir / rel)
            for k, rel in DATA_FILES.items()
            if (self.data_dir / rel).is_file()
        }
        return {**files, "clusters": clusters}

    def run(self, progress: bool = True, force: bool = False) -> RunResult:
        """Run every stage whose cache key changed (all of them with ``force``)."""
        from clusteratlas.report import stages

        self.out_dir.mkdir(parents=True, exist_ok=True)
        manifest = self._manifest()
        manifest.setdefault("stages", {})
        previous = _hash(
            {
                "version": __version__,
                "inputs": self._input_key(),
                "store": str(self.store_path.resolve()),
            }
        )
        records: list[StageRecord] = []
        cfg = self.config.as_dict()
        params = {
            "load": {"demo": self.demo, "treatment": cfg["treatment"] if self.demo else None},
            "panel": {"study": cfg["study"], "treatment": cfg["treatment"]},
            "outcomes": {"windows": cfg["windows"], "outcomes": cfg["outcomes"]},
            "resilience": {},
            "causal": {},
            "theory": cfg["theory"],
            "policy": {},
            "report": {},
        }
        bar = _progress(progress)
        with bar as live, Store(self.store_path) as store:
            task = live.add_task("clusteratlas run", total=len(STAGES)) if live else None
            for name in STAGES:
                key = _hash(
                    {
                        "previous": previous,
                        "stage": name,
                        "params": params[name],
                        "version": __version__,
                    }
                )
                entry = manifest["stages"].get(name, {})
                outputs_ok = all(
                    (self.out_dir / f).is_file() for f in entry.get("files", [])
                ) and all(store.has(t) for t in entry.get("tables", []))
                if live:
                    live.update(task, description=f"stage {name}")
                if entry.get("key") == key and outputs_ok and not force:
                    records.append(StageRecord(name, key, True, 0.0, entry.get("notes", [])))
                else:
                    start = time.perf_counter()
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        produced = getattr(stages, f"stage_{name}")(self, store)
                    notes = produced.get("notes", []) + sorted(
                        {str(w.message)[:300] for w in caught if _worth_noting(w)}
                    )
                    notes = list(dict.fromkeys(notes))  # same message from several outcomes: once
                    entry = {
                        "key": key,
                        "tables": produced.get("tables", []),
                        "files": produced.get("files", []),
                        "notes": notes,
                        "seconds": round(time.perf_counter() - start, 2),
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    }
                    manifest["stages"][name] = entry
                    manifest.update({"version": __version__, "synthetic": self.demo, "config": cfg})
                    # record each finished stage at once, so an interrupted run resumes here
                    atomic.write_text(
                        self.out_dir / MANIFEST, json.dumps(manifest, indent=2, default=str)
                    )
                    records.append(StageRecord(name, key, False, entry["seconds"], notes))
                self.notes[name] = records[-1].notes
                previous = key
                if live:
                    live.advance(task)
        return RunResult(self.out_dir, self.out_dir / "report.html", records, self.demo)


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


def log_growth(frame: pd.DataFrame, start: int, end: int) -> pd.Series:
    """log(value_end / value_start) by region_id (regions lacking either year are left out)."""
    wide = frame.pivot_table(index="region_id", columns="year", values="value", aggfunc="sum")
    if start not in wide.columns or end not in wide.columns:
        return pd.Series(dtype=float)
    ok = (wide[start] > 0) & (wide[end] > 0)
    return np.log(wide.loc[ok, end] / wide.loc[ok, start])
