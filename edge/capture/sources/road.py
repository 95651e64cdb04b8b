"""The synthetic road's plan and geometry: which vehicles come, when, how fast, and where each
plate appears in the picture at any moment. Nothing is drawn here (see `synthetic`).

The camera hangs 3 m above plate height, pitched 19° down the road, focal 2800 px on a
1456×1088 sensor (the Pi global-shutter camera behind a ~6 mm lens): a plate enters at the top
of the picture about 20 m away and ~14 px high and leaves at the bottom ~6.5 m away and ~45 px
high. Traffic towards the camera uses the near lane (front plates); traffic going away uses the
other lane (rear plates) and enters at the bottom. Speeds are 25–75 mph, arrivals random
(Poisson) with a minimum headway per lane. All of it is drawn from one seed, so a plan can be
listed without rendering a frame (the demo signs a hotlist of plates that will appear).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edge.plates.formats import Registration, random_registration
from edge.synth.camera import Pose

CAMERA_HEIGHT_M = 3.0  # above the plates
PITCH_DEG = 19.0
FOCAL_PX = 2800.0
PLATE_HEIGHT_MM = 111.0
NEAR_Z_M, FAR_Z_M = 4.5, 26.0  # along the road: where a vehicle is in the plan
LANES_M = {"towards": -0.9, "away": 1.4}  # lateral centre of each lane
TOWARDS_SHARE = 0.7
MIN_HEADWAY_S = 1.2
MPH = 0.44704
LOOK_PERIOD_S = 30.0  # `mixed` alternates day and IR every 30 s of road time
MIXED_LOOKS = ("day", "ir")


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: int
    registration: Registration
    direction: str  # towards / away
    lateral_m: float
    speed_mps: float
    enter_s: float  # road time when it enters the planned stretch

    @property
    def plate(self) -> str:
        return self.registration.text

    def distance_at(self, t: float) -> float | None:
        """Distance along the road (m) at road time `t`, or None when off the stretch."""
        travelled = (t - self.enter_s) * self.speed_mps
        if travelled < 0 or travelled > FAR_Z_M - NEAR_Z_M:
            return None
        return FAR_Z_M - travelled if self.direction == "towards" else NEAR_Z_M + travelled

    @property
    def leave_s(self) -> float:
        return self.enter_s + (FAR_Z_M - NEAR_Z_M) / self.speed_mps


class RoadPlan:
    """The vehicles of a road, in order of arrival, deterministic by seed."""

    def __init__(self, seed: int, vehicles_per_minute: float = 20.0):
        self.seed = seed
        self.rate = vehicles_per_minute

    def vehicles(self) -> Iterator[Vehicle]:
        """In order of entering the road. A vehicle arriving while its lane is busy enters
        later (the headway), so one arriving after it in the other lane may enter first: they
        wait in a heap until no later arrival could enter before them."""
        rng = np.random.default_rng([self.seed, 1])
        t = 0.5
        lane_free = dict.fromkeys(LANES_M, 0.0)
        waiting: list[tuple[float, int, Vehicle]] = []
        vehicle_id = 0
        while True:
            t += float(rng.exponential(60.0 / self.rate))
            direction = "towards" if rng.random() < TOWARDS_SHARE else "away"
            speed = float(np.clip(rng.normal(50, 10), 25, 75)) * MPH
            start = max(t, lane_free[direction])
            lane_free[direction] = start + MIN_HEADWAY_S + 4.0 / speed  # a car length or so
            lateral = LANES_M[direction] + float(rng.uniform(-0.3, 0.3))
            registration = random_registration(rng)
            vehicle = Vehicle(vehicle_id, registration, direction, lateral, speed, start)
            heapq.heappush(waiting, (start, vehicle_id, vehicle))
            vehicle_id += 1
            while waiting and waiting[0][0] <= t:
                yield heapq.heappop(waiting)[2]

    def first(self, count: int) -> list[Vehicle]:
        plan = self.vehicles()
        return [next(plan) for _ in range(count)]


def look_at(look: str, t: float) -> str:
    if look != "mixed":
        return look
    return MIXED_LOOKS[int(t // LOOK_PERIOD_S) % len(MIXED_LOOKS)]


@dataclass(frozen=True)
class RoadCamera:
    width: int = 1456
    height: int = 1088

    @property
    def focal(self) -> float:
        # the same field of view at any resolution
        return FOCAL_PX * self.width / 1456

    def pose(self, vehicle: Vehicle, t: float) -> Pose | None:
        """Where the vehicle's plate is in the picture at road time `t` (None: off the road)."""
        z = vehicle.distance_at(t)
        if z is None:
            return None
        pitch = math.radians(PITCH_DEG)
        # camera axes: x right, y down, z forward; the plate is below the camera by the height
        x, y = vehicle.lateral_m, CAMERA_HEIGHT_M
        depth = z * math.cos(pitch) + y * math.sin(pitch)
        down = y * math.cos(pitch) - z * math.sin(pitch)
        if depth <= 0.5:
            return None
        u = self.width / 2 + self.focal * x / depth
        v = self.height / 2 + self.focal * down / depth
        distance_mm = math.sqrt(x * x + y * y + z * z) * 1000.0
        look_down = math.degrees(math.atan2(y, z))
        yaw = -math.degrees(math.atan2(x, z))
        return Pose(yaw, look_down, 0.0, distance_mm, self.focal, (u, v))

    def plate_height_px(self, pose: Pose) -> float:
        return pose.focal_px * PLATE_HEIGHT_MM / pose.distance_mm
