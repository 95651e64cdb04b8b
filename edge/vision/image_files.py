"""Image files read safely: a file's declared size is checked before it is decoded.

A PNG or JPEG header may declare any size: 60000×60000 pixels is 10 GB of pixels from a file
of a few hundred bytes, and OpenCV would either raise its own assertion (a traceback) or try to
allocate it. So the header is read first (Pillow reads only the header on open) and a picture
over `MAX_IMAGE_PIXELS` is refused with a one-line error naming the file; then OpenCV decodes,
and anything it cannot read is the same kind of one-line error.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from edge.errors import UserError

# 50 megapixels (about 150 MB decoded): far above any camera the unit uses (1456×1088, a 12 MP
# sensor at most), far below what would exhaust a Pi's memory.
MAX_IMAGE_PIXELS = 50_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """The picture at `path` as a BGR array; a `UserError` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    width, height, pixels = declared_size(path)
    if pixels is not None and pixels > max_pixels:
        size = f"{width}×{height} pixels" if width else f"{pixels} pixels"
        raise UserError(
            f"{path}: declares {size}, more than the {max_pixels / 1e6:.0f} megapixels an image "
            "may have here (a corrupt or hostile file); not decoded"
        )
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise UserError(f"{path}: not a readable image ({lines[-1] if lines else exc})") from None
    if image is None or image.size == 0:
        raise UserError(f"{path}: not a readable image")
    return image


def declared_size(path: Path) -> tuple[int | None, int | None, int | None]:
    """(width, height, pixels) from the file's header, without decoding it; Nones for a format
    Pillow does not know (OpenCV still caps those at 2^30 pixels with its own error)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                return width, height, width * height
    except Image.DecompressionBombError as exc:  # Pillow refuses to even report the size
        png_width, png_height = _png_size(path)
        if png_width is not None and png_height is not None:
            return png_width, png_height, png_width * png_height
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return None, None, int(found.group(1)) if found else int(Image.MAX_IMAGE_PIXELS or 0) * 2
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None, None, None


def _png_size(path: Path) -> tuple[int | None, int | None]:
    """Width and height from a PNG's IHDR chunk (the first, by the standard)."""
    with path.open("rb") as file:
        head = file.read(24)
    if len(head) == 24 and head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return None, None
