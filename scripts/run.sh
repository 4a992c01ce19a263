#!/usr/bin/env bash
# Set up (idempotent) and run the main job: real data from ../shared/data when it is beside
# the checkout, otherwise the clearly labelled synthetic demo. Extra arguments go to
# `clusteratlas run`. Runs the project virtual environment's clusteratlas (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CLUSTERATLAS=.venv/bin/clusteratlas
if [ $# -gt 0 ]; then
  exec "$CLUSTERATLAS" run "$@"
elif [ -d ../shared/data ]; then
  exec "$CLUSTERATLAS" run --data ../shared/data
else
  exec "$CLUSTERATLAS" run --demo
fi
