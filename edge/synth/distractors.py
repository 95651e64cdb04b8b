"""Things that look a little like plates but are not: the detector's hard negatives.

Road signs with words and numbers, notices and banners with lettering, phone numbers and web
addresses as on vans, logos, hazard stripes, shutters and railings, and the timestamp a CCTV
camera burns into its frames. Each is placed away from the plates' boxes, so labels stay true.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.synth import glyphs
from edge.synth.plate_styles import pick, truetype_face
from edge.synth.raster import Box, Colour, draw_text, jitter_colour, random_colour

WORDS = (
    "BUS STOP", "NO ENTRY", "CITY CENTRE", "SLOW", "STOP", "ONE WAY", "PARKING", "KEEP CLEAR",
    "PLUMBING", "SERVICES", "EXPRESS", "LOGISTICS", "BUILDERS", "DELIVERY", "ROOFING", "TAXI",
    "MOTORS", "GARAGE", "ELECTRICAL", "CATERING", "FLOWERS", "BAKERY", "COFFEE", "VAN HIRE",
    "A34 OXFORD", "M6 NORTH", "TOWN HALL", "HOSPITAL", "PAY AND DISPLAY", "NO WAITING",
)  # fmt: skip
# saturated colours that plates do not use
SIGN_COLOURS: tuple[Colour, ...] = (
    (140, 60, 10), (40, 110, 20), (30, 30, 180), (20, 120, 230), (110, 30, 110), (30, 60, 100),
)  # fmt: skip


def _overlaps(box: Box, others: list[Box]) -> bool:
    x, y, w, h = box
    return any(
        x < ox + ow and ox < x + w and y < oy + oh and oy < y + h for ox, oy, ow, oh in others
    )


def _free_box(
    rng: np.random.Generator, canvas_shape: tuple[int, ...], size: tuple[int, int], avoid: list[Box]
) -> Box | None:
    height, width = canvas_shape[:2]
    w, h = size
    if w >= width or h >= height:
        return None
    for _ in range(10):
        box = (int(rng.integers(0, width - w)), int(rng.integers(0, height - h)), w, h)
        if not _overlaps(box, avoid):
            return box
    return None


def _random_code(rng: np.random.Generator, length: int) -> str:
    return "".join(pick(rng, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(length))


def _phone_number(rng: np.random.Generator) -> str:
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, 9))
    return pick(rng, ("0800 ", "01", "07", "020 ", "TEL ")) + digits[:3] + " " + digits[3:]


def _sign(rng: np.random.Generator, canvas: np.ndarray, box: Box) -> None:
    """A coloured sign or notice: one to three lines of words, or a speed-limit roundel."""
    x, y, w, h = box
    if rng.random() < 0.25:
        centre, radius = (x + w // 2, y + h // 2), min(w, h) // 2
        cv2.circle(canvas, centre, radius, (245, 245, 245), -1, cv2.LINE_AA)
        cv2.circle(canvas, centre, radius, (30, 30, 200), max(2, radius // 5), cv2.LINE_AA)
        limit = pick(rng, ("20", "30", "40", "50", "60", "70"))
        height = max(3, radius * 4 // 5)
        draw_text(
            canvas, truetype_face(rng), limit, centre, height, (20, 20, 20), max_width=radius * 1.3
        )
        return
    background = pick(rng, SIGN_COLOURS) if rng.random() < 0.7 else (240, 240, 240)
    ink = (245, 245, 245) if background != (240, 240, 240) else (20, 20, 20)
    cv2.rectangle(canvas, (x, y), (x + w, y + h), jitter_colour(rng, background, 15), -1)
    cv2.rectangle(canvas, (x, y), (x + w, y + h), ink, max(1, min(w, h) // 25))
    lines = int(rng.integers(1, 4))
    face = truetype_face(rng)
    for i in range(lines):
        text = pick(rng, WORDS) if rng.random() < 0.8 else _phone_number(rng)
        line_centre = (x + w / 2, y + h * (i + 0.5) / lines)
        height = max(3, int(h / lines * 0.55))
        draw_text(canvas, face, text, line_centre, height, ink, max_width=w * 0.9)


def _lettering(rng: np.random.Generator, canvas: np.ndarray, box: Box) -> None:
    """Bare lettering as on a van side or shop front: long words, phone numbers, codes."""
    x, y, w, h = box
    kind = int(rng.integers(3))
    text = (pick(rng, WORDS), _phone_number(rng), "WWW." + _random_code(rng, 6) + ".CO.UK")[kind]
    if rng.random() < 0.3:  # a bare short code is the hardest negative; keep it in colour
        text = _random_code(rng, int(rng.integers(3, 6))) + " " + pick(rng, WORDS)
    colour = (
        random_colour(rng) if rng.random() < 0.5 else pick(rng, ((20, 20, 20), (240, 240, 240)))
    )
    draw_text(canvas, pick(rng, glyphs.FACES), text, (x + w / 2, y + h / 2), h, colour, max_width=w)


def _stripes(rng: np.random.Generator, canvas: np.ndarray, box: Box) -> None:
    """Hazard chevrons, shutters and railings: repeated bars a detector may take for text."""
    x, y, w, h = box
    first, second = pick(
        rng,
        (
            ((0, 200, 240), (20, 20, 20)),
            ((240, 240, 240), (30, 30, 200)),
            ((150, 150, 150), (60, 60, 60)),
        ),
    )
    cv2.rectangle(canvas, (x, y), (x + w, y + h), first, -1)
    pitch = max(4, int(rng.uniform(0.08, 0.3) * min(w, h)))
    slant = int(rng.choice([0, h]))
    vertical = rng.random() < 0.5
    for offset in range(0, (w if vertical else h) + h, pitch * 2):
        if vertical:
            a, b = (x + offset, y), (x + offset - slant, y + h)
        else:
            a, b = (x, y + offset), (x + w, y + offset)
        cv2.line(canvas, a, b, second, pitch, cv2.LINE_AA)


def _logo(rng: np.random.Generator, canvas: np.ndarray, box: Box) -> None:
    x, y, w, h = box
    centre, axes = (x + w // 2, y + h // 2), (w // 2, h // 2)
    colour = random_colour(rng, 60, 256)
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, colour, -1, cv2.LINE_AA)
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, (30, 30, 30), max(1, h // 12), cv2.LINE_AA)
    name = _random_code(rng, int(rng.integers(1, 4)))
    draw_text(
        canvas, truetype_face(rng), name, centre, max(3, h // 2), (20, 20, 20), max_width=w * 0.7
    )


def draw_distractors(
    rng: np.random.Generator, canvas: np.ndarray, avoid: list[Box], count: int
) -> None:
    """Draw up to `count` distractors, none overlapping a box in `avoid`."""
    height = canvas.shape[0]
    for _ in range(count):
        kind = int(rng.integers(4))
        h = int(height * np.exp(rng.uniform(np.log(0.02), np.log(0.2))))
        aspect = (
            rng.uniform(1.0, 2.5),
            rng.uniform(3.0, 12.0),
            rng.uniform(0.5, 6.0),
            rng.uniform(1.0, 2.0),
        )[kind]
        box = _free_box(rng, canvas.shape, (max(4, int(h * aspect)), max(4, h)), avoid)
        if box is not None:
            (_sign, _lettering, _stripes, _logo)[kind](rng, canvas, box)


def timestamp_box(rng: np.random.Generator, canvas_shape: tuple[int, ...]) -> tuple[Box, str]:
    """Where a CCTV timestamp goes (a corner band) and its text; drawn late by `draw_timestamp`."""
    height, width = canvas_shape[:2]
    numbers = rng.integers([2015, 1, 1, 0, 0, 0, 1], [2031, 13, 29, 24, 60, 60, 17])
    year, month, day, hour, minute, second, camera = (int(n) for n in numbers)
    text = f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}  CAM {camera:02d}"
    text_h = max(8, int(height * rng.uniform(0.02, 0.04)))
    text_w = int(text_h * 0.62 * len(text))
    x = 4 if rng.random() < 0.6 else max(4, width - text_w - 4)
    y = 4 if rng.random() < 0.6 else max(4, height - text_h - 4)
    return (x, y, min(text_w, width - x), text_h), text


def draw_timestamp(canvas: np.ndarray, box: Box, text: str) -> None:
    """White text with a black outline, as camera firmware burns it in."""
    x, y, w, h = box
    face = glyphs.TRUETYPE_FACES[0] if glyphs.TRUETYPE_FACES else glyphs.UK_FACE
    centre = (x + w / 2, y + h / 2)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        draw_text(canvas, face, text, (centre[0] + dx, centre[1] + dy), h, (0, 0, 0), max_width=w)
    draw_text(canvas, face, text, centre, h, (255, 255, 255), max_width=w)
