"""Compose labelled road scenes (for the detector) and plate crops (for the recogniser).

A scene: a street backdrop, 0-3 vehicles each carrying a plate posed in 3D, distractors that
are not plates, a look (day, infrared, night) and camera degradations. Labels are the
axis-aligned boxes of the warped plate outlines; plates are placed wholly inside the frame and
apart from each other, distractors and the timestamp, so every label is complete and true.

A crop: one plate as a detector would hand it over (box jittered and padded), with the same
looks and degradations, at the plate's native resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.plates.formats import Registration, random_foreign, random_registration
from edge.synth import looks
from edge.synth.background import draw_backdrop, draw_vehicle
from edge.synth.camera import bounding_box, paste_warped, plane_to_image, plate_corners, random_pose
from edge.synth.distractors import draw_distractors, draw_timestamp, timestamp_box
from edge.synth.plate import render_plate
from edge.synth.plate_styles import PlateStyle, random_style
from edge.synth.raster import Box, add_signed, fill, jitter_colour, random_colour, smooth_field

REGIONS = ("gb", "foreign", "mixed")
GB_SHARE_OF_MIXED = 0.75
NEGATIVE_SHARE = 0.10  # scenes with no plate at all
PLATES_PER_SCENE = (1, 2, 3)
PLATES_PER_SCENE_SHARES = (0.6, 0.28, 0.12)
# Plates are drawn at the first of these heights at or above their size in the picture, then
# warped down: a few sizes keep the glyph cache small, and shrinking by less than 1.5x with
# bilinear warping does not alias.
RENDER_HEIGHTS = (16, 24, 36, 54, 81, 122, 182, 273, 410)


@dataclass(frozen=True)
class PlateLabel:
    text: str
    format: str | None  # a UK format, or None for a foreign-looking plate
    box: Box  # x, y, w, h in pixels, inside the image
    country: str  # ISO 3166 alpha-2 ("GB"), or "" for the made-up foreign designs


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # H x W x 3 uint8 BGR
    plates: tuple[PlateLabel, ...]


@dataclass(frozen=True)
class PlateCrop:
    image: np.ndarray  # H x W x 3 uint8 BGR, the plate at its native resolution
    text: str  # two-row plates: the first row, then the second
    format: str | None
    box: Box  # the plate outline's box inside the crop (clipped)
    country: str


@dataclass(frozen=True)
class _Placement:
    registration: Registration
    style: PlateStyle
    homography: np.ndarray
    box: Box
    height_px: float


def random_plate_registration(rng: np.random.Generator, region: str) -> Registration:
    if region not in REGIONS:
        raise ValueError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
    if region == "gb" or (region == "mixed" and rng.random() < GB_SHARE_OF_MIXED):
        return random_registration(rng)
    return random_foreign(rng)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(max(low, high)))))


def _plate_height_px(style: PlateStyle, uk_equivalent_px: float) -> float:
    """The height of a plate whose characters are as tall as those of a UK plate of
    `uk_equivalent_px`: square and US plates are taller for the same characters, and
    readability (what the height range is about) depends on the characters."""
    uk_ratio = 79.0 / 111.0
    return uk_equivalent_px * uk_ratio / (style.char_height_mm / style.size_mm[1])


def _render_height(height_px: float) -> int:
    return next((h for h in RENDER_HEIGHTS if h >= height_px), RENDER_HEIGHTS[-1])


def _lit_plate(
    rng: np.random.Generator, placement: _Placement, look: str
) -> tuple[np.ndarray, np.ndarray]:
    """The plate drawn, weathered and lit for `look`, and its outline alpha."""
    plate = render_plate(
        rng, placement.registration, _render_height(placement.height_px), placement.style
    )
    image = looks.light_plate(rng, looks.weather_plate(rng, plate.image), look)
    return image, plate.alpha


def _label(placement: _Placement) -> PlateLabel:
    fmt = placement.registration.format
    return PlateLabel(placement.registration.text, fmt, placement.box, "GB" if fmt else "")


def _intersects(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _vehicle_zone(box: Box) -> Box:
    """Roughly where the plate's vehicle is drawn: a car is ~3.5 plate widths wide and its roof
    ~12 plate heights above the plate."""
    x, y, w, h = box
    return x - round(1.3 * w), y - 12 * h, w + round(2.6 * w), 15 * h


def _clashes(box: Box, placed: list[Box], reserved: list[Box]) -> bool:
    """Plates must not overlap reserved areas, nor sit on another plate's vehicle: vehicles are
    drawn before all plates, so a plate there would float in front of the other car."""
    if any(_intersects(box, other) for other in reserved):
        return True
    zone = _vehicle_zone(box)
    return any(
        _intersects(zone, other) or _intersects(box, _vehicle_zone(other)) for other in placed
    )


def _place_plates(
    rng: np.random.Generator,
    size: tuple[int, int],
    plate_height: tuple[float, float],
    region: str,
    reserved: list[Box],
) -> list[_Placement]:
    width, height = size
    count = 0
    if rng.random() >= NEGATIVE_SHARE:
        count = PLATES_PER_SCENE[int(rng.choice(len(PLATES_PER_SCENE), p=PLATES_PER_SCENE_SHARES))]
    placements: list[_Placement] = []
    for _ in range(count):
        registration = random_plate_registration(rng, region)
        style = random_style(rng, registration)
        aspect = style.size_mm[0] / style.size_mm[1]
        fits = min(plate_height[1], 0.8 * width / aspect, 0.5 * height)  # room for any pose
        target = min(fits, _plate_height_px(style, _log_uniform(rng, plate_height[0], fits)))
        for _attempt in range(8):
            centre = (float(rng.uniform(0, width)), float(rng.uniform(0.25 * height, height)))
            pose = random_pose(rng, style.size_mm[1], target, centre)
            homography = plane_to_image(pose)
            box = bounding_box(plate_corners(homography, style.size_mm))
            x, y, w, h = box
            inside = x >= 0 and y >= 0 and x + w <= width and y + h <= height
            if inside and not _clashes(box, [p.box for p in placements], reserved):
                placements.append(_Placement(registration, style, homography, box, target))
                break
    return sorted(placements, key=lambda p: p.height_px)  # far (small) vehicles first


def _bare_vehicles(
    rng: np.random.Generator, canvas: np.ndarray, plate_height: tuple[float, float]
) -> list[tuple[float, float]]:
    height, width = canvas.shape[:2]
    lamps: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(0, 3))):
        centre = (float(rng.uniform(0, width)), float(rng.uniform(0.25 * height, height)))
        plate_px = _log_uniform(rng, plate_height[0], min(plate_height[1], 0.2 * height))
        pose = random_pose(rng, 111.0, plate_px, centre)
        lamps += draw_vehicle(rng, canvas, plane_to_image(pose), (520.0, 111.0))
    return lamps


def render_scene(
    rng: np.random.Generator,
    size: tuple[int, int] = (1456, 1088),
    *,
    plate_height: tuple[float, float] = (15.0, 250.0),
    look: str = "mixed",
    region: str = "mixed",
    draw_plates: bool = True,
) -> Scene:
    """A road scene of `size` (width, height) with its plate labels.

    `plate_height` bounds the plates' heights in pixels (drawn log-uniformly, and kept small
    enough to fit the frame). `draw_plates=False` makes the same scene with the plates left
    out (the rng is used identically): a matched negative, and a check that labels and pixels
    agree.
    """
    width, height = size
    look = looks.choose_look(rng, look)
    canvas = np.empty((height, width, 3), np.uint8)
    draw_backdrop(rng, canvas)
    stamp = timestamp_box(rng, canvas.shape) if rng.random() < 0.4 else None
    reserved = [stamp[0]] if stamp else []
    placements = _place_plates(rng, size, plate_height, region, reserved)
    lamps: list[tuple[float, float]] = []
    if not placements:  # negatives still show vehicles, just no readable plate
        lamps += _bare_vehicles(rng, canvas, plate_height)
    for placement in placements:
        lamps += draw_vehicle(rng, canvas, placement.homography, placement.style.size_mm)
    avoid = reserved + [p.box for p in placements]
    draw_distractors(rng, canvas, avoid, int(rng.integers(1, 7)))
    canvas = looks.light_background(rng, canvas, look)
    for placement in placements:
        image, alpha = _lit_plate(rng, placement, look)
        if draw_plates:
            paste_warped(canvas, image, alpha, placement.homography, placement.style.size_mm)
    if look == "night":
        looks.add_glare(rng, canvas, lamps)
    smallest = min((p.box[3] for p in placements), default=60)
    degradation = looks.random_degradation(rng, look, smallest)
    canvas = looks.degrade(rng, canvas, degradation)
    if stamp:
        draw_timestamp(canvas, *stamp)
    canvas = looks.compress(canvas, degradation.jpeg_quality)
    return Scene(canvas, tuple(_label(p) for p in placements))


def _detector_window(rng: np.random.Generator, corners: np.ndarray) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) a detector might return around a plate outline: padded by 0-20% a
    side, shifted by up to 8% of the plate height, scaled by up to 10%."""
    (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
    box_w, box_h = right - left, bottom - top
    pad_left, pad_top, pad_right, pad_bottom = rng.uniform(0.0, 0.2, 4) * [
        box_w,
        box_h,
        box_w,
        box_h,
    ]
    shift = rng.uniform(-0.08, 0.08, 2) * box_h
    scale = float(rng.uniform(0.9, 1.1))
    centre = np.array([right + pad_right + left - pad_left, bottom + pad_bottom + top - pad_top])
    centre = centre / 2 + shift
    half = np.array([box_w + pad_left + pad_right, box_h + pad_top + pad_bottom]) * scale / 2
    x0, y0 = np.floor(centre - half).astype(int)
    x1, y1 = np.ceil(centre + half).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def _clip(box: Box, width: int, height: int) -> Box:
    x, y, w, h = box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    return x0, y0, x1 - x0, y1 - y0


def render_crop(
    rng: np.random.Generator,
    *,
    plate_height: tuple[float, float] = (12.0, 120.0),
    look: str = "mixed",
    region: str = "mixed",
) -> PlateCrop:
    """One plate, seen with a small perspective, cut out as a detector would (see
    `_detector_window`), with the looks and degradations of scenes, at native resolution."""
    look = looks.choose_look(rng, look)
    registration = random_plate_registration(rng, region)
    style = random_style(rng, registration)
    target = min(plate_height[1], _plate_height_px(style, _log_uniform(rng, *plate_height)))
    pose = random_pose(rng, style.size_mm[1], target, (0.0, 0.0), max_angle=15.0)
    x0, y0, x1, y1 = _detector_window(rng, plate_corners(plane_to_image(pose), style.size_mm))
    homography = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1]]) @ plane_to_image(pose)
    canvas = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    fill(canvas, jitter_colour(rng, random_colour(rng, 30, 220), 10))  # where no vehicle is
    texture = smooth_field(rng, canvas.shape[0], canvas.shape[1], 6, -25.0, 25.0)
    canvas = add_signed(canvas, texture)
    lamps = draw_vehicle(rng, canvas, homography, style.size_mm)
    canvas = looks.light_background(rng, canvas, look)
    box = bounding_box(plate_corners(homography, style.size_mm))
    placement = _Placement(registration, style, homography, box, target)
    image, alpha = _lit_plate(rng, placement, look)
    paste_warped(canvas, image, alpha, homography, style.size_mm)
    if look == "night":
        looks.add_glare(rng, canvas, lamps)
    degradation = looks.random_degradation(rng, look, target)
    canvas = looks.compress(looks.degrade(rng, canvas, degradation), degradation.jpeg_quality)
    label = _label(placement)
    box = _clip(box, canvas.shape[1], canvas.shape[0])
    return PlateCrop(canvas, label.text, label.format, box, label.country)
