"""A status file as the unit writes it, from a real HealthReporter on a real store."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from edge.stages import Counters, Stage
from edge.store import open_database
from edge.unit.health import ClockState, HealthReporter
from edge.unit.status import write_status_file

PICAMERA = {"source": "picamera2", "frames": 1200, "exposure_us": 800, "analogue_gain": 4.0}


def utc(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reporter(folder: Path, counters: Counters | None = None) -> HealthReporter:
    conn = open_database(folder / "state" / "anpr.db")
    return HealthReporter(
        "test-unit",
        counters or Counters(frames=1200, last_frame_at=time.time()),
        conn,
        folder / "state" / "anpr.db",
        [Stage("capture", 3.0), Stage("publisher", 15.0)],
        ClockState(),
        extra=lambda: {
            "motion_ratio": 0.4,
            "hotlists": {"national": 412, "local": 7},
            "broker": {
                "connected": False,
                "in_flight": 0,
                "hits_waiting": 0,
                "centre_listening": True,
                "unheard": 0,
            },
            "source": dict(PICAMERA),
        },
    )


def write_status(folder: Path, state: str, **changes) -> dict:
    """A status file as the unit writes it, then `changes` (another pid, an older time…)."""
    health = reporter(folder)
    try:
        doc = {**health.status(state, 5.0), **changes}
    finally:
        health.close()
    write_status_file(folder / "run" / "status.json", doc)
    return doc
