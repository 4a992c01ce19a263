#!/usr/bin/env bash
# Set up (idempotent) and run ruff and the whole test suite with the project virtual
# environment's interpreter (scripts/setup.sh). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PYTHON=.venv/bin/python
"$PYTHON" -m ruff check clusteratlas tests benchmarks
exec "$PYTHON" -m pytest -q --timeout=1800 "$@"
