"""Health: the figures the centre sees every `health.interval_s` (`anpr.health/1`) and the
status file a technician's tools read (`status()`: the same figures plus what only matters on
site, written more often; see `edge.unit.status`).

Clock synchronisation is the kernel's own verdict (`adjtimex`: TIME_ERROR means no time source
has disciplined the clock; NTP daemons and `timedatectl` use the same flag), checked at most
every 10 s. CPU temperature is read from the first thermal zone when there is one (a Pi has).
"Today" is the unit's local day (the process's time zone: $TZ, else /etc/localtime), the way a
technician on site counts it; every time in the files and on the wire stays UTC.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any

from edge.stages import Counters, Stage
from edge.store.database import open_database
from edge.store.reads import ReadStore
from edge.times import rfc3339, rfc3339_or_none, utc_now
from edge.unit.memory import rss_mb
from edge.unit.status import identity, write_status_file
from edge.uplink.payloads import HEALTH_SCHEMA

__all__ = ["ClockState", "HealthReporter", "local_day_start", "write_status_file"]

TIME_ERROR = 5
THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")
CLOCK_CHECK_S = 10.0


class ClockState:
    """Is the system clock synchronised? Cached; safe to call from any thread."""

    def __init__(self) -> None:
        self._checked = -CLOCK_CHECK_S
        self._synced = False
        self._lock = threading.Lock()
        try:
            libc: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        except OSError:
            libc = None
        self._libc = libc

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._checked < CLOCK_CHECK_S:
            return self._synced
        with self._lock:
            self._checked = now
            self._synced = self._ask_kernel()
        return self._synced

    def _ask_kernel(self) -> bool:
        if self._libc is None:
            return False
        timex = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = self._libc.adjtimex(timex)
        return 0 <= state < TIME_ERROR


def cpu_temperature_c() -> float | None:
    try:
        return round(int(THERMAL.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        return None


def disk_free_mb(path: Path) -> float | None:
    try:
        return round(shutil.disk_usage(path.parent).free / 1e6, 1)
    except OSError:
        return None


class HealthReporter:
    def __init__(
        self,
        unit_id: str,
        counters: Counters,
        store: sqlite3.Connection,
        store_path: Path,
        stages: list[Stage],
        clock: ClockState,
        extra: Callable[[], dict[str, Any]],
        store_generation: Callable[[], int] = lambda: 0,
    ):
        self.unit_id, self.counters, self.store_path = unit_id, counters, store_path
        # the writer's count of store files replaced under the unit: follow it to the new one
        self.store_generation, self._generation = store_generation, 0
        self._store_lock = threading.Lock()
        self._store: ReadStore | None = ReadStore(store)
        self.stages, self.clock, self.extra = stages, clock, extra
        self.started = time.monotonic()
        self.started_at = rfc3339(utc_now())
        # fps is over the time since the same consumer last asked (health and the status file
        # come at different intervals)
        self._last = {"health": (self.started, 0), "status": (self.started, 0)}

    def release_store(self) -> None:
        """Close the connection to the store file (any thread: the writer is replacing the
        file); figures from the store are missing until the writer's new file is opened."""
        with self._store_lock:
            if self._store is not None:
                self._store.conn.close()
                self._store = None

    def close(self) -> None:
        self.release_store()

    def _follow_store(self) -> ReadStore | None:
        generation = self.store_generation()
        if self._store is None and generation != self._generation:
            conn = open_database(self.store_path, migrate=False, same_thread=False)
            self._store, self._generation = ReadStore(conn), generation
        return self._store

    def snapshot(self, consumer: str = "health") -> dict[str, Any]:
        with self._store_lock:
            store = self._follow_store()
            figures = _store_figures(store)
        now = time.monotonic()
        counters = self.counters
        last_at, last_frames = self._last[consumer]
        self._last[consumer] = (now, counters.frames)
        fps = (counters.frames - last_frames) / (now - last_at) if now > last_at else 0.0
        extra = self.extra()
        return {
            "schema": HEALTH_SCHEMA,
            "unit_id": self.unit_id,
            "at": rfc3339(utc_now()),
            "uptime_s": round(now - self.started, 1),
            "fps": round(fps, 2),
            "frames": counters.frames,
            "frames_dropped": counters.frames_dropped,
            "camera_stalls": counters.camera_stalls,
            "motion_ratio": round(extra.pop("motion_ratio", 0.0), 4),
            "reads": counters.reads,
            "hits": counters.hits,
            "hit_reads_disagreeing": counters.hit_reads_disagreeing,
            "backlog": figures["backlog"],
            "delivered": {"reads": counters.delivered_reads, "hits": counters.delivered_hits},
            "hotlists": extra.pop("hotlists", {}),
            "cpu_temp_c": cpu_temperature_c(),
            "disk_free_mb": disk_free_mb(self.store_path),
            "store_mb": figures["store_mb"],
            "evicted": figures["evicted"],
            "clock_synced": self.clock(),
            "rss_mb": rss_mb(),
            "errors": counters.errors,
            "commands": {"accepted": counters.commands, "rejected": counters.commands_rejected},
            "stages": {stage.name: stage.alive(now) for stage in self.stages},
            **extra,
        }

    def status(self, state: str, interval_s: float) -> dict[str, Any]:
        """The status file's document: the figures above and what only a technician on site
        needs (never sent to the centre). `interval_s`: how often it is written while running."""
        figures = self.snapshot("status")
        day_start, since, zone = local_day_start(time.time())
        with self._store_lock:
            store = self._store
            last_read = store.last_read_at() if store else None
            counts = store.counts_since(day_start) if store else {"reads": None, "hits": None}
        return {
            **figures,
            "state": state,
            **identity(),
            "status_interval_s": interval_s,
            "started_at": self.started_at,
            "last_frame_at": rfc3339_or_none(self.counters.last_frame_at),
            "last_read_at": last_read,
            "last_delivered_at": rfc3339_or_none(self.counters.last_delivered_at),
            "today": {**counts, "since": since, "timezone": zone},
        }


def _store_figures(store: ReadStore | None) -> dict[str, Any]:
    if store is None:  # being replaced (edge.store.writer): the next figures will have them
        return {
            "backlog": {"hits": None, "reads": None, "oldest_age_s": None},
            "store_mb": None,
            "evicted": {},
        }
    return {
        "backlog": store.backlog(),
        "store_mb": round(store.used_bytes() / 1e6, 2),
        "evicted": store.counters(),
    }


def local_day_start(now: float) -> tuple[float, str, str]:
    """Midnight of `now`'s local day: epoch seconds, ISO 8601 with its UTC offset, and the
    zone's name. Midnight is made as a naive local time, so a DST change that day is right."""
    midnight = datetime.combine(datetime.fromtimestamp(now).date(), day_time.min).timestamp()
    local = datetime.fromtimestamp(midnight).astimezone()
    return midnight, local.isoformat(), local.tzname() or "local"
