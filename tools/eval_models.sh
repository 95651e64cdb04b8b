#!/usr/bin/env bash
# Measure candidate models (.tflite with its .json manifest beside it) with the unit's own tools:
# real-dev br and us (`--region any`), the synthetic gb set (`--region gb`), the real training
# set's heldout split (`--region any`), and `anpr-edge bench` (ms per plate and per frame, one
# thread). A model not given is the bundled one; with neither it measures the bundled models.
#
#   tools/eval_models.sh [--detector D.tflite] [--recogniser R.tflite] OUTDIR
#
# Sets (override by environment): REAL_DEV (../shared/datasets/real-dev), SYN_GB (a synthetic gb
# dataset, e.g. `anpr-edge synth --out DIR --count 400 --seed 731`), HELDOUT (real-train heldout).
# Writes OUTDIR/{br,us,syn-gb,heldout,bench}.json and prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
DETECTOR="" RECOGNISER=""
while [ $# -gt 1 ]; do
  case $1 in
    --detector) DETECTOR=$(realpath "$2"); shift 2 ;;
    --recogniser) RECOGNISER=$(realpath "$2"); shift 2 ;;
    *) echo "usage: $0 [--detector D.tflite] [--recogniser R.tflite] OUTDIR" >&2; exit 2 ;;
  esac
done
OUT=${1:?usage: $0 [--detector D.tflite] [--recogniser R.tflite] OUTDIR}
ANPR=${ANPR:-/work/main/.venv/bin/anpr-edge}
REAL_DEV=${REAL_DEV:-/work/shared/datasets/real-dev}
SYN_GB=${SYN_GB:-/work/evals/syn-gb-731}
HELDOUT=${HELDOUT:-/work/data/real-train/heldout}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this tree's edge/, not the installed one
MODELS=()
[ -n "$DETECTOR" ] && MODELS+=(--detector "$DETECTOR")
[ -n "$RECOGNISER" ] && MODELS+=(--recogniser "$RECOGNISER")

run_eval() {  # name dataset region
  if [ ! -f "$2/labels.csv" ]; then
    echo "$2: no labels.csv, $1 skipped" >&2
    return 0
  fi
  nice -n 10 "$ANPR" eval "$2" --region "$3" "${MODELS[@]}" --json >"$OUT/$1.json" 2>"$OUT/$1.err"
}
run_eval br "$REAL_DEV/br" any
run_eval us "$REAL_DEV/us" any
run_eval syn-gb "$SYN_GB" gb
run_eval heldout "$HELDOUT" any

# bench reads its models from a configuration: the demo one with the candidate in [models]
CONFIG="$OUT/bench.toml"
cp firmware_config/demo.toml "$CONFIG"
[ -n "$RECOGNISER" ] && sed -i "s|^\[models\]|[models]\nrecogniser = \"$RECOGNISER\"|" "$CONFIG"
[ -n "$DETECTOR" ] && sed -i "s|^\[models\]|[models]\ndetector = \"$DETECTOR\"|" "$CONFIG"
nice -n 10 "$ANPR" bench --config "$CONFIG" --frames 10 --plates 300 --pipeline-frames 0 \
  --latency-seconds 0 --json >"$OUT/bench.json" 2>"$OUT/bench.err" || echo "bench failed: $OUT/bench.err" >&2

"${ANPR%/anpr-edge}/python" - "$OUT" "$DETECTOR" "$RECOGNISER" <<'EOF'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
for kind, candidate in zip(("detector", "recogniser"), sys.argv[2:]):
    size = f" ({Path(candidate).stat().st_size} bytes)" if candidate else ""
    print(f"{kind}: {candidate or 'bundled'}{size}")
print("| set | images | plates | recall | read.exact | read.char | ocr.exact | ocr.char |")
print("|---|---|---|---|---|---|---|---|")
for name in ("br", "us", "syn-gb", "heldout"):
    path = out / f"{name}.json"
    if not path.exists():
        continue
    d = json.loads(path.read_text())
    print(
        f"| {name} | {d['images']} | {d['plates']} | {d['detection']['recall']:.3f} "
        f"| {d['read']['exact']:.4f} | {d['read']['char']:.4f} "
        f"| {d['ocr']['exact']:.4f} | {d['ocr']['char']:.4f} |"
    )
bench = out / "bench.json"
if bench.exists() and bench.stat().st_size:
    b = json.loads(bench.read_text())
    print("bench:", json.dumps({k: v for k, v in b.items() if "recogniser" in k or "detector" in k}))
EOF
