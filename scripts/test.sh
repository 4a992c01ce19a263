#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PYTHON=${PYTHON:-python3}
$PYTHON -m ruff check clusteratlas tests benchmarks
exec $PYTHON -m pytest -q --timeout=1800 "$@"
