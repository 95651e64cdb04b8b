"""The synthetic road source: vehicles with plates entering, crossing and leaving a fixed camera's
view at road speeds, drawn with the project's generator (edge.synth), day or IR, at a set fps.

Drawing is kept cheap enough to feed the pipeline faster than real time: the street backdrop and
its lighting are made once per look; per frame only each vehicle's region is drawn (in the raw
colours of `edge.synth.background`, lit with the same light field as the backdrop, with a
little sensor noise) and its plate pasted in perspective (`edge.synth.camera.paste_warped`). A
vehicle's body, plate design and weathering come from its own seed, so it looks the same in
every frame. Road time is frame index / fps: deterministic by seed whatever the machine's speed.

`paced=True` sleeps to deliver frames in real time (the demo); otherwise frames come as fast as
they are asked for. Ground truth (`truth`) records, per vehicle shown, the first and last frame
its plate was wholly in the picture.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from datetime import timedelta
from typing import Any

import cv2
import numpy as np

from edge.capture.sources.base import ClockCheck, FrameSource, never_synced
from edge.capture.sources.road import PLATE_HEIGHT_MM, RoadCamera, RoadPlan, Vehicle, look_at
from edge.capture.truth import TruthRecorder
from edge.records import Frame
from edge.synth import looks
from edge.synth.background import draw_backdrop, draw_vehicle
from edge.synth.camera import bounding_box, paste_warped, plane_to_image, plate_corners, project
from edge.synth.plate import render_plate
from edge.synth.plate_styles import UK_YELLOW, WHITE, PlateStyle, random_style
from edge.synth.raster import jitter_colour, modulate, smooth_field
from edge.times import utc_now

RENDER_HEIGHTS = (16, 24, 36, 54, 81, 122)  # plates drawn at the next height up, then warped down
# the vehicle face around a plate, in plate-plane millimetres (see draw_vehicle)
VEHICLE_EXTENT_MM = np.array([[-1150, -2400], [1150, -2400], [1150, 700], [-1150, 700]], float)
IR_GAIN = 0.4
NIGHT_GAIN = 0.25
NOISE_SIGMA = {"day": 2.5, "ir": 4.0, "night": 5.0}
SQUARE_REAR_SHARE = 0.1
NOISE_BAND_ROWS = 64


def draw_street(seed: int, size: tuple[int, int]) -> np.ndarray:
    """The street in the raw colours, the same in every look. A camera pitched down the road
    sees road, not sky: a street twice as tall is drawn and its lower half kept (a copy: a view
    would keep the whole tall canvas alive), textured only there."""
    width, height = size
    tall = np.empty((2 * height, width, 3), np.uint8)
    draw_backdrop(np.random.default_rng([seed, 2]), tall, textured_from=height)
    return tall[height:].copy()


class _Look:
    """A look's backdrop (raw, shared by every look, and lit) and its light field."""

    def __init__(self, seed: int, size: tuple[int, int], look: str, raw: np.ndarray):
        width, height = size
        light_rng = np.random.default_rng([seed, 3, len(look)])
        self.look = look
        self.field = smooth_field(light_rng, height, width, 4, 0.75, 1.15)
        if look == "ir":
            self.field *= IR_GAIN
        elif look == "night":
            self.field *= NIGHT_GAIN
        self.raw = raw
        self.lit = self.light(raw, self.field)
        # sensor noise: one tile made once, cut at a random place per vehicle and frame; drawn
        # in bands (the same numbers: the generator's stream does not depend on how it is cut)
        # so the float64 temporaries are a band's, not 12.7 MB
        sigma = NOISE_SIGMA[look]
        up, down = np.empty((height, width), np.uint8), np.empty((height, width), np.uint8)
        for top in range(0, height, NOISE_BAND_ROWS):
            rows = min(NOISE_BAND_ROWS, height - top)
            noise = light_rng.normal(0.0, sigma, (rows, width)).astype(np.float32)
            up[top : top + rows] = np.clip(np.round(noise), 0, 255)
            down[top : top + rows] = np.clip(np.round(-noise), 0, 255)
        self._noise = (up, down)  # one plane: a third of the memory of three

    def noise(self, rng: np.random.Generator, height: int, width: int):
        up, down = self._noise
        y = int(rng.integers(0, up.shape[0] - height + 1))
        x = int(rng.integers(0, up.shape[1] - width + 1))
        up, down = up[y : y + height, x : x + width], down[y : y + height, x : x + width]
        return cv2.merge([up] * 3), cv2.merge([down] * 3)

    def light(self, raw: np.ndarray, field: np.ndarray) -> np.ndarray:
        if self.look == "ir":
            grey = cv2.multiply(cv2.cvtColor(raw, cv2.COLOR_BGR2GRAY), field, dtype=cv2.CV_8U)
            return cv2.merge([grey, grey, grey])
        lit = modulate(raw, field)
        if self.look == "night":
            lit = cv2.multiply(lit, (0.55, 0.8, 1.0, 1.0), dtype=cv2.CV_8U)  # sodium light
        return lit


def road_style(seed: int, vehicle: Vehicle) -> PlateStyle:
    """The plate design as on UK roads: white at the front (traffic coming towards the camera),
    yellow at the rear, and square two-row plates only at the rear, on SQUARE_REAR_SHARE of the
    vehicles going away (motorcycles, some imports; 3% of all vehicles). The generator's own
    mix, made for training crops, has square plates front and rear on 8% of plates."""
    pick = np.random.default_rng([seed, 12, vehicle.vehicle_id])
    square = vehicle.direction == "away" and pick.random() < SQUARE_REAR_SHARE
    rng = np.random.default_rng([seed, 11, vehicle.vehicle_id])
    style = random_style(rng, vehicle.registration)
    for attempt in range(1, 500):  # the generator makes 8% square: draw until it fits
        if (style.design == "uk-square") == square or not style.design.startswith("uk"):
            break
        rng = np.random.default_rng([seed, 11, vehicle.vehicle_id, attempt])
        style = random_style(rng, vehicle.registration)
    if style.design.startswith("uk"):
        colour = WHITE if vehicle.direction == "towards" else UK_YELLOW
        style = replace(
            style,
            background=jitter_colour(pick, colour, 10),
            background_end=jitter_colour(pick, colour, 14),
        )
    return style


class RoadRenderer:
    def __init__(self, seed: int, size: tuple[int, int], look: str):
        self.seed, self.size, self.look = seed, size, look
        self.camera = RoadCamera(*size)
        self._looks: dict[str, _Look] = {}
        self._street: np.ndarray | None = None
        self._plates: dict[tuple[int, int, str], tuple[np.ndarray, np.ndarray, tuple]] = {}
        self._styles: dict[int, PlateStyle] = {}

    def _look(self, name: str) -> _Look:
        if name not in self._looks:
            if self._street is None:
                self._street = draw_street(self.seed, self.size)
            self._looks[name] = _Look(self.seed, self.size, name, self._street)
        return self._looks[name]

    def render(self, t: float, vehicles: list[Vehicle], noise_seed: int):
        """The picture at road time `t` and, per vehicle, its plate box (x, y, w, h) and
        height in pixels (None when the plate is not wholly in the picture)."""
        look = self._look(look_at(self.look, t))
        frame = look.lit.copy()
        width, height = self.size
        placed: list[tuple[Vehicle, Any, float]] = []
        posed = [(v, p) for v in vehicles if (p := self.camera.pose(v, t)) is not None]
        noise_rng = np.random.default_rng([self.seed, 5, noise_seed])
        for vehicle, pose in sorted(posed, key=lambda vp: -vp[1].distance_mm):  # far first
            homography = plane_to_image(pose)
            plate_px = self.camera.plate_height_px(pose)
            image, alpha, size_mm = self._plate(vehicle, plate_px, look.look)
            region = _clip(bounding_box(project(homography, VEHICLE_EXTENT_MM)), width, height)
            if region is not None:
                self._draw_vehicle(frame, look, vehicle, homography, size_mm, region, noise_rng)
            paste_warped(frame, image, alpha, homography, size_mm)
            x, y, w, h = bounding_box(plate_corners(homography, size_mm))
            inside = x >= 0 and y >= 0 and x + w <= width and y + h <= height
            placed.append((vehicle, (x, y, w, h) if inside else None, plate_px))
        return frame, placed

    def _draw_vehicle(self, frame, look, vehicle, homography, size_mm, region, rng) -> None:
        x0, y0, x1, y1 = region
        raw = look.raw[y0:y1, x0:x1]
        patch = raw.copy()
        shift = np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1]]) @ homography
        draw_vehicle(
            np.random.default_rng([self.seed, 7, vehicle.vehicle_id]), patch, shift, size_mm
        )
        drawn = cv2.cvtColor(cv2.absdiff(patch, raw), cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(drawn, 0, 255, cv2.THRESH_BINARY)
        lit = look.light(patch, look.field[y0:y1, x0:x1])
        up, down = look.noise(rng, y1 - y0, x1 - x0)
        lit = cv2.subtract(cv2.add(lit, up), down)
        cv2.copyTo(lit, mask, frame[y0:y1, x0:x1])

    def style(self, vehicle: Vehicle) -> PlateStyle:
        if vehicle.vehicle_id not in self._styles:
            self._styles[vehicle.vehicle_id] = road_style(self.seed, vehicle)
        return self._styles[vehicle.vehicle_id]

    def _plate(self, vehicle: Vehicle, plate_px: float, look: str):
        """The vehicle's plate drawn at the render height just above its height in the picture
        (`plate_px` is for a 111 mm UK plate; square plates are taller)."""
        style = self.style(vehicle)
        height_px = plate_px * style.size_mm[1] / PLATE_HEIGHT_MM
        render_height = next((h for h in RENDER_HEIGHTS if h >= height_px), RENDER_HEIGHTS[-1])
        key = (vehicle.vehicle_id, render_height, look)
        if key not in self._plates:
            rng = np.random.default_rng([self.seed, 13, vehicle.vehicle_id])  # same at any size
            plate = render_plate(rng, vehicle.registration, render_height, style)
            image = looks.light_plate(rng, looks.weather_plate(rng, plate.image), look)
            self._plates[key] = (image, plate.alpha, style.size_mm)
        return self._plates[key]

    def forget(self, vehicle: Vehicle) -> None:
        for key in [k for k in self._plates if k[0] == vehicle.vehicle_id]:
            del self._plates[key]
        self._styles.pop(vehicle.vehicle_id, None)


class SyntheticRoad(FrameSource):
    kind = "synthetic"

    def __init__(
        self,
        *,
        seed: int = 1,
        size: tuple[int, int] = (1456, 1088),
        fps: float = 15.0,
        look: str = "ir",
        vehicles_per_minute: float = 20.0,
        paced: bool = True,
        truth: TruthRecorder | None = None,
        clock_synced: ClockCheck = never_synced,
    ):
        self.seed, self.size, self.fps, self.look = seed, size, fps, look
        self.paced, self.truth, self.clock_synced = paced, truth, clock_synced
        self.plan = RoadPlan(seed, vehicles_per_minute)
        self.live = paced  # in real time, a slow pipeline must drop frames like with a camera
        self.renderer = RoadRenderer(seed, size, look)
        self._upcoming = self.plan.vehicles()
        self._next: Vehicle = next(self._upcoming)
        self._active: deque[Vehicle] = deque()
        self.index = 0
        self.vehicles_shown = 0

    def open(self) -> None:
        self._started_mono = time.monotonic()
        self._started_utc = utc_now()

    def close(self) -> None:
        if self.truth is not None:
            self.truth.close(self.index - 1, self._started_utc)

    def describe(self) -> str:
        return (
            f"synthetic road (seed {self.seed}, {self.look}, {self.size[0]}x{self.size[1]} @ "
            f"{self.fps:g} fps, {self.plan.rate:g} vehicles/min"
            f"{'' if self.paced else ', as fast as processed'})"
        )

    def read(self, timeout_s: float) -> Frame | None:
        t = self.index / self.fps
        if self.paced:
            delay = self._started_mono + t - time.monotonic()
            if delay > 0:
                time.sleep(min(delay, timeout_s))
        while self._next.enter_s <= t:
            self._active.append(self._next)
            self._next = next(self._upcoming)
        while self._active and self._active[0].leave_s < t:
            self.renderer.forget(self._active.popleft())
        image, placed = self.renderer.render(t, list(self._active), self.index)
        if self.truth is not None:
            for vehicle, box, plate_px in placed:
                if box is not None:
                    self.truth.saw(
                        vehicle,
                        self.index,
                        plate_px,
                        look_at(self.look, t),
                        self.renderer.style(vehicle).design,
                    )
        frame = Frame(
            index=self.index,
            image=image,
            captured_at=self._started_utc + timedelta(seconds=t),
            monotonic_s=self._started_mono + t,
            clock_synced=self.clock_synced(),
        )
        self.index += 1
        return frame

    def details(self) -> dict[str, Any]:
        return {"on_road": len(self._active)}


def _clip(box: tuple[int, int, int, int], width: int, height: int):
    x, y, w, h = box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)
