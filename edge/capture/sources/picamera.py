"""The `picamera2` source: the Raspberry Pi camera through libcamera.

Fixed short exposure and analogue gain (auto exposure off: plates at speed must not smear, and
the IR illuminator lights them the same every night), the configured frame rate, and the ROI cut
from each frame. Each request's buffer goes back to the camera at once (`release()` in a
`finally`): a held buffer starves libcamera and stalls capture. Frames are timed by the sensor
(`SensorTimestamp`, ns on the kernel's monotonic clock), not by when Python got them.

`picamera2` is imported only when this source opens (it exists only in Raspberry Pi OS's own
packages); tests pass a fake with the same API as `camera_factory`. A capture that hangs inside
libcamera cannot be interrupted from Python: the capture stage then stops beating, the unit
reports "camera stalled" and stops feeding the systemd watchdog, which restarts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from edge.capture.sources.base import ClockCheck, FrameSource, never_synced
from edge.errors import RuntimeFailure
from edge.records import Frame
from edge.times import utc_now

BUFFERS = 4


def import_picamera2() -> Callable[[int], Any]:
    try:
        from picamera2 import Picamera2  # type: ignore[import-not-found]
    except ImportError as exc:
        raise RuntimeFailure(
            f"camera.source = 'picamera2' needs the picamera2 package ({exc}): it comes with "
            "Raspberry Pi OS (apt install python3-picamera2); make the venv with "
            "--system-site-packages so it is visible"
        ) from None
    return Picamera2


class PiCamera(FrameSource):
    kind = "picamera2"
    live = True

    def __init__(
        self,
        *,
        camera_num: int = 0,
        resolution: tuple[int, int] = (1456, 1088),
        fps: float = 30.0,
        exposure_us: int = 800,
        analogue_gain: float = 4.0,
        roi: tuple[int, int, int, int] | None = None,
        clock_synced: ClockCheck = never_synced,
        camera_factory: Callable[[int], Any] | None = None,
    ):
        self.camera_num, self.resolution, self.fps = camera_num, resolution, fps
        self.exposure_us, self.analogue_gain, self.roi = exposure_us, analogue_gain, roi
        self.clock_synced = clock_synced
        self.camera_factory = camera_factory
        self.camera: Any = None
        self.index = 0
        self.last_metadata: dict[str, Any] = {}

    def controls(self) -> dict[str, Any]:
        return {
            "AeEnable": False,
            "ExposureTime": self.exposure_us,
            "AnalogueGain": self.analogue_gain,
            "FrameRate": self.fps,
        }

    def open(self) -> None:
        factory = self.camera_factory or import_picamera2()
        self.camera = factory(self.camera_num)
        try:
            config = self.camera.create_video_configuration(
                main={"size": tuple(self.resolution), "format": "RGB888"},  # BGR in memory
                controls=self.controls(),
                buffer_count=BUFFERS,
            )
            self.camera.configure(config)
            self.camera.start()
            self.camera.set_controls(self.controls())  # again, in case the start reset them
        except Exception:
            self.camera.close()
            self.camera = None
            raise

    def close(self) -> None:
        if self.camera is None:
            return
        try:
            self.camera.stop()
        finally:
            self.camera.close()
            self.camera = None

    def describe(self) -> str:
        width, height = self.resolution
        return (
            f"Pi camera {self.camera_num} {width}x{height} @ {self.fps:g} fps, exposure "
            f"{self.exposure_us} µs, gain {self.analogue_gain:g}"
        )

    def read(self, timeout_s: float) -> Frame | None:
        request = self.camera.capture_request()
        try:
            image = request.make_array("main")  # a copy: the buffer can go back at once
            metadata = dict(request.get_metadata())
        finally:
            request.release()
        self.last_metadata = metadata
        if self.roi is not None:
            x, y, w, h = self.roi
            image = image[y : y + h, x : x + w]
        now_mono = time.monotonic()
        sensor_ns = metadata.get("SensorTimestamp")
        age = now_mono - sensor_ns / 1e9 if isinstance(sensor_ns, int) else 0.0
        if not 0.0 <= age <= 1.0:  # not on our clock after all: trust arrival instead
            age = 0.0
        mono = now_mono - age
        frame = Frame(
            index=self.index,
            image=image,
            captured_at=utc_now() - timedelta(seconds=age),
            monotonic_s=mono,
            clock_synced=self.clock_synced(),
            exposure_us=metadata.get("ExposureTime"),
            analogue_gain=metadata.get("AnalogueGain"),
        )
        self.index += 1
        return frame

    def details(self) -> dict[str, Any]:
        return {
            "exposure_us": self.last_metadata.get("ExposureTime"),
            "analogue_gain": self.last_metadata.get("AnalogueGain"),
        }
