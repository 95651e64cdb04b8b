#!/usr/bin/env bash
# `make train`: reproduce the bundled models from synthetic data (never from real photos).
# TensorFlow lives in its own environment (.venv-train, the `train` extra): the unit never needs
# it. On 2 idle CPU cores the whole run takes about 3 hours; logs and checkpoints go to
# training/runs/, generated data is cached in training/cache/.
#
# Recogniser: 5000 steps on 160k crops (half UK, half foreign designs), then a fine-tune that
# mixes in the rows of two-row plates cut as the unit cuts them.
# Detector: stage 1 at 384x288 (plates up to 110 px), stage 2 at 512x384 with half foreign
# scenes and plates up to 160 px (the first 1000 steps of a 3500-step schedule), stage 3 the
# same scenes for 3000 more steps from stage 2.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv-train/bin/python ]; then
  "$PYTHON" -m venv .venv-train
  .venv-train/bin/python -m pip install -q --upgrade pip
fi
.venv-train/bin/python -m pip install -q -e '.[train]'
mkdir -p training/runs/stages
export TF_CPP_MIN_LOG_LEVEL=2
T=".venv-train/bin/python -m"
RUNS=training/runs

$T training.recogniser --out $RUNS/stages --workdir $RUNS/recogniser_base \
  2>&1 | tee $RUNS/recogniser.log
$T training.recogniser --out edge/models --workdir $RUNS/recogniser_rows \
  --init $RUNS/recogniser_base/recogniser.weights.h5 --row-samples 40000 --row-share 0.25 \
  --steps 2500 --lr 5e-4 --eval-every 500 --version 2.1.0 \
  2>&1 | tee $RUNS/recogniser_rows.log

SCENES="--size 512x384 --region half --max-plate 160 --samples 12000 --seed 3"
$T training.detector --out $RUNS/stages --workdir $RUNS --tag _stage1 \
  2>&1 | tee $RUNS/detector_stage1.log
$T training.detector --out $RUNS/stages --workdir $RUNS --tag _stage2 $SCENES \
  --steps 3500 --stop-at 1000 --eval-every 500 --init $RUNS/detector_stage1.weights.h5 \
  2>&1 | tee $RUNS/detector_stage2.log
$T training.detector --out edge/models --workdir $RUNS --tag _stage3 $SCENES \
  --steps 3000 --eval-every 500 --init $RUNS/detector_stage2.weights.h5 --version 1.1.0 \
  2>&1 | tee $RUNS/detector_stage3.log
echo "models written to edge/models; check them with: make test && .venv/bin/anpr-edge bench"
