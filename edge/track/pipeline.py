"""The per-frame pipeline: motion gate → detector + recogniser → grouping → hotlist → events.

For each frame: if the motion gate is open, `PlateReader.read` finds and reads every plate (the
reader is taken once per frame from a `ReaderHolder`, so new models take over between two frames,
edge.updates.readers); the
tracker adds them to their vehicles' tracks. A track that now has `hit_min_frames` frames reading
exactly its voted plate, confident enough, is matched against the hotlists at once: a match is
a `HitDecided` event there and then, not when the vehicle has gone. Tracks that ended (or ran
too long) are decided: a `ReadDecided` event with the same `read_id` (and a late hit first, if
the final plate matches and no hit was raised yet). Events go to the store writer.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edge.hotlist.matcher import Matcher
from edge.records import Frame, Hit, HitDecided, ReadDecided
from edge.stages import Counters, Stage
from edge.times import rfc3339
from edge.track.reading import ReadContext, make_read
from edge.track.tracking import Track, Tracker
from edge.track.voting import Vote
from edge.updates.readers import ActiveModels, ReaderHolder
from edge.vision.motion import MotionGate
from edge.vision.reader import PlateReader, PlateResult, crop

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

MIN_READ_FRAMES = 2  # a plate seen in one frame only is more likely a sign than a vehicle
MIN_READ_CHARS = 2  # no registration is shorter ("A 1"); one character is a fragment
NEAR_S, NEAR_HEIGHTS = 0.4, 5.0  # a fragment's track beside its whole plate's
TAKEN_KEPT = 1024  # frames whose taking time is remembered (for hit latency)
POLL_S = 0.5


@dataclass(frozen=True)
class PipelineSettings:
    region: str = "gb"
    hit_min_frames: int = 3
    min_confidence: float = 0.5  # below: stored and sent, but never a hit
    min_read_confidence: float = 0.0  # below: not a read at all (junk, not a vehicle)

    @classmethod
    def from_config(cls, config: Config) -> PipelineSettings:
        recognition = config.recognition
        return cls(
            region=recognition.region,
            hit_min_frames=recognition.hit_min_frames,
            min_confidence=config.models.recogniser_min_confidence,
            min_read_confidence=recognition.min_read_confidence,
        )


Emit = Callable[[HitDecided | ReadDecided], None]
# Each frame, its grey picture and the plates read on it, for the live page
# (edge.live.holder.FrameHolder.offer): called in the pipeline's thread, so it must return at once.
OnFrame = Callable[[Frame, np.ndarray, list[PlateResult]], None]


class Pipeline:
    def __init__(
        self,
        reader: PlateReader | ReaderHolder,
        gate: MotionGate,
        tracker: Tracker,
        matcher: Matcher,
        context: ReadContext,
        settings: PipelineSettings,
        emit: Emit,
        counters: Counters,
        on_frame: OnFrame | None = None,
    ):
        self.readers = (
            reader if isinstance(reader, ReaderHolder) else ReaderHolder(ActiveModels(reader, None))
        )
        self._active = self.readers.current
        self.gate, self.tracker, self.matcher = gate, tracker, matcher
        self.context, self.settings, self.emit, self.counters = context, settings, emit, counters
        self.on_frame = on_frame
        self._taken: dict[int, float] = {}  # frame index → when capture took it (monotonic)
        self._decided: deque[tuple[str, float]] = deque(maxlen=64)  # (vrm, last seen)
        self._hits: deque[tuple[str, Track]] = deque(maxlen=64)  # (vrm, the track hit)

    def process(self, frame: Frame, taken: float | None = None) -> None:
        self._taken[frame.index] = time.monotonic() if taken is None else taken
        if len(self._taken) > TAKEN_KEPT:
            del self._taken[next(iter(self._taken))]
        # one grey copy for all: the motion gate, the detector and the recogniser work in grey
        image = frame.image
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        results: list[PlateResult] = []
        crops = []
        active = self.readers.current  # one reader for the whole frame
        if active is not self._active:
            self._take_over(active, frame)
        if self.gate.check(image):
            self.counters.frames_searched += 1
            results = active.reader.read(image)
            # the reader's own cut; a reader that kept none (a stand-in) is cut for here
            crops = [crop(image, r.detection.box) if r.crop is None else r.crop for r in results]
            self.counters.plates_seen += len(results)
            self.counters.plate_confidence_sum += sum(r.text.confidence for r in results)
        if self.on_frame is not None:
            self.on_frame(frame, image, results)
        for track in self.tracker.observe(frame, results, crops):
            self._maybe_hit(track, frame)
        for track in self.tracker.due(frame.monotonic_s):
            self._decide(track)

    def _take_over(self, active: ActiveModels, frame: Frame) -> None:
        """New models from this frame on: reads decided from now name them."""
        waited_ms = (time.monotonic() - self.readers.swapped_at) * 1000.0
        log.info(
            "models switched at frame %d (captured %s): %s (%s) replaced %s (%s); the frame "
            "boundary came %.1f ms after the swap",
            frame.index,
            rfc3339(frame.captured_at),
            active.label,
            ", ".join(v for _, v in active.reader.model_versions),
            self._active.label,
            ", ".join(v for _, v in self._active.reader.model_versions),
            waited_ms,
        )
        self._active = active
        self.context = replace(self.context, model_versions=active.reader.model_versions)

    def finish(self) -> None:
        """Decide every open track (the unit is stopping)."""
        for track in self.tracker.flush():
            self._decide(track)

    def _maybe_hit(self, track: Track, frame: Frame) -> None:
        if track.hit_vrm is not None:
            return
        decided = track.vote(self.settings.region)
        if (
            decided is None
            or decided.agreeing < self.settings.hit_min_frames
            or decided.confidence < self.settings.min_confidence
        ):
            return
        if self._hit_just_now(decided.text, frame.monotonic_s):
            return  # this vehicle's hit went out from a track it split from
        matches = self.matcher.match(decided.text, decided.char_confidences)
        if not matches:
            return
        track.hit_vrm = decided.text
        read = make_read(track, decided, self.context)
        self._emit_hit(Hit(read, matches), track, decided.text, frame.index)

    def _decide(self, track: Track) -> None:
        try:
            self._decide_read(track)
        finally:
            # its read is made, overview and all: the track is kept a while longer only to
            # spot repeats (`_hits` holds the last 64 hits), without its 4.75 MB frame
            track.best_frame = None

    def _decide_read(self, track: Track) -> None:
        decided = track.vote(self.settings.region)
        no_hit = track.hit_vrm is None
        if (
            decided is None
            or len(decided.text) < MIN_READ_CHARS
            or (no_hit and len(track.observations) < MIN_READ_FRAMES)
            or (no_hit and decided.confidence < self.settings.min_read_confidence)
        ):
            self.counters.reads_discarded += 1
            return
        hit = track.hit_vrm is not None
        if track.hit_vrm is not None and decided.text != track.hit_vrm:
            decided = self._keep_hit_vrm(track.hit_vrm, decided)
        if self._seen_just_now(decided.text, track) and not hit:
            self.counters.reads_merged += 1  # one vehicle split in two tracks: read once
            return
        if not hit and self._fragment(track, decided.text):
            self.counters.reads_merged += 1  # part of a plate another track reads whole
            return
        read = make_read(track, decided, self.context)
        if (
            not hit
            and decided.confidence >= self.settings.min_confidence
            and not self._hit_just_now(decided.text, track.last.monotonic_s)
        ):
            matches = self.matcher.match(decided.text, decided.char_confidences)
            if matches:
                track.hit_vrm = decided.text
                self._emit_hit(Hit(read, matches), track, decided.text, track.last.frame_index)
                hit = True
        self.counters.reads += 1
        log.info(
            "read %s  confidence %.2f  %s  %d frames%s",
            read.vrm,
            read.confidence,
            read.direction or "direction unknown",
            read.frames,
            "  (hit)" if hit else "",
        )
        self.emit(ReadDecided(read, hit))

    def _keep_hit_vrm(self, hit_vrm: str, decided: Vote) -> Vote:
        """The read of a vehicle whose hit has gone out names the hit's plate: the centre acts on
        the hit, and a read and hit with one read_id must agree. The later frames' doubt stays in
        the read's character confidences, and is logged and counted for review."""
        self.counters.hit_reads_disagreeing += 1
        log.warning("hit on %s: its vehicle's later frames read %s", hit_vrm, decided.text)
        return dataclasses.replace(decided, text=hit_vrm)

    def _seen_just_now(self, vrm: str, track: Track) -> bool:
        """Was this plate decided for a track that ended moments before this one began (or
        overlapped it)? Then both are one vehicle, split by a detection gap."""
        horizon = self.tracker.settings.gap_s * 3
        started = track.first.monotonic_s
        duplicate = any(v == vrm and started - last <= horizon for v, last in self._decided)
        self._decided.append((vrm, track.last.monotonic_s))
        return duplicate

    def _fragment(self, track: Track, text: str) -> bool:
        """Is this track's plate a piece of one a neighbouring track reads (a detector box on
        part of a plate: "VF" beside "705BVF")?"""
        for other in self.tracker.neighbours(track):
            whole = other.vote(self.settings.region)
            if whole is None or len(whole.text) <= len(text) or not _part_of(text, whole.text):
                continue
            if _near(track, other):
                return True
        return False

    def _hit_just_now(self, vrm: str, now: float) -> bool:
        horizon = self.tracker.settings.gap_s * 3
        # a hit's track may still be in view: measure from when it was last seen
        return any(v == vrm and now - t.last.monotonic_s <= horizon for v, t in self._hits)

    def _emit_hit(self, hit: Hit, track: Track, vrm: str, decided_index: int) -> None:
        self._hits.append((vrm, track))
        readable = next(o for o in track.observations if o.text.text == vrm)
        now = time.monotonic()
        readable_mono = self._taken.get(readable.frame_index, now)
        decided_mono = self._taken.get(decided_index, now)
        self.counters.hits += 1
        best = hit.matches[0]
        log.info(
            "HIT %s on %s v%d (%s%s): %s, priority %d, %s",
            hit.read.vrm,
            best.list_id,
            best.version,
            best.kind,
            f" {best.entry.vrm}" if best.kind == "fuzzy" else "",
            best.entry.category,
            best.entry.priority,
            best.entry.action,
        )
        self.emit(HitDecided(hit, readable_mono, decided_mono))


def run_pipeline(
    pipeline: Pipeline,
    frames: queue.Queue,
    stop: threading.Event,
    stage: Stage,
    counters: Counters,
) -> None:
    """The pipeline stage's loop: frames until the END marker, then decide what is open. An
    error on one frame is logged with its traceback, counted, and the next frame goes on."""
    while True:
        stage.beat()
        try:
            item = frames.get(timeout=POLL_S)
        except queue.Empty:
            if stop.is_set():
                log.warning("pipeline: stopping without the END marker from capture")
                break
            continue
        if item is None:  # END
            break
        frame, taken = item
        started = time.perf_counter()
        try:
            pipeline.process(frame, taken)
        except Exception:
            counters.error("pipeline")
            log.exception("pipeline: frame %d failed", frame.index)
        counters.busy_s += time.perf_counter() - started
    pipeline.finish()


def _part_of(piece: str, whole: str) -> bool:
    """`piece` is in `whole`, allowing one misread character in a piece of 4 or more."""
    if piece in whole:
        return True
    if len(piece) < 4:
        return False
    return any(
        sum(a != b for a, b in zip(piece, whole[i : i + len(piece)], strict=True)) <= 1
        for i in range(len(whole) - len(piece) + 1)
    )


def _near(piece: Track, whole: Track) -> bool:
    """Was the piece where the whole plate was (or was heading: near vehicles cross the picture
    fast) at some moment within NEAR_S of the whole plate being seen?"""
    first, last = whole.first.monotonic_s - NEAR_S, whole.last.monotonic_s + NEAR_S
    for seen in piece.observations:
        if not first <= seen.monotonic_s <= last:
            continue
        x, y, height = whole.predict(seen.monotonic_s)
        cx, cy = seen.detection.box.centre
        reach = NEAR_HEIGHTS * max(height, seen.detection.box.h)
        if abs(cx - x) <= reach and abs(cy - y) <= reach:
            return True
    return False
