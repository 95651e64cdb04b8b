"""Distillation labels: the teacher's reads of the real boxes that have no text yet.

The real set (training.real_data) keeps a teacher text only where every character is read with
probability ≥ 0.9 and the text fits its country's format; most boxes of the train split have no
text (small, blurred, tilted, foreign). Here the teacher (PP-OCRv6 small) reads those boxes
again and its text is kept at a lower bar (`--min-prob`, default 0.5: the lowest character
probability), still only where the text fits the country's format (training.real_data.
valid_text). The student learns the teacher's reading of hard plates: distillation through hard
labels, the form CTC models take (a soft per-frame target would need the two models' frames
aligned).

Writes `OUT/labels.csv` (DESIGN §1 columns, `file` an absolute path into the real set): every
plate of the train split that has text, then the new teacher rows, marked in `text_source`.
Used with `training.recogniser --real OUT`. Only ever run on a train split: a held-out or valid
split is never labelled for training. Every new text in a UK dated format was checked by eye on
a contact sheet; those found wrong or unreadable are listed in `--reject`
(training/data/distil-rejected.csv: 20 of 209 in session 6, most an EU band's letter read as
the first character, or a plate too blurred to tell) and left out.

    .venv-train/bin/python -m training.teacher_labels /work/data/real-train-v2/train \
        /work/data/real-train-v2-distil --reject training/data/distil-rejected.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

import cv2

from training.real_data import Box, Teacher, valid_text

COLUMNS = ["file", "plate_text", "x", "y", "w", "h", "country", "text_source", "confidence"]


def rejected(path: Path | None) -> set[tuple[str, int, int, int, int]]:
    """(file, x, y, w, h) of the boxes whose teacher text a person found wrong."""
    if path is None:
        return set()
    with open(path, newline="") as f:
        return {(r["file"], *(int(r[k]) for k in ("x", "y", "w", "h"))) for r in csv.DictReader(f)}


def label(folder: Path, out: Path, min_prob: float, reject: Path | None = None) -> Counter:
    if folder.name != "train":
        raise SystemExit(f"{folder}: distillation labels are made for a train split only")
    refused = rejected(reject)
    with open(folder / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    teacher = Teacher()
    counts: Counter = Counter()
    kept: list[dict] = []
    added: list[dict] = []
    image, image_file = None, ""
    started = time.monotonic()
    for n, row in enumerate(rows, 1):
        path = str((folder / row["file"]).resolve())
        base = {k: row[k] for k in ("x", "y", "w", "h", "country")} | {"file": path}
        if row["plate_text"]:
            kept.append(base | {"plate_text": row["plate_text"], "text_source": "set"})
            counts["had text"] += 1
            continue
        if row["file"] != image_file:
            image, image_file = cv2.imread(path, cv2.IMREAD_COLOR), row["file"]
        if image is None:
            raise SystemExit(f"{path}: not an image")
        box = Box(*(int(float(row[k])) for k in ("x", "y", "w", "h")))
        text, lowest, _ = teacher.read_plate(image, box)
        ok, country = valid_text(text, row["country"]) if text else (False, "")
        if (row["file"], box.x, box.y, box.w, box.h) in refused:
            counts["rejected by eye"] += 1
        elif not text:
            counts["no text read"] += 1
        elif not ok:
            counts["not a plate format"] += 1
        elif lowest < min_prob:
            counts["below min prob"] += 1
        else:
            counts["added"] += 1
            added.append(
                base
                | {"plate_text": text, "country": country, "text_source": "teacher-distil",
                   "confidence": f"{lowest:.3f}"}
            )  # fmt: skip
        if n % 500 == 0:
            print(f"{n}/{len(rows)} boxes, {counts['added']} added", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(kept + added)
    print(
        f"{out / 'labels.csv'}: {len(kept)} plates with text, {len(added)} added by the teacher "
        f"at min prob {min_prob} ({dict(counts)}; {time.monotonic() - started:.0f} s)",
        flush=True,
    )
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a real set's train split (labels.csv)")
    parser.add_argument("out", type=Path, help="folder for the labels.csv with teacher rows")
    parser.add_argument("--min-prob", type=float, default=0.5, help="lowest character prob.")
    parser.add_argument("--reject", type=Path, help="CSV of boxes whose text was found wrong")
    args = parser.parse_args(argv)
    label(args.folder, args.out, args.min_prob, args.reject)


if __name__ == "__main__":
    main()
