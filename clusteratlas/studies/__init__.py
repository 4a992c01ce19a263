"""Studies: whole analyses from public inputs to result tables, each one orchestration only.

A study owns its design (which inputs, regions, windows, treatment and specifications) and the
order of its steps; it finds and loads its inputs only through the data catalog
(:mod:`clusteratlas.data.catalog`, :mod:`clusteratlas.data.inputs`) and gets every number from
the layers below (panel, resilience, causal, theory, policy). Rendering its results is the
report's job (:mod:`clusteratlas.report`), one layer up.

- :mod:`.cluster_resilience`: the main job (``clusteratlas run``), staged and cached.
- :mod:`.cho2024`: the Cho et al. (2024) replication (``clusteratlas replicate cho2024``).
- :mod:`.runner`: the stage runner and its content-hash cache (``manifest.json``).
"""
