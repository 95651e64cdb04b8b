"""JPEG images sent with a read: the plate patch (≤ 3 KB) and an optional overview (≤ 25 KB).

The size limits are DESIGN §3's. The encoder tries falling qualities, then halves the image,
until the bytes fit; a patch too detailed to fit even small comes back empty (never too big).
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH_MAX_BYTES = 3 * 1024
OVERVIEW_MAX_BYTES = 25 * 1024
OVERVIEW_WIDTH = 640  # pixels: enough to see the vehicle and the scene
QUALITIES = (85, 70, 55, 40, 30, 20)
MIN_SIDE = 8


def encode_within(image: np.ndarray, max_bytes: int, max_width: int | None = None) -> bytes:
    """`image` (BGR or grey) as a JPEG of at most `max_bytes`, or b"" if it cannot fit."""
    if image is None or image.size == 0:
        return b""
    picture = image
    if max_width is not None and picture.shape[1] > max_width:
        scale = max_width / picture.shape[1]
        size = (max_width, max(1, round(picture.shape[0] * scale)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    if picture.ndim == 3 and _is_grey(picture):
        picture = picture[:, :, 0]  # IR frames: three equal planes; one encodes smaller
    while min(picture.shape[:2]) >= MIN_SIDE:
        for quality in QUALITIES:
            ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and len(data) <= max_bytes:
                return data.tobytes()
        size = (max(1, picture.shape[1] // 2), max(1, picture.shape[0] // 2))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    return b""


def patch_jpeg(crop: np.ndarray | None) -> bytes:
    return b"" if crop is None else encode_within(crop, PATCH_MAX_BYTES)


def overview_jpeg(image: np.ndarray | None) -> bytes | None:
    if image is None:
        return None
    return encode_within(image, OVERVIEW_MAX_BYTES, OVERVIEW_WIDTH) or None


def _is_grey(image: np.ndarray) -> bool:
    sample = image[:: max(1, image.shape[0] // 16), :: max(1, image.shape[1] // 16)]
    return bool(np.array_equal(sample[:, :, 0], sample[:, :, 1])) and bool(
        np.array_equal(sample[:, :, 1], sample[:, :, 2])
    )
