#!/usr/bin/env bash
# Install everything clusteratlas needs on a fresh Debian machine (idempotent, quick when done).
#   - Debian packages: Java (Spark), Chromium + driver (report rendering and browser tests),
#     texlive-latex-base (pdflatex: the test that compiles every exported .tex table; ~6 MB)
#     python3-venv where the interpreter has no working `venv` module (stock Debian)
#   - a project virtual environment `.venv` in the checkout (never the system interpreter:
#     Debian's is externally managed, and another project's would be overwritten), holding
#     the package itself (editable, from this checkout) with its test dependencies at the
#     exact versions of the lock requirements/constraints.txt (the set the test suite last
#     passed with; refresh it with `bash scripts/lock.sh`).
#     Users who only want the package: `pip install clusteratlas` in their own environment.
# scripts/run.sh, scripts/test.sh and .ci/run use `.venv/bin/python` (and .venv/bin/clusteratlas).
#   PYTHON=python3.11 bash scripts/setup.sh   # the interpreter the venv is made from
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
LOCK=requirements/constraints.txt

# a venv needs the venv module and ensurepip (Debian splits them into python3-venv)
venv_ok() { "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing Debian packages: $*"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
command -v pdflatex >/dev/null 2>&1 || need_apt+=(texlive-latex-base)
if [ ! -x "$VENV/bin/python" ] && ! venv_ok; then need_apt+=(python3-venv); fi
if [ ${#need_apt[@]} -gt 0 ]; then apt_install "${need_apt[@]}"; fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating the project virtual environment $VENV (from $("$PYTHON" --version 2>&1))"
  if ! "$PYTHON" -m venv "$VENV"; then
    # Debian's interpreter may import ensurepip and still have no pip wheels to seed a venv
    rm -rf "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
fi
VPY=$VENV/bin/python
# a set-up machine costs no pip run: the check compares the venv's versions with the lock and
# that clusteratlas is the editable install of this checkout
if "$VPY" scripts/lock.py check 2>/dev/null; then
  echo "setup: $VENV matches $LOCK"
else
  echo "setup: installing clusteratlas and its test dependencies into $VENV at the versions in $LOCK"
  "$VPY" -m pip install --disable-pip-version-check -q -c "$LOCK" -e '.[dev]'
fi
