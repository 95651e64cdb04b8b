"""The unit's memory figures (edge.unit.memory) and the synthetic road's memory at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.synth.raster import add_signed, modulate
from edge.unit.memory import peak_rss_mb, reset_peak, rss_mb
from edge.unit.sources.synthetic import SyntheticRoad

ROOT = Path(__file__).resolve().parent.parent
linux = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")

CHILD = (
    "import resource; from edge.unit.memory import peak_rss_mb; "
    "print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


@linux
def test_the_peak_is_this_process_not_the_one_that_started_it():
    # a parent holding 300 MB starts a small child: getrusage() gives the child the parent's
    # peak (what made `anpr-edge run` report 434 MB under the bench tool), VmHWM does not
    held = np.ones(300 * 1024 * 1024, np.uint8)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=ROOT
    )
    peak, ru_maxrss = (float(v) for v in done.stdout.split())
    assert held.sum() > 0
    assert ru_maxrss > 300
    assert peak < 150


@linux
def test_the_peak_can_be_started_again_for_one_phase():
    big = np.ones(200 * 1024 * 1024, np.uint8)  # touched: resident
    before = peak_rss_mb()
    del big
    if not reset_peak():
        pytest.skip("this kernel does not allow resetting the peak")
    after = peak_rss_mb()
    assert before is not None and after is not None and rss_mb() is not None
    assert after < before - 150


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
