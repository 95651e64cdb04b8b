#!/usr/bin/env bash
# Measure a recogniser candidate (.tflite with its .json manifest beside it) with the unit's own
# tools, beside the bundled detector: real-dev br and us (`--region any`), the synthetic gb set
# (`--region gb`), the real training set's heldout split (`--region any`), and `anpr-edge bench`
# (recogniser ms per plate, one thread). Without a candidate it measures the bundled models.
#
#   tools/eval_recogniser.sh [CANDIDATE.tflite] OUTDIR
#
# Sets (override by environment): REAL_DEV (../shared/datasets/real-dev), SYN_GB (a synthetic gb
# dataset, e.g. `anpr-edge synth --out DIR --count 400 --seed 731`), HELDOUT (real-train heldout).
# Writes OUTDIR/{br,us,syn-gb,heldout,bench}.json and prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 2 ]; then
  CANDIDATE=$(realpath "$1")
  OUT=$2
else
  CANDIDATE=""
  OUT=$1
fi
ANPR=${ANPR:-/work/main/.venv/bin/anpr-edge}
REAL_DEV=${REAL_DEV:-/work/shared/datasets/real-dev}
SYN_GB=${SYN_GB:-/work/evals/syn-gb-731}
HELDOUT=${HELDOUT:-/work/data/real-train/heldout}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this tree's edge/, not the installed one
REC=()
[ -n "$CANDIDATE" ] && REC=(--recogniser "$CANDIDATE")

run_eval() {  # name dataset region
  if [ ! -f "$2/labels.csv" ]; then
    echo "$2: no labels.csv, $1 skipped" >&2
    return 0
  fi
  nice -n 10 "$ANPR" eval "$2" --region "$3" "${REC[@]}" --json >"$OUT/$1.json" 2>"$OUT/$1.err"
}
run_eval br "$REAL_DEV/br" any
run_eval us "$REAL_DEV/us" any
run_eval syn-gb "$SYN_GB" gb
run_eval heldout "$HELDOUT" any

# bench reads its models from a configuration: the demo one with the candidate in [models]
CONFIG="$OUT/bench.toml"
if [ -n "$CANDIDATE" ]; then
  sed "s|^\[models\]|[models]\nrecogniser = \"$CANDIDATE\"|" firmware_config/demo.toml >"$CONFIG"
else
  cp firmware_config/demo.toml "$CONFIG"
fi
nice -n 10 "$ANPR" bench --config "$CONFIG" --frames 10 --plates 300 --pipeline-frames 0 \
  --latency-seconds 0 --json >"$OUT/bench.json" 2>"$OUT/bench.err" || echo "bench failed: $OUT/bench.err" >&2

"${ANPR%/anpr-edge}/python" - "$OUT" "$CANDIDATE" <<'EOF'
import json
import sys
from pathlib import Path

out, candidate = Path(sys.argv[1]), sys.argv[2]
print(f"recogniser: {candidate or 'bundled'}")
if candidate:
    print(f"size: {Path(candidate).stat().st_size} bytes")
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
    print("bench:", json.dumps({k: v for k, v in b.items() if "recogniser" in k}))
EOF
