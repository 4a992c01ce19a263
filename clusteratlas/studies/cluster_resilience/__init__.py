"""The main job (``clusteratlas run``): do cluster regions weather shocks better?

One study at one region level: build the region x cluster panel, call the regions with strong
cluster portfolios (measured before the shock) "cluster regions", and compare their outcomes
through the shock and the recovery with the other regions: resilience indices, the seed
study's DID as printed beside a corrected design, event study, RD at the strong-cluster
cut-off, the GE model's regime map and policy diagnostics.

Modules: :mod:`.config` (the TOML config and its validation), :mod:`.study` (one validated
run: inputs from a folder of recognised files, the publishers (fetch), a store the user built,
or the SYNTHETIC :mod:`.demo`), :mod:`.pipeline` (the stage order and cache), the stages
(:mod:`.load`, :mod:`.panels`, :mod:`.stages`, :mod:`.causal` with :mod:`.evidence`,
:mod:`.causal_rd`, :mod:`.cho_tables`), :mod:`.provenance` (what each stage used) and
:mod:`.figures`.
Import from those modules (``from clusteratlas.studies.cluster_resilience.pipeline import
Pipeline``): this package imports nothing, so ``clusteratlas --help`` (which reads the config's
keys) does not load the estimators.
"""
