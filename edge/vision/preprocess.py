"""Image preparation shared by training and inference, so both see exactly the same pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

RECOGNISER_SIZE = (160, 48)  # width, height of the recogniser's grey input
DETECTOR_SIZE = (640, 480)  # width, height of the detector's grey input
PACK = 4  # the detector takes its grey input as 4×4 pixel blocks packed into 16 channels
RECOGNISER_PACK = 2  # the recogniser as 2×2 blocks in 4 channels


def to_grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def recogniser_input(crop: np.ndarray) -> np.ndarray:
    """A plate crop (any size, BGR or grey) as the recogniser's 48×160 uint8 input.

    Contrast is stretched between the 2nd and 98th percentiles: IR plates arrive nearly white,
    plates at dusk nearly black, and the model should see the characters either way.
    """
    grey = to_grey(crop)
    width, height = RECOGNISER_SIZE
    shrinking = grey.shape[0] > height or grey.shape[1] > width
    resized = cv2.resize(
        grey, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )
    # Percentiles from the histogram: np.percentile sorts, ten times slower on 7,680 pixels.
    cumulative = np.cumsum(np.bincount(resized.ravel(), minlength=256))
    low, high = np.searchsorted(cumulative, (0.02 * resized.size, 0.98 * resized.size))
    if high - low < 8:  # flat crop: nothing to stretch
        return resized
    stretched = (resized.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(stretched, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the detector input: `input = frame * scale + (pad_x, pad_y)`."""

    scale: float
    pad_x: int
    pad_y: int


def letterbox(
    image: np.ndarray, size: tuple[int, int] = DETECTOR_SIZE
) -> tuple[np.ndarray, Letterbox]:
    """Fit a frame (BGR or grey) into `size` (w, h) keeping its aspect, grey, padded with black."""
    grey = to_grey(image)
    width, height = size
    scale = min(width / grey.shape[1], height / grey.shape[0])
    new_w, new_h = max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(grey, (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((height, width), dtype=np.uint8)
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, Letterbox(scale, pad_x, pad_y)


def pack(grey: np.ndarray, block: int = PACK) -> np.ndarray:
    """…×H×W grey → …×(H/b)×(W/b)×b²: each b×b block of pixels becomes one cell's channels.

    Both models take their input packed like this: XNNPACK's int8 convolution over a single
    channel at full resolution is several times slower than the same work over b² channels.
    """
    height, width = grey.shape[-2:]
    lead = grey.shape[:-2]
    blocks = grey.reshape(*lead, height // block, block, width // block, block)
    order = (*range(len(lead)), len(lead), len(lead) + 2, len(lead) + 1, len(lead) + 3)
    return blocks.transpose(order).reshape(*lead, height // block, width // block, block * block)
