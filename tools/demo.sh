#!/usr/bin/env bash
# `make demo`: what the unit can do today on its embedded demo configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "== anpr-edge demo =="
echo "The unit's runtime (capture → read → hotlist → store → publish, 'anpr-edge run') is not"
echo "built yet. This demo validates the embedded demo configuration and shows it."
echo
$BIN/anpr-edge --version
$BIN/anpr-edge config check
echo
$BIN/anpr-edge config show
