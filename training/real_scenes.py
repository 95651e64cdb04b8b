"""Real scenes for the detector, from a labelled dataset (DESIGN §1): every annotated plate box
(with or without text), drawn afresh for every batch at a random zoom and position.

The unit letterboxes a frame into the detector's input (edge.vision.preprocess.letterbox); here
a photo is fitted the same way and then zoomed by 0.8–2.5 (a plate in the unit's frame is larger,
relative to the frame, than in most of these photos) and cut at a random place, so one photo
gives many scenes. A box cut by the edge stays a target only if most of it is inside.

Only the split asked for is used (`train` to train, `valid` to watch); `heldout` never.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.vision.preprocess import letterbox, to_grey

# Photos are kept in memory no larger than this (long side): enough for the largest zoom at the
# training size, and 2,300 photos in ~2 GB.
KEEP_LONG_SIDE = 1280
ZOOM = (0.8, 2.5)
MIN_VISIBLE = 0.6


@dataclass(frozen=True)
class RealScene:
    image: np.ndarray  # grey
    boxes: tuple[tuple[float, float, float, float], ...]  # x, y, w, h in `image`


def load(folder: Path, log=print) -> list[RealScene]:
    folder = Path(folder)
    boxes: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    with open(folder / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            boxes[r["file"]].append(tuple(float(r[k]) for k in ("x", "y", "w", "h")))  # type: ignore[arg-type]
    scenes = []
    for name, found in boxes.items():
        image = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"{folder / name}: not an image")
        grey = to_grey(image)
        scale = min(1.0, KEEP_LONG_SIDE / max(grey.shape))
        if scale < 1.0:
            grey = cv2.resize(
                grey,
                (round(grey.shape[1] * scale), round(grey.shape[0] * scale)),
                interpolation=cv2.INTER_AREA,
            )
        scaled = tuple((x * scale, y * scale, w * scale, h * scale) for x, y, w, h in found)
        scenes.append(RealScene(grey, scaled))
    plates = sum(len(b) for b in boxes.values())
    log(f"real scenes from {folder}: {len(scenes)} photos, {plates} plates")
    return scenes


def sample(
    scene: RealScene, rng: np.random.Generator, size: tuple[int, int]
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """One training scene of `size` (w, h): the photo fitted, zoomed and cut at random."""
    width, height = size
    image = scene.image
    fit = min(width / image.shape[1], height / image.shape[0])
    scale = fit * float(np.exp(rng.uniform(np.log(ZOOM[0]), np.log(ZOOM[1]))))
    new_w, new_h = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    # where the window starts in the resized photo (negative: the photo sits inside the canvas)
    x0, y0 = _offset(rng, new_w, width), _offset(rng, new_h, height)
    canvas = np.zeros((height, width), dtype=np.uint8)
    sx, sy = max(0, x0), max(0, y0)
    cx, cy = max(0, -x0), max(0, -y0)
    w = min(new_w - sx, width - cx)
    h = min(new_h - sy, height - cy)
    canvas[cy : cy + h, cx : cx + w] = resized[sy : sy + h, sx : sx + w]
    boxes = []
    for bx, by, bw, bh in scene.boxes:
        x, y, w2, h2 = bx * scale - x0, by * scale - y0, bw * scale, bh * scale
        left, top = max(x, 0.0), max(y, 0.0)
        right, bottom = min(x + w2, width), min(y + h2, height)
        if right <= left or bottom <= top:
            continue
        if (right - left) * (bottom - top) >= MIN_VISIBLE * w2 * h2:
            boxes.append((left, top, right - left, bottom - top))
    return canvas, boxes


def _offset(rng: np.random.Generator, length: int, window: int) -> int:
    """Where a window starts along a side of the photo: inside it when the photo is longer, else
    before it (a negative start: the photo lies somewhere inside the window)."""
    if length > window:
        return int(rng.integers(0, length - window + 1))
    return -int(rng.integers(0, window - length + 1))


def fitted(scene: RealScene, size: tuple[int, int]) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """The photo as the unit's detector sees it (letterboxed, no zoom), with its boxes."""
    canvas, fit = letterbox(scene.image, size)
    boxes = [
        (x * fit.scale + fit.pad_x, y * fit.scale + fit.pad_y, w * fit.scale, h * fit.scale)
        for x, y, w, h in scene.boxes
    ]
    return canvas, boxes
