"""Glyph masks for plate characters: a UK plate face drawn by code, plus installed sans faces.

The UK face ("charles-wright") imitates the 2001 Charles Wright plate face: 79 mm high, 50 mm
wide (I and 1 narrower), 14 mm strokes, flat terminals. Each character is a few stroke paths in
millimetres, stroked with butt ends and mitred joins, then clipped to its 79 mm cell so that
slanted strokes end flat on the baseline and cap line as on real plates. Shapes keep the pairs
a recogniser must tell apart as distinct as the real face does: the 0 is a stadium and the O an
ellipse, D has square corners on the left, 3 has a flat top, 5 a square top-left corner, 2 a
curved top and Z a straight one, 8 is round on the left where B is straight, G has a bar and a
spur where 6 has a closed bowl, and 1 has a flag where I is a plain bar.

The other faces come from TrueType files at fixed paths; missing ones are skipped (in sorted
order, so every machine with the same fonts has the same FACES). Pillow only rasterises them.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

UK_FACE = "charles-wright"
CHAR_HEIGHT_MM = 79.0
CHAR_WIDTH_MM = 50.0
STROKE_MM = 14.0
CHAR_GAP_MM = 11.0  # between characters of one group
GROUP_GAP_MM = 33.0  # between the two groups

_FONT_DIR = Path("/usr/share/fonts")
# Plate-like faces from Debian packages (tools/bootstrap.sh installs them): DIN 1451-like
# (German, Brazilian and many EU plates), condensed grotesques like most US state plates, and
# plain bold sans faces.
_TRUETYPE_FACES = {
    "dejavu-sans-bold": "truetype/dejavu/DejaVuSans-Bold.ttf",
    "dejavu-sans-condensed-bold": "truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "freesans-bold": "truetype/freefont/FreeSansBold.ttf",
    "liberation-sans-bold": "truetype/liberation2/LiberationSans-Bold.ttf",
    "liberation-sans-narrow-bold": "truetype/liberation2/LiberationSansNarrow-Bold.ttf",
    "open-din": "truetype/opendin/OSP-DIN.ttf",
    "bebas-neue-bold": "opentype/bebas-neue/BebasNeue-Bold.otf",
    "nimbus-sans-narrow-bold": "opentype/urw-base35/NimbusSansNarrow-Bold.otf",
    "roboto-condensed-bold": "truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "roboto-condensed-medium": "truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
    "routed-gothic-narrow": "truetype/routed-gothic/routed-gothic-narrow.ttf",
    "league-spartan-bold": "opentype/league-spartan/LeagueSpartan-Bold.otf",
    "b612-bold": "opentype/b612/B612-Bold.otf",
}
TRUETYPE_FACES: tuple[str, ...] = tuple(
    name for name in sorted(_TRUETYPE_FACES) if (_FONT_DIR / _TRUETYPE_FACES[name]).is_file()
)
FACES: tuple[str, ...] = (UK_FACE, *TRUETYPE_FACES)

_MASTER_PX_PER_MM = 4.0  # drawn face resolution: a 316 px high master, shrunk with INTER_AREA
_TRUETYPE_MASTER_PX = 200

Path2D = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Path2D:
    """Points of an elliptical arc; angles in degrees, 0 = right, 90 = down (image axes)."""
    steps = max(4, int(abs(end - start) / 6))
    angles = np.radians(np.linspace(start, end, steps + 1))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def _closed(path: Path2D) -> Path2D:
    return [*path, path[0], path[1]]  # repeating two points gives the closing joint a mitre


@lru_cache(maxsize=1)
def _uk_strokes() -> dict[str, tuple[float, list[Path2D]]]:
    """Stroke centre lines per character, in mm inside a (width x 79) cell, y downwards.

    A stroke centre 7 mm inside the cell puts the stroke's outer edge on the cell edge; strokes
    that should end flat on an edge run past it and are clipped.
    """
    w, top, bot, mid = CHAR_WIDTH_MM, 7.0, 72.0, 39.5
    left, right = 7.0, 43.0
    oval = _closed(_arc(25, mid, 18, 32.5, 0, 360))
    return {
        "0": (w, [_closed([*_arc(25, 25, 18, 18, 180, 360), *_arc(25, 54, 18, 18, 0, 180)])]),
        "1": (26.0, [[(19, -10), (19, 90)], [(20, 2), (3, 21)]]),
        "2": (w, [[*_arc(25, 24, 17.5, 17, 195, 380), (8, 70)], [(-5, bot), (55, bot)]]),
        "3": (w, [[(0, top), (40, top), *_arc(25, 51, 18, 21, 250, 505)]]),
        "4": (w, [[(34, -10), (34, 90)], [(36, top), (7, 53), (55, 53)]]),
        "5": (w, [[(55, top), (10, top), (10, 31), *_arc(25, 51, 18, 21, 260, 505)]]),
        "6": (w, [_closed(_arc(25, 51, 18, 21, 0, 360)), _arc(25, mid, 18, 32.5, 180, 318)]),
        "7": (w, [[(-5, top), (43, top), (16, 95)]]),
        "8": (
            w,
            [_closed(_arc(25, 22.5, 15.5, 15.5, 0, 360)), _closed(_arc(25, 53, 18, 19, 0, 360))],
        ),
        "9": (w, [_closed(_arc(25, 28, 18, 21, 0, 360)), _arc(25, mid, 18, 32.5, 0, 138)]),
        "A": (w, [[(6, 90), (21, top), (29, top), (44, 90)], [(12, 52), (38, 52)]]),
        "B": (
            w,
            [
                [(left, -5), (left, 90)],
                [(left, top), (28, top), *_arc(28, 22.5, 14, 15.5, 270, 450), (left, 38)],
                [(left, 38), (29, 38), *_arc(29, 55, 14, 17, 270, 450), (left, bot)],
            ],
        ),
        "C": (w, [_arc(25, mid, 18, 32.5, 325, 35)]),
        "D": (
            w,
            [_closed([(left, top), (24, top), *_arc(24, mid, 19, 32.5, 270, 450), (left, bot)])],
        ),
        "E": (w, [[(55, top), (left, top), (left, bot), (55, bot)], [(left, 38.5), (45, 38.5)]]),
        "F": (w, [[(55, top), (left, top), (left, 90)], [(left, 38.5), (43, 38.5)]]),
        "G": (w, [[*_arc(25, mid, 18, 32.5, 325, 20), (right, 44), (25, 44)]]),
        "H": (
            w,
            [[(left, -5), (left, 90)], [(right, -5), (right, 90)], [(left, mid), (right, mid)]],
        ),
        "I": (STROKE_MM, [[(7, -10), (7, 90)]]),
        "J": (w, [[(40, -10), (40, 52)], _arc(24, 52, 16, 20, 0, 165)]),
        "K": (w, [[(left, -5), (left, 90)], [(9, 47), (47, -4)], [(21, 36), (49, 88)]]),
        "L": (w, [[(left, -10), (left, bot), (55, bot)]]),
        "M": (
            w,
            [
                [(left, -5), (left, 90)],
                [(right, -5), (right, 90)],
                [(9, 0), (25, 50)],
                [(41, 0), (25, 50)],
            ],
        ),
        "N": (w, [[(left, -5), (left, 90)], [(right, -5), (right, 90)], [(8, -2), (42, 81)]]),
        "O": (w, [oval]),
        "P": (
            w,
            [[(left, 90), (left, top), (28, top), *_arc(28, 24, 15, 17, 270, 450), (left, 41)]],
        ),
        "Q": (w, [oval, [(29, 55), (48, 88)]]),
        "R": (
            w,
            [
                [(left, 90), (left, top), (28, top), *_arc(28, 24, 15, 17, 270, 450), (left, 41)],
                [(24, 41), (46, 90)],
            ],
        ),
        "S": (w, [[*_arc(25, 22.5, 17, 15.5, 330, 90), *_arc(25, 55, 18, 17, 270, 510)]]),
        "T": (w, [[(-5, top), (55, top)], [(25, top), (25, 90)]]),
        "U": (w, [[(left, -10), (left, 50), *_arc(25, 50, 18, 22, 180, 0), (right, -10)]]),
        "V": (w, [[(5, -10), (25, 88)], [(45, -10), (25, 88)]]),
        "W": (
            w,
            [
                [(3, -10), (13, 90)],
                [(13, 90), (25, 22)],
                [(25, 22), (37, 90)],
                [(37, 90), (47, -10)],
            ],
        ),
        "X": (w, [[(4, -8), (46, 87)], [(46, -8), (4, 87)]]),
        "Y": (w, [[(4, -8), (25, 42)], [(46, -8), (25, 42)], [(25, 40), (25, 90)]]),
        "Z": (w, [[(-5, top), (42, top), (8, bot), (55, bot)]]),
    }


def _stroke_polygons(path: Path2D, half: float) -> list[np.ndarray]:
    """Convex pieces covering a stroked path: one quad per segment, a mitre per joint."""
    points = np.asarray(path, dtype=np.float64)
    directions = np.diff(points, axis=0)
    lengths = np.linalg.norm(directions, axis=1)
    keep = lengths > 1e-9
    points = np.vstack([points[:1], points[1:][keep]])
    directions = directions[keep] / lengths[keep, None]
    normals = np.stack([-directions[:, 1], directions[:, 0]], axis=1) * half
    pieces = [
        np.array([a + n, b + n, b - n, a - n])
        for a, b, n in zip(points[:-1], points[1:], normals, strict=True)
    ]
    for i in range(1, len(points) - 1):
        n1, n2 = normals[i - 1], normals[i]
        bisector = n1 + n2
        cos_half = np.dot(bisector, n1) / (np.linalg.norm(bisector) * half + 1e-12)
        for side in (1.0, -1.0):
            if cos_half > 0.25:  # mitre no longer than 4 half-strokes, else bevel
                tip = bisector / np.linalg.norm(bisector) * (half / cos_half)
                pieces.append(
                    np.array(
                        [
                            points[i],
                            points[i] + side * n1,
                            points[i] + side * tip,
                            points[i] + side * n2,
                        ]
                    )
                )
            else:
                pieces.append(np.array([points[i], points[i] + side * n1, points[i] + side * n2]))
    return pieces


@cache
def _uk_master(char: str) -> np.ndarray:
    width_mm, paths = _uk_strokes()[char]
    scale = _MASTER_PX_PER_MM
    mask = np.zeros((round(CHAR_HEIGHT_MM * scale), round(width_mm * scale)), np.uint8)
    for path in paths:
        for piece in _stroke_polygons(path, STROKE_MM / 2):
            fixed_point = np.round(piece * scale * 16).astype(np.int32)  # 4 fractional bits
            cv2.fillConvexPoly(mask, fixed_point, 255, lineType=cv2.LINE_8, shift=4)
    return mask  # drawing outside the array is the clipping to the cell


@cache
def _truetype_master(face: str, char: str) -> np.ndarray:
    """The glyph between the cap line and the baseline, cropped to its ink left and right.

    Capitals and digits then fill the requested height; punctuation and lower case keep their
    place relative to the capitals (descenders are cut: they only occur in small print). A
    capital reaching below the baseline (the tail of Q) is squeezed in rather than cut, or it
    would read as O.
    """
    font = ImageFont.truetype(str(_FONT_DIR / _TRUETYPE_FACES[face]), _TRUETYPE_MASTER_PX)
    _, top, _, bottom = font.getbbox("H")
    left, ink_top, right, ink_bottom = font.getbbox(char)
    if char.isupper() or char.isdigit():
        top, bottom = min(top, ink_top), max(bottom, ink_bottom)
    image = Image.new("L", (int(right - left + 4), int(bottom - top)), 0)
    ImageDraw.Draw(image).text((2 - left, -top), char, font=font, fill=255)
    mask = np.asarray(image)
    columns = np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:  # a space, or a character the face lacks
        return np.zeros((mask.shape[0], mask.shape[0] // 3), np.uint8)
    return mask[:, columns[0] : columns[-1] + 1].copy()


def has_glyph(face: str, char: str) -> bool:
    return face != UK_FACE or char in _uk_strokes()


@lru_cache(maxsize=8192)
def glyph_mask(face: str, char: str, height_px: int) -> np.ndarray:
    """The coverage mask (0-255) of one character, exactly `height_px` high, at the face's own
    proportions (callers stretch whole lines, not glyphs, to keep the cache small).

    The array is shared through the cache and read-only.
    """
    master = _uk_master(char) if face == UK_FACE else _truetype_master(face, char)
    master_h, master_w = master.shape
    width = max(1, round(master_w * height_px / master_h))
    mask = cv2.resize(master, (width, height_px), interpolation=cv2.INTER_AREA)
    mask.setflags(write=False)
    return mask
