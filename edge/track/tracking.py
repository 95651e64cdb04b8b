"""Group a vehicle's plate observations across frames into one track.

Association, per frame: each open track predicts where its plate is now (last centre plus its
velocity times the time since); an observation may join a track if it lies within a few plate
heights of that prediction and its size is plausible. Pairs are taken cheapest first, where the
cost is the distance in plate heights, halved when the observation reads the track's current
plate. Observations left over start new tracks.

Plates touching the picture's edge are left out (half a plate reads as a shorter plate).
A track ends when unseen for `gap_s`. A track older than `max_s` (a queue, a parked car) is
decided then (`decided`), and stays open only to absorb further sightings of that vehicle
without a second read. A track that just ended is remembered for `gap_s * 3`, so a plate lost
for a moment and found again with the same text joins its old vehicle instead of reading twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from edge.records import Frame, PlateObservation, new_read_id
from edge.track.voting import Vote, vote
from edge.vision.reader import PlateResult

if TYPE_CHECKING:
    from edge.config import Config

GATE_HEIGHTS = 4.0  # how far (in plate heights) from the prediction an observation may join
TEXT_BONUS = 0.5  # cost factor when the observation reads the track's plate
TEXT_GATE_HEIGHTS = 10.0  # …and how far it may then be from the prediction
SIZE_RATIO = 2.5  # an observation's height within this factor of the track's
FIRST_GATE_HEIGHTS = 8.0  # the gate for a track seen once (no speed yet)
SIDEWAYS_WEIGHT = 2.0
RECENT_FACTOR = 3.0
DUPLICATE_IOU = 0.3
EDGE_MARGIN_PX = 2.0


@dataclass
class Track:
    read_id: str
    observations: list[PlateObservation] = field(default_factory=list)
    best_crop: np.ndarray | None = None  # the plate patch of the best observation
    best_frame: Frame | None = None  # kept only when overviews are wanted
    best_score: float = -1.0
    decided: bool = False  # the read has been made (track ended or reached max_s)
    hit_vrm: str | None = None  # set once a hit was raised for this vehicle
    clock_synced: bool = False  # of the latest frame
    _vote: Vote | None = None
    _voted: tuple[int, int | None] = (-1, None)

    @property
    def first(self) -> PlateObservation:
        return self.observations[0]

    @property
    def last(self) -> PlateObservation:
        return self.observations[-1]

    def vote(self, region: str) -> Vote | None:
        # once a hit has gone out its length is settled (edge.track.pipeline)
        length = None if self.hit_vrm is None else len(self.hit_vrm)
        key = (len(self.observations), length)
        if self._voted != key:  # cached per observation count and length
            self._vote = vote([o.text for o in self.observations], region, length)
            self._voted = key
        return self._vote

    def predict(self, monotonic_s: float) -> tuple[float, float, float]:
        """Predicted plate centre x, y and height at `monotonic_s`."""
        x, y = self.last.detection.box.centre
        height = self.last.detection.box.h
        if len(self.observations) >= 2:
            before = self.observations[-2]
            dt = self.last.monotonic_s - before.monotonic_s
            if dt > 0:
                bx, by = before.detection.box.centre
                ahead = monotonic_s - self.last.monotonic_s
                x += (x - bx) / dt * ahead
                y += (y - by) / dt * ahead
                height += (height - before.detection.box.h) / dt * ahead
        return x, y, max(height, 1.0)


@dataclass(frozen=True)
class TrackSettings:
    gap_s: float = 0.6
    max_s: float = 10.0
    region: str = "gb"
    keep_frames: bool = False  # keep the best frame of each track (for overview images)

    @classmethod
    def from_config(cls, config: Config) -> TrackSettings:
        recognition = config.recognition
        return cls(
            gap_s=recognition.track_gap_s,
            max_s=recognition.max_track_s,
            region=recognition.region,
            keep_frames=config.storage.keep_overview,
        )


class Tracker:
    def __init__(self, settings: TrackSettings):
        self.settings = settings
        self.open: list[Track] = []
        self._recent: list[Track] = []

    def observe(
        self, frame: Frame, results: list[PlateResult], crops: list[np.ndarray]
    ) -> list[Track]:
        """Add one frame's plates; returns the open, undecided tracks that gained one."""
        height, width = frame.image.shape[:2]
        whole = [i for i, r in enumerate(results) if _inside(r.detection.box, width, height)]
        results, crops = _distinct([results[i] for i in whole], [crops[i] for i in whole])
        observations = [
            PlateObservation(frame.index, frame.captured_at, frame.monotonic_s, r.detection, r.text)
            for r in results
        ]
        pairs = []
        for ti, track in enumerate(self.open):
            px, py, ph = track.predict(frame.monotonic_s)
            current = track.vote(self.settings.region)
            # one sighting gives no speed to predict with: a near vehicle can be far on by now
            gate = GATE_HEIGHTS if len(track.observations) > 1 else FIRST_GATE_HEIGHTS
            for oi, obs in enumerate(observations):
                same_plate = current is not None and obs.text.text == current.text
                cost = _cost(obs, px, py, ph, TEXT_GATE_HEIGHTS if same_plate else gate)
                if cost is None:
                    continue
                pairs.append((cost * TEXT_BONUS if same_plate else cost, ti, oi))
        taken_tracks: set[int] = set()
        taken_obs: set[int] = set()
        updated: list[Track] = []
        for _cost_value, ti, oi in sorted(pairs):
            if ti in taken_tracks or oi in taken_obs:
                continue
            taken_tracks.add(ti)
            taken_obs.add(oi)
            track = self.open[ti]
            self._add(track, observations[oi], frame, crops[oi])
            if not track.decided:
                updated.append(track)
        for oi, obs in enumerate(observations):
            if oi in taken_obs:
                continue
            recent = self._recent_with(obs)
            if recent is not None:  # the same vehicle found again: no new read
                self._recent.remove(recent)
                self._add(recent, obs, frame, crops[oi])
                self.open.append(recent)
                continue
            track = Track(read_id=new_read_id())
            self._add(track, obs, frame, crops[oi])
            self.open.append(track)
            updated.append(track)
        return updated

    def neighbours(self, track: Track) -> list[Track]:
        """Other tracks, open or just ended, seen within `gap_s` of `track`'s time in view."""
        start, end = track.first.monotonic_s, track.last.monotonic_s
        gap = self.settings.gap_s
        return [
            other
            for other in [*self.open, *self._recent]
            if other is not track
            and other.first.monotonic_s <= end + gap
            and start <= other.last.monotonic_s + gap
        ]

    def due(self, monotonic_s: float) -> list[Track]:
        """Tracks to decide now: ended (unseen for gap_s) or reaching max_s; ended tracks leave
        the open list (decided ones silently)."""
        ready: list[Track] = []
        still: list[Track] = []
        for track in self.open:
            ended = monotonic_s - track.last.monotonic_s > self.settings.gap_s
            too_long = monotonic_s - track.first.monotonic_s >= self.settings.max_s
            if ended:
                self._remember(track, monotonic_s)
            else:
                still.append(track)
            if (ended or too_long) and not track.decided:
                track.decided = True
                ready.append(track)
        self.open = still
        return ready

    def flush(self) -> list[Track]:
        """Every open, undecided track (the unit is stopping)."""
        ready = [t for t in self.open if not t.decided]
        for track in ready:
            track.decided = True
        self.open = []
        return ready

    def _add(self, track: Track, obs: PlateObservation, frame: Frame, crop: np.ndarray) -> None:
        track.observations.append(obs)
        track.clock_synced = frame.clock_synced
        # the best patch: confident and large (the centre gets a sharper picture than the edge)
        score = obs.text.confidence * min(obs.detection.box.h, 80.0)
        if score > track.best_score:
            track.best_score = score
            track.best_crop = crop.copy()
            # a decided track's read is made: no overview is taken from it any more
            keep = self.settings.keep_frames and not track.decided
            track.best_frame = frame if keep else None

    def _remember(self, track: Track, monotonic_s: float) -> None:
        horizon = self.settings.gap_s * RECENT_FACTOR
        self._recent = [t for t in self._recent if monotonic_s - t.last.monotonic_s <= horizon]
        self._recent.append(track)

    def _recent_with(self, obs: PlateObservation) -> Track | None:
        horizon = self.settings.gap_s * RECENT_FACTOR
        for track in self._recent:
            current = track.vote(self.settings.region)
            if (
                current is not None
                and current.text == obs.text.text
                and obs.monotonic_s - track.last.monotonic_s <= horizon
            ):
                return track
        return None


def _cost(obs: PlateObservation, px: float, py: float, ph: float, gate: float) -> float | None:
    """Distance from the prediction in plate heights, sideways counting double: traffic moves
    along the road (up and down the picture), the other lane is beside it."""
    box = obs.detection.box
    ratio = box.h / ph
    if not 1 / SIZE_RATIO <= ratio <= SIZE_RATIO:
        return None
    x, y = box.centre
    distance = float(np.hypot(SIDEWAYS_WEIGHT * (x - px), y - py)) / max(ph, box.h)
    return distance if distance <= gate else None


def _inside(box, width: int, height: int) -> bool:
    """A plate cut by the picture's edge reads as part of itself ("9J" for "YLW9J"): it waits
    until the vehicle is wholly in view."""
    margin = EDGE_MARGIN_PX
    return (
        box.x > margin
        and box.y > margin
        and box.x + box.w < width - margin
        and box.y + box.h < height - margin
    )


def _distinct(
    results: list[PlateResult], crops: list[np.ndarray]
) -> tuple[list[PlateResult], list[np.ndarray]]:
    """One observation per plate: of boxes that overlap or hold one another's centre (the
    detector boxed a plate twice), keep the most confident reading."""
    order = sorted(range(len(results)), key=lambda i: -results[i].text.confidence)
    kept: list[int] = []
    for i in order:
        box = results[i].detection.box
        if all(not _same_plate(box, results[k].detection.box) for k in kept):
            kept.append(i)
    kept.sort()
    return [results[i] for i in kept], [crops[i] for i in kept]


def _same_plate(a, b) -> bool:
    if a.iou(b) > DUPLICATE_IOU:
        return True
    (ax, ay), (bx, by) = a.centre, b.centre
    return (b.x <= ax <= b.x + b.w and b.y <= ay <= b.y + b.h) or (
        a.x <= bx <= a.x + a.w and a.y <= by <= a.y + a.h
    )
