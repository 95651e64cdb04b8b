"""The plate detector: a frame in, plate boxes in the frame's own pixels out.

The model sees a 640×480 grey letterbox of the frame. A frame much larger than that (the HQ
camera's 4056×3040) would shrink small plates to a few pixels, so it is also searched in
overlapping tiles at no more than `MAX_SHRINK`, and the boxes of both passes are merged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.records import Box, Detection
from edge.vision import heatmap
from edge.vision.preprocess import DETECTOR_SIZE, letterbox, pack
from edge.vision.runtime import TfliteModel, bundled_model

# A 1456×1088 frame (the Pi global-shutter camera) fits the input at 0.44: one pass. Larger
# frames are tiled so that no tile shrinks more than that.
MAX_SHRINK = 1456 / DETECTOR_SIZE[0]
TILE_OVERLAP = 0.2
MERGE_IOU = 0.4
# Chosen on held-out synthetic 1456×1088 scenes: recall 0.98 at 0.3 against 0.76 at 0.5; the
# recogniser and the tracker reject most of what a lower threshold lets through.
DEFAULT_THRESHOLD = 0.3


class Detector:
    def __init__(
        self, model_path: Path | None = None, threads: int = 1, threshold: float = DEFAULT_THRESHOLD
    ):
        self.model = TfliteModel(model_path or bundled_model("detector"), threads, "detector")
        self.threshold = threshold
        self._pack = int(self.model.manifest.data.get("input_packing", 1))

    @property
    def version(self) -> str:
        return self.model.version

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        found = self._detect_once(image, 0, 0)
        if max(width / DETECTOR_SIZE[0], height / DETECTOR_SIZE[1]) > MAX_SHRINK * 1.15:
            for x, y, w, h in _tiles(width, height):
                found += self._detect_once(image[y : y + h, x : x + w], x, y)
            found = _merge(found)
        return found

    def _detect_once(self, image: np.ndarray, offset_x: int, offset_y: int) -> list[Detection]:
        boxed, fit = letterbox(image, DETECTOR_SIZE)
        batch = (pack(boxed, self._pack) if self._pack > 1 else boxed[..., None])[None]
        outputs = self.model.run(batch)
        # The converter does not keep Keras output names: the heatmap is the 1-channel output.
        heat, reg = sorted(outputs, key=lambda out: out.shape[-1])
        height, width = image.shape[:2]
        detections = []
        for x, y, w, h, score in heatmap.decode(heat[0, :, :, 0], reg[0], self.threshold):
            box = Box(
                (x - fit.pad_x) / fit.scale,
                (y - fit.pad_y) / fit.scale,
                w / fit.scale,
                h / fit.scale,
            ).clipped(width, height)
            if box.w >= 4 and box.h >= 2:
                detections.append(
                    Detection(Box(box.x + offset_x, box.y + offset_y, box.w, box.h), score)
                )
        return detections


def _tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    tile_w, tile_h = round(DETECTOR_SIZE[0] * MAX_SHRINK), round(DETECTOR_SIZE[1] * MAX_SHRINK)
    tiles = []
    for y in _starts(height, tile_h):
        for x in _starts(width, tile_w):
            tiles.append((x, y, min(tile_w, width - x), min(tile_h, height - y)))
    return tiles


def _starts(length: int, tile: int) -> list[int]:
    if length <= tile:
        return [0]
    step = int(tile * (1 - TILE_OVERLAP))
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _merge(detections: list[Detection]) -> list[Detection]:
    """Non-maximum suppression: of boxes that overlap, keep the most confident."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if all(det.box.iou(k.box) < MERGE_IOU for k in kept):
            kept.append(det)
    return kept
