#!/usr/bin/env bash
# Refresh the lock requirements/constraints.txt: the exact versions of everything
# clusteratlas[dev] pulls in, as installed now. Run it when the suite is green.
#
#   bash scripts/lock.sh            # lock the installed versions (after a green suite)
#   bash scripts/lock.sh --upgrade  # take the newest versions the floors in pyproject.toml
#                                   # allow, run the whole suite, lock only if it passes
#
# It works on the project virtual environment .venv (scripts/setup.sh makes it); --upgrade
# upgrades that environment in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
if [ "${1:-}" = "--upgrade" ]; then
  $PYTHON -m pip install --disable-pip-version-check -q --upgrade -e '.[dev]'
  CI=true $PYTHON -m pytest -q -x -p no:cacheprovider
fi
exec $PYTHON scripts/lock.py write
