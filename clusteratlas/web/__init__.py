"""Web: the local dashboard served by ``clusteratlas serve`` over a clusteratlas store."""
