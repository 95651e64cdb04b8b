"""A picamera2 fake that follows its documented API (what the unit's adapter may use), and the
same fake for a unit run as a process (a `picamera2` module on its PYTHONPATH) that the test
can wedge or make fail."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np


class FakeRequest:
    def __init__(self, camera: FakePicamera2, index: int):
        self.camera, self.index, self.released = camera, index, False

    def make_array(self, name: str) -> np.ndarray:
        assert not self.released, "make_array after release()"
        width, height = self.camera.config["main"]["size"]
        return np.full((height, width, 3), self.index % 256, np.uint8)

    def get_metadata(self) -> dict:
        return {
            "SensorTimestamp": time.monotonic_ns() - 5_000_000,
            "ExposureTime": self.camera.controls["ExposureTime"],
            "AnalogueGain": self.camera.controls["AnalogueGain"],
        }

    def release(self) -> None:
        assert not self.released, "released twice"
        self.released = True
        self.camera.outstanding -= 1


class FakePicamera2:
    """Follows picamera2's documented API (what the adapter may use, and nothing else)."""

    CONTROLS: ClassVar[set[str]] = {
        "AeEnable", "ExposureTime", "AnalogueGain", "FrameRate", "ScalerCrop"
    }  # fmt: skip
    instances: ClassVar[list[FakePicamera2]] = []

    def __init__(self, camera_num: int = 0):
        self.camera_num, self.started, self.closed = camera_num, False, False
        self.config: dict = {}
        self.controls: dict = {}
        self.outstanding = 0
        self.captured = 0
        self.hang = threading.Event()  # set: capture_request blocks, like a wedged sensor
        self.unhang = threading.Event()
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main=None, lores=None, controls=None, buffer_count=6):
        return {"main": dict(main or {}), "lores": lores, "controls": dict(controls or {}),
                "buffer_count": buffer_count}  # fmt: skip

    def configure(self, config: dict) -> None:
        assert not self.started
        self._check(config["controls"])
        self.config = config
        self.controls.update(config["controls"])

    def start(self) -> None:
        assert self.config, "configure() before start()"
        self.started = True

    def set_controls(self, controls: dict) -> None:
        self._check(controls)
        self.controls.update(controls)

    def _check(self, controls: dict) -> None:
        unknown = set(controls) - self.CONTROLS
        if unknown:
            raise RuntimeError(f"Control {sorted(unknown)[0]} is not advertised by libcamera")

    def capture_request(self):
        assert self.started, "capture_request() before start()"
        assert self.outstanding < self.config["buffer_count"], "buffers never released"
        if self.hang.is_set():
            self.unhang.wait(30)
        self.outstanding += 1
        self.captured += 1
        return FakeRequest(self, self.captured)

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


# --- the fake as the unit's own picamera2, for a unit run as a process ---------------------

PICAMERA_SHIM = "from tests.support.camera import WedgingPicamera2 as Picamera2  # noqa: F401\n"
HANG_FLAG_ENV = "ANPR_FAKECAM_HANG"
FAIL_FLAG_ENV = "ANPR_FAKECAM_FAIL"


def fake_picamera2_path(folder: Path) -> Path:
    """A folder holding a `picamera2` module that is the fake below; put it on PYTHONPATH."""
    shim = folder / "fakecam"
    shim.mkdir(exist_ok=True)
    (shim / "picamera2.py").write_text(PICAMERA_SHIM)
    return shim


class WedgingPicamera2(FakePicamera2):
    """The tests' picamera2 fake (its API checks included), delivering frames at the
    configured FrameRate; while the file named by $ANPR_FAKECAM_HANG exists,
    `capture_request()` blocks the way a wedged sensor blocks libcamera (uninterruptible
    from Python), and carries on when the file goes; while $ANPR_FAKECAM_FAIL's exists, it
    raises as libcamera does when a request fails."""

    def capture_request(self, *args, **kwargs):
        hang = Path(os.environ.get(HANG_FLAG_ENV, "/nonexistent"))
        while hang.exists():
            time.sleep(0.05)
        if Path(os.environ.get(FAIL_FLAG_ENV, "/nonexistent")).exists():
            raise RuntimeError("Camera frontend has timed out!")
        time.sleep(1.0 / float(self.controls.get("FrameRate", 30.0)))
        return super().capture_request(*args, **kwargs)
