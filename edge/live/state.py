"""The document the live page polls (`/state.json`): the figures of the frame last rendered,
the frame rates, exposure and gain, the last reads with their plate patches, and the unit's
health at a glance (from the status document the supervisor last wrote, so nothing here touches
the store).

Rates are measured over the last few seconds of the page's own polls: the camera's (frames
taken), the pipeline's (frames it handed over while the page watched) and the page's (frames
rendered).
"""

from __future__ import annotations

import base64
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from edge.live.holder import FrameHolder, RecentRead
from edge.live.view import MAX_PLATE_PX, MIN_PLATE_PX, NATIVE_PLATE_PX, FrameView, Renderer
from edge.stages import Counters
from edge.times import rfc3339

RATE_WINDOW_S = 3.0
SOURCE_STATUS_S = 1.0  # the camera's own report of exposure and gain, asked at most this often


class RateMeter:
    """Counts sampled over the last `RATE_WINDOW_S` seconds → per-second rates."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, tuple[int, ...]]] = deque()
        self._lock = threading.Lock()

    def rates(self, counts: tuple[int, ...]) -> tuple[float, ...]:
        now = time.monotonic()
        with self._lock:
            self._samples.append((now, counts))
            while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_S:
                self._samples.popleft()
            then, before = self._samples[0]
        elapsed = now - then
        if elapsed <= 0:
            return tuple(0.0 for _ in counts)
        return tuple(round((c - b) / elapsed, 1) for c, b in zip(counts, before, strict=True))


class StateDocument:
    def __init__(
        self,
        renderer: Renderer,
        holder: FrameHolder,
        counters: Counters,
        source_status: Callable[[], dict[str, Any]],
        health: Callable[[], dict[str, Any] | None],
        session: Callable[[], dict[str, Any]],
    ):
        self.renderer, self.holder, self.counters = renderer, holder, counters
        self.source_status, self.health, self.session = source_status, health, session
        self._meter = RateMeter()
        self._source: tuple[float, dict[str, Any]] = (-SOURCE_STATUS_S, {})

    def build(self) -> dict[str, Any]:
        self.holder.watch()
        camera, pipeline, page = self._meter.rates(
            (self.counters.frames, self.holder.held, self.renderer.rendered)
        )
        view = self.renderer.last()
        return {
            "frame": None if view is None else self._frame(view),
            "fps": {"camera": camera, "pipeline": pipeline, "page": page},
            "plate_size": {
                "min_px": MIN_PLATE_PX,
                "native_px": NATIVE_PLATE_PX,
                "max_px": MAX_PLATE_PX,
            },
            "reads": [_read(recent) for recent in self.holder.reads()],
            "health": _glance(self.health()),
            "session": self.session(),
        }

    def _frame(self, view: FrameView) -> dict[str, Any]:
        exposure, gain = view.exposure_us, view.analogue_gain
        if exposure is None or gain is None:
            reported = self._source_status()
            exposure = exposure if exposure is not None else reported.get("exposure_us")
            gain = gain if gain is not None else reported.get("analogue_gain")
        return {
            "index": view.frame_index,
            "size": list(view.frame_size),
            "sharpness": round(view.sharpness, 1),
            "brightness": round(view.brightness, 1),
            "clipped_white": round(view.saturated, 4),
            "clipped_black": round(view.crushed, 4),
            "exposure_us": exposure,
            "analogue_gain": gain,
            "plates": [
                {
                    "text": p.text,
                    "confidence": round(p.confidence, 3),
                    "box": list(p.box),
                    "height_px": p.box[3],
                    "size": p.size,
                    "sharpness": round(p.sharpness, 1),
                }
                for p in view.plates
            ],
        }

    def _source_status(self) -> dict[str, Any]:
        asked_at, status = self._source
        if time.monotonic() - asked_at >= SOURCE_STATUS_S:
            status = self.source_status()
            self._source = (time.monotonic(), status)
        return status


def _read(recent: RecentRead) -> dict[str, Any]:
    read = recent.read
    patch = base64.b64encode(read.patch_jpeg).decode("ascii") if read.patch_jpeg else None
    return {
        "vrm": read.vrm,
        "confidence": round(read.confidence, 3),
        "captured_at": rfc3339(read.captured_at),
        "direction": read.direction,
        "frames": read.frames,
        "hit": recent.hit,
        "patch": None if patch is None else f"data:image/jpeg;base64,{patch}",
    }


def _glance(status: dict[str, Any] | None) -> dict[str, Any]:
    """The status document's few figures that say whether all is well, and what is not."""
    if status is None:
        return {"state": "starting", "problems": []}
    broker = status.get("broker") or {}
    backlog = status.get("backlog") or {}
    stages = status.get("stages") or {}
    problems = [f"stage {name} silent" for name, alive in stages.items() if not alive]
    if broker.get("connected") is False:
        problems.append("broker not connected")
    if status.get("clock_synced") is False:
        problems.append("clock not synchronised")
    if status.get("errors"):
        problems.append(f"{status['errors']} error(s) logged")
    return {
        "state": status.get("state"),
        "at": status.get("at"),
        "broker_connected": broker.get("connected"),
        "backlog": {"hits": backlog.get("hits"), "reads": backlog.get("reads")},
        "hotlists": status.get("hotlists"),
        "frames_dropped": status.get("frames_dropped"),
        "disk_free_mb": status.get("disk_free_mb"),
        "cpu_temp_c": status.get("cpu_temp_c"),
        "problems": problems,
    }
