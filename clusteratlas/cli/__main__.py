"""``python -m clusteratlas.cli``: the same as the ``clusteratlas`` command."""

from clusteratlas.cli import main

main()
