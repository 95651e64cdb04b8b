"""The store writer: the one thread that writes reads, hits and deliveries to SQLite.

Events queue up from the pipeline (decided hits and reads) and the publisher (PUBACKs);
`submit` never blocks and never refuses. The writer moves what is waiting into its holding area
(`edge.store.holding`), writes it in one explicit transaction (hits first), commits, and only
then hands each new record to the publisher: a read is durable before it can be sent.

No writer elsewhere can make it lose a record. When a commit fails (another process holds the
write lock, the disk is full, any other SQLite error) the records go back into the holding
area, health says why (`edge.store.condition`), and the writer tries again with back-off
while it goes on taking new events. Every few seconds it also checks that the file at
`storage.path` is still the one it writes to (`edge.store.recovery`) and that the file system
keeps `storage.min_free_mb` free, evicting delivered reads to make room when it does not. Every
`HOUSEKEEPING_S` it applies retention and the quota (see `edge.store.reads`).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge.records import HitDecided, ReadDecided
from edge.stages import Counters, Stage
from edge.store.condition import StoreCondition
from edge.store.database import fault_of, free_bytes, open_database
from edge.store.holding import (
    Delivered,
    Holding,
    drop_spill,
    held_hit,
    held_read,
    spill,
    spill_path,
    take_spill,
)
from edge.store.reads import Kind, OutboxItem, ReadStore
from edge.store.recovery import FileId, file_id
from edge.store.sql import transaction
from edge.store.upkeep import BUSY_TIMEOUT_S, StoreUpkeep

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

BATCH = 256
POLL_S = 0.5
HOUSEKEEPING_S = 60.0
WATCH_S = 2.0  # how often the file's identity and the free space are checked
BACKOFF_S = (0.1, 2.0)  # between failed commits: doubling from 0.1 s to 2 s
END_GRACE_S = 20.0  # at stop, how long to keep trying before spilling what is held
END = None

MB = 1024 * 1024

__all__ = ["END", "Delivered", "StoreSettings", "StoreWriter"]


@dataclass(frozen=True)
class StoreSettings:
    path: Path
    retention_s: float
    quota_bytes: int
    min_free_bytes: int = 0

    @classmethod
    def from_config(cls, config: Config) -> StoreSettings:
        storage = config.storage
        return cls(
            Path(storage.path),
            retention_s=storage.retention_days * 86400.0,
            quota_bytes=storage.quota_mb * MB,
            min_free_bytes=storage.min_free_mb * MB,
        )


# the publisher's hook: a committed record, and for hits (readable, decided) monotonic times
OnStored = Callable[[OutboxItem, tuple[float, float] | None], None]


class StoreWriter(StoreUpkeep):
    def __init__(
        self,
        settings: StoreSettings,
        stage: Stage,
        counters: Counters,
        on_stored: OnStored,
        on_replaced: Callable[[int], None] = lambda generation: None,
        on_release: Callable[[], None] = lambda: None,
    ):
        self.settings, self.stage, self.counters = settings, stage, counters
        # the store file was replaced: others close their connections to the old one
        # (`on_release`, returning once they have), then open the new one (`on_replaced`)
        self.on_stored, self.on_replaced, self.on_release = on_stored, on_replaced, on_release
        self.events: queue.Queue = queue.Queue()  # unbounded: the holding area bounds reads
        self.condition = StoreCondition(settings.path)
        self.evicted: dict[str, int] = {}
        self.generation = 0  # +1 each time the store file is replaced (record numbers restart)
        self.holding = Holding()
        self._conn: sqlite3.Connection | None = None
        self._file: FileId | None = None
        self._retry_at = 0.0
        self._backoff = BACKOFF_S[0]
        self._spilled = False
        self._flushing = False
        self._room_warned_at = -60.0

    def submit(self, event: HitDecided | ReadDecided | Delivered | None) -> None:
        self.events.put(event)

    def delivered(self, kind: Kind, no: int, generation: int = 0) -> None:
        self.submit(Delivered(kind, no, generation))

    def idle(self) -> bool:
        """Nothing queued, held or being committed (so the publisher has heard of it all)."""
        return self.events.unfinished_tasks == 0 and not self.holding and not self._flushing

    # --- the writer's thread ----------------------------------------------------------------

    def run(self) -> None:
        self._spilled = take_spill(self.settings.path, self.holding) > 0
        if self._spilled:
            log.info("store: took back records held in memory when the unit last stopped")
        next_housekeeping = next_watch = 0.0
        if self._connection() is not None:  # retention and quota first, as at every start
            self._housekeep()
            next_housekeeping = time.monotonic() + HOUSEKEEPING_S
        ended_at: float | None = None
        try:
            while True:
                self.stage.beat()
                if self._take() and ended_at is None:
                    ended_at = time.monotonic()
                now = time.monotonic()
                if self.holding and now >= self._retry_at:
                    self._flush()
                if ended_at is not None and (not self.holding or now - ended_at > END_GRACE_S):
                    return
                if now >= next_watch and self._connection() is not None:
                    next_watch = now + WATCH_S
                    self._watch()
                if now >= next_housekeeping and self._conn is not None:
                    next_housekeeping = now + HOUSEKEEPING_S
                    self._housekeep()
        finally:
            self._keep_what_is_held()
            if self._conn is not None:
                self._conn.close()

    def _take(self) -> bool:
        """Move what is waiting (up to BATCH events) into the holding area; True at END."""
        wait = POLL_S
        if self.holding:  # come back when the next commit is due
            wait = max(min(self._retry_at - time.monotonic(), POLL_S), 0)
        try:
            events = [self.events.get(timeout=wait) if wait > 0 else self.events.get_nowait()]
        except queue.Empty:
            return False
        while len(events) < BATCH:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                break
        for event in events:
            if isinstance(event, HitDecided):
                self.holding.add_hit(held_hit(event))
            elif isinstance(event, ReadDecided):
                read = held_read(event)
                if not self.holding.add_read(read):
                    self.condition.dropped(read.read_id, f"{self.holding.max_read_bytes:,} bytes")
            elif isinstance(event, Delivered) and event.generation == self.generation:
                self.holding.delivered.append(event)  # (else numbered in a replaced file)
            self.events.task_done()
        self.condition.holding(len(self.holding.hits), len(self.holding.reads))
        return END in events

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None:
            try:
                self._conn = open_database(self.settings.path, busy_timeout_s=BUSY_TIMEOUT_S)
                self._file = file_id(self.settings.path)
            except Exception as exc:
                self._failed(exc.__cause__ or exc)
        return self._conn

    def _flush(self) -> None:
        conn = self._connection()
        if conn is None:
            return
        self._flushing = True
        try:
            self._flush_into(conn)
        finally:
            self._flushing = False

    def _flush_into(self, conn: sqlite3.Connection) -> None:
        taken = self.holding.take()
        try:
            stored = self._write(ReadStore(conn), taken)
        except sqlite3.IntegrityError:
            log.exception("store: a batch broke a constraint; writing its records one by one")
            self.counters.error("writer")
            stored = self._write_singly(ReadStore(conn), taken)
        except sqlite3.Error as exc:
            self.holding.restore(taken)
            self._failed(exc)
            return
        self._backoff = BACKOFF_S[0]
        self.condition.holding(len(self.holding.hits), len(self.holding.reads))
        self.condition.ok(self._low_space())
        if self._spilled:
            drop_spill(self.settings.path)
            self._spilled = False
        self.counters.stored += len(stored)
        for item, timing in stored:
            self.on_stored(item, timing)

    def _write(self, store: ReadStore, held: Holding) -> list:
        stored: list[tuple[OutboxItem, tuple[float, float] | None]] = []
        with transaction(store.conn):
            for hit in held.hits:  # hits first: the publisher hears of them first too
                item = store.add_hit(hit.read_id, hit.vrm, hit.captured_at, hit.lists, hit.payload)
                if item is not None:
                    stored.append((item, hit.timing))
            for read in held.reads:
                item = store.add_read(
                    read.read_id,
                    read.vrm,
                    read.captured_at,
                    confidence=read.confidence,
                    direction=read.direction,
                    frames=read.frames,
                    hit=read.hit,
                    payload=read.payload,
                )
                if item is not None:
                    stored.append((item, None))
            for kind in ("hit", "read"):
                nos = [d.no for d in held.delivered if d.kind == kind]
                if nos:
                    store.mark_delivered(kind, nos)
        return stored

    def _write_singly(self, store: ReadStore, held: Holding) -> list:
        stored = []
        for part in (
            *(Holding(hits=[hit]) for hit in held.hits),
            *(Holding(reads=[read]) for read in held.reads),
            Holding(delivered=held.delivered),
        ):
            try:
                stored += self._write(store, part)
            except sqlite3.IntegrityError:
                self.counters.error("writer")
                log.exception("store: a record could not be stored and is left out: %s", part)
        return stored

    def _failed(self, exc: BaseException) -> None:
        fault = fault_of(exc, self.settings.path)
        free = free_bytes(self.settings.path)
        if fault == "disk full":
            detail = f"no space left on {self.settings.path.parent} ({free:,} bytes free)"
        elif fault == "busy":
            detail = f"another connection holds the write lock of {self.settings.path}"
        else:
            detail = f"{self.settings.path}: {exc}"
        self.condition.trouble(fault, detail, free)
        if fault == "disk full" and self._conn is not None:
            self._make_room()
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_S[1])

    def _keep_what_is_held(self) -> None:
        """At stop: what could not be committed goes to the spill file for the next start."""
        if not (self.holding.hits or self.holding.reads):
            return
        try:
            count = spill(self.holding, self.settings.path)
        except OSError as exc:
            log.critical(
                "store: %d hit(s) and %d read(s) could not be stored nor spilled (%s): LOST",
                len(self.holding.hits),
                len(self.holding.reads),
                exc,
            )
            return
        log.error(
            "store unavailable at stop: %d record(s) kept in %s for the next start",
            count,
            spill_path(self.settings.path),
        )
