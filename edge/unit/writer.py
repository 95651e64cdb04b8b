"""The store writer: the one thread that writes reads, hits and deliveries to SQLite.

Events queue up from the pipeline (decided hits and reads) and the publisher (PUBACKs). The
writer takes what is waiting (hits first), writes it in one explicit transaction, commits, and
only then hands each new record to the publisher: a read is durable before it can be sent.
Every `HOUSEKEEPING_S` it applies retention and the quota (see `edge.store.reads`).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.store.database import open_database, transaction
from edge.store.reads import Kind, OutboxItem, ReadStore
from edge.unit.payloads import encode, hit_payload, read_payload, rfc3339
from edge.unit.pipeline import HitDecided, ReadDecided
from edge.unit.stages import Counters, Stage

log = logging.getLogger(__name__)

BATCH = 256
POLL_S = 0.5
HOUSEKEEPING_S = 60.0
QUEUE_SIZE = 10_000
PUT_TIMEOUT_S = 5.0
END = None


@dataclass(frozen=True)
class Delivered:
    kind: Kind
    no: int


@dataclass(frozen=True)
class StoreSettings:
    path: Path
    retention_s: float
    quota_bytes: int


# the publisher's hook: a committed record, and for hits (readable, decided) monotonic times
OnStored = Callable[[OutboxItem, tuple[float, float] | None], None]


class StoreWriter:
    def __init__(
        self, settings: StoreSettings, stage: Stage, counters: Counters, on_stored: OnStored
    ):
        self.settings, self.stage, self.counters = settings, stage, counters
        self.on_stored = on_stored
        self.events: queue.Queue = queue.Queue(QUEUE_SIZE)
        self.evicted: dict[str, int] = {}

    def submit(self, event: HitDecided | ReadDecided | Delivered | None) -> None:
        try:
            self.events.put(event, timeout=PUT_TIMEOUT_S)
        except queue.Full:
            # the writer is stuck (a full disk, a lock held elsewhere): the watchdog restarts
            # the unit; the record is lost only if it was never stored
            self.counters.error("writer")
            log.error("store writer: queue full for %.0f s; an event was lost", PUT_TIMEOUT_S)

    def delivered(self, kind: Kind, no: int) -> None:
        self.submit(Delivered(kind, no))

    def idle(self) -> bool:
        return self.events.unfinished_tasks == 0

    def run(self) -> None:
        conn = open_database(self.settings.path)
        try:
            store = ReadStore(conn)
            self._housekeep(store)
            next_housekeeping = time.monotonic() + HOUSEKEEPING_S
            while True:
                self.stage.beat()
                batch = self._take()
                try:
                    work = [event for event in batch if event is not END]
                    if work:
                        self._write(store, work)
                finally:
                    for _ in batch:
                        self.events.task_done()
                if END in batch:
                    return
                if time.monotonic() >= next_housekeeping:
                    self._housekeep(store)
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_S
        finally:
            conn.close()

    def _take(self) -> list:
        """What is waiting, up to BATCH events and the END marker (empty after POLL_S)."""
        try:
            batch = [self.events.get(timeout=POLL_S)]
        except queue.Empty:
            return []
        while len(batch) < BATCH and batch[-1] is not END:
            try:
                batch.append(self.events.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, store: ReadStore, events: list) -> None:
        hits = [e for e in events if isinstance(e, HitDecided)]
        reads = [e for e in events if isinstance(e, ReadDecided)]
        delivered: dict[str, list[int]] = {"hit": [], "read": []}
        for event in events:
            if isinstance(event, Delivered):
                delivered[event.kind].append(event.no)
        stored: list[tuple[OutboxItem, tuple[float, float] | None]] = []
        with transaction(store.conn):
            for event in hits:  # hits first: the publisher hears of them first too
                read = event.hit.read
                item = store.add_hit(
                    read.read_id,
                    read.vrm,
                    rfc3339(read.captured_at),
                    sorted({m.list_id for m in event.hit.matches}),
                    encode(hit_payload(event.hit)),
                )
                stored.append((item, (event.readable_mono, event.decided_mono)))
            for event in reads:
                read = event.read
                item = store.add_read(
                    read.read_id,
                    read.vrm,
                    rfc3339(read.captured_at),
                    confidence=read.confidence,
                    direction=read.direction,
                    frames=read.frames,
                    hit=event.hit,
                    payload=encode(read_payload(read, event.hit)),
                )
                stored.append((item, None))
            for kind, nos in delivered.items():
                if nos:
                    store.mark_delivered(kind, nos)  # type: ignore[arg-type]
        self.counters.stored += len(stored)
        for item, timing in stored:
            self.on_stored(item, timing)

    def _housekeep(self, store: ReadStore) -> None:
        with transaction(store.conn):
            expired = store.expire(self.settings.retention_s)
            evicted = store.enforce_quota(self.settings.quota_bytes)
        for name, count in evicted.items():
            self.evicted[name] = self.evicted.get(name, 0) + count
        if expired or evicted:
            log.info(
                "store: %d delivered records past retention deleted; quota evictions: %s",
                expired,
                ", ".join(f"{k} {v}" for k, v in evicted.items()) or "none",
            )
