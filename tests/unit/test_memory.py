"""The unit's memory figures (edge.unit.memory) and the synthetic road's memory at start-up."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from edge.capture.sources.synthetic import SyntheticRoad
from edge.records import Box, Detection, Frame, HitDecided, PlateText, ReadDecided
from edge.stages import Counters
from edge.synth.raster import add_signed, modulate
from edge.track.pipeline import Pipeline, PipelineSettings
from edge.track.reading import ReadContext
from edge.track.tracking import Tracker, TrackSettings
from edge.unit.memory import peak_rss_mb, reset_peak, rss_mb
from edge.vision.motion import MotionGate
from edge.vision.reader import PlateResult

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
linux = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")

CHILD = (
    "import resource; from edge.unit.memory import peak_rss_mb; "
    "print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


@linux
def test_the_peak_is_this_process_not_the_one_that_started_it():
    # a parent holding 160 MB starts a small child: getrusage() gives the child the parent's
    # peak (what made `anpr-edge run` report 434 MB under the bench tool), VmHWM does not
    held = np.ones(160 * 1024 * 1024, np.uint8)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=ROOT
    )
    peak, ru_maxrss = (float(v) for v in done.stdout.split())
    assert held.sum() > 0
    assert ru_maxrss > 160
    assert peak < 100


@linux
def test_the_peak_can_be_started_again_for_one_phase():
    big = np.ones(120 * 1024 * 1024, np.uint8)  # touched: resident
    before = peak_rss_mb()
    del big
    if not reset_peak():
        pytest.skip("this kernel does not allow resetting the peak")
    after = peak_rss_mb()
    assert before is not None and after is not None and rss_mb() is not None
    assert after < before - 100


def test_banded_add_signed_and_modulate_equal_the_whole_picture_versions():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (203, 77, 3), dtype=np.uint8)  # not a multiple of the band
    delta = rng.normal(0, 60, (203, 77)).astype(np.float32)
    field = rng.uniform(0.2, 1.8, (203, 77)).astype(np.float32)
    raise_ = np.clip(np.round(np.maximum(delta, 0)), 0, 255)[..., None]
    lower = np.clip(np.round(-np.minimum(delta, 0)), 0, 255)[..., None]
    expected = np.clip(np.clip(image + raise_, 0, 255) - lower, 0, 255).astype(np.uint8)
    assert np.array_equal(add_signed(image, delta), expected)
    in_place = image.copy()
    add_signed(in_place, delta, out=in_place)
    assert np.array_equal(in_place, expected)
    lit = np.clip(np.round(image * field[..., None]), 0, 255).astype(np.uint8)
    assert np.abs(modulate(image, field).astype(int) - lit).max() <= 1  # rounding of halves


@linux
def test_the_synthetic_road_starts_and_changes_look_without_a_big_peak():
    # the street is drawn twice as tall as the frame; its temporaries once peaked at ~70 MB
    # above the frames themselves, at start and again when `mixed` switched to IR
    road = SyntheticRoad(seed=1, look="mixed", fps=15.0, vehicles_per_minute=40, paced=False)
    road.open()
    road.read(1.0)  # warm: imports, first allocations
    start = rss_mb()
    if not reset_peak():
        pytest.skip("this kernel does not allow resetting the peak")
    road.index = int(30.0 * 15.0)  # the switch to IR
    road.read(1.0)
    assert len(road.renderer._looks) == 2
    assert road.renderer._looks["day"].raw is road.renderer._looks["ir"].raw  # one street
    assert peak_rss_mb() - start < 45


class _Reader:
    """One plate a frame, moving down the picture: a vehicle driving towards the camera."""

    def read(self, image):
        self.i = getattr(self, "i", -1) + 1
        plate = ("AB12CDE", "XY51ZZT", "LM63PQR")[self.i // 20 % 3]
        reading = PlateText(plate, 0.9, (0.99,) * 7, "gb-current")
        box = Box(600.0, 100.0 + 20 * (self.i % 20), 150.0, 32.0)
        return [PlateResult(Detection(box, 0.9), reading)] if self.i % 20 < 10 else []


class _Matcher:
    def match(self, text, confidences):
        entry = SimpleNamespace(vrm=text, category="test", priority=1, action="note")
        return [SimpleNamespace(list_id="t", version=1, kind="exact", entry=entry)]


def test_a_decided_track_lets_its_overview_frame_go():
    # with storage.keep_overview a track holds its best 4.75 MB frame; the last 64 hits are
    # kept to spot repeats, and held 64 frames (430 MB resident in a 2.5 minute run)
    events = []
    pipeline = Pipeline(
        _Reader(),
        MotionGate(enabled=False),
        Tracker(TrackSettings(gap_s=0.2, keep_frames=True)),
        _Matcher(),
        ReadContext("unit-1", "cam1", None, (), keep_overview=True),
        PipelineSettings(hit_min_frames=3, min_confidence=0.1, min_read_confidence=0.1),
        emit=events.append,
        counters=Counters(),
    )
    picture = np.random.default_rng(1).integers(0, 255, (1088, 1456, 3), np.uint8)
    for i in range(60):  # three vehicles, each seen for 10 frames, then 10 frames of none
        pipeline.process(Frame(i, picture, T0 + timedelta(seconds=i / 20), i / 20.0))
    pipeline.finish()
    reads = [e.read for e in events if isinstance(e, ReadDecided)]
    hits = [e.hit for e in events if isinstance(e, HitDecided)]
    assert len(hits) == 3 and all(hit.read.overview_jpeg for hit in hits)
    assert len(reads) == 3 and all(r.overview_jpeg for r in reads)
    held = [track for _, track in pipeline._hits] + pipeline.tracker._recent
    assert held and all(track.best_frame is None for track in held)
