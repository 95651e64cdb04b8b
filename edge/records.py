"""The records that flow through the unit, one stage to the next.

capture → `Frame` → detector → `Detection` → recogniser → `PlateText` → grouping (per frame a
`PlateObservation`, per vehicle a `PlateRead`) → hotlist → `Hit` (a read with its `HotlistMatch`es)
→ store → publish. All are frozen: a stage never changes what an earlier stage decided, it makes
a new record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

Direction = Literal["towards", "away"]
MatchKind = Literal["exact", "fuzzy"]


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in pixels of one image, top-left origin (the dataset's x, y, w, h)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def iou(self, other: Box) -> float:
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.w, other.x + other.w)
        bottom = min(self.y + self.h, other.y + other.h)
        inter = max(right - left, 0.0) * max(bottom - top, 0.0)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, sx: float, sy: float | None = None) -> Box:
        sy = sx if sy is None else sy
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def padded(self, fraction: float) -> Box:
        """Grown by `fraction` of its own width and height on every side."""
        dx, dy = self.w * fraction, self.h * fraction
        return Box(self.x - dx, self.y - dy, self.w + 2 * dx, self.h + 2 * dy)

    def clipped(self, width: int, height: int) -> Box:
        left, top = min(max(self.x, 0.0), width), min(max(self.y, 0.0), height)
        right = min(max(self.x + self.w, 0.0), width)
        bottom = min(max(self.y + self.h, 0.0), height)
        return Box(left, top, right - left, bottom - top)

    def as_ints(self) -> tuple[int, int, int, int]:
        return (round(self.x), round(self.y), round(self.w), round(self.h))


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured image. `image` is H×W×3 BGR uint8 (or H×W grey); it is not copied."""

    index: int
    image: np.ndarray
    captured_at: datetime  # UTC, from the sensor timestamp where the camera gives one
    monotonic_s: float  # for timing and tracking; immune to clock steps
    clock_synced: bool = False
    exposure_us: int | None = None
    analogue_gain: float | None = None


@dataclass(frozen=True, slots=True)
class Detection:
    """A plate candidate found by the detector, in the frame's full-resolution pixels."""

    box: Box
    score: float


@dataclass(frozen=True, slots=True)
class PlateText:
    """What the recogniser read on one plate crop."""

    text: str  # A–Z0–9 only; empty when nothing could be read
    confidence: float  # 0–1, for the whole string
    char_confidences: tuple[float, ...]
    format: str | None = None  # e.g. "gb-current"; None when no known grammar fits
    alternatives: tuple[tuple[str, float], ...] = ()  # next-best readings with confidences


@dataclass(frozen=True, slots=True)
class PlateObservation:
    """One plate in one frame: where it was and what it read."""

    frame_index: int
    captured_at: datetime
    monotonic_s: float
    detection: Detection
    text: PlateText


@dataclass(frozen=True)
class PlateRead:
    """One vehicle's plate, decided over the frames of its track. The unit of storage and wire."""

    read_id: str  # unique and stable across retries, so the centre can drop duplicates
    unit_id: str
    camera_id: str
    vrm: str
    confidence: float
    char_confidences: tuple[float, ...]
    format: str | None
    captured_at: datetime  # the frame the read was decided on
    first_seen: datetime
    last_seen: datetime
    clock_synced: bool
    location: tuple[float, float] | None  # lat, lon
    direction: Direction | None
    frames: int
    model_versions: tuple[tuple[str, str], ...] = ()
    patch_jpeg: bytes = b""
    overview_jpeg: bytes | None = None


@dataclass(frozen=True, slots=True)
class HotlistEntry:
    vrm: str
    category: str
    priority: int  # 1 = most urgent … 5
    action: str
    reason: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HotlistMatch:
    list_id: str
    version: int
    entry: HotlistEntry
    kind: MatchKind
    distance: int = 0
    local: bool = False  # a list loaded on this unit only, unsigned by the centre
    # fuzzy only: every edit was a known OCR confusion (O/0, I/1 …), a likelier true hit
    confusion_only: bool = False


@dataclass(frozen=True)
class Hit:
    """A read that matched one or more hotlists; sent before everything else."""

    read: PlateRead
    matches: tuple[HotlistMatch, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class HitDecided:
    """The pipeline's verdict that a vehicle is a hit, for the store writer (then the uplink)."""

    hit: Hit
    readable_mono: float  # when the plate was first read as it is now (monotonic)
    decided_mono: float  # the frame that made enough frames agree


@dataclass(frozen=True)
class ReadDecided:
    """A vehicle's read, decided when its track closes, for the store writer."""

    read: PlateRead
    hit: bool


def new_read_id() -> str:
    """A random 128-bit id: unguessable, and unique without coordination between units."""
    return uuid.uuid4().hex
