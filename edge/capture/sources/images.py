"""The `images` source: the pictures of a folder, in name order, once (then the end).

For testing a unit on recorded frames. Frames are timed as if taken at `fps` from when the source
opened, so tracking sees the same motion as it would live. A file that cannot be read (corrupt,
not an image, or declaring a size over edge.vision.image_files.MAX_IMAGE_PIXELS) is skipped,
counted (`unreadable` in health) and named in a warning: one bad picture never stops the unit.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from edge.capture.sources.base import ClockCheck, FrameSource, never_synced
from edge.errors import UserError
from edge.records import Frame
from edge.times import utc_now
from edge.vision.image_files import read_image

log = logging.getLogger(__name__)

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


class ImageFolder(FrameSource):
    kind = "images"
    live = False

    def __init__(self, folder: Path, fps: float = 15.0, clock_synced: ClockCheck = never_synced):
        self.folder, self.fps, self.clock_synced = Path(folder), fps, clock_synced
        self.index = 0
        self.unreadable = 0
        self.files: list[Path] = []

    def open(self) -> None:
        if not self.folder.is_dir():
            raise UserError(f"camera.uri {str(self.folder)!r}: not a folder of images")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in SUFFIXES)
        if not self.files:
            raise UserError(f"{self.folder}: no images ({', '.join(SUFFIXES)})")
        self._started_utc = utc_now()
        self._started_mono = time.monotonic()

    def describe(self) -> str:
        return f"images from {self.folder} ({len(self.files)} files)"

    def read(self, timeout_s: float) -> Frame | None:
        while self.index < len(self.files):
            path = self.files[self.index]
            index = self.index
            self.index += 1
            try:
                image = read_image(path)
            except UserError as exc:  # a bad file is skipped, counted and named; never the end
                self.unreadable += 1
                log.warning("images: skipped %s", exc)
                continue
            t = index / self.fps
            return Frame(
                index=index,
                image=image,
                captured_at=self._started_utc + timedelta(seconds=t),
                monotonic_s=self._started_mono + t,
                clock_synced=self.clock_synced(),
            )
        return None

    def details(self) -> dict[str, Any]:
        return {"unreadable": self.unreadable}
