"""The trial of new models: read rate and mean confidence after a switch, against the previous
models' over the same length of time just before it.

The read rate is reads per frame captured, not per second, so a run with unpaced frames (tests)
and a camera at its own frame rate are judged alike. The confidence is the mean of every plate
read in every frame, before a vehicle's frames are voted into one read: voting pushes any
consistent reading towards 1, so the reads' own confidence would hide models that are right but
unsure (badly calibrated), and unsure models are what lose the far and the blurred plates.
Traffic varies, so the comparison allows a
fraction (`models.trial_min_fraction`, 0.8 by default) and needs enough reads before the switch
(`models.trial_min_reads`) to mean anything: with fewer, the trial passes, and the golden test
has already shown the new models read. The ledger samples the unit's counters once a second
(cheap: five numbers) and keeps two trial windows of samples.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.stages import Counters

if TYPE_CHECKING:
    from edge.config import Config

SAMPLE_S = 1.0


@dataclass(frozen=True)
class TrialSettings:
    window_s: float = 900.0
    min_fraction: float = 0.8
    min_reads: int = 10

    @classmethod
    def from_config(cls, config: Config) -> TrialSettings:
        models = config.models
        return cls(models.trial_window_s, models.trial_min_fraction, models.trial_min_reads)


@dataclass(frozen=True)
class Figures:
    frames: int
    reads: int
    plates: int  # plates read in single frames
    confidence_sum: float  # over `plates`

    @property
    def rate(self) -> float:
        return self.reads / self.frames if self.frames else 0.0

    @property
    def mean_confidence(self) -> float:
        return self.confidence_sum / self.plates if self.plates else 0.0

    def as_json(self) -> dict:
        return {
            "frames": self.frames,
            "reads": self.reads,
            "reads_per_frame": round(self.rate, 5),
            "plates": self.plates,
            "mean_confidence": round(self.mean_confidence, 4),
        }


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic
    frames: int
    reads: int
    plates: int
    confidence_sum: float


class ReadLedger:
    """Samples of the unit's counters (the updater's thread only)."""

    def __init__(self, counters: Counters, keep_s: float):
        self.counters, self.keep_s = counters, keep_s
        self._samples: deque[Sample] = deque()
        self.sample()

    def sample(self, now: float | None = None, force: bool = False) -> None:
        now = time.monotonic() if now is None else now
        if not force and self._samples and now - self._samples[-1].at < SAMPLE_S:
            return
        c = self.counters
        self._samples.append(Sample(now, c.frames, c.reads, c.plates_seen, c.plate_confidence_sum))
        while len(self._samples) > 2 and now - self._samples[1].at > self.keep_s:
            self._samples.popleft()

    def between(self, start: float, end: float) -> Figures:
        """The figures from the last sample at or before `start` to the last at or before
        `end` (the oldest kept when none is that old)."""
        first = self._at_or_before(start)
        last = self._at_or_before(end)
        return Figures(
            last.frames - first.frames,
            last.reads - first.reads,
            last.plates - first.plates,
            last.confidence_sum - first.confidence_sum,
        )

    def _at_or_before(self, moment: float) -> Sample:
        found = self._samples[0]
        for sample in self._samples:
            if sample.at > moment:
                break
            found = sample
        return found


def degraded(before: Figures, after: Figures, settings: TrialSettings) -> str | None:
    """Why the new models read worse than the previous ones, or None if they did not (or
    there were too few reads before the switch to tell)."""
    if before.reads < settings.min_reads:
        return None
    fraction = settings.min_fraction
    if after.rate < fraction * before.rate:
        return (
            f"read rate {after.rate:.4f} reads/frame ({after.reads} reads in {after.frames} "
            f"frames) is below {fraction:g} × the previous models' {before.rate:.4f} "
            f"({before.reads} in {before.frames})"
        )
    if after.mean_confidence < fraction * before.mean_confidence:
        return (
            f"mean confidence {after.mean_confidence:.3f} over {after.plates} plates read is "
            f"below {fraction:g} × the previous models' {before.mean_confidence:.3f}"
        )
    return None
