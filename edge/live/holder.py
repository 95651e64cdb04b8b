"""The hand-off from the pipeline to the live page: one slot holding the newest frame and the
plates read on it, and the last few reads.

The pipeline calls `offer` for every frame. While no page has asked for a frame within
`WATCH_LEASE_S`, `offer` is one clock read and a comparison: nothing is kept, copied or drawn
(and a frame held from the last viewer is let go). While a page watches, the frame and its
plates are kept by reference (the pipeline never changes a frame's pixels once taken), replacing
the previous one: the pipeline never waits for the page, and the page renders only what it asks
for (edge.live.view). A plain attribute swap needs no lock: the page reads whichever frame was
there last.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.records import Frame, PlateRead, ReadDecided
from edge.vision.reader import PlateResult

WATCH_LEASE_S = 3.0  # a page that stopped asking this long ago no longer counts as watching
READS_KEPT = 8


@dataclass(frozen=True)
class HeldFrame:
    sequence: int  # counts frames held since the unit started: the page sees when one is new
    frame: Frame
    grey: np.ndarray  # the pipeline's own grey picture of it (the figures are worked out on it)
    plates: tuple[PlateResult, ...]
    held_at: float  # monotonic


@dataclass(frozen=True)
class RecentRead:
    read: PlateRead
    hit: bool


class FrameHolder:
    def __init__(self, lease_s: float = WATCH_LEASE_S):
        self.lease_s = lease_s
        self.open = False  # the page is being served: reads are kept for it
        self._watched_until = 0.0
        self._latest: HeldFrame | None = None
        self._sequence = 0
        self._reads: deque[RecentRead] = deque(maxlen=READS_KEPT)

    # --- the pipeline's side (its own thread; must never wait) --------------------------------

    def offer(self, frame: Frame, grey: np.ndarray, plates: Sequence[PlateResult]) -> None:
        if time.monotonic() >= self._watched_until:
            if self._latest is not None:
                self._latest = None  # nobody watches: let the 4.75 MB frame go
            return
        self._sequence += 1
        self._latest = HeldFrame(self._sequence, frame, grey, tuple(plates), time.monotonic())

    def offer_read(self, decided: ReadDecided) -> None:
        """A vehicle's read, kept for the page's "last reads" while it is served."""
        if self.open:
            self._reads.append(RecentRead(decided.read, decided.hit))

    # --- the page's side (server threads) ------------------------------------------------------

    def watch(self) -> None:
        """A page asked for something: hold frames for it for the next `lease_s`."""
        self._watched_until = time.monotonic() + self.lease_s

    @property
    def watched(self) -> bool:
        return time.monotonic() < self._watched_until

    @property
    def held(self) -> int:
        """Frames held since the start: stays 0 while no page ever watched."""
        return self._sequence

    def latest(self) -> HeldFrame | None:
        return self._latest

    def reads(self) -> list[RecentRead]:
        """The last reads, newest first (a copy: the pipeline may append meanwhile)."""
        return list(reversed(list(self._reads)))

    def close(self) -> None:
        """The page is no longer served: forget what it was shown."""
        self.open = False
        self._watched_until = 0.0
        self._latest = None
        self._reads.clear()
