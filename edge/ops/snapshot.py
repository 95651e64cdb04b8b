"""`anpr-edge camera snapshot`: one frame from the configured source, its plates read, focus
and exposure figures, written as a picture a technician can look at while aiming and focusing.

Focus can only be judged on a plate, so by default the snapshot waits (up to `wait_s`) for a
frame in which a plate was read, and keeps the last frame if none came. A live camera's first
frames are skipped: exposure and gain set after `start()` take a few frames to apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.capture.sources import make_source
from edge.config import Config
from edge.errors import RuntimeFailure
from edge.ops import imaging
from edge.ops.feed import FrameFeed
from edge.records import Box, Frame
from edge.vision.reader import PlateReader, PlateResult

WARMUP_FRAMES = 4


@dataclass(frozen=True)
class PlateFigure:
    text: str
    confidence: float
    box: Box
    sharpness: float


@dataclass(frozen=True)
class Snapshot:
    file: Path
    source: str
    frame_index: int
    size: tuple[int, int]  # width, height
    sharpness: float  # variance of the Laplacian over the whole frame
    brightness: float  # mean grey level 0–255
    saturated: float  # share of pixels clipped white
    crushed: float  # share of pixels clipped black
    exposure_us: int | None  # None: the source does not report it (synthetic, files, RTSP)
    analogue_gain: float | None
    plates: tuple[PlateFigure, ...]
    frames_seen: int
    overlay: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "source": self.source,
            "frame_index": self.frame_index,
            "size": list(self.size),
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "saturated": round(self.saturated, 4),
            "crushed": round(self.crushed, 4),
            "exposure_us": self.exposure_us,
            "analogue_gain": self.analogue_gain,
            "plates": [
                {
                    "text": p.text,
                    "confidence": round(p.confidence, 4),
                    "box": list(p.box.as_ints()),
                    "sharpness": round(p.sharpness, 1),
                }
                for p in self.plates
            ],
            "frames_seen": self.frames_seen,
            "overlay": self.overlay,
        }


def take_snapshot(
    config: Config,
    out: Path,
    *,
    overlay: bool = False,
    wait_s: float = 5.0,
    spec: str | None = None,
    reader: PlateReader | None = None,
) -> Snapshot:
    imaging.check_output(out)  # before minutes spent waiting on a camera
    source = make_source(config, spec)
    reader = reader or PlateReader.from_config(config)
    frame, results, seen, status = _first_with_plate(source, reader, config, wait_s)
    image = frame.image
    plates = tuple(
        PlateFigure(
            r.text.text,
            r.text.confidence,
            r.detection.box,
            imaging.sharpness(image, r.detection.box),
        )
        for r in results
    )
    saturated, crushed = imaging.clipped_shares(image)
    exposure = frame.exposure_us if frame.exposure_us is not None else status.get("exposure_us")
    gain = frame.analogue_gain if frame.analogue_gain is not None else status.get("analogue_gain")
    shot = Snapshot(
        file=out,
        source=source.describe(),
        frame_index=frame.index,
        size=(image.shape[1], image.shape[0]),
        sharpness=imaging.sharpness(image),
        brightness=imaging.brightness(image),
        saturated=saturated,
        crushed=crushed,
        exposure_us=exposure,
        analogue_gain=gain,
        plates=plates,
        frames_seen=seen,
        overlay=overlay,
    )
    if overlay:
        labels = [(p.box, f"{p.text} {p.confidence:.2f} sharp {p.sharpness:.0f}") for p in plates]
        image = imaging.draw_overlay(image, labels, banner(shot))
    imaging.write_picture(out, image)
    return shot


def banner(shot: Snapshot) -> str:
    exposure = (
        f"exposure {shot.exposure_us} us, gain {shot.analogue_gain:g}"
        if shot.exposure_us is not None and shot.analogue_gain is not None
        else "exposure not reported"
    )
    return (
        f"sharpness {shot.sharpness:.0f}  brightness {shot.brightness:.0f}  {exposure}  "
        f"frame {shot.frame_index}"
    )


def _first_with_plate(
    source, reader: PlateReader, config: Config, wait_s: float
) -> tuple[Frame, list[PlateResult], int, dict[str, Any]]:
    """The first frame after warm-up with a plate read, or the last one within `wait_s`."""
    last: Frame | None = None
    results: list[PlateResult] = []
    seen = 0
    with FrameFeed(source, config.camera.capture_timeout_s) as feed:
        started = None
        while True:
            frame = feed.next().frame
            if frame is None:
                break  # a folder or file ran out
            seen += 1
            if source.live and seen <= WARMUP_FRAMES:
                continue
            started = started if started is not None else time.monotonic()
            last, results = frame, reader.read(frame.image)
            if results or time.monotonic() - started >= wait_s:
                break
        status = feed.status
    if last is None:
        raise RuntimeFailure(f"{source.describe()}: delivered no frame")
    return last, results, seen, status
