#!/usr/bin/env bash
# Install everything clusteratlas needs on a fresh Debian machine (idempotent, quick when done).
#   - Debian packages: Java (Spark), Chromium + driver (report rendering and browser tests),
#     texlive-latex-base (pdflatex: the test that compiles every exported .tex table; ~6 MB)
#   - the package itself with its test dependencies, at the exact versions of the lock
#     requirements/constraints.txt (the set the test suite last passed with; refresh it with
#     `bash scripts/lock.sh`). Users who only want the package: `pip install clusteratlas`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
command -v pdflatex >/dev/null 2>&1 || need_apt+=(texlive-latex-base)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
LOCK=requirements/constraints.txt
# a set-up machine costs no pip run: the check compares installed versions with the lock
if $PYTHON scripts/lock.py check 2>/dev/null; then
  echo "setup: the installed packages match $LOCK"
else
  echo "setup: installing clusteratlas and its test dependencies at the versions in $LOCK"
  $PYTHON -m pip install --disable-pip-version-check --root-user-action=ignore -q \
    -c "$LOCK" -e '.[dev]'
fi
