"""The store writer's care of its file (part of `edge.store.writer.StoreWriter`): it is still
the file at `storage.path` (else what is owed is carried into a fresh one), the file system
keeps `storage.min_free_mb` free (else delivered reads are evicted to make room), and every
`HOUSEKEEPING_S` retention and the quota are applied (see `edge.store.reads`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from edge.stages import Counters
from edge.store.condition import StoreCondition
from edge.store.database import free_bytes, open_database
from edge.store.reads import ReadStore
from edge.store.recovery import FileId, copy_owed, file_id, remove_stale_sidecars
from edge.store.sql import transaction

if TYPE_CHECKING:
    from edge.store.writer import StoreSettings

# part of the writer: its log lines are the writer's
log = logging.getLogger("edge.store.writer")

BUSY_TIMEOUT_S = 1.0  # short: the writer comes back to take events and beat meanwhile
ROOM_BYTES = 4 * 1024 * 1024  # free pages kept in the file while disk space is low


class StoreUpkeep:
    # the writer's, set in StoreWriter.__init__
    settings: StoreSettings
    counters: Counters
    condition: StoreCondition
    on_release: Callable[[], None]
    on_replaced: Callable[[int], None]
    evicted: dict[str, int]
    generation: int
    _conn: sqlite3.Connection | None
    _file: FileId | None
    _room_warned_at: float

    def _failed(self, exc: BaseException) -> None:
        raise NotImplementedError  # the writer's

    def _watch(self) -> None:
        now_at_path = file_id(self.settings.path)
        if now_at_path != self._file:
            self._replace("deleted" if now_at_path is None else "replaced")
        if self._low_space():
            self._make_room()

    def _low_space(self) -> str | None:
        free = free_bytes(self.settings.path)
        if 0 <= free < self.settings.min_free_bytes:
            return (
                f"disk low: {free:,} bytes free on {self.settings.path.parent} "
                f"(storage.min_free_mb is {self.settings.min_free_bytes // 2**20}); "
                "evicting delivered reads to make room"
            )
        return None

    def _make_room(self) -> None:
        assert self._conn is not None
        try:
            with transaction(self._conn):
                evicted = ReadStore(self._conn).make_room(ROOM_BYTES)
        except sqlite3.Error as exc:
            if time.monotonic() - self._room_warned_at >= 60.0:  # once a minute, not every 2 s
                self._room_warned_at = time.monotonic()
                log.warning("store: could not evict delivered reads to make room: %s", exc)
            return
        self._count_evicted(evicted)

    def _replace(self, how: str) -> None:
        """The file at the path is not the one written to: carry what is owed into it.

        Order matters. The old file's `<path>-wal` and `<path>-shm` are still there by name
        (SQLite leaves them when the file was moved), and a new file opened at the path would
        replay that WAL into itself. So what is owed is first copied into a rescue file of its
        own name, the other connections to the old file are closed (`on_release`: the
        publisher, health), the stale sidecars removed, the writer's own connection closed,
        and only then is the new store opened and the rescued records copied in."""
        old = self._conn
        assert old is not None
        self.condition.was_replaced(how)
        path = self.settings.path
        rescue_path = path.with_name(f"{path.name}.rescue-{os.getpid()}")
        try:
            rescue = open_database(rescue_path)
            try:
                copied = copy_owed(old, rescue)
            finally:
                rescue.close()
            self.on_release()
            remove_stale_sidecars(path)
            old.close()
            self._conn = None
            new = open_database(path, busy_timeout_s=BUSY_TIMEOUT_S)
            rescue = open_database(rescue_path)
            try:
                copy_owed(rescue, new)
            finally:
                rescue.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{rescue_path}{suffix}").unlink(missing_ok=True)
        except Exception as exc:
            log.exception("store: cannot start a fresh store at %s", path)
            self.counters.error("writer")
            self._failed(exc.__cause__ or exc)
            return
        self._conn, self._file = new, file_id(path)
        self.generation += 1
        log.warning(
            "store: fresh store at %s holds the %d hit(s) and %d read(s) still owed",
            path,
            copied["hits"],
            copied["reads"],
        )
        self.on_replaced(self.generation)

    def _housekeep(self) -> None:
        assert self._conn is not None
        store = ReadStore(self._conn)
        try:
            with transaction(self._conn):
                expired = store.expire(self.settings.retention_s)
                evicted = store.enforce_quota(self.settings.quota_bytes)
        except sqlite3.Error as exc:  # the store is busy or full: next round
            log.info("store housekeeping put off: %s", exc)
            return
        self._count_evicted(evicted)
        if expired:
            log.info("store: %d delivered records past retention deleted", expired)

    def _count_evicted(self, evicted: dict[str, int]) -> None:
        for name, count in evicted.items():
            self.evicted[name] = self.evicted.get(name, 0) + count
        if evicted:
            log.info("store evictions: %s", ", ".join(f"{k} {v}" for k, v in evicted.items()))
