"""Panel: region x cluster x year metrics following the US Cluster Mapping methodology.

Written once as Ibis expressions so the same code runs on DuckDB (default) and Spark.
"""
