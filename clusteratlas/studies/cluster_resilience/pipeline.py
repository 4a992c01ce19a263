"""``clusteratlas run``: the main job's stages, in order, through the stage cache.

Owns the stage order (:data:`STAGES`: load (:mod:`.load`) -> panel (:mod:`.panels`) ->
outcomes -> resilience (:mod:`.stages`) -> causal (:mod:`.causal`) -> theory -> policy) and
what keys each stage's cache (its slice of the config). Each stage
reads its inputs from the DuckDB store, writes its outputs to the store (one transaction per
table, :class:`clusteratlas.store.Store`) and to files (atomic writes); the cache itself is
:mod:`clusteratlas.studies.runner`. The report is not a stage of the study: the layer above
passes its renderer as ``render`` (``clusteratlas run`` passes
:func:`clusteratlas.report.html.report_stage`), and it runs last, cached like the others.
"""

from __future__ import annotations

from clusteratlas import __version__
from clusteratlas.studies.cluster_resilience import causal, load, panels, stages
from clusteratlas.studies.cluster_resilience.study import ClusterResilience
from clusteratlas.studies.runner import RunResult, Stage, StageFunction, run_stages

STAGES = ("load", "panel", "outcomes", "resilience", "causal", "theory", "policy")
#: the name the report stage runs under (after the study's stages)
REPORT_STAGE = "report"

_FUNCTIONS: dict[str, StageFunction] = {
    "load": load.stage_load,
    "panel": panels.stage_panel,
    "outcomes": stages.stage_outcomes,
    "resilience": stages.stage_resilience,
    "causal": causal.stage_causal,
    "theory": stages.stage_theory,
    "policy": stages.stage_policy,
}


def _synced(function: StageFunction) -> StageFunction:
    """``function`` run with the regions of interest the panel stage settled on (it may have
    chosen them when the config left them open), also when the panel stage was cached."""

    def run(study: ClusterResilience, store) -> dict:
        if store.has("run_regions_of_interest"):
            chosen = store.read("run_regions_of_interest")["region_id"].astype(str).tolist()
            if chosen:
                study.config.study["regions"] = chosen
        return function(study, store)

    return run


class Pipeline(ClusterResilience):
    """One ``clusteratlas run``: validate (in the constructor), then run or reuse each stage."""

    def stages(self, render: StageFunction | None = None) -> list[Stage]:
        """The study's stages with the config slice keying each; ``render`` appended last."""
        cfg = self.config.as_dict()
        params = {
            "load": {
                "source": self.source,
                "treatment": cfg["treatment"] if self.demo else None,
                "study": {k: cfg["study"][k] for k in ("region_type", "years", "states")},
            },
            "panel": {
                "study": cfg["study"],
                "treatment": cfg["treatment"],
                "windows": cfg["windows"],
                "shocks": cfg["shocks"],
            },
            "outcomes": {
                "windows": cfg["windows"],
                "shocks": cfg["shocks"],
                "outcomes": cfg["outcomes"],
            },
            "resilience": {},
            "causal": {},
            "theory": cfg["theory"],
            "policy": {},
        }
        out = [
            Stage(
                name,
                _FUNCTIONS[name] if name in ("load", "panel") else _synced(_FUNCTIONS[name]),
                params[name],
            )
            for name in STAGES
        ]
        if render is not None:
            out.append(Stage(REPORT_STAGE, _synced(render), {}))
        return out

    def run(
        self, progress: bool = True, force: bool = False, render: StageFunction | None = None
    ) -> RunResult:
        """Run every stage whose cache key changed (all of them with ``force``).

        ``render(pipeline, store) -> {"files": [...]}`` writes the report from the store
        (``report.html`` in the output folder) as the last stage.
        """
        records = run_stages(
            self,
            self.stages(render),
            out_dir=self.out_dir,
            store_path=self.store_path,
            input_key=self.input_key(),
            version=__version__,
            manifest_fields={
                "synthetic": self.demo,
                "source": self.source,
                "config": self.config.as_dict(),
            },
            notes=self.notes,
            progress=progress,
            force=force,
        )
        return RunResult(self.out_dir, self.out_dir / "report.html", records, self.demo)
