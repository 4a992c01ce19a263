"""Report: rendering only. The main job's one-file HTML report (:mod:`.html`), offline SVG maps
(:mod:`.maps`) and the Cho et al. replication's files (:mod:`.cho2024`), all drawn from results
the studies left in the store or handed over; nothing here loads an input file."""
