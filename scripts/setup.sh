#!/usr/bin/env bash
# Install everything clusteratlas needs on a fresh Debian machine (idempotent).
#   - Debian packages: Java (Spark), Chromium + driver (report rendering and browser tests)
#   - the package itself with its test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
echo "setup: installing clusteratlas and its test dependencies"
$PYTHON -m pip install --disable-pip-version-check --root-user-action=ignore -q -e '.[dev]'
