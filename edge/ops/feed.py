"""Frames from a source, read in a worker thread, for the technician's camera commands.

A source's `read` can block inside a driver: a wedged libcamera capture cannot be interrupted
from Python (edge.capture.sources.picamera), and then neither can Ctrl-C. A technician's command
must still end, with a message, so one worker thread opens, reads and closes the source (all on
one thread, as libcamera wants) and the command waits on a queue with its own timeout. If the
worker never comes back the command reports the hang; the worker is a daemon thread and goes
with the process.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from edge.capture.sources import FrameSource, SourceStalled
from edge.errors import RuntimeFailure, UserError
from edge.records import Frame

# Opening takes time beyond a frame's: a Pi camera a second or two, an RTSP stream up to its
# own 5 s connect timeout (edge.capture.sources.opencv).
OPEN_ALLOWANCE_S = 10.0
# A source gives up on a frame after its read timeout; ours waits a little longer, so that the
# source's own (more specific) stall report arrives first.
SLACK_S = 1.0
QUEUE_FRAMES = 2  # full frames are megabytes: hold only a couple
PUT_POLL_S = 0.2
JOIN_S = 5.0
BUSY_HINT = (
    "; the camera opens in one process at a time: is the anpr-edge service running? "
    "(sudo systemctl stop anpr-edge, and start it again afterwards)"
)


class CameraHung(RuntimeFailure):
    """No frame and no report from the source within the timeout."""


@dataclass(frozen=True, eq=False)
class Delivery:
    frame: Frame | None  # None: the source has no more frames (a folder, a file)
    arrived_s: float  # time.monotonic() when the source handed it over


class FrameFeed:
    """`with FrameFeed(source, timeout) as feed: feed.next()` … The source's own errors come out
    of `next()` (a `UserError` for a bad `camera.uri`, a `RuntimeFailure` otherwise)."""

    def __init__(self, source: FrameSource, read_timeout_s: float):
        self.source, self.read_timeout_s = source, read_timeout_s
        self.stalls = 0  # SourceStalled reports: no frame in time, the source keeps trying
        self.last_stall = ""
        self.status: dict[str, Any] = {}  # the source's status() after its latest frame
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._stop = threading.Event()
        self._first = True
        self._thread = threading.Thread(target=self._run, name="frame-feed", daemon=True)

    def __enter__(self) -> FrameFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        while True:  # unblock a worker waiting to put a frame nobody will take
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(JOIN_S)

    def next(self) -> Delivery:
        """The next frame. Raises `CameraHung` when nothing came in time (repeated stall
        reports count as nothing: the message then carries the last of them)."""
        allowance = self.read_timeout_s + SLACK_S + (OPEN_ALLOWANCE_S if self._first else 0.0)
        self._first = False
        deadline = time.monotonic() + allowance
        while True:
            try:
                kind, item, at = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                why = f" ({self.last_stall})" if self.last_stall else ""
                raise CameraHung(
                    f"{self.source.describe()}: no frame within {allowance:g} s{why}"
                ) from None
            if kind == "stalled":
                self.stalls += 1
                self.last_stall = str(item)
                continue
            if kind == "error":
                raise _as_failure(self.source, item)
            return Delivery(item, at)

    def _run(self) -> None:
        try:
            with self.source:
                while not self._stop.is_set():
                    try:
                        frame = self.source.read(self.read_timeout_s)
                    except SourceStalled as stalled:
                        self._put(("stalled", stalled, time.monotonic()))
                        continue
                    arrived = time.monotonic()
                    self.status = dict(self.source.status())
                    self._put(("frame", frame, arrived))
                    if frame is None:
                        return
        except Exception as exc:  # handed to the waiting command, which reports it
            self._put(("error", exc, time.monotonic()))

    def _put(self, item: tuple) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=PUT_POLL_S)
                return
            except queue.Full:
                continue


def _as_failure(source: FrameSource, exc: Exception) -> Exception:
    if isinstance(exc, UserError | RuntimeFailure):
        return exc
    # picamera2 and OpenCV raise their own types (RuntimeError, cv2.error …): one line, named
    message = f"{source.describe()}: {exc}"
    if _held_elsewhere(exc):
        message += BUSY_HINT
    failure = RuntimeFailure(message)
    failure.__cause__ = exc
    return failure


def _held_elsewhere(exc: BaseException | None) -> bool:
    """Does the error (or one it was raised from) say another process holds the camera?
    picamera2 raises "Camera __init__ sequence did not complete." from "camera.acquire()
    returned unexpected code: -16" (EBUSY); older versions "Failed to acquire camera"."""
    seen = 0
    while exc is not None and seen < 5:
        text = str(exc).lower()
        if "busy" in text or "acquire" in text or "code: -16" in text:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
