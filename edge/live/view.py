"""A held frame rendered for the live page: plates boxed and labelled, the picture scaled to
the page, encoded as JPEG, and the focus and exposure figures a technician aims by.

Only the page's requests render (in a server thread), at most `max_fps` times a second however
many pages are open: a frame asked for twice is rendered once. The figures reuse the snapshot's
(edge.ops.imaging): sharpness is the variance of the Laplacian, worked out at full resolution
over each plate and over the frame (the dearest figure here: at most twice a second), so it
matches `anpr-edge camera snapshot`. The picture is the pipeline's own grey one, what the
models read, with the boxes and labels in colour.

Plate height is judged against what the models need: the recogniser reads a crop 48 pixels
high (the plate plus 10 % per side: a plate of 40 px fills it without being enlarged), and the
detector finds plates from about 20 px to 100 px high in a 1456×1088 frame (docs/vision.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

import cv2

from edge.live.holder import FrameHolder, HeldFrame
from edge.ops import imaging
from edge.records import Box
from edge.vision.preprocess import RECOGNISER_SIZE
from edge.vision.reader import CROP_PADDING

PAGE_WIDTH = 960  # pixels sent: a laptop's browser shows about this much; plates keep their own
JPEG_QUALITY = 80
LOCK_WAIT_S = 2.0  # a page waits this long at most for another page's rendering
MIN_PLATE_PX = 20  # smaller plates the detector misses
MAX_PLATE_PX = 100  # larger ones too (it misses plates of 110 px)
NATIVE_PLATE_PX = round(RECOGNISER_SIZE[1] / (1 + 2 * CROP_PADDING))  # 40: read without enlarging

SizeVerdict = Literal["too small", "small", "good", "too large"]


def size_verdict(height_px: float) -> SizeVerdict:
    if height_px < MIN_PLATE_PX:
        return "too small"
    if height_px > MAX_PLATE_PX:
        return "too large"
    return "small" if height_px < NATIVE_PLATE_PX else "good"


@dataclass(frozen=True)
class PlateInView:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    sharpness: float
    size: SizeVerdict


@dataclass(frozen=True)
class FrameView:
    sequence: int
    frame_index: int
    jpeg: bytes
    frame_size: tuple[int, int]  # width, height of the camera's frame
    sharpness: float
    brightness: float
    saturated: float  # share clipped white
    crushed: float  # share clipped black
    exposure_us: int | None
    analogue_gain: float | None
    plates: tuple[PlateInView, ...]
    rendered_at: float  # monotonic


def render(held: HeldFrame, frame_sharpness: float | None = None) -> FrameView:
    """`frame_sharpness`: the figure over the whole frame when one recent enough is known (it
    is the dearest figure here, and the plates' matter more)."""
    frame, grey = held.frame, held.grey
    plates = tuple(
        PlateInView(
            r.text.text,
            r.text.confidence,
            r.detection.box.as_ints(),
            imaging.sharpness(grey, r.detection.box),
            size_verdict(r.detection.box.as_ints()[3]),  # judged on the height shown
        )
        for r in held.plates
    )
    saturated, crushed = imaging.clipped_shares(grey)
    height, width = grey.shape[:2]
    scale = min(PAGE_WIDTH / width, 1.0)
    # The grey picture, scaled before drawing (the overlay copies and draws on the small one
    # only): a third of the work of the colour frame, and what the models see. The boxes and
    # labels are drawn in colour over it.
    small = cv2.resize(grey, (round(width * scale), round(height * scale)))
    labels = [(Box(*p.box).scaled(scale), _label(p)) for p in plates]
    sharpness = imaging.sharpness(grey) if frame_sharpness is None else frame_sharpness
    brightness = imaging.brightness(grey)
    banner = f"frame {frame.index}  sharpness {sharpness:.0f}  brightness {brightness:.0f}"
    picture = imaging.draw_overlay(small, labels, banner)
    return FrameView(
        sequence=held.sequence,
        frame_index=frame.index,
        jpeg=imaging.encode_picture(picture, ".jpg", JPEG_QUALITY),
        frame_size=(width, height),
        sharpness=sharpness,
        brightness=brightness,
        saturated=saturated,
        crushed=crushed,
        exposure_us=frame.exposure_us,
        analogue_gain=frame.analogue_gain,
        plates=plates,
        rendered_at=time.monotonic(),
    )


def _label(plate: PlateInView) -> str:
    text = plate.text or "?"
    return f"{text} {plate.confidence:.2f}  h {plate.box[3]}px  sharp {plate.sharpness:.0f}"


class Renderer:
    """The newest held frame rendered, about `max_fps` times a second for all pages together.

    Renderings are spaced from the start of one to the start of the next, less `SLACK` (a page
    asking at exactly `max_fps` must get every frame it asks for, not every other one: its
    requests drift by a few milliseconds either way)."""

    SLACK = 0.2
    FRAME_SHARPNESS_S = 0.5  # the whole frame's sharpness is worked out at most this often

    def __init__(self, holder: FrameHolder, max_fps: float):
        self.holder, self.min_interval_s = holder, (1.0 - self.SLACK) / max_fps
        self._started = -self.min_interval_s
        self._sharpness_at = -self.FRAME_SHARPNESS_S
        self._lock = threading.Lock()  # two pages asking at once: one renders, one waits
        self._view: FrameView | None = None
        self.rendered = 0

    def view(self) -> FrameView | None:
        self.holder.watch()
        if not self._lock.acquire(timeout=LOCK_WAIT_S):
            return self._view  # another page's rendering is stuck: the last one meanwhile
        try:
            held, view = self.holder.latest(), self._view
            if held is None:
                return None  # nothing held since a page last asked: an older view is stale
            if view is not None and view.sequence == held.sequence:
                return view
            now = time.monotonic()
            if view is not None and now - self._started < self.min_interval_s:
                return view  # a second page, or a page asking too often: the last one again
            self._started = now
            known = view is not None and now - self._sharpness_at < self.FRAME_SHARPNESS_S
            self._view = render(held, view.sharpness if known and view is not None else None)
            if not known:
                self._sharpness_at = now
            self.rendered += 1
            return self._view
        finally:
            self._lock.release()

    def last(self) -> FrameView | None:
        """The last rendered view, rendering nothing."""
        return self._view

    def forget(self) -> None:
        self._view = None  # (what a rendering under way sets is never served: nothing is held)
