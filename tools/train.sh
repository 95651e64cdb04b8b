#!/usr/bin/env bash
# `make train`: reproduce the bundled models from synthetic data (never from real photos).
# TensorFlow lives in its own environment (.venv-train, the `train` extra): the unit never needs
# it. On 2 CPU cores the whole run takes about 1.5 hours; logs and checkpoints go to
# training/runs/, generated data is cached in training/cache/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv-train/bin/python ]; then
  "$PYTHON" -m venv .venv-train
  .venv-train/bin/python -m pip install -q --upgrade pip
fi
.venv-train/bin/python -m pip install -q -e '.[train]'
mkdir -p training/runs
export TF_CPP_MIN_LOG_LEVEL=2
.venv-train/bin/python -m training.recogniser --out edge/models --workdir training/runs \
  2>&1 | tee training/runs/recogniser.log
.venv-train/bin/python -m training.detector --out edge/models --workdir training/runs \
  2>&1 | tee training/runs/detector.log
echo "models written to edge/models; check them with: make test && .venv/bin/anpr-edge bench"
