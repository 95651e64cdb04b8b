"""Helpers of tools/arm64-check.sh (the unit in an emulated arm64 root), one sub-command each.

Run on the x86_64 host with .venv's Python, except `probe-compare` and `versions`, which run
inside the arm64 root with the installed unit's Python (/opt/anpr-edge/venv). Not a test module:
pytest does not collect it.

  probe-save IMAGES OUT       x86_64: the models' exact inputs (letterbox, plate crops) and
                              digests of their outputs, for probe-compare
  probe-compare IMAGES REF    arm64: the same inputs through the same models; are the outputs
                              bit-identical, and how many letterbox pixels differ?
  probe-summary RESULT        probe-compare's JSON as one line
  plates X86 ARM LABELS       `recognise --json` of both, against the labels: a Markdown table
  selftest REPORT SYNCED      `selftest --json`: every check passes but broker (may fail) and
                              clock (may fail only when the host kernel's clock is unsynchronised)
  run SUMMARY READS SUB [X86] `run --json`, the stored reads and what the host's subscriber got
  versions                    versions inside the root, as JSON
  clock                       1 when this kernel's clock is synchronised (adjtimex), else 0
  record DOC SUMMARY          put SUMMARY between the last-result markers of DOC

Each verdict sub-command prints its lines and exits 0 (pass) or 1 (fail).
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import hashlib
import json
import sys
from pathlib import Path

START, END = "<!-- arm64-check:last-result:start -->", "<!-- arm64-check:last-result:end -->"


def _digest(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _models():
    from edge.vision.detector import Detector
    from edge.vision.recogniser import Recogniser

    return Detector(), Recogniser()


def _batch(model, grey):
    from edge.vision.preprocess import pack

    block = int(model.manifest.data.get("input_packing", 1))
    return (pack(grey, block) if block > 1 else grey[..., None])[None]


def probe_save(images: Path, out: Path) -> int:
    import numpy as np

    from edge.vision.evaluate import load_image
    from edge.vision.preprocess import DETECTOR_SIZE, letterbox, recogniser_input
    from edge.vision.reader import crop

    detector, recogniser = _models()
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for path in sorted(images.glob("*.jpg")):
        image = load_image(path)
        boxed, _ = letterbox(image, DETECTOR_SIZE)
        boxes = [d.box for d in detector.detect(image)]
        crops = [recogniser_input(crop(image, box)) for box in boxes]
        stacked = np.stack(crops) if crops else np.zeros((0, 48, 160), np.uint8)
        np.save(out / f"{path.stem}.letterbox.npy", boxed)
        np.save(out / f"{path.stem}.crops.npy", stacked)
        digests[path.name] = {
            "boxes": [[box.x, box.y, box.w, box.h] for box in boxes],
            "detector": _digest(detector.model.run(_batch(detector.model, boxed))),
            "recogniser": [
                _digest(recogniser.model.run(_batch(recogniser.model, c))) for c in crops
            ],
        }
    (out / "digests.json").write_text(json.dumps(digests, indent=1))
    return 0


def probe_compare(images: Path, ref: Path) -> int:
    import numpy as np

    from edge.records import Box
    from edge.vision.evaluate import load_image
    from edge.vision.preprocess import DETECTOR_SIZE, letterbox, recogniser_input
    from edge.vision.reader import crop

    detector, recogniser = _models()
    expected = json.loads((ref / "digests.json").read_text())
    result = {
        "images": 0,
        "detector_same": 0,
        "crops": 0,
        "recogniser_same": 0,
        "letterbox": {},  # image: [pixels differing, largest difference]
        "crop_inputs": [0, 0, 0],  # crops differing, pixels differing, largest difference
    }
    for name, want in sorted(expected.items()):
        stem = Path(name).stem
        boxed = np.load(ref / f"{stem}.letterbox.npy")
        crops = np.load(ref / f"{stem}.crops.npy")
        result["images"] += 1
        got = _digest(detector.model.run(_batch(detector.model, boxed)))
        result["detector_same"] += got == want["detector"]
        image = load_image(images / name)
        for c, digest, box in zip(crops, want["recogniser"], want["boxes"], strict=True):
            result["crops"] += 1
            outputs = recogniser.model.run(_batch(recogniser.model, c))
            result["recogniser_same"] += _digest(outputs) == digest
            mine = recogniser_input(crop(image, Box(*box)))  # this machine's resize of it
            delta = np.abs(mine.astype(np.int16) - c.astype(np.int16))
            changed = int(np.count_nonzero(delta))
            inputs = result["crop_inputs"]
            inputs[0] += changed > 0
            inputs[1] += changed
            inputs[2] = max(inputs[2], int(delta.max()))
        own, _ = letterbox(image, DETECTOR_SIZE)
        diff = np.abs(own.astype(np.int16) - boxed.astype(np.int16))
        result["letterbox"][name] = [int(np.count_nonzero(diff)), int(diff.max())]
    print(json.dumps(result))
    same = (
        result["detector_same"] == result["images"] and result["recogniser_same"] == result["crops"]
    )
    return 0 if same and result["images"] > 0 else 1


def probe_summary(result_file: Path) -> int:
    result = json.loads(result_file.read_text())
    pixels = sum(count for count, _ in result["letterbox"].values())
    worst = max((most for _, most in result["letterbox"].values()), default=0)
    crops, changed, most = result["crop_inputs"]
    print(
        f"models on x86_64's exact inputs: detector {result['detector_same']}/{result['images']}, "
        f"recogniser {result['recogniser_same']}/{result['crops']} bit-identical; arm64's own "
        f"letterbox differs from x86_64's in {pixels} of {result['images'] * 640 * 480} pixels "
        f"(at most {worst} grey level{'s' if worst != 1 else ''}), and its recogniser input "
        f"from the same plate boxes in {crops} of {result['crops']} crops ({changed} pixels, at "
        f"most {most} grey level{'s' if most != 1 else ''})"
    )
    return 0


def _texts(report: list[dict]) -> dict[str, list[str]]:
    return {Path(r["file"]).name: [p["text"] for p in r["plates"]] for r in report}


def _distinct(texts: list[str]) -> str:
    counts: dict[str, int] = {}
    for text in texts:
        counts[text] = counts.get(text, 0) + 1
    return ", ".join(f"{t}×{n}" if n > 1 else t for t, n in counts.items()) or "(none)"


FIELDS = {
    "text": "texts",
    "box": "boxes",
    "detector_score": "detector scores",
    "confidence": "confidences",
    "char_confidences": "confidences",
    "format": "formats",
    "alternatives": "alternatives",
}


def _difference(ours: list[dict], theirs: list[dict]) -> str:
    """'yes' when every candidate is identical, else what differs."""
    if ours == theirs:
        return "yes"
    if len(ours) != len(theirs):
        return f"no: {len(ours)} and {len(theirs)} candidates"
    differ = {
        FIELDS.get(k, k) for a, b in zip(ours, theirs, strict=True) for k in a if a[k] != b[k]
    }
    return "no: " + ", ".join(sorted(differ))


def plates(x86: Path, arm: Path, labels: Path, title: str) -> int:
    """Whether each image's output is identical (every candidate, box, confidence and
    alternative, as printed) is reported; the verdict is that each image's labelled plate is
    read on arm64 exactly when it is on x86_64."""
    host_report, arm_report = json.loads(x86.read_text()), json.loads(arm.read_text())
    with labels.open(newline="") as handle:
        truth = {row["file"]: row["plate_text"] for row in csv.DictReader(handle)}
    host, emulated = _texts(host_report), _texts(arm_report)
    candidates = {Path(r["file"]).name: r["plates"] for r in host_report}
    arm_candidates = {Path(r["file"]).name: r["plates"] for r in arm_report}
    rows, agree, identical = 0, 0, 0
    print(f"| image | label | x86_64 reads | {title} reads | identical | label read |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in sorted(host):
        label = truth.get(name, "?")
        on_host, on_arm = label in host[name], label in emulated.get(name, [])
        where = {(True, True): "both", (True, False): "x86_64 only"}.get(
            (on_host, on_arm), "arm64 only" if on_arm else "neither"
        )
        same = _difference(candidates[name], arm_candidates.get(name, []))
        agree += on_host == on_arm
        identical += same == "yes"
        rows += 1
        print(
            f"| {name} | {label} | {_distinct(host[name])} | {_distinct(emulated.get(name, []))} "
            f"| {same} | {where} |"
        )
    print(
        f"\n{title}: identical output (every candidate, box, confidence and alternative) for "
        f"{identical} of {rows} images; the labelled plate is read on both or on neither for "
        f"{agree} of {rows}"
    )
    return 0 if rows and agree == rows and set(host) == set(emulated) else 1


def selftest(report: Path, host_clock_synced: bool) -> int:
    data = json.loads(report.read_text())
    allowed = {"broker"} | (set() if host_clock_synced else {"clock"})
    failing = []
    for check in data["checks"]:
        verdict = "SKIP" if check.get("skipped") else "PASS" if check["ok"] else "FAIL"
        print(f"  {verdict}  {check['name']:<16}  {check['reason']}")
        if not check["ok"] and check["name"] not in allowed:
            failing.append(check["name"])
    clock = next(c for c in data["checks"] if c["name"] == "clock")
    if clock["ok"] != host_clock_synced:
        failing.append("clock (differs from the host kernel's own verdict)")
    clock_note = (
        ""
        if host_clock_synced
        else " and clock (the host kernel reports its clock unsynchronised; the root shares it)"
    )
    print(f"required: all but broker{clock_note}; failing: {', '.join(failing) or 'none'}")
    return 1 if failing else 0


def run(summary_file: Path, reads_file: Path, sub_file: Path, x86_reads: Path | None) -> int:
    summary = json.loads(summary_file.read_text())
    stored = json.loads(reads_file.read_text())["reads"]
    received = {"reads": [], "hits": []}
    for line in sub_file.read_text().splitlines():
        topic, _, payload = line.partition(" ")
        kind = topic.rsplit("/", 1)[-1]
        if kind in received:
            received[kind].append(json.loads(payload))
    delivered = summary["delivered"]
    print(
        f"frames {summary['frames']} in {summary['seconds']:.0f} s ({summary['fps']} fps under "
        f"emulation), {summary['frames_dropped']} dropped; reads {summary['reads']}, hits "
        f"{summary['hits']}; delivered (PUBACK) {delivered['reads']} reads, {delivered['hits']} "
        f"hits; received by the host's subscriber: {len(received['reads'])} reads, "
        f"{len(received['hits'])} hits; errors {summary['errors']}; "
        f"exit code {summary['exit_code']}"
    )
    stored_vrms = sorted(r["vrm"] for r in stored)
    got_vrms = sorted(r["vrm"] for r in received["reads"])
    problems = []
    if summary["reads"] < 1:
        problems.append("no read")
    if not delivered["reads"] == len(received["reads"]) == summary["reads"] == len(stored):
        problems.append("reads made, stored, delivered and received differ")
    if not delivered["hits"] == len(received["hits"]) == summary["hits"]:
        problems.append("hits made, delivered and received differ")
    if stored_vrms != got_vrms:
        problems.append(f"plates stored {stored_vrms} but received {got_vrms}")
    if summary["errors"] or summary["exit_code"]:
        problems.append("errors or a non-zero exit code")
    if x86_reads is not None:
        host = sorted(json.loads(x86_reads.read_text())["reads"], key=lambda r: r["captured_at"])
        ours = sorted(stored, key=lambda r: r["captured_at"])
        print("\n| # | x86_64 read (frames) | arm64 read (frames) | same |")
        print("| --- | --- | --- | --- |")
        same = 0
        for i in range(max(len(host), len(ours))):
            a = f"{host[i]['vrm']} ({host[i]['frames']})" if i < len(host) else "-"
            b = f"{ours[i]['vrm']} ({ours[i]['frames']})" if i < len(ours) else "-"
            match = i < len(host) and i < len(ours) and host[i]["vrm"] == ours[i]["vrm"]
            same += match
            print(f"| {i + 1} | {a} | {b} | {'yes' if match else 'no'} |")
        print(
            f"\nsame frames (seed and frame count) on x86_64: {same} of "
            f"{max(len(host), len(ours))} reads give the same plate (information, not required)"
        )
    print(f"problems: {'; '.join(problems) or 'none'}")
    return 1 if problems else 0


def versions() -> int:
    import platform
    from importlib.metadata import version

    import cv2
    import numpy

    found = {
        "machine": platform.machine(),
        "debian": Path("/etc/debian_version").read_text().strip(),
        "python": platform.python_version(),
        "glibc": "-".join(platform.libc_ver()),
        "numpy": numpy.__version__,
        "ai-edge-litert": version("ai-edge-litert"),
        "opencv": cv2.__version__,
        "opencv-python-headless": version("opencv-python-headless"),
        "paho-mqtt": version("paho-mqtt"),
    }
    for name in ("pydantic", "cryptography", "pillow", "simplejpeg", "anpr-edge"):
        try:
            found[name] = version(name)
        except Exception:
            found[name] = None
    print(json.dumps(found))
    return 0


def clock() -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    state = libc.adjtimex(ctypes.create_string_buffer(512))
    print(1 if 0 <= state < 5 else 0)  # 5: TIME_ERROR, the clock is not synchronised
    return 0


def record(doc: Path, summary: Path) -> int:
    text = doc.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        print(f"{doc}: no {START} … {END} markers", file=sys.stderr)
        return 1
    body = summary.read_text(encoding="utf-8").strip()
    doc.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "probe-save":
        return probe_save(Path(args[0]), Path(args[1]))
    if command == "probe-compare":
        return probe_compare(Path(args[0]), Path(args[1]))
    if command == "probe-summary":
        return probe_summary(Path(args[0]))
    if command == "plates":
        title = args[3] if len(args) > 3 else "arm64"
        return plates(Path(args[0]), Path(args[1]), Path(args[2]), title)
    if command == "selftest":
        return selftest(Path(args[0]), args[1] == "1")
    if command == "run":
        x86 = Path(args[3]) if len(args) > 3 else None
        return run(Path(args[0]), Path(args[1]), Path(args[2]), x86)
    if command == "versions":
        return versions()
    if command == "clock":
        return clock()
    if command == "record":
        return record(Path(args[0]), Path(args[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
