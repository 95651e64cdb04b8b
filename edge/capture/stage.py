"""The capture stage: frames from the source into the pipeline's queue.

A live source (a camera) never waits for the pipeline: when the queue is full the oldest frame
is dropped and counted, so the unit always works on the newest picture. Other sources (a folder,
the synthetic road run as fast as possible) wait for room, losing nothing. The stage ends at the
source's end, at `max_frames`, or on the stop event; it always leaves the END marker behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from edge.capture.sources import FrameSource, SourceStalled
from edge.stages import Counters, Stage

log = logging.getLogger(__name__)

END = None  # the marker that follows the last (frame, taken_monotonic) item
PUT_POLL_S = 0.2
END_WAIT_S = 10.0


class Capture:
    def __init__(
        self,
        source: FrameSource,
        frames: queue.Queue,
        stop: threading.Event,
        stage: Stage,
        counters: Counters,
        *,
        timeout_s: float = 2.0,
        max_frames: int | None = None,
    ):
        self.source, self.frames, self.stop, self.stage = source, frames, stop, stage
        self.counters, self.timeout_s, self.max_frames = counters, timeout_s, max_frames
        self.ended = threading.Event()  # the source ran out (not stopped from outside)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            self._put_end()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.stage.beat()
            if self.max_frames is not None and self.counters.frames >= self.max_frames:
                log.info("capture: %d frames taken (--max-frames)", self.counters.frames)
                self.ended.set()
                return
            try:
                frame = self.source.read(self.timeout_s)
            except SourceStalled as stalled:
                self.counters.camera_stalls += 1
                log.warning("capture: %s", stalled)
                continue
            if frame is None:
                log.info("capture: the source has no more frames")
                self.ended.set()
                return
            self.counters.frames += 1
            self.counters.last_frame_at = time.time()
            # when it left the source: hit latency counts from here
            taken = (frame, time.monotonic())
            if self.source.live:
                self._put_newest(taken)
            else:
                self._put_waiting(taken)

    def _put_newest(self, frame) -> None:
        while True:
            try:
                self.frames.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    self.counters.frames_dropped += 1
                except queue.Empty:
                    pass

    def _put_waiting(self, frame) -> None:
        while not self.stop.is_set():
            try:
                self.frames.put(frame, timeout=PUT_POLL_S)
                return
            except queue.Full:
                self.stage.beat()  # waiting for the pipeline is not hanging
        self.counters.frames_dropped += 1  # stopping: this one is not read

    def _put_end(self) -> None:
        deadline = time.monotonic() + END_WAIT_S
        while time.monotonic() < deadline:
            try:
                self.frames.put(END, timeout=PUT_POLL_S)
                return
            except queue.Full:
                self.stage.beat()
        log.error("capture: the pipeline took no frame for %.0f s; it is stuck", END_WAIT_S)
