"""Real plate crops for the recogniser, cut from a labelled dataset (DESIGN §1) as the unit cuts
them, with light geometric and photometric augmentation drawn afresh for every sample.

The unit reads the detector's box padded by 10 % per side (edge.vision.reader.crop) and cuts a
box narrower than 1.6 × its height into two rows with a small overlap (edge.vision.recogniser).
Here the labelled box stands in for the detector's: its padding (0–20 % per side), position and
size are jittered, as a detector's box would be, and the crop is slightly rotated and sheared.

Only plates with text and only the split asked for (`train` for training) are used: the caller
passes the split's folder, e.g. /work/data/real-train/train. `heldout` is never trained or tuned
on, `valid` only watched.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.records import Box
from edge.vision.ctc import CHARSET
from edge.vision.preprocess import recogniser_input, to_grey
from edge.vision.recogniser import TWO_ROW_ASPECT

MAX_LABEL = 10
# Room around the box kept in memory, per side, as a fraction of the box: enough for the largest
# padding (20 %), jitter (6 %) and a few degrees of rotation.
CONTEXT = 0.45


@dataclass(frozen=True)
class RealPlate:
    region: np.ndarray  # grey pixels around the box
    box: tuple[float, float, float, float]  # x, y, w, h inside `region`
    row: int  # -1: the whole (single-row) plate; 0 / 1: top / bottom row of a two-row plate
    text: str  # the text of what is read (the row's own, for a row)


def _rows_of(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A two-row crop's rows, exactly as edge.vision.recogniser.Recogniser.read cuts them."""
    height = crop.shape[0]
    middle, overlap = height // 2, max(1, height // 20)
    return crop[: middle + overlap], crop[middle - overlap :]


def _split_rows(teacher, crop: np.ndarray, text: str) -> tuple[str, str] | None:
    """Where a two-row plate's text divides: the teacher reads each row (as it did to label the
    plate); kept only if its rows join back into the label."""
    from training.real_data import SEPARATORS

    parts = []
    for row in _rows_of(crop):
        raw, _ = teacher.read_line(row)
        parts.append("".join(c for c in raw if c not in SEPARATORS))
    if "".join(parts) != text or not all(parts):
        return None
    return parts[0], parts[1]


def load(folder: Path, *, two_rows: bool = True, log=print) -> list[RealPlate]:
    """Every labelled plate with text in `folder`'s labels.csv, as crops with context; a
    two-row plate gives two samples, one per row (its row texts from the teacher)."""
    folder = Path(folder)
    with open(folder / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["plate_text"]]
    teacher = None
    plates: list[RealPlate] = []
    skipped = {"charset": 0, "tiny": 0, "two-row": 0}
    images: dict[str, np.ndarray] = {}
    for r in rows:
        text = r["plate_text"].upper()
        if not text or len(text) > MAX_LABEL or any(c not in CHARSET for c in text):
            skipped["charset"] += 1
            continue
        if r["file"] not in images:
            image = cv2.imread(str(folder / r["file"]), cv2.IMREAD_COLOR)
            if image is None:
                raise SystemExit(f"{folder / r['file']}: not an image")
            images[r["file"]] = to_grey(image)
        image = images[r["file"]]
        x, y, w, h = (float(r[k]) for k in ("x", "y", "w", "h"))
        if w < 8 or h < 6:
            skipped["tiny"] += 1
            continue
        mx, my = CONTEXT * w, CONTEXT * h
        x0, y0 = max(0, math.floor(x - mx)), max(0, math.floor(y - my))
        x1 = min(image.shape[1], math.ceil(x + w + mx))
        y1 = min(image.shape[0], math.ceil(y + h + my))
        region = np.ascontiguousarray(image[y0:y1, x0:x1])
        box = (x - x0, y - y0, w, h)
        if w >= TWO_ROW_ASPECT * h:
            plates.append(RealPlate(region, box, -1, text))
            continue
        if not two_rows:
            skipped["two-row"] += 1
            continue
        if teacher is None:
            from training.real_data import Teacher

            teacher = Teacher()
        split = _split_rows(teacher, _cut(region, box, (0.1, 0.1, 0.1, 0.1)), text)
        if split is None:
            skipped["two-row"] += 1
            continue
        plates.append(RealPlate(region, box, 0, split[0]))
        plates.append(RealPlate(region, box, 1, split[1]))
    log(
        f"real crops from {folder}: {len(plates)} samples from {len(rows)} plates with text "
        f"(left out: {skipped})"
    )
    return plates


def _cut(region: np.ndarray, box, pad: tuple[float, float, float, float]) -> np.ndarray:
    """The box grown by (left, top, right, bottom) fractions of its size, clipped to the region
    and rounded as edge.vision.reader.crop rounds it."""
    x, y, w, h = box
    left, top, right, bottom = pad
    grown = Box(x - left * w, y - top * h, w * (1 + left + right), h * (1 + top + bottom))
    x0, y0, width, height = grown.clipped(region.shape[1], region.shape[0]).as_ints()
    return region[y0 : y0 + max(height, 1), x0 : x0 + max(width, 1)]


def sample(plate: RealPlate, rng: np.random.Generator | None = None) -> np.ndarray:
    """One 48×160 recogniser input of a plate (or of its row). Without `rng`: the unit's own
    crop (box padded 10 % per side), no augmentation."""
    if rng is None:
        crop = _cut(plate.region, plate.box, (0.1, 0.1, 0.1, 0.1))
    else:
        region, box = plate.region, plate.box
        x, y, w, h = box
        # a detector's box: off by a few per cent in position and size
        w2, h2 = w * rng.uniform(0.95, 1.05), h * rng.uniform(0.93, 1.07)
        x2 = x + (w - w2) / 2 + rng.normal(0, 0.02) * w
        y2 = y + (h - h2) / 2 + rng.normal(0, 0.03) * h
        box = (x2, y2, w2, h2)
        if rng.random() < 0.6:  # a few degrees of rotation and shear about the box centre
            cx, cy = x2 + w2 / 2, y2 + h2 / 2
            matrix = cv2.getRotationMatrix2D((cx, cy), rng.uniform(-3.0, 3.0), 1.0)
            shear = rng.uniform(-0.12, 0.12)
            matrix[0, 1] += shear
            matrix[0, 2] -= shear * cy
            region = cv2.warpAffine(
                region,
                matrix,
                (region.shape[1], region.shape[0]),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        crop = _cut(region, box, tuple(rng.uniform(0.03, 0.18, 4)))
    if plate.row >= 0:
        crop = _rows_of(crop)[plate.row]
    if rng is not None:
        height, width = crop.shape[:2]
        if rng.random() < 0.3 and height > 12:  # a smaller, farther plate
            factor = rng.uniform(0.35, 0.8)
            small = cv2.resize(
                crop,
                (max(8, round(width * factor)), max(6, round(height * factor))),
                interpolation=cv2.INTER_AREA,
            )
            crop = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.2:  # motion or focus blur
            crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.2))
    return recogniser_input(crop)


def arrays(
    plates: list[RealPlate], rng: np.random.Generator | None, picks: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 N×48×160, labels int32 N×MAX_LABEL, lengths int32 N) for the picked plates
    (all by default), augmented with `rng` (none without)."""
    picks = np.arange(len(plates)) if picks is None else picks
    images = np.stack([sample(plates[i], rng) for i in picks])
    labels = np.zeros((len(picks), MAX_LABEL), dtype=np.int32)
    lengths = np.zeros(len(picks), dtype=np.int32)
    for j, i in enumerate(picks):
        text = plates[i].text
        labels[j, : len(text)] = [CHARSET.index(c) + 1 for c in text]
        lengths[j] = len(text)
    return images, labels, lengths
