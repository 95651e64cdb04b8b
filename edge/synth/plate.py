"""Render one number plate, flat and front-on, with the boxes of its characters.

Plates are laid out in millimetres (UK: 520 x 111 mm, 79 mm characters, 11 mm between
characters, 33 mm between groups, centred in the space the side band leaves) and drawn at the
pixel height asked for; scenes and crops then warp them into perspective. Designs live in
`plate_styles`. Two-row plates put the display's first group on the first row.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.plates.formats import Registration
from edge.synth import glyphs
from edge.synth.plate_styles import (
    BAND_BLUE,
    DEALERS,
    STAR_YELLOW,
    US_INKS,
    WHITE,
    PlateStyle,
    pick,
    random_style,
)
from edge.synth.raster import Box, blend_mask, draw_text, jitter_colour, smooth_field


@dataclass(frozen=True)
class RenderedPlate:
    image: np.ndarray  # H x W x 3 uint8 BGR (OpenCV order, like the scenes)
    alpha: np.ndarray  # H x W coverage of the plate outline (rounded corners)
    char_boxes: tuple[Box, ...]  # one per character of the registration text, in order
    registration: Registration
    style: PlateStyle


def render_plate(
    rng: np.random.Generator,
    registration: Registration,
    height_px: int,
    style: PlateStyle | None = None,
) -> RenderedPlate:
    """Draw the plate `height_px` high; the style is drawn from the rng unless given."""
    style = style or random_style(rng, registration)
    width_mm, height_mm = style.size_mm
    mm = height_px / height_mm  # pixels per millimetre
    image = _background(rng, style, height_px, round(width_mm * mm))
    text_area = _draw_print(rng, image, style, mm)
    char_boxes = _draw_characters(rng, image, style, registration, mm, text_area)
    _draw_fittings(rng, image, style, mm)
    alpha = _outline_alpha(
        image.shape[0], image.shape[1], round((3 if style.design == "us" else 6) * mm)
    )
    return RenderedPlate(image, alpha, tuple(char_boxes), registration, style)


def _background(rng: np.random.Generator, style: PlateStyle, height: int, width: int) -> np.ndarray:
    ends = np.array([[style.background], [style.background_end]], np.uint8)  # 2 x 1 x 3
    image = cv2.resize(ends, (width, height), interpolation=cv2.INTER_LINEAR)  # vertical ramp
    for _ in range(style.decorations):  # a faint sun, hills or a wave behind the characters
        layer = image.copy()
        colour = jitter_colour(rng, pick(rng, (*US_INKS, (60, 160, 230))), 40)
        kind = int(rng.integers(3))
        if kind == 0:
            centre = (int(rng.integers(width)), int(rng.integers(height)))
            cv2.circle(layer, centre, int(rng.uniform(0.2, 0.6) * height), colour, -1, cv2.LINE_AA)
        elif kind == 1:
            xs = np.linspace(0, width, int(rng.integers(3, 7)))
            ys = height * rng.uniform(0.45, 0.9, xs.size)
            hill = np.vstack([np.stack([xs, ys], 1), [[width, height], [0, height]]])
            cv2.fillPoly(layer, [hill.astype(np.int32)], colour, cv2.LINE_AA)
        else:
            xs = np.arange(0, width + 8, 8, dtype=np.float64)
            phase = xs / width * rng.uniform(3, 12) + rng.uniform(0, 6)
            wave = np.stack([xs, height * (0.5 + 0.25 * np.sin(phase))], 1).astype(np.int32)
            cv2.polylines(layer, [wave], False, colour, max(1, height // 12), cv2.LINE_AA)
        opacity = float(rng.uniform(0.1, 0.3))
        image = cv2.addWeighted(image, 1.0 - opacity, layer, opacity, 0)
    return image


def _draw_print(
    rng: np.random.Generator, image: np.ndarray, style: PlateStyle, mm: float
) -> tuple[float, float, float]:
    """Bands and small print; returns the area left for the characters (left, top, bottom mm)."""
    height, width = image.shape[:2]
    width_mm, height_mm = style.size_mm
    left, top, bottom = 0.0, 0.0, height_mm
    face = style.small_face
    if style.band:
        band_w = round(50 * mm)
        cv2.rectangle(image, (0, 0), (band_w, height), jitter_colour(rng, BAND_BLUE, 15), -1)
        draw_text(
            image,
            face,
            style.band,
            (band_w / 2, height * 0.72),
            round(19 * mm),
            WHITE,
            max_width=band_w * 0.85,
        )
        if style.stars:
            for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
                star = (
                    round(band_w / 2 + 13 * mm * np.cos(angle)),
                    round((30 + 13 * np.sin(angle)) * mm),
                )
                cv2.circle(image, star, max(1, round(2 * mm)), STAR_YELLOW, -1, cv2.LINE_AA)
        left = 50.0
    if style.design == "mercosul":
        band_h = round(30 * mm)
        cv2.rectangle(image, (0, 0), (width, band_h), jitter_colour(rng, BAND_BLUE, 15), -1)
        flag = (round(width - 45 * mm), round(6 * mm), round(width - 15 * mm), round(24 * mm))
        cv2.rectangle(image, flag[:2], flag[2:], (40, 150, 30), -1)
        draw_text(image, face, "BRASIL", (width / 2, band_h / 2), round(17 * mm), WHITE)
        top = 30.0
    elif style.top_text:
        top = 24.0 if style.design == "br-grey" else 26.0
        draw_text(
            image,
            face,
            style.top_text,
            (width / 2, top / 2 * mm),
            round(top * 0.6 * mm),
            style.ink,
            max_width=width * 0.8,
        )
    if style.bottom_text:
        small_mm = 14.0 if style.design == "us" else 7.0
        bottom = height_mm - (20.0 if style.design == "us" else 0.0)
        draw_text(
            image,
            face,
            style.bottom_text,
            (width / 2, (height_mm - small_mm * 0.9) * mm),
            round(small_mm * mm),
            style.ink,
            max_width=width * 0.7,
        )
    if style.standard_mark:
        draw_text(
            image,
            face,
            "BS AU 145e",
            ((width_mm - 40) * mm, (height_mm - 5) * mm),
            round(5 * mm),
            style.ink,
        )
    return left, top, bottom


def _row_mask(
    style: PlateStyle, groups: list[str], char_h: int, mm: float, max_width: float
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One row of characters as a mask, with each character's (x, width) in it.

    Glyphs are set at the face's own width, then the whole row is stretched (or condensed to
    fit) in one resize: stretching each glyph would multiply the glyph cache's keys.
    """
    uk_spacing = style.face == glyphs.UK_FACE or style.design.startswith("uk")
    scale = style.char_height_mm / glyphs.CHAR_HEIGHT_MM
    gap_mm = glyphs.CHAR_GAP_MM * scale if uk_spacing else 0.12 * style.char_height_mm
    group_mm = glyphs.GROUP_GAP_MM * scale if uk_spacing else 0.35 * style.char_height_mm
    gap, group_gap = gap_mm * mm / style.stretch, group_mm * mm / style.stretch
    pieces: list[np.ndarray] = []
    spans: list[tuple[float, int]] = []
    x = 0.0
    for index, group in enumerate(groups):
        for position, char in enumerate(group):
            space = group_gap if index and not position else gap if pieces else 0.0
            pieces.append(np.zeros((char_h, round(x + space) - round(x)), np.uint8))
            x += space
            pieces.append(glyphs.glyph_mask(style.face, char, char_h))
            spans.append((x, pieces[-1].shape[1]))
            x += pieces[-1].shape[1]
    row = np.hstack(pieces)
    stretch = min(style.stretch, max_width / row.shape[1])
    width = max(1, round(row.shape[1] * stretch))
    row = cv2.resize(row, (width, char_h), interpolation=cv2.INTER_AREA)
    return row, [(round(start * stretch), max(1, round(w * stretch))) for start, w in spans]


def _draw_characters(
    rng: np.random.Generator,
    image: np.ndarray,
    style: PlateStyle,
    registration: Registration,
    mm: float,
    area_mm: tuple[float, float, float],
) -> list[Box]:
    left_mm, top_mm, bottom_mm = area_mm
    width = image.shape[1]
    rows = registration.display.split(" ") if style.two_rows else [registration.display]
    char_h = max(4, round(style.char_height_mm * mm))
    row_pitch = (bottom_mm - top_mm) / len(rows) * mm
    margins_mm = 12.0 if style.design.startswith("uk") else 0.12 * style.size_mm[0]
    boxes: list[Box] = []
    for row_index, row in enumerate(rows):
        groups = row.split(" ")
        mask, spans = _row_mask(style, groups, char_h, mm, width - (left_mm + margins_mm) * mm)
        x0 = round(
            left_mm * mm + (width - left_mm * mm - mask.shape[1]) / 2 + rng.normal(0, 1.5) * mm
        )
        y0 = round(top_mm * mm + row_pitch * (row_index + 0.5) - char_h / 2)
        if style.embossed:  # raised characters cast a small shadow
            shift = max(1, round(mm))
            blend_mask(image, mask, x0 + shift, y0 + shift, (90, 90, 90), 0.4)
        blend_mask(image, mask, x0, y0, style.ink)
        row_boxes = [(x0 + start, y0, w, char_h) for start, w in spans]
        if style.separator and len(groups) == 2:
            before, after = row_boxes[len(groups[0]) - 1], row_boxes[len(groups[0])]
            centre = (round((before[0] + before[2] + after[0]) / 2), round(y0 + char_h / 2))
            _draw_separator(rng, image, style, centre, mm)
        boxes.extend(row_boxes)
    return boxes


def _draw_separator(
    rng: np.random.Generator,
    image: np.ndarray,
    style: PlateStyle,
    centre: tuple[int, int],
    mm: float,
) -> None:
    """A hyphen (Brazil) or a small emblem (some US states) between the two groups."""
    if style.separator == "-":
        half_w, half_h = max(1, round(6 * mm)), max(1, round(3 * mm))
        top_left = (centre[0] - half_w, centre[1] - half_h)
        cv2.rectangle(image, top_left, (centre[0] + half_w, centre[1] + half_h), style.ink, -1)
    else:
        emblem = jitter_colour(rng, style.ink, 60)
        cv2.circle(image, centre, max(1, round(9 * mm)), emblem, -1, cv2.LINE_AA)


def _draw_fittings(
    rng: np.random.Generator, image: np.ndarray, style: PlateStyle, mm: float
) -> None:
    """Border, screws and a dealer frame: the clutter on and around real plates."""
    height, width = image.shape[:2]
    if style.border:
        inset, thick = max(1, round(3 * mm)), max(1, round(1.5 * mm))
        cv2.rectangle(
            image, (inset, inset), (width - 1 - inset, height - 1 - inset), style.ink, thick
        )
    if style.screws:
        radius = max(1, round(4.5 * mm))
        side_x = round((30 if style.screws == 4 else 22) * mm)
        row_y = [height // 2] if style.screws == 2 else [round(18 * mm), height - round(18 * mm)]
        cap = pick(rng, (style.background, (170, 172, 175), (40, 40, 40), (200, 200, 205)))
        for y in row_y:
            for x in (side_x, width - side_x):
                cv2.circle(image, (x, y), radius, jitter_colour(rng, cap, 20), -1, cv2.LINE_AA)
                cv2.circle(image, (x, y), radius, (90, 90, 90), 1, cv2.LINE_AA)
    if style.frame:
        colour = pick(rng, ((20, 20, 20), (150, 150, 155), (30, 30, 120)))
        cv2.rectangle(image, (0, 0), (width - 1, height - 1), colour, max(2, round(9 * mm)))
        strip = max(2, round(14 * mm))
        cv2.rectangle(image, (0, height - strip), (width - 1, height - 1), colour, -1)
        draw_text(
            image,
            style.small_face,
            pick(rng, DEALERS),
            (width / 2, height - strip / 2),
            round(strip * 0.6),
            (230, 230, 230),
            max_width=width * 0.6,
        )
    shade = smooth_field(rng, height, width, 3, 0.9, 1.04)  # the sheet is never evenly lit
    image[:] = cv2.multiply(image, cv2.merge([shade] * 3), dtype=cv2.CV_8U)


def _outline_alpha(height: int, width: int, radius: int) -> np.ndarray:
    alpha = np.zeros((height, width), np.uint8)
    radius = max(0, min(radius, height // 2, width // 2))
    cv2.rectangle(alpha, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
    cv2.rectangle(alpha, (0, radius), (width - 1, height - 1 - radius), 255, -1)
    for cx in (radius, width - 1 - radius):
        for cy in (radius, height - 1 - radius):
            cv2.circle(alpha, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    return alpha
