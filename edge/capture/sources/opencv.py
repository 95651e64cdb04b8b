"""The `opencv` source: an RTSP stream, a USB/V4L2 camera (`/dev/video0` or `0`) or a video file.

Streams and devices are live: when a read fails (the camera unplugged, the link down, the
encoder restarted) the capture is released and opened again after a back-off (1 s doubling to
30 s), and `read` reports the stall instead of blocking. A video file is finite: its end is the
source's end, and its frames are timed by the file's own clock.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2

from edge.capture.sources.base import ClockCheck, FrameSource, SourceStalled, never_synced
from edge.records import Frame
from edge.times import utc_now

log = logging.getLogger(__name__)

BACKOFF_S = (1.0, 30.0)
STREAM_TIMEOUT_MS = 5000


class OpenCvSource(FrameSource):
    kind = "opencv"

    def __init__(
        self,
        uri: str,
        *,
        fps: float = 30.0,
        resolution: tuple[int, int] | None = None,
        clock_synced: ClockCheck = never_synced,
        backoff_s: tuple[float, float] = BACKOFF_S,
    ):
        self.uri, self.fps, self.resolution = uri, fps, resolution
        self.clock_synced, self.backoff_s = clock_synced, backoff_s
        self.is_file = Path(uri).is_file()
        self.live = not self.is_file
        self._capture: cv2.VideoCapture | None = None
        self._retry_at = 0.0
        self._delay = backoff_s[0]
        self.index = 0
        self.reconnects = 0
        self.failures = 0

    def describe(self) -> str:
        return f"opencv {'file' if self.is_file else 'stream'} {self._safe_uri()}"

    def _safe_uri(self) -> str:
        # rtsp://user:password@host/...: never log the credentials
        if "@" in self.uri and "://" in self.uri:
            scheme, rest = self.uri.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
        return self.uri

    def open(self) -> None:
        self._started_utc, self._started_mono = utc_now(), time.monotonic()
        self._connect()

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _connect(self) -> bool:
        target: str | int = int(self.uri) if self.uri.isdigit() else self.uri
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        if not capture.isOpened():
            capture.release()
            self._schedule_retry(f"cannot open {self._safe_uri()}")
            return False
        if self.resolution and not self.is_file:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
        self._capture = capture
        self._delay = self.backoff_s[0]
        return True

    def _schedule_retry(self, why: str) -> None:
        self.failures += 1
        log.warning("camera: %s; retrying in %.0f s", why, self._delay)
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.backoff_s[1])

    def read(self, timeout_s: float) -> Frame | None:
        if self._capture is None:
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, timeout_s))
                if wait > timeout_s:
                    raise SourceStalled(f"camera {self._safe_uri()} unavailable")
            self.reconnects += 1
            if not self._connect():
                raise SourceStalled(f"camera {self._safe_uri()} unavailable")
        assert self._capture is not None
        ok, image = self._capture.read()
        if not ok or image is None:
            if self.is_file:
                return None  # the end of the file
            self.close()
            self._schedule_retry(f"no frame from {self._safe_uri()}")
            raise SourceStalled(f"camera {self._safe_uri()} stopped sending frames")
        if self.is_file:
            t = self.index / self.fps
            position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            if position_ms > 0:
                t = position_ms / 1000.0
            captured_at, mono = self._started_utc + timedelta(seconds=t), self._started_mono + t
        else:
            captured_at, mono = utc_now(), time.monotonic()
        frame = Frame(self.index, image, captured_at, mono, self.clock_synced())
        self.index += 1
        return frame

    def details(self) -> dict[str, Any]:
        return {
            "connected": self._capture is not None,
            "reconnects": self.reconnects,
            "failures": self.failures,
        }
