"""Small raster operations shared by plates, scenes and crops.

Images are uint8 BGR arrays. Drawing clips at the canvas edge, so callers can place things
partly outside it without special cases. Full-image work goes through OpenCV, which is several
times faster than the equivalent NumPy expressions at these sizes.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.synth.glyphs import glyph_mask, has_glyph

Colour = tuple[int, int, int]  # BGR
Box = tuple[int, int, int, int]  # x, y, w, h
ADD_SIGNED_ROWS = 64  # band height of add_signed's and modulate's temporaries


def blend_mask(
    canvas: np.ndarray, mask: np.ndarray, x: int, y: int, colour: Colour, opacity: float = 1.0
) -> None:
    """Paint `colour` into `canvas` through `mask` (0-255 coverage) placed at (x, y)."""
    height, width = canvas.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], width), min(y + mask.shape[0], height)
    if x1 <= x0 or y1 <= y0:
        return
    alpha = mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32) * (opacity / 255.0)
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    ink = np.asarray(colour, np.float32)
    canvas[y0:y1, x0:x1] = (region + (ink - region) * alpha[..., None] + 0.5).astype(np.uint8)


def text_mask(face: str, text: str, height_px: int) -> np.ndarray:
    """One line of text as a coverage mask, glyphs 12% of the height apart.

    Glyphs come from the cache at the nearest of a few heights (steps of ~12%) and the line is
    resized once: arbitrary heights would otherwise miss the cache on every glyph.
    """
    height_px = max(2, height_px)
    cached_h = max(2, round(1.12 ** round(np.log(height_px) / np.log(1.12))))
    spacing = max(1, round(0.12 * cached_h))
    word_space = max(2, round(0.45 * cached_h))
    pieces: list[np.ndarray] = []
    for char in text:
        if char == " " or not has_glyph(face, char):
            pieces.append(np.zeros((cached_h, word_space), np.uint8))
        else:
            pieces.append(glyph_mask(face, char, cached_h))
        pieces.append(np.zeros((cached_h, spacing), np.uint8))
    line = np.hstack(pieces[:-1]) if pieces else np.zeros((cached_h, 1), np.uint8)
    if cached_h == height_px:
        return line
    width = max(1, round(line.shape[1] * height_px / cached_h))
    shrink = cv2.INTER_AREA if cached_h > height_px else cv2.INTER_LINEAR
    return cv2.resize(line, (width, height_px), interpolation=shrink)


def draw_text(
    canvas: np.ndarray,
    face: str,
    text: str,
    centre: tuple[float, float],
    height_px: int,
    colour: Colour,
    max_width: float | None = None,
) -> None:
    """Draw a line of text centred on `centre`, shrunk to `max_width` if given."""
    mask = text_mask(face, text, height_px)
    if max_width is not None and mask.shape[1] > max_width >= 1:
        new_height = max(2, round(mask.shape[0] * max_width / mask.shape[1]))
        mask = cv2.resize(mask, (max(1, int(max_width)), new_height), interpolation=cv2.INTER_AREA)
    x = round(centre[0] - mask.shape[1] / 2)
    y = round(centre[1] - mask.shape[0] / 2)
    blend_mask(canvas, mask, x, y, colour)


def smooth_field(
    rng: np.random.Generator, height: int, width: int, cells: int, low: float, high: float
) -> np.ndarray:
    """A smooth random float32 (H, W) field, about [low, high]: `cells` random values across the
    longer side, upsampled bicubically (which may overshoot the range a little). Used for uneven
    lighting, stains and textures."""
    grid_w = max(2, cells if width >= height else round(cells * width / height))
    grid_h = max(2, cells if height > width else round(cells * height / width))
    grid: np.ndarray = rng.random((grid_h, grid_w), dtype=np.float32) * np.float32(high - low)
    grid = grid + np.float32(low)
    if width > 8 * grid_w:  # OpenCV's bicubic is slow at large factors: smooth first, then linear
        grid = cv2.resize(
            grid, (max(grid_w, width // 8), max(grid_h, height // 8)), interpolation=cv2.INTER_CUBIC
        )
        return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def fill(canvas: np.ndarray, colour: Colour, top: int = 0, bottom: int | None = None) -> None:
    """Paint rows [top, bottom) in one colour (OpenCV does this ~30x faster than NumPy)."""
    bottom = canvas.shape[0] if bottom is None else bottom
    if bottom > top:
        cv2.rectangle(canvas, (0, top), (canvas.shape[1] - 1, bottom - 1), colour, -1)


def modulate(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Multiply each pixel by a float32 (H, W) field, saturating: light and shade. In bands, as
    add_signed: a whole frame's three-channel float field would be 19 MB at 1456×1088."""
    out = np.empty_like(image)
    for top in range(0, image.shape[0], ADD_SIGNED_ROWS):
        rows = slice(top, top + ADD_SIGNED_ROWS)
        band = field[rows]
        out[rows] = cv2.multiply(image[rows], cv2.merge([band, band, band]), dtype=cv2.CV_8U)
    return out


def add_signed(image: np.ndarray, delta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Add a signed float32 (H, W) field to every channel, saturating at 0 and 255; into `out`
    (which may be `image`) when given.

    Done in bands of ADD_SIGNED_ROWS rows: every step is per pixel, so the result is the same,
    but the float and three-channel temporaries are a band's, not a whole picture's (the
    synthetic road's 1456×2176 street backdrop needed ~70 MB of them at once: the unit's
    start-up peak)."""
    out = np.empty_like(image) if out is None else out
    for top in range(0, image.shape[0], ADD_SIGNED_ROWS):
        rows = slice(top, top + ADD_SIGNED_ROWS)
        band = delta[rows]
        raise_ = cv2.convertScaleAbs(cv2.max(band, 0.0))
        lower = cv2.convertScaleAbs(cv2.min(band, 0.0))
        raise_, lower = cv2.merge([raise_] * 3), cv2.merge([lower] * 3)
        out[rows] = cv2.subtract(cv2.add(image[rows], raise_), lower)
    return out


def random_colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> Colour:
    b, g, r = rng.integers(low, high, 3)
    return int(b), int(g), int(r)


def jitter_colour(rng: np.random.Generator, colour: Colour, amount: int) -> Colour:
    shifts = rng.integers(-amount, amount + 1, 3)
    b, g, r = (min(255, max(0, int(c) + int(d))) for c, d in zip(colour, shifts, strict=True))
    return b, g, r
