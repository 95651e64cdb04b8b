"""`anpr-edge camera test`: does the camera deliver what the config asks for, steadily?

Frames are taken for a while with nothing else running (no detector), and measured:

- **fps**: frames per second as they reached us (arrival times), against `camera.fps`;
- **dropped**: frames missing between consecutive frame timestamps (a gap of more than 1.5
  frame periods), from the sensor's own timestamps where the camera gives them (the Pi camera);
- **failed**: reads that timed out or pictures that could not be decoded;
- **exposure stability**: the mean brightness per frame and its spread, and, where the frames
  carry metadata, the exposure time and gain: they are fixed by config (auto exposure off), so
  any spread means the controls are not applied.

Only a live source (a camera, or the synthetic road in real time) is judged on its fps: a folder
or a file delivers as fast as it is asked.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from edge.capture.sources import make_source
from edge.config import Config
from edge.errors import RuntimeFailure
from edge.ops import imaging
from edge.ops.feed import FrameFeed
from edge.ops.snapshot import WARMUP_FRAMES

MIN_FPS_SHARE = 0.9  # below 90% of camera.fps: the unit misses fast vehicles
MAX_DROPPED_SHARE = 0.01
MAX_CONTROL_SPREAD = 0.05  # fixed exposure and gain: more than 5% between frames is not fixed
DARK, BRIGHT = 8.0, 245.0  # a mean grey level beyond these is a capped lens or a dead IR lamp


@dataclass(frozen=True)
class Spread:
    mean: float
    std: float
    min: float
    max: float

    @staticmethod
    def of(values: list[float]) -> Spread | None:
        if not values:
            return None
        return Spread(statistics.fmean(values), statistics.pstdev(values), min(values), max(values))

    def as_json(self, digits: int = 1) -> dict[str, float]:
        return {k: round(getattr(self, k), digits) for k in ("mean", "std", "min", "max")}


@dataclass(frozen=True)
class CameraTest:
    source: str
    live: bool
    seconds: float
    frames: int
    fps: float
    configured_fps: float
    dropped: int
    failed: int
    brightness: Spread
    exposure_us: Spread | None  # None: the frames carry no exposure metadata
    analogue_gain: Spread | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "live": self.live,
            "seconds": round(self.seconds, 2),
            "frames": self.frames,
            "fps": round(self.fps, 2),
            "configured_fps": self.configured_fps,
            "dropped": self.dropped,
            "failed": self.failed,
            "brightness": self.brightness.as_json(),
            "exposure_us": self.exposure_us.as_json() if self.exposure_us else None,
            "analogue_gain": self.analogue_gain.as_json(2) if self.analogue_gain else None,
            "problems": list(self.problems),
        }


def run_camera_test(config: Config, seconds: float, spec: str | None = None) -> CameraTest:
    source = make_source(config, spec)
    configured = float(getattr(source, "fps", config.camera.fps))
    arrivals: list[float] = []
    stamps: list[float] = []
    levels: list[float] = []
    exposures: list[float] = []
    gains: list[float] = []
    with FrameFeed(source, config.camera.capture_timeout_s) as feed:
        skipped, started = 0, None
        while started is None or time.monotonic() - started < seconds:
            delivery = feed.next()
            frame = delivery.frame
            if frame is None:
                break
            if source.live and skipped < WARMUP_FRAMES:
                skipped += 1
                continue
            started = started if started is not None else time.monotonic()
            arrivals.append(delivery.arrived_s)
            stamps.append(frame.monotonic_s)
            levels.append(imaging.brightness(frame.image))
            if frame.exposure_us is not None:
                exposures.append(float(frame.exposure_us))
            if frame.analogue_gain is not None:
                gains.append(float(frame.analogue_gain))
        failed = feed.stalls + int(feed.status.get("unreadable", 0))
    if not levels:
        raise RuntimeFailure(f"{source.describe()}: delivered no frame")
    span = arrivals[-1] - arrivals[0]
    fps = (len(arrivals) - 1) / span if span > 0 else 0.0
    brightness = Spread.of(levels)
    assert brightness is not None
    result = CameraTest(
        source=source.describe(),
        live=source.live,
        seconds=span,
        frames=len(levels),
        fps=fps,
        configured_fps=configured,
        dropped=dropped_frames(stamps, 1.0 / configured),
        failed=failed,
        brightness=brightness,
        exposure_us=Spread.of(exposures),
        analogue_gain=Spread.of(gains),
        problems=(),
    )
    return replace(result, problems=tuple(problems(result)))


def dropped_frames(stamps: list[float], period_s: float) -> int:
    """Frames missing between consecutive timestamps: a gap of k periods lost k − 1 frames."""
    missing = 0
    for earlier, later in pairwise(stamps):
        gap = later - earlier
        if gap > 1.5 * period_s:
            missing += round(gap / period_s) - 1
    return missing


def problems(test: CameraTest) -> list[str]:
    found = []
    if test.live and test.fps < MIN_FPS_SHARE * test.configured_fps:
        found.append(
            f"delivers {test.fps:.1f} fps, below {MIN_FPS_SHARE:.0%} of camera.fps "
            f"{test.configured_fps:g}"
        )
    expected = test.frames + test.dropped
    if test.dropped > MAX_DROPPED_SHARE * expected:
        found.append(f"{test.dropped} of {expected} frames dropped")
    if test.failed:
        found.append(f"{test.failed} failed read(s) (timeouts or unreadable pictures)")
    for name, spread, unit in (
        ("exposure time", test.exposure_us, " µs"),
        ("analogue gain", test.analogue_gain, ""),
    ):
        if spread and spread.max - spread.min > MAX_CONTROL_SPREAD * spread.mean:
            found.append(
                f"{name} varied from {spread.min:g}{unit} to {spread.max:g}{unit}: auto exposure "
                "is on or the configured controls are not applied"
            )
    level = test.brightness.mean
    if level < DARK:
        found.append(f"the picture is nearly black (mean {level:.0f}/255): lens cap? IR lamp?")
    elif level > BRIGHT:
        found.append(f"the picture is nearly white (mean {level:.0f}/255): overexposed")
    return found
