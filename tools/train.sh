#!/usr/bin/env bash
# `make train`: reproduce the bundled models from synthetic data (never from real photos), then a
# recogniser candidate trained on real + synthetic crops (below).
# TensorFlow lives in its own environment (.venv-train, the `train` extra): the unit never needs
# it. On 2 idle CPU cores the whole run takes about 3 hours; logs and checkpoints go to
# training/runs/, generated data is cached in training/cache/.
#
# Recogniser: 5000 steps on 160k crops (half UK, half foreign designs), then a fine-tune that
# mixes in the rows of two-row plates cut as the unit cuts them.
# Detector: stage 1 at 384x288 (plates up to 110 px), stage 2 at 512x384 with half foreign
# scenes and plates up to 160 px (the first 1000 steps of a 3500-step schedule), stage 3 the
# same scenes for 3000 more steps from stage 2.
# Recogniser on real + synthetic (issue 13; `tools/train.sh recogniser-real`, `make train-real`,
# and the last stage of `make train` when the real set exists): from scratch, each batch of 64
# a quarter real crops of $REAL_DATA/train (plates with text, cut and augmented as in
# training/real_crops.py), 12 % rows of synthetic two-row plates, the rest synthetic crops;
# 2200 steps on one thread (about an hour on a shared core, data included). It writes a
# candidate to training/runs/candidates, never to edge/models: a new bundled model must first
# improve real-dev without losing on synthetic gb (tools/eval_models.sh measures it).
# Then the same mix as a short fine-tune of the bundled recogniser (training/runs/candidates_ft).
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
REAL_DATA=${REAL_DATA:-/work/data/real-train}
STAGE=${1:-all}

recogniser_real() {
  if [ ! -f "$REAL_DATA/train/labels.csv" ]; then
    echo "no real training set at $REAL_DATA (make real-data): recogniser-real skipped" >&2
    return 0
  fi
  nice -n 19 $T training.recogniser --out $RUNS/candidates --workdir $RUNS/recogniser_real \
    --samples 40000 --row-samples 8000 --row-share 0.12 \
    --real "$REAL_DATA/train" --real-share 0.25 --real-valid "$REAL_DATA/valid" \
    --steps 2200 --eval-every 500 --threads 1 --workers 1 --version 2.2.0 \
    2>&1 | tee $RUNS/recogniser_real.log
  # the same mix as a fine-tune of the bundled recogniser: 800 steps at lr 5e-4, 30 % real; its
  # weights from this run's rows stage if there is one, else recovered from the .tflite
  INIT=$RUNS/recogniser_rows/recogniser.weights.h5
  if [ ! -f $INIT ]; then
    INIT=$RUNS/bundled/recogniser.weights.h5
    mkdir -p $RUNS/bundled
    $T training.tflite_weights edge/models/recogniser.tflite $INIT
  fi
  nice -n 19 $T training.recogniser --out $RUNS/candidates_ft --workdir $RUNS/recogniser_real_ft \
    --init $INIT --lr 5e-4 --samples 40000 --row-samples 8000 --row-share 0.12 \
    --real "$REAL_DATA/train" --real-share 0.3 --real-valid "$REAL_DATA/valid" \
    --steps 800 --eval-every 400 --threads 1 --workers 1 --version 2.2.0 \
    2>&1 | tee $RUNS/recogniser_real_ft.log
}

if [ "$STAGE" = recogniser-real ]; then
  recogniser_real
  exit 0
fi

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
recogniser_real
echo "models written to edge/models; check them with: make test && .venv/bin/anpr-edge bench"
