"""One run of the main job, validated: its config, where its inputs come from, where outputs go.

Owns :class:`ClusterResilience`, the state every stage reads: the :class:`RunConfig`, the
inputs (a :class:`~clusteratlas.data.catalog.Catalog` of the ``--data`` folder, or the
SYNTHETIC demo of :mod:`.demo`), what they can support (:func:`data_availability`), the
output folder and store, and the notes each stage leaves for the report. All validation
happens in the constructor, before any work: a bad config key, region, year, cluster or a
missing input file is a :class:`~clusteratlas.errors.ParameterError` or
:class:`~clusteratlas.errors.DataUnavailableError` at once, not after minutes of stages.

The input files of a real-data run are named by their catalog keys (:data:`INPUTS`); their
content hashes key the stage cache (:meth:`ClusterResilience.input_key`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from clusteratlas.data import inputs
from clusteratlas.data.catalog import Catalog
from clusteratlas.data.clusters import load_definition
from clusteratlas.data.shapes import shapes
from clusteratlas.errors import ClusterAtlasError, ParameterError
from clusteratlas.store import file_sha256
from clusteratlas.studies.cluster_resilience.config import (
    Availability,
    RunConfig,
    custom_definition,
    validate_against,
)
from clusteratlas.studies.cluster_resilience.demo import COUNT_YEARS, OUTCOME_YEARS

#: input files of a real-data run (catalog keys); their hashes key the stage cache
INPUTS = (
    "uscm_state_2016",
    "definitions_2012",
    "cluster_list",
    "national_industry",
    "state_total",
    "national_total",
    "bea_gdp",
    "laus_state",
    "related_pairs",
    "county_total",
    "ita_exports",
    "cbsa_delineation",
    "ea_crosswalk",
)
#: the inputs a real-data run cannot start without (the others add outcomes and maps)
REQUIRED = ("uscm_state_2016", "definitions_2012", "national_industry", "bea_gdp")


def data_availability(catalog: Catalog | None, config: RunConfig) -> Availability:
    """What the inputs support, read cheaply (for validation before any stage runs).

    ``catalog=None`` is the SYNTHETIC demo (a national county panel).
    """
    if catalog is None:
        ids = shapes("counties")["id"] if config.region_type == "county" else shapes("states")["id"]
        if config.region_type not in ("county", "state"):
            raise ParameterError(
                "study.region_type", "the demo is a county panel", allowed="county, state"
            )
        span = (min(OUTCOME_YEARS), max(OUTCOME_YEARS))
        return Availability(
            frozenset(ids),
            {"gdp": span, "mfg_gdp": span, "employment": (min(COUNT_YEARS), max(COUNT_YEARS))},
            tuple(COUNT_YEARS),
            _demo_cluster_codes(),
            "the synthetic demo",
        )
    catalog.require(REQUIRED)
    if config.region_type != "state":
        raise ParameterError(
            "study.region_type",
            f"the real data in {catalog.folder} has region x cluster counts only for states (USCM 2016 state file)",
            allowed="state",
        )
    uscm = inputs.uscm_state_clusters(catalog)
    return Availability(
        frozenset(uscm["region_id"].astype(str)),
        inputs.outcome_years(catalog),
        tuple(sorted(uscm["year"].unique().tolist())),
        inputs.cluster_codes(catalog),
        f"the data in {catalog.folder}",
    )


def _demo_cluster_codes() -> frozenset[str]:
    try:
        return frozenset(load_definition("uscm", naics_vintage=2012)["cluster_code"].astype(str))
    except ClusterAtlasError:  # no shared data: the demo's synthetic definition
        return frozenset(str(k + 1) for k in range(14)) | frozenset(str(101 + k) for k in range(6))


class ClusterResilience:
    """One validated run of the main job (``clusteratlas run``).

    Give exactly one of ``data_dir`` (a folder laid out like the shared data) or
    ``demo=True`` (the SYNTHETIC national county panel with known effects).
    """

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
        if self.data_dir is not None and not self.data_dir.is_dir():
            raise ParameterError(
                "--data",
                f"data folder {self.data_dir} does not exist",
                allowed="a folder laid out like shared/data",
            )
        #: the real inputs (None for the demo)
        self.catalog = Catalog(self.data_dir) if self.data_dir is not None else None
        self.available = data_availability(self.catalog, config)
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
        #: each stage's notes by stage name (filled as the stages run; the report prints them)
        self.notes: dict[str, list[str]] = {}

    def input_key(self) -> dict:
        """What identifies the inputs: the hash of every input file (or the demo's seed) and
        of a custom cluster definition, so editing any of them reruns every stage."""
        definition = str(self.config.clusters["definition"]).strip()
        clusters = definition if definition == "uscm" else file_sha256(Path(definition))
        if self.catalog is None:
            return {"demo": True, "seed": self.seed, "clusters": clusters}
        return {**self.catalog.digests(INPUTS), "clusters": clusters}
