"""`anpr-edge eval`: the metrics of DESIGN §2 on a labelled dataset.

Matching is explicit so the numbers can be checked by hand: a labelled box is detected when an
unmatched prediction overlaps it at IoU ≥ 0.5 (greedily, best overlap first); a plate is read
when the prediction overlapping it most (IoU ≥ 0.3) reads exactly its label. A missed plate
counts as wrong in every reading metric.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.plates.distance import levenshtein
from edge.progress import Progress
from edge.records import Box
from edge.vision.failures import count_kinds
from edge.vision.image_files import read_image
from edge.vision.reader import PlateReader, crop

DETECT_IOU = 0.5
READ_IOU = 0.3
OCR_PADDING = 0.1
HEIGHT_BUCKETS = ((0, 20), (20, 30), (30, 45), (45, 70), (70, 110), (110, 10_000))


@dataclass(frozen=True)
class Prediction:
    box: Box
    text: str


@dataclass(frozen=True)
class PlateOutcome:
    """What happened to one labelled plate: the material of the report."""

    file: str
    label: str
    box: Box
    detected: bool
    read: str | None  # the matched prediction's text (IoU ≥ 0.3), None if none
    ocr: str  # the recogniser alone on the labelled box


@dataclass
class Tally:
    boxes: int = 0
    detected: int = 0
    predictions: int = 0
    predictions_matched: int = 0
    texts: int = 0
    read_exact: int = 0
    read_char: float = 0.0
    ocr_exact: int = 0
    ocr_char: float = 0.0
    ms_per_image: list[float] = field(default_factory=list)
    ms_per_plate: list[float] = field(default_factory=list)
    outcomes: list[PlateOutcome] = field(default_factory=list)


def char_accuracy(label: str, read: str | None) -> float:
    """1 − normalised edit distance (Levenshtein over the longer length); 0 for no read."""
    if not read:
        return 0.0 if label else 1.0
    return 1.0 - levenshtein(label, read) / max(len(label), len(read))


def match_detections(labels: list[Box], predicted: list[Box]) -> dict[int, int]:
    """label index → prediction index, one-to-one, IoU ≥ 0.5, best overlaps first."""
    pairs = sorted(
        (
            (labels[i].iou(predicted[j]), i, j)
            for i in range(len(labels))
            for j in range(len(predicted))
        ),
        reverse=True,
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for iou, i, j in pairs:
        if iou < DETECT_IOU:
            break
        if i not in matched and j not in used:
            matched[i] = j
            used.add(j)
    return matched


def best_overlap(label: Box, predictions: list[Prediction]) -> Prediction | None:
    scored = [(label.iou(p.box), k) for k, p in enumerate(predictions)]
    if not scored:
        return None
    iou, k = max(scored)
    return predictions[k] if iou >= READ_IOU else None


def score_image(
    tally: Tally,
    file: str,
    labels: list[tuple[Box, str]],
    predictions: list[Prediction],
    ocr_reads: list[str],
) -> None:
    """Add one image's labels, predictions and recogniser-alone reads to the tally."""
    boxes = [box for box, _ in labels]
    matched = match_detections(boxes, [p.box for p in predictions])
    tally.boxes += len(boxes)
    tally.detected += len(matched)
    tally.predictions += len(predictions)
    tally.predictions_matched += len(matched)
    for i, (box, text) in enumerate(labels):
        if not text:
            continue  # boxed but unreadable: detection only
        read = best_overlap(box, predictions)
        read_text = read.text if read else None
        tally.texts += 1
        tally.read_exact += read_text == text
        tally.read_char += char_accuracy(text, read_text)
        tally.ocr_exact += ocr_reads[i] == text
        tally.ocr_char += char_accuracy(text, ocr_reads[i])
        tally.outcomes.append(PlateOutcome(file, text, box, i in matched, read_text, ocr_reads[i]))


def _ratio(part: float, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "p90": 0.0}
    return {
        "median": round(float(np.median(values)), 3),
        "p90": round(float(np.percentile(values, 90)), 3),
    }


def metrics(tally: Tally) -> dict[str, Any]:
    return {
        "plates": tally.boxes,
        "detection": {
            "recall": _ratio(tally.detected, tally.boxes),
            "precision": _ratio(tally.predictions_matched, tally.predictions),
        },
        "read": {
            "exact": _ratio(tally.read_exact, tally.texts),
            "char": _ratio(tally.read_char, tally.texts),
        },
        "ocr": {
            "exact": _ratio(tally.ocr_exact, tally.texts),
            "char": _ratio(tally.ocr_char, tally.texts),
        },
        "ms_per_image": _stats(tally.ms_per_image),
        "ms_per_plate": _stats(tally.ms_per_plate),
        # why plates with text were missed: end to end (read) and by the recogniser alone (ocr)
        "failures": {
            "read": count_kinds([(o.label, o.read) for o in tally.outcomes]),
            "ocr": count_kinds([(o.label, o.ocr) for o in tally.outcomes]),
        },
    }


def summary(tally: Tally, images: int, region: str, reader: PlateReader) -> dict[str, Any]:
    models: dict[str, Any] = {
        kind: {"version": stage.version, "sha256": stage.model.manifest.sha256}
        for kind, stage in (("detector", reader.detector), ("recogniser", reader.recogniser))
    }
    models["runtime"] = reader.detector.model.runtime
    return {"images": images, "region": region, **metrics(tally), "models": models}


def load_image(path: Path) -> np.ndarray:
    return read_image(path)  # its declared size checked first (edge.vision.image_files)


def evaluate(
    dataset: Any, reader: PlateReader, progress: Progress | None = None
) -> tuple[dict[str, Any], Tally]:
    """Run the reader over a dataset (edge.dataset.Dataset); the summary and the tally."""
    tally = Tally()
    progress = progress or Progress("eval")
    for item in dataset.images:
        image = load_image(Path(dataset.folder) / item.file)
        started = time.perf_counter()
        predictions = [Prediction(r.detection.box, r.text.text) for r in reader.read(image)]
        tally.ms_per_image.append((time.perf_counter() - started) * 1000)
        labels = [(_as_box(p.box), p.text) for p in item.plates]
        ocr_reads = []
        for box, _ in labels:
            started = time.perf_counter()
            ocr_reads.append(
                reader.recogniser.read(crop(image, box, OCR_PADDING), reader.region).text
            )
            tally.ms_per_plate.append((time.perf_counter() - started) * 1000)
        score_image(tally, item.file, labels, predictions, ocr_reads)
        progress.advance()
    return summary(tally, len(dataset.images), reader.region, reader), tally


def by_height(tally: Tally) -> list[dict[str, Any]]:
    """read.exact and detection recall per plate-height bucket (labelled plates with text)."""
    rows = []
    for low, high in HEIGHT_BUCKETS:
        inside = [o for o in tally.outcomes if low <= o.box.h < high]
        if inside:
            rows.append(
                {
                    "height_px": f"{low}–{high}" if high < 10_000 else f"≥{low}",
                    "plates": len(inside),
                    "detected": _ratio(sum(o.detected for o in inside), len(inside)),
                    "read_exact": _ratio(sum(o.read == o.label for o in inside), len(inside)),
                    "ocr_exact": _ratio(sum(o.ocr == o.label for o in inside), len(inside)),
                }
            )
    return rows


def _as_box(box: Any) -> Box:
    return box if isinstance(box, Box) else Box(*(float(v) for v in box))
