"""Street backdrops and vehicle faces, drawn cheaply with OpenCV primitives.

Nothing here has to look like a photograph; it has to give a detector the structures that sit
around real plates (bumpers, lights, grilles, windscreens, wheels, kerbs, lane markings,
windows) so that "a bright rectangle with dark marks" is not enough to call something a plate.
Vehicle faces are drawn in the plate's plane (millimetres from the plate centre) through the
plate's homography, so vehicle and plate share one perspective.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.synth import glyphs
from edge.synth.camera import project
from edge.synth.plate_styles import pick
from edge.synth.raster import Colour, add_signed, draw_text, fill, jitter_colour, smooth_field

BODY_COLOURS: tuple[Colour, ...] = (
    (235, 235, 235), (190, 190, 192), (140, 140, 145), (40, 40, 42), (20, 20, 22),
    (130, 60, 20), (40, 40, 160), (30, 80, 30), (60, 30, 30), (180, 190, 200), (40, 110, 200),
)  # fmt: skip


def draw_backdrop(rng: np.random.Generator, canvas: np.ndarray, textured_from: int = 0) -> None:
    """Sky, buildings and trees above a horizon, road with markings and a kerb below it.
    Rows above `textured_from` are left without their stains and grit (a caller that keeps
    only the rows below saves the full-height float temporaries); the rows below are the same
    as when the whole canvas is textured."""
    height, width = canvas.shape[:2]
    horizon = int(height * rng.uniform(0.15, 0.55)) if rng.random() < 0.75 else 0
    sky = jitter_colour(rng, pick(rng, ((235, 206, 170), (210, 210, 210), (120, 110, 100))), 25)
    fill(canvas, sky, 0, horizon)
    x = int(-rng.integers(0, width // 4 + 1))
    while x < width and horizon > 0:  # a row of facades with windows
        facade_w = int(rng.uniform(0.15, 0.5) * width)
        top = int(horizon * rng.uniform(0.0, 0.6))
        colour = jitter_colour(rng, pick(rng, ((90, 110, 150), (150, 160, 170), (60, 70, 90))), 30)
        cv2.rectangle(canvas, (x, top), (x + facade_w, horizon), colour, -1)
        _windows(rng, canvas, (x, top, facade_w, horizon - top))
        x += facade_w
    for _ in range(int(rng.integers(0, 4)) if horizon else 0):
        centre = (int(rng.integers(width)), horizon - int(rng.integers(0, max(1, horizon // 2))))
        axes = (int(rng.uniform(0.04, 0.15) * width), int(rng.uniform(0.1, 0.4) * max(horizon, 1)))
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, jitter_colour(rng, (40, 90, 50), 25), -1)
    asphalt = int(rng.integers(60, 140))
    fill(canvas, jitter_colour(rng, (asphalt, asphalt, asphalt + 4), 8), horizon)
    _road_markings(rng, canvas, horizon)
    # stains and wear at a coarse scale, grit at a scale of a few pixels
    coarse = smooth_field(rng, height, width, int(rng.integers(4, 12)), -12.0, 12.0)
    if textured_from:
        coarse = coarse[textured_from:].copy()  # lets the full-height field go
    grit = smooth_field(rng, height, width, max(8, width // 3), -10.0, 10.0)[textured_from:]
    kept = canvas[textured_from:]
    add_signed(kept, cv2.add(coarse, grit, dst=coarse), out=kept)


def _windows(
    rng: np.random.Generator, canvas: np.ndarray, facade: tuple[int, int, int, int]
) -> None:
    x, y, w, h = facade
    size = int(rng.uniform(0.04, 0.12) * canvas.shape[0]) + 2
    glass = jitter_colour(rng, (70, 60, 50), 25)
    for wy in range(y + size // 2, y + h - size, size * 2):
        for wx in range(x + size // 2, x + w - size, int(size * 1.6)):
            cv2.rectangle(canvas, (wx, wy), (wx + size, wy + size), glass, -1)


def _road_markings(rng: np.random.Generator, canvas: np.ndarray, horizon: int) -> None:
    """Dashed lane lines running to a vanishing point, and sometimes a kerb and pavement."""
    height, width = canvas.shape[:2]
    vanish_x = float(rng.uniform(0.2, 0.8) * width)
    paint = pick(rng, ((230, 230, 230), (60, 200, 230)))
    for _ in range(int(rng.integers(0, 3))):
        foot = float(rng.uniform(-0.5, 1.5) * width)
        thickness = int(rng.integers(2, max(3, width // 80)))

        def along(t: float, foot: float = foot) -> tuple[int, int]:
            return int(vanish_x + (foot - vanish_x) * t), int(horizon + (height - horizon) * t)

        for t in np.arange(0.0, 1.0, 0.12):  # dashes, shorter towards the horizon
            cv2.line(canvas, along(t), along(t + 0.06), paint, thickness, cv2.LINE_AA)
    if rng.random() < 0.6:
        y_left, y_right = (int(horizon + rng.uniform(0, 1) * (height - horizon)) for _ in range(2))
        kerb = np.array([[0, y_left], [width, y_right], [width, height], [0, height]], np.int32)
        if rng.random() < 0.5:  # pavement above the kerb line instead of below it
            kerb[2:, 1] = horizon
        cv2.fillPoly(canvas, [kerb], jitter_colour(rng, (165, 165, 160), 10), cv2.LINE_AA)
        edge_width = max(2, height // 100)
        cv2.line(canvas, (0, y_left), (width, y_right), (215, 215, 210), edge_width, cv2.LINE_AA)


def _fill(canvas: np.ndarray, homography: np.ndarray, points: list, colour: Colour) -> np.ndarray:
    image_points = project(homography, np.asarray(points, np.float64))
    clipped = np.clip(np.round(image_points), -30000, 30000).astype(np.int32)
    cv2.fillPoly(canvas, [clipped], colour, cv2.LINE_AA)
    return image_points


def _box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _line(
    canvas: np.ndarray, homography: np.ndarray, a, b, colour: tuple[int, ...], width: int
) -> None:
    ends = np.clip(np.round(project(homography, np.array([a, b], np.float64))), -30000, 30000)
    (x0, y0), (x1, y1) = ends.astype(int)
    cv2.line(canvas, (int(x0), int(y0)), (int(x1), int(y1)), colour, width, cv2.LINE_AA)


def draw_vehicle(
    rng: np.random.Generator,
    canvas: np.ndarray,
    homography: np.ndarray,
    plate_size_mm: tuple[float, float],
) -> list[tuple[float, float]]:
    """A car or van face around the plate at the plane origin; returns the lamps' image points.

    The plate itself is not drawn: the caller pastes it last, so nothing covers it.
    """
    plate_w, plate_h = plate_size_mm
    half = float(rng.uniform(780, 1000))
    dx = float(rng.normal(0, 60))  # plates are not always centred
    left, right = dx - half, dx + half
    ground = float(rng.uniform(280, 480))
    van = rng.random() < 0.2
    body = jitter_colour(rng, pick(rng, BODY_COLOURS), 12)
    dark = jitter_colour(rng, (35, 35, 38), 10)
    bumper_top = -plate_h / 2 - float(rng.uniform(60, 200))
    bumper_bottom = ground - float(rng.uniform(100, 200))
    waist = bumper_top - float(rng.uniform(250, 550))
    roof = waist - float(rng.uniform(1000, 1300) if van else rng.uniform(450, 650))
    # wheels and the shadow under the car, then the body from the ground up
    for side in (left + 60, right - 310):
        _fill(canvas, homography, _box(side, bumper_bottom - 80, side + 250, ground), dark)
    _fill(canvas, homography, _box(left + 40, bumper_bottom, right - 40, ground), (15, 15, 15))
    lower = [(left + 20, waist), (right - 20, waist), (right, bumper_bottom), (left, bumper_bottom)]
    _fill(canvas, homography, lower, body)
    inset = 30.0 if van else float(rng.uniform(120, 260))
    upper = [
        (left + inset + 60, roof),
        (right - inset - 60, roof),
        (right - 20, waist),
        (left + 20, waist),
    ]
    _fill(canvas, homography, upper, body)
    glass = jitter_colour(rng, (70, 60, 55), 20)
    glass_bottom = roof + 450 if van else waist - 40
    pane = [
        (left + inset + 120, roof + 60),
        (right - inset - 120, roof + 60),
        (right - inset - 40, glass_bottom),
        (left + inset + 40, glass_bottom),
    ]
    _fill(canvas, homography, pane, glass)
    if van:  # the split between the rear doors
        _line(canvas, homography, (dx, roof + 60), (dx, bumper_top), dark, 2)
    bumper_colour = body if rng.random() < 0.6 else dark
    _fill(canvas, homography, _box(left - 10, bumper_top, right + 10, bumper_bottom), bumper_colour)
    _line(
        canvas,
        homography,
        (left + 20, waist + 25),
        (right - 20, waist + 25),
        tuple(min(255, c + 40) for c in body),
        2,
    )
    if rng.random() < 0.6:  # a recess or holder around the plate
        m = float(rng.uniform(15, 60))
        recess = _box(-plate_w / 2 - m, -plate_h / 2 - m, plate_w / 2 + m, plate_h / 2 + m)
        _fill(canvas, homography, recess, jitter_colour(rng, dark, 20))
    front = rng.random() < 0.5
    lamps = _lamps(rng, canvas, homography, (left, right), (waist, bumper_top), front)
    if front:
        _grille(rng, canvas, homography, (dx, bumper_top), (right - left) * 0.28)
    return lamps


def _lamps(
    rng: np.random.Generator,
    canvas: np.ndarray,
    homography: np.ndarray,
    sides: tuple[float, float],
    band: tuple[float, float],
    front: bool,
) -> list[tuple[float, float]]:
    lamp_w, lamp_h = float(rng.uniform(200, 380)), float(rng.uniform(70, 160))
    y = band[0] + (band[1] - band[0]) * float(rng.uniform(0.2, 0.7))
    colour = jitter_colour(rng, (225, 225, 215) if front else (40, 40, 200), 20)
    centres = []
    for x in (sides[0] + 60, sides[1] - 60 - lamp_w):
        points = _fill(canvas, homography, _box(x, y, x + lamp_w, y + lamp_h), colour)
        inner = _box(x + lamp_w * 0.3, y + lamp_h * 0.2, x + lamp_w * 0.6, y + lamp_h * 0.8)
        _fill(canvas, homography, inner, (40, 140, 240) if not front else (255, 255, 255))
        centres.append(tuple(points.mean(axis=0)))
    return centres


def _grille(
    rng: np.random.Generator,
    canvas: np.ndarray,
    homography: np.ndarray,
    centre: tuple[float, float],
    half_width: float,
) -> None:
    """Repeated bars above the plate, with a badge: the classic false plate."""
    x, bottom = centre
    top = bottom - float(rng.uniform(180, 320))
    _fill(canvas, homography, _box(x - half_width, top, x + half_width, bottom - 20), (25, 25, 28))
    bars = int(rng.integers(3, 9))
    chrome = jitter_colour(rng, (170, 170, 175), 40)
    horizontal = rng.random() < 0.6
    for i in range(bars):
        t = (i + 0.5) / bars
        if horizontal:
            y = top + (bottom - 20 - top) * t
            _fill(canvas, homography, _box(x - half_width, y - 8, x + half_width, y + 8), chrome)
        else:
            bx = x - half_width + 2 * half_width * t
            _fill(canvas, homography, _box(bx - 8, top, bx + 8, bottom - 20), chrome)
    badge = _fill(canvas, homography, _box(x - 60, top + 40, x + 60, top + 110), (200, 200, 205))
    if rng.random() < 0.5:  # a maker's name on the badge
        name = "".join(pick(rng, "ABCDEFGHKLMNPRSTVW") for _ in range(int(rng.integers(2, 5))))
        height = int(abs(badge[2, 1] - badge[0, 1]) * 0.6)
        centre = tuple(badge.mean(axis=0))
        draw_text(canvas, pick(rng, glyphs.FACES), name, centre, height, (40, 40, 40))
