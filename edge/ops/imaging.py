"""Focus and exposure figures of a frame, the snapshot overlay, and writing the picture.

Sharpness is the variance of the Laplacian of the grey image: the Laplacian responds to fine
edges, and defocus removes them first, so the figure falls as focus drifts. It also depends on
what is in view (a plate, a hedge, a blank wall) and on noise, so it is for comparing frames of
the same scene while turning the focus ring, not one site with another. Over a plate box it
says whether the plates, not the road, are in focus.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.errors import UserError
from edge.files import write_private
from edge.records import Box

SATURATED = 250  # grey levels at or above: clipped highlights (an IR flare, the sky)
CRUSHED = 5  # at or below: clipped shadows
BRIGHTNESS_STEP = 4  # every 4th pixel each way is plenty for a mean, and 16× cheaper
SUFFIXES = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png"}
JPEG_QUALITY = 92  # a technician zooms in on plate edges: keep them crisp
GREEN, BLACK, WHITE = (0, 220, 0), (0, 0, 0), (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX
PAD = 3


def grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def sharpness(image: np.ndarray, box: Box | None = None) -> float:
    """Variance of the Laplacian over the image, or over `box` of it; higher is sharper."""
    plane = grey(image)
    if box is not None:
        height, width = plane.shape
        x, y, w, h = box.clipped(width, height).as_ints()
        plane = plane[y : y + h, x : x + w]
    if plane.shape[0] < 3 or plane.shape[1] < 3:
        return 0.0
    # 16-bit holds a uint8 Laplacian (±1020) exactly, and OpenCV's meanStdDev is ~30× faster
    # than NumPy's var over float64: the live page (edge.live) works this out for every frame
    _, deviation = cv2.meanStdDev(cv2.Laplacian(plane, cv2.CV_16S))
    return float(deviation[0, 0]) ** 2


def brightness(image: np.ndarray) -> float:
    """Mean grey level, 0–255."""
    return float(grey(image)[::BRIGHTNESS_STEP, ::BRIGHTNESS_STEP].mean())


def clipped_shares(image: np.ndarray) -> tuple[float, float]:
    """The shares of pixels clipped white and black (0–1)."""
    plane = grey(image)[::BRIGHTNESS_STEP, ::BRIGHTNESS_STEP]
    return float((plane >= SATURATED).mean()), float((plane <= CRUSHED).mean())


def draw_overlay(image: np.ndarray, plates: list[tuple[Box, str]], banner: str) -> np.ndarray:
    """A copy of `image` (BGR) with each plate boxed and labelled, and `banner` in a strip
    added below the picture (not over it: it must not hide a plate or the edge of the view)."""
    picture = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    scale = max(picture.shape[1] / 1456, 0.4)  # text the same size on screen at any resolution
    size, thickness = 0.7 * scale, max(2, round(2 * scale))  # 1 px boxes vanish in a JPEG
    gap = round(4 * scale)
    for box, label in plates:
        x, y, w, h = box.as_ints()
        cv2.rectangle(picture, (x, y), (x + w, y + h), GREEN, thickness)
        band = _band_height(label, size, thickness)
        top = y - band - gap if y - band - gap >= 0 else y + h + gap  # above, else below
        _label(picture, label, x, top, size, thickness)
    strip_height = _band_height(banner, size, thickness) + 2 * gap
    strip = np.zeros((strip_height, picture.shape[1], 3), np.uint8)
    _label(strip, banner, gap, gap, size, thickness)
    return np.vstack([picture, strip])


def _band_height(text: str, size: float, thickness: int) -> int:
    (_, height), baseline = cv2.getTextSize(text, FONT, size, thickness)
    return height + baseline + 2 * PAD


def _label(image: np.ndarray, text: str, x: int, top: int, size: float, thickness: int) -> None:
    """Text on a dark band, so it reads on a white plate or a black night sky alike."""
    (width, height), baseline = cv2.getTextSize(text, FONT, size, thickness)
    x = min(max(x, 0), max(image.shape[1] - width - 2 * PAD, 0))
    top = min(max(top, 0), max(image.shape[0] - height - baseline - 2 * PAD, 0))
    bottom = top + height + baseline + 2 * PAD
    cv2.rectangle(image, (x, top), (x + width + 2 * PAD, bottom), BLACK, -1)
    cv2.putText(
        image, text, (x + PAD, top + PAD + height), FONT, size, WHITE, thickness, cv2.LINE_AA
    )


def check_output(path: Path) -> str:
    """The encoder suffix for `path`, or a UserError naming what is wrong with it."""
    suffix = SUFFIXES.get(path.suffix.lower())
    if suffix is None:
        raise UserError(f"{path}: expected a .jpg, .jpeg or .png file name")
    if not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"{path}: is a folder")
    return suffix


def encode_picture(image: np.ndarray, suffix: str = ".jpg", quality: int = JPEG_QUALITY) -> bytes:
    """The picture as .jpg (at `quality`) or .png bytes; ValueError when OpenCV cannot."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else []
    ok, encoded = cv2.imencode(suffix, image, params)
    if not ok:
        raise ValueError(f"the picture could not be encoded as {suffix}")
    return encoded.tobytes()


def write_picture(path: Path, image: np.ndarray) -> None:
    """Encode and write owner-only (0600): a road picture shows plates, personal data."""
    suffix = check_output(path)
    try:
        encoded = encode_picture(image, suffix)
    except ValueError:
        raise UserError(f"{path}: the picture could not be encoded as {suffix}") from None
    try:
        write_private(path, encoded)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
