"""Report: the ``clusteratlas run`` pipeline (config, stages, caching) and the HTML report."""
