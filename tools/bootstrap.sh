#!/usr/bin/env bash
# Set up a development machine (Debian bookworm / Raspberry Pi OS): the Debian packages the unit
# and its tests use, then a virtual environment in .venv with the project and its dev extras.
# Idempotent: it installs only what is missing. Used by `make demo`, `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# mosquitto: the broker the tests and the demo talk to; postgresql: the reference centre's
# database (tests and `make fleet` start their own server; the package's own cluster is not
# used); shellcheck: the installer's lint test; chromium: the live page's browser test (run
# headless; never downloaded by the tests); fonts: faces for the synthetic plates.
APT_PACKAGES=(mosquitto mosquitto-clients postgresql shellcheck chromium fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf
  fonts-opendin fonts-bebas-neue fonts-urw-base35 fonts-roboto-unhinted fonts-routed-gothic
  fonts-league-spartan fonts-b612)
if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  APT_PACKAGES+=(python3-venv)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"bootstrap: Python 3.11 or newer is needed, found {sys.version.split()[0]}")
PY

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: creating .venv and installing anpr-edge[dev]"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
