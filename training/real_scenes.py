"""Real scenes for the detector, from a labelled dataset (DESIGN §1): every annotated plate box
(with or without text), drawn afresh for every batch at a random zoom and position.

The unit letterboxes a frame into the detector's input (edge.vision.preprocess.letterbox); here
a photo is fitted the same way and then zoomed by 0.8–2.5 (a plate in the unit's frame is larger,
relative to the frame, than in most of these photos) and cut at a random place, so one photo
gives many scenes. A box cut by the edge stays a target only if most of it is inside.

`paste` puts real plates into synthetic scenes: the real face, wear and furniture of a plate in
the many places, sizes and lights the generator gives, where a real photo shows each plate in
one place only.

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
# Pasted plates: at least this many pixels high (smaller ones are unreadable smudges), a margin of
# their own surroundings around the box so no hard edge marks where they were cut, feathered in.
PASTE_MIN_HEIGHT = 10
PASTE_MARGIN = 0.15
PASTE_MAX_ZOOM = 1.5


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


def paste(
    canvas: np.ndarray,
    boxes: list[tuple[float, float, float, float]],
    scenes: list[RealScene],
    rng: np.random.Generator,
    heights: tuple[int, int],
) -> list[tuple[float, float, float, float]]:
    """Paste one real plate (a random box of a random scene) into grey `canvas` in place, at a
    plate height drawn from `heights` and a place that overlaps none of `boxes`; its brightness
    matched to the place it lands on. Returns `boxes` with the new one (unchanged when no
    place or usable plate was found in a few tries)."""
    height, width = canvas.shape
    for _ in range(8):
        scene = scenes[int(rng.integers(len(scenes)))]
        if not scene.boxes:
            continue
        bx, by, bw, bh = scene.boxes[int(rng.integers(len(scene.boxes)))]
        largest = min(heights[1], bh * PASTE_MAX_ZOOM)  # no plate blown up into a blur
        if bh < PASTE_MIN_HEIGHT or bw < bh or largest < heights[0]:
            continue
        target_h = float(rng.uniform(heights[0], largest))
        scale = target_h / bh
        mx, my = bw * PASTE_MARGIN, bh * PASTE_MARGIN
        x0, y0 = max(0, round(bx - mx)), max(0, round(by - my))
        x1 = min(scene.image.shape[1], round(bx + bw + mx))
        y1 = min(scene.image.shape[0], round(by + bh + my))
        out_w, out_h = max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale))
        if out_w >= width or out_h >= height:
            continue
        patch = cv2.resize(scene.image[y0:y1, x0:x1], (out_w, out_h), interpolation=cv2.INTER_AREA)
        px, py = int(rng.integers(0, width - out_w)), int(rng.integers(0, height - out_h))
        new = ((bx - x0) * scale + px, (by - y0) * scale + py, bw * scale, bh * scale)
        if any(_overlaps(new, other) for other in boxes):
            continue
        _blend(canvas, patch, px, py, rng)
        return [*boxes, new]
    return boxes


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _blend(canvas: np.ndarray, patch: np.ndarray, x: int, y: int, rng: np.random.Generator) -> None:
    """`patch` into `canvas` at (x, y): its mean brightness moved part of the way to the
    place's (a plate in shade stays darker than one in sun), edges feathered over the margin."""
    h, w = patch.shape
    place = canvas[y : y + h, x : x + w].astype(np.float32)
    shift = (place.mean() - patch.mean()) * float(rng.uniform(0.0, 0.5))
    toned = np.clip(patch.astype(np.float32) + shift, 0, 255)
    ramp_y = np.minimum(np.arange(h), np.arange(h)[::-1]) / max(1.0, h * PASTE_MARGIN)
    ramp_x = np.minimum(np.arange(w), np.arange(w)[::-1]) / max(1.0, w * PASTE_MARGIN)
    alpha = np.clip(np.minimum.outer(ramp_y, ramp_x), 0.0, 1.0)
    canvas[y : y + h, x : x + w] = (alpha * toned + (1 - alpha) * place).astype(np.uint8)
