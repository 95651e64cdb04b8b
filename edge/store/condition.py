"""How the store is doing, as the writer sees it: for health, the status file and the log.

The writer never gives up on a record because the store is unavailable; it holds it in memory
and tries again. What the centre and a technician must learn from health is *why* records are
waiting in memory and how many: `state` is one of

- "ok": the last commit went through;
- "busy": another connection holds the write lock (a `sqlite3` shell, a backup, a long
  transaction of another process); the writer waits with back-off;
- "disk full": SQLite could not grow the file or its WAL; with the path and the free bytes;
- "error": any other failure of the store (the message says which);
- "disk low": commits work, but free space is under `storage.min_free_mb`, so delivered
  reads are being evicted to make room.

`held` counts what is in memory waiting for the store; `dropped_reads` counts reads given up
because the holding area was full (hits are never dropped); `replaced` counts how often the
store file was found deleted or replaced under the running unit.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from edge.times import rfc3339_or_none

log = logging.getLogger(__name__)

LOG_AGAIN_S = 60.0  # a lasting problem is logged again at most this often


class StoreCondition:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.state = "ok"
        self.detail: str | None = None
        self.since: float | None = None  # wall clock, when the state began
        self.free_bytes: int | None = None
        self.held = {"hits": 0, "reads": 0}
        self.dropped_reads = 0
        self.replaced = 0
        self.replaced_at: float | None = None
        self.failures = 0  # commits that failed, all causes
        self._logged_at = 0.0

    def trouble(self, state: str, detail: str, free_bytes: int | None = None) -> None:
        """A commit failed for `state`; logged at once when it starts, then once a minute."""
        with self._lock:
            self.failures += 1
            changed = state != self.state
            if changed:
                self.state, self.since = state, time.time()
            self.detail, self.free_bytes = detail, free_bytes
            held = dict(self.held)
        now = time.monotonic()
        if changed or now - self._logged_at >= LOG_AGAIN_S:
            self._logged_at = now
            log.error(
                "store %s: %s; holding %d hit(s) and %d read(s) in memory and retrying",
                state,
                detail,
                held["hits"],
                held["reads"],
            )

    def ok(self, low_space: str | None = None) -> None:
        """A commit went through; `low_space` says so when free space is under the floor."""
        state = "disk low" if low_space else "ok"
        with self._lock:
            previous, since = self.state, self.since
            if state != previous:
                self.state, self.since = state, time.time() if low_space else None
            self.detail = low_space
        if previous in ("busy", "disk full", "error"):
            waited = time.time() - since if since else 0.0
            log.warning("store usable again after %.1f s (%s)", waited, previous)
        elif low_space and previous != "disk low":
            log.warning("store: %s", low_space)

    def holding(self, hits: int, reads: int) -> None:
        with self._lock:
            self.held = {"hits": hits, "reads": reads}

    def dropped(self, read_id: str, limit_text: str) -> None:
        with self._lock:
            self.dropped_reads += 1
            count = self.dropped_reads
        log.critical(
            "store unavailable and %s held in memory: read %s DROPPED (%d so far); hits are "
            "still kept",
            limit_text,
            read_id,
            count,
        )

    def was_replaced(self, how: str) -> None:
        with self._lock:
            self.replaced += 1
            self.replaced_at = time.time()
        log.critical(
            "store %s was %s while the unit ran; carrying on in a fresh store", self.path, how
        )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "detail": self.detail,
                "since": rfc3339_or_none(self.since),
                "path": str(self.path),
                "free_bytes": self.free_bytes,
                "held": dict(self.held),
                "dropped_reads": self.dropped_reads,
                "failed_commits": self.failures,
                "replaced": self.replaced,
                "replaced_at": rfc3339_or_none(self.replaced_at),
            }
