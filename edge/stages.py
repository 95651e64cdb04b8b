"""What every stage of the unit shares: a heartbeat, counters and a supervised thread.

- A `Stage` beats whenever its loop goes round (at least every poll interval, busy or idle);
  the supervisor feeds the systemd watchdog only while every stage has beaten within its
  `max_silence_s`, so one hung stage gets the unit restarted.
- `Counters` are plain integers bumped by their one owning thread and read by the health
  reporter (reads of an int are atomic in CPython; a health figure a moment old is fine).
- `start_stage` runs a loop in a thread; an exception escaping it is logged with its traceback,
  counted, and stops the unit (exit code 1: systemd restarts it) rather than leaving a unit
  that looks alive but no longer reads or sends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class Stage:
    def __init__(self, name: str, max_silence_s: float):
        self.name, self.max_silence_s = name, max_silence_s
        self.last_beat = time.monotonic()
        self.finished = False

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def silent_for(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.last_beat

    def alive(self, now: float | None = None) -> bool:
        return self.finished or self.silent_for(now) <= self.max_silence_s


@dataclass
class Counters:
    frames: int = 0
    frames_dropped: int = 0
    frames_searched: int = 0
    plates_seen: int = 0
    plate_confidence_sum: float = 0.0  # over `plates_seen`: the models' trial compares the mean
    reads: int = 0
    reads_discarded: int = 0  # tracks too short to be a vehicle
    reads_merged: int = 0  # a second track of a vehicle just read (a detection gap)
    hit_reads_disagreeing: int = 0  # a hit's later frames read another plate (it keeps the hit's)
    hits: int = 0
    stored: int = 0
    delivered_reads: int = 0
    delivered_hits: int = 0
    publish_failures: int = 0
    commands: int = 0  # accepted from the centre (edge.uplink.commands)
    commands_rejected: int = 0
    camera_stalls: int = 0
    errors: int = 0  # exceptions logged with traceback, in any stage
    busy_s: float = 0.0  # pipeline time spent on frames (for the pipeline's own fps)
    # wall-clock times (time.time()) for the status file: when a frame last left the source,
    # when the broker last acknowledged a read or hit
    last_frame_at: float | None = None
    last_delivered_at: float | None = None
    errors_by_stage: dict[str, int] = field(default_factory=dict)

    def error(self, stage: str) -> None:
        self.errors += 1
        self.errors_by_stage[stage] = self.errors_by_stage.get(stage, 0) + 1


def start_stage(
    stage: Stage,
    loop: Callable[[], None],
    counters: Counters,
    on_crash: Callable[[], None],
) -> threading.Thread:
    def run() -> None:
        try:
            loop()
        except BaseException:
            counters.error(stage.name)
            log.exception("stage %s stopped by an unexpected error; stopping the unit", stage.name)
            on_crash()
        finally:
            stage.finished = True

    thread = threading.Thread(target=run, name=stage.name, daemon=True)
    thread.start()
    return thread
