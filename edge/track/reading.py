"""A track's frames turned into the `PlateRead` record: the voted plate, times, direction of
travel, the best plate patch and optionally an overview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edge.records import Direction, PlateRead
from edge.track.patches import overview_jpeg, patch_jpeg
from edge.track.tracking import Track
from edge.track.voting import Vote

if TYPE_CHECKING:
    from edge.config import Config

GROWTH = 1.15  # plate height ratio (last/first) that says the vehicle came nearer
DRIFT_HEIGHTS = 0.5  # vertical travel, in plate heights, that says which way it went


@dataclass(frozen=True)
class ReadContext:
    """What every read of this unit carries besides the plate."""

    unit_id: str
    camera_id: str
    location: tuple[float, float] | None
    model_versions: tuple[tuple[str, str], ...]
    direction_hint: str = "both"  # towards, away, both
    keep_overview: bool = False

    @classmethod
    def from_config(
        cls, config: Config, model_versions: tuple[tuple[str, str], ...]
    ) -> ReadContext:
        unit, location = config.unit, config.unit.location
        return cls(
            unit_id=unit.id,
            camera_id=unit.camera_id,
            location=(location.lat, location.lon) if location else None,
            model_versions=model_versions,
            direction_hint=unit.direction_hint,
            keep_overview=config.storage.keep_overview,
        )


def direction_of(track: Track, hint: str = "both") -> Direction | None:
    """Towards when the plate grows (or, at the same size, moves down the picture: a camera
    looks down the road, so nearer is lower); away when it shrinks or moves up; else the
    configured hint, or None when traffic goes both ways."""
    fallback: Direction | None = hint if hint in ("towards", "away") else None  # type: ignore
    observations = track.observations
    if len(observations) < 2:
        return fallback
    ends = max(1, min(3, len(observations) // 2))
    head, tail = observations[:ends], observations[-ends:]
    h0 = float(np.median([o.detection.box.h for o in head]))
    h1 = float(np.median([o.detection.box.h for o in tail]))
    if h1 >= h0 * GROWTH:
        return "towards"
    if h0 >= h1 * GROWTH:
        return "away"
    y0 = float(np.median([o.detection.box.centre[1] for o in head]))
    y1 = float(np.median([o.detection.box.centre[1] for o in tail]))
    if abs(y1 - y0) >= DRIFT_HEIGHTS * max(h0, h1):
        return "towards" if y1 > y0 else "away"
    return fallback


def make_read(track: Track, decided: Vote, context: ReadContext) -> PlateRead:
    agreeing = [o for o in track.observations if o.text.text == decided.text]
    best = max(agreeing or track.observations, key=lambda o: o.text.confidence)
    overview = None
    if context.keep_overview and track.best_frame is not None:
        overview = overview_jpeg(track.best_frame.image)
    return PlateRead(
        read_id=track.read_id,
        unit_id=context.unit_id,
        camera_id=context.camera_id,
        vrm=decided.text,
        confidence=decided.confidence,
        char_confidences=decided.char_confidences,
        format=decided.format,
        captured_at=best.captured_at,
        first_seen=track.first.captured_at,
        last_seen=track.last.captured_at,
        clock_synced=track.clock_synced,
        location=context.location,
        direction=direction_of(track, context.direction_hint),
        frames=len(track.observations),
        model_versions=context.model_versions,
        patch_jpeg=patch_jpeg(track.best_crop),
        overview_jpeg=overview,
    )
