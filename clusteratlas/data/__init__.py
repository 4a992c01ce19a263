"""Data: readers and fetchers for public sources, the embedded store, and crosswalks.

Owns everything that turns a publisher's file (or API response) into one of the canonical
tables described in :mod:`clusteratlas.schema`.
"""
