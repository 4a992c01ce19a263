#!/usr/bin/env bash
# Set up (idempotent) and run the main job: real data from ../shared/data when it is beside
# the checkout, otherwise the clearly labelled synthetic demo. Extra arguments go to
# `clusteratlas run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ $# -gt 0 ]; then
  exec clusteratlas run "$@"
elif [ -d ../shared/data ]; then
  exec clusteratlas run --data ../shared/data
else
  exec clusteratlas run --demo
fi
