"""Timing of the vision stages on synthetic inputs, one thread (what `anpr-edge bench` prints).

Inputs are made from a fixed seed, so every run times the same pixels, and outside the timed
span. The detector is timed per 1456×1088 frame (the Pi global-shutter camera) including its
letterbox, packing and decoding; the recogniser per plate crop including its preprocessing.
Frames are drawn one at a time just before they are timed: held all at once they were 4.75 MB
each (190 MB for the default 40, which glibc then kept for the rest of `anpr-edge bench`).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from edge.synth.scene import render_crop, render_scene
from edge.vision.reader import PlateReader

FRAME_SIZE = (1456, 1088)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    import os

    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
    }


def _time_ms(
    work: Callable[[Any], object], make: Callable[[int], Any], count: int, warmup: int = 3
) -> dict[str, float]:
    """Time `work` on inputs `make(0)` … `make(count - 1)`, made untimed, one at a time; the
    first `warmup` inputs are also run once before."""
    for i in range(min(warmup, count)):
        work(make(i))
    times = []
    for i in range(count):
        item = make(i)
        started = time.perf_counter()
        work(item)
        times.append((time.perf_counter() - started) * 1000)
        del item
    return {
        "median": round(float(np.median(times)), 3),
        "p90": round(float(np.percentile(times, 90)), 3),
        "n": len(times),
    }


def bench_vision(
    reader: PlateReader, frames: int = 40, plates: int = 300, seed: int = 99
) -> dict[str, Any]:
    crops = [render_crop(np.random.default_rng([seed, i])).image for i in range(plates)]

    def scene(i: int) -> np.ndarray:
        return render_scene(np.random.default_rng([seed, 10_000 + i]), FRAME_SIZE).image

    return {
        "recogniser_ms": _time_ms(
            lambda c: reader.recogniser.read(c, reader.region), crops.__getitem__, len(crops)
        ),
        "detector_ms": _time_ms(reader.detector.detect, scene, frames),
        "frame": list(FRAME_SIZE),
        "threads": 1,
        "runtime": reader.detector.model.runtime,
        "models": dict(reader.model_versions),
        "machine": machine(),
    }
