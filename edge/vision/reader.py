"""Detector + recogniser: every plate in an image, read. The one entry point for `recognise`,
`eval`, `bench`, `camera snapshot` and the unit's per-frame pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge.errors import UserError
from edge.records import Box, Detection, PlateText
from edge.vision.detector import DEFAULT_THRESHOLD, Detector
from edge.vision.recogniser import Recogniser, Region

if TYPE_CHECKING:
    from edge.config import Config

# The recogniser was trained on plate boxes padded by 0–20% per side.
CROP_PADDING = 0.1


@dataclass(frozen=True)
class PlateResult:
    detection: Detection
    text: PlateText
    # the padded plate cut from the frame that was read (a view of the frame): the pipeline keeps
    # its best one as the read's patch instead of cutting it again
    crop: np.ndarray | None = field(default=None, compare=False, repr=False)


def crop(image: np.ndarray, box: Box, padding: float = CROP_PADDING) -> np.ndarray:
    """The box grown by `padding` per side, cut from the full-resolution image (no copy)."""
    height, width = image.shape[:2]
    x, y, w, h = box.padded(padding).clipped(width, height).as_ints()
    return image[y : y + max(h, 1), x : x + max(w, 1)]


def check_frame(image: np.ndarray) -> None:
    """A frame must be a non-empty uint8 grey (H×W or H×W×1), BGR or BGRA image: anything else
    is a caller's mistake, named here rather than deep inside OpenCV or the interpreter."""
    shape: tuple[int, ...] = getattr(image, "shape", ())
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise UserError(
            f"frame: expected a uint8 image, got {getattr(image, 'dtype', type(image))}"
        )
    if image.ndim not in (2, 3) or (image.ndim == 3 and shape[2] not in (1, 3, 4)):
        raise UserError(f"frame: expected H×W grey or H×W×3 BGR, got shape {shape}")
    if image.size == 0:
        raise UserError(f"frame: empty image of shape {shape}")


class PlateReader:
    def __init__(
        self,
        detector: Detector,
        recogniser: Recogniser,
        region: Region = "gb",
        min_confidence: float = 0.0,
    ):
        self.detector = detector
        self.recogniser = recogniser
        self.region = region
        self.min_confidence = min_confidence

    @classmethod
    def from_files(
        cls,
        detector: Path | None = None,
        recogniser: Path | None = None,
        *,
        threads: int = 1,
        region: Region = "gb",
        threshold: float = DEFAULT_THRESHOLD,
    ) -> PlateReader:
        return cls(Detector(detector, threads, threshold), Recogniser(recogniser, threads), region)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        detector: Path | None = None,
        recogniser: Path | None = None,
        threads: int | None = None,
        region: Region | None = None,
    ) -> PlateReader:
        """The reader the `models` and `recognition` sections describe (what the unit runs); a
        command's own options (another model file, threads, region) take the place of a key."""
        models = config.models
        return cls.from_files(
            detector or models.detector,
            recogniser or models.recogniser,
            threads=models.threads if threads is None else threads,
            region=region or config.recognition.region,
            threshold=models.detector_threshold,
        )

    @property
    def model_versions(self) -> tuple[tuple[str, str], ...]:
        return (("detector", self.detector.version), ("recogniser", self.recogniser.version))

    def read(self, image: np.ndarray) -> list[PlateResult]:
        check_frame(image)
        results = []
        for detection in self.detector.detect(image):
            plate = crop(image, detection.box)
            text = self.recogniser.read(plate, self.region)
            if text.text and text.confidence >= self.min_confidence:
                results.append(PlateResult(detection, text, plate))
        return results
