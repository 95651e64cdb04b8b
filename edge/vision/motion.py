"""Motion gating: is anything moving, so the detector is worth running on this frame?

The frame is shrunk to a small grey thumbnail (1/8 per side: ~0.5 ms for 1456×1088) and
compared with a slowly updated background (a running average, so light changes, rain and
swaying trees fade into it). A frame has motion when more than `min_fraction` of the thumbnail
differs by more than `threshold` grey levels. After motion the gate stays open for
`hold_frames`, so a vehicle slowing to a stop is still read, and opens every `refresh_frames`
regardless, so a plate already standing in view is read at least now and then.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHRINK = 8


@dataclass(frozen=True)
class MotionSettings:
    threshold: int = 18  # grey levels
    min_fraction: float = 0.002
    learn_rate: float = 0.05  # how fast the background follows the scene
    hold_frames: int = 5
    refresh_frames: int = 150


class MotionGate:
    def __init__(self, settings: MotionSettings = MotionSettings(), enabled: bool = True):
        self.settings, self.enabled = settings, enabled
        self._background: np.ndarray | None = None
        self._hold = 0
        self._since_open = 0
        self.frames = 0
        self.moving = 0

    def check(self, image: np.ndarray) -> bool:
        """True when this frame should be searched for plates."""
        self.frames += 1
        if not self.enabled:
            self.moving += 1
            return True
        thumb = _thumbnail(image)
        if self._background is None or self._background.shape != thumb.shape:
            self._background = thumb.astype(np.float32)
            self._hold = self.settings.hold_frames
            moved = True
        else:
            difference = cv2.absdiff(thumb, cv2.convertScaleAbs(self._background))
            changed = np.count_nonzero(difference > self.settings.threshold)
            moved = bool(changed > self.settings.min_fraction * thumb.size)
            cv2.accumulateWeighted(thumb, self._background, self.settings.learn_rate)
        if moved:
            self._hold = self.settings.hold_frames
        self._since_open += 1
        open_now = moved or self._hold > 0 or self._since_open >= self.settings.refresh_frames
        self._hold = max(self._hold - 1, 0)
        if open_now:
            self._since_open = 0
            self.moving += 1
        return open_now

    @property
    def ratio(self) -> float:
        """Share of frames searched so far."""
        return self.moving / self.frames if self.frames else 0.0


def _thumbnail(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (max(1, width // SHRINK), max(1, height // SHRINK)), interpolation=cv2.INTER_AREA
    )
    return small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
