"""Data: readers and fetchers for public sources, crosswalks, and the catalog of input files.

Owns everything that turns a publisher's file (or API response) into one of the canonical
tables described in :mod:`clusteratlas.schema`, the shipped US boundary geometry
(:mod:`.shapes`), and the one list of the input files a data folder holds
(:mod:`.catalog`), through which the studies load their inputs (:mod:`.inputs`).
"""
