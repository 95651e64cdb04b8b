"""The plate recogniser: a plate crop in, `PlateText` out (text, confidences, format, …)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from edge.errors import UserError
from edge.plates.formats import classify
from edge.records import PlateText
from edge.vision.ctc import (
    CHARSET,
    CtcReading,
    alternatives,
    confidence,
    greedy_decode,
    softmax,
)
from edge.vision.grammar import correct_gb
from edge.vision.preprocess import pack, recogniser_input
from edge.vision.runtime import TfliteModel, bundled_model

Region = Literal["gb", "any"]
# Below this width/height a crop holds a two-row plate (single-row plates are 2:1 or wider).
TWO_ROW_ASPECT = 1.6


class Recogniser:
    def __init__(self, model_path: Path | None = None, threads: int = 1):
        self.model = TfliteModel(model_path or bundled_model("recogniser"), threads, "recogniser")
        manifest = self.model.manifest
        if manifest.charset != CHARSET:
            raise UserError(f"{manifest.path}: charset {manifest.charset!r}, expected {CHARSET!r}")
        self._pack = int(manifest.data.get("input_packing", 1))

    @property
    def version(self) -> str:
        return self.model.version

    def read(self, crop: np.ndarray, region: Region = "gb") -> PlateText:
        """Read one plate crop (BGR or grey, any size; the plate box padded ~10% per side).

        A crop much less than twice as wide as it is high is a two-row plate (UK square and
        motorcycle plates: 279×203 and 229×178 mm): each half is read as a row, top first.
        """
        if crop.dtype != np.uint8 or crop.size == 0:
            raise UserError(
                f"plate crop: expected a non-empty uint8 image, got {crop.dtype} "
                f"of shape {crop.shape}"
            )
        height, width = crop.shape[:2]
        if width < TWO_ROW_ASPECT * height:
            middle, overlap = height // 2, max(1, height // 20)
            top, bottom = (
                self._decode(crop[: middle + overlap]),
                self._decode(crop[middle - overlap :]),
            )
            reading = CtcReading(
                top.text + bottom.text, np.concatenate([top.char_probs, bottom.char_probs])
            )
        else:
            reading = self._decode(crop)
        if region == "gb":
            result = correct_gb(reading.text, reading.char_probs)
            text, fmt, char_conf = result.text, result.format, result.char_confidences
        else:
            text, fmt, char_conf = reading.text, classify(reading.text), reading.char_confidences
        return PlateText(
            text=text,
            confidence=confidence(char_conf),
            char_confidences=char_conf,
            format=fmt,
            alternatives=alternatives(reading, text),
        )

    def _decode(self, crop: np.ndarray) -> CtcReading:
        grey = recogniser_input(crop)
        batch = (pack(grey, self._pack) if self._pack > 1 else grey[..., None])[None]
        (logits,) = self.model.run(batch)
        return greedy_decode(softmax(logits[0]))
