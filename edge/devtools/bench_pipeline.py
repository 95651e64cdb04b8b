"""Whole-pipeline figures for `anpr-edge bench`: `pipeline_fps` and `hit_latency_ms`.

- `pipeline_fps`: frames per second the per-frame pipeline (grey conversion, motion gate,
  detector, recogniser, grouping, hotlist matching) sustains on a busy synthetic road at
  1456×1088 (90 vehicles a minute at 30 fps: a vehicle in most frames, often two). Only the
  pipeline is timed: drawing the synthetic frames is not (a camera delivers them for free).
- `hit_latency_ms`: the real unit (`edge.unit.service`) on the synthetic road in real time,
  with every second vehicle on a signed hotlist, publishing to a local Mosquitto: for each hit,
  from the moment the frame in which its plate was first read left the camera to the broker's
  PUBACK (median, p99). Needs a `mosquitto` binary; without one the figure is null. Its
  memory too: the process's peak resident memory (VmHWM) is started again at the run's start,
  so `hit_latency.peak_rss_mb` is the peak of the unit's run, start to stop, in this process.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.capture.sources.synthetic import SyntheticRoad
from edge.config import load_config
from edge.hotlist.fuzzy import FuzzyPolicy
from edge.hotlist.index import IndexHolder
from edge.hotlist.matcher import Matcher
from edge.stages import Counters
from edge.track.pipeline import OnFrame, Pipeline, PipelineSettings
from edge.track.reading import ReadContext
from edge.track.tracking import Tracker, TrackSettings
from edge.vision.motion import MotionGate
from edge.vision.reader import PlateReader

FRAME_SIZE = (1456, 1088)
BUSY_RATE = 90.0  # vehicles per minute
BENCH_FPS = 30.0
WARMUP = 90  # the first 3 s of road: the first vehicles arrive


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(float(np.median(values)), 2),
        "p90": round(float(np.percentile(values, 90)), 2),
        "p99": round(float(np.percentile(values, 99)), 2),
    }


def bench_pipeline_parts(
    threads: int, on_frame: OnFrame | None = None
) -> tuple[Pipeline, Counters]:
    """The unit's per-frame pipeline on the bundled models, with an empty hotlist."""
    reader = PlateReader.from_files(None, None, threads=threads, region="gb")
    counters = Counters()
    pipeline = Pipeline(
        reader,
        MotionGate(),
        Tracker(TrackSettings()),
        Matcher(IndexHolder(), FuzzyPolicy(max_distance=1, substitutions="confusions")),
        ReadContext("bench", "cam1", None, reader.model_versions),
        PipelineSettings(),
        emit=lambda event: None,
        counters=counters,
        on_frame=on_frame,
    )
    return pipeline, counters


def busy_road(seed: int) -> SyntheticRoad:
    return SyntheticRoad(
        seed=seed, size=FRAME_SIZE, fps=BENCH_FPS, look="day",
        vehicles_per_minute=BUSY_RATE, paced=False,
    )  # fmt: skip


def bench_pipeline(frames: int = 600, threads: int = 2, seed: int = 21) -> dict[str, Any]:
    pipeline, counters = bench_pipeline_parts(threads)
    source = busy_road(seed)
    times: list[float] = []
    with source:
        for i in range(frames + WARMUP):
            frame = source.read(1.0)
            assert frame is not None  # the synthetic road has no end
            started = time.perf_counter()
            pipeline.process(frame)
            if i >= WARMUP:
                times.append(time.perf_counter() - started)
    pipeline.finish()
    busy = sum(times)
    return {
        "pipeline_fps": round(len(times) / busy, 1),
        "pipeline": {
            "frames": len(times),
            "frame": list(FRAME_SIZE),
            "ms_per_frame": _stats([t * 1000 for t in times]),
            "motion_ratio": round(pipeline.gate.ratio, 3),
            "plates_per_frame": round(counters.plates_seen / max(counters.frames_searched, 1), 2),
            "reads": counters.reads,
            "vehicles_per_minute": BUSY_RATE,
            "fps_of_road": BENCH_FPS,
            "threads": threads,
        },
    }


def bench_hit_latency(seconds: float = 60.0, fps: float = BENCH_FPS) -> dict[str, Any]:
    from edge.devtools.demo import prepare_demo_hotlist
    from edge.devtools.localbroker import LocalBroker
    from edge.devtools.processes import find_mosquitto
    from edge.unit.memory import peak_rss_mb, reset_peak
    from edge.unit.notify import Notifier
    from edge.unit.service import RunOptions, Unit

    binary = find_mosquitto()
    if binary is None:
        return {"hit_latency_ms": None, "hit_latency": {"note": "mosquitto is not installed"}}
    with LocalBroker(binary) as broker, tempfile.TemporaryDirectory() as folder:
        path = _latency_config(Path(folder), broker.host, broker.port, fps)
        config = load_config(path)
        prepare_demo_hotlist(config, str(path), every=2)
        peak_reset = reset_peak()
        options = RunOptions(source=f"synthetic:rate=60,look=ir,fps={fps}", duration_s=seconds)
        summary = Unit(config, options, notifier=Notifier(None)).run()
    latency = summary["hit_latency_ms"]
    return {
        "hit_latency_ms": None if latency is None else {k: latency[k] for k in ("median", "p99")},
        "hit_latency": {
            "hits": summary["hits"],
            "delivered_hits": summary["delivered"]["hits"],
            "decision_to_puback_ms": summary["hit_decision_to_puback_ms"],
            "seconds": seconds,
            "fps": fps,
            "frames_dropped": summary["frames_dropped"],
            "hit_min_frames": config.recognition.hit_min_frames,
            "rss_mb": summary["rss_mb"],
            # from the run's start when the reset worked, else since the process started
            "peak_rss_mb": peak_rss_mb(),
            "peak_rss_from": "run start" if peak_reset else "process start",
        },
    }


def _latency_config(folder: Path, host: str, port: int, fps: float) -> Path:
    path = folder / "unit.toml"
    path.write_text(
        f'[unit]\nid = "bench"\n[camera]\nsource = "synthetic"\nfps = {fps}\nseed = 23\n'
        f'[hotlist]\nlists = ["bench"]\n'
        f'trusted_keys = ["{folder}/keys/a.pub", "{folder}/keys/b.pub"]\n'
        f'[mqtt]\nhost = "{host}"\nport = {port}\ntls = {{ enabled = false }}\n'
        f'[storage]\npath = "{folder}/anpr.db"\n'
        f'[health]\ninterval_s = 5.0\nstatus_file = "{folder}/status.json"\n'
        '[logging]\nlevel = "WARNING"\n'
    )
    return path
