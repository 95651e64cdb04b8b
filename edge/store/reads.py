"""Reads, hits and the outbox in the unit's store (tables of migration 2).

A read or hit is stored as the exact JSON payload the centre receives, in the same transaction
as its outbox row; the publisher sends what the outbox names and the PUBACK deletes the row and
stamps `delivered_at`. So a read survives a restart or a power cut until the broker has it, and
a retry sends the same bytes with the same `read_id`.

Space: `retention` deletes delivered records older than `storage.retention_days`; `quota` evicts,
while the store's used pages exceed `storage.quota_mb`, delivered non-hit reads first (oldest
first), then undelivered non-hit reads, then delivered hits, then undelivered hits; each eviction
is counted (durably, in `store_counters`) so the centre learns from health what it will never get.

The methods do not open transactions: the caller (the unit's single writer) wraps them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.store import listing
from edge.store.kinds import KINDS, TABLES, Kind

EVICT_BATCH = 200

# (counter name, table, condition), in eviction order: hits go last.
_EVICTION_CLASSES = (
    ("evicted_reads_delivered", "plate_reads", "hit = 0 AND delivered_at IS NOT NULL"),
    ("evicted_reads_undelivered", "plate_reads", "hit = 0 AND delivered_at IS NULL"),
    ("evicted_hit_reads_delivered", "plate_reads", "hit = 1 AND delivered_at IS NOT NULL"),
    ("evicted_hits_delivered", "plate_hits", "delivered_at IS NOT NULL"),
    ("evicted_hit_reads_undelivered", "plate_reads", "hit = 1 AND delivered_at IS NULL"),
    ("evicted_hits_undelivered", "plate_hits", "delivered_at IS NULL"),
)


@dataclass(frozen=True)
class OutboxItem:
    """A message owed to the centre: which record, and the bytes to send."""

    kind: Kind
    no: int
    read_id: str
    payload: bytes
    stored_at: float


class ReadStore:
    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float] = time.time):
        self.conn, self.clock = conn, clock

    # --- writing (inside the writer's transaction) ----------------------------------------

    # A record already stored under its read_id (one taken back from the spill file after a
    # stop that came just after its commit) is not stored twice: add_* then return None.

    def add_hit(
        self, read_id: str, vrm: str, captured_at: str, lists: list[str], payload: str
    ) -> OutboxItem | None:
        stored_at = self.clock()
        cursor = self.conn.execute(
            "INSERT INTO plate_hits (read_id, vrm, captured_at, lists, payload, bytes, stored_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (read_id) DO NOTHING",
            (read_id, vrm, captured_at, ",".join(lists), payload, len(payload), stored_at),
        )
        return self._queue("hit", cursor, read_id, payload, stored_at)

    def add_read(
        self,
        read_id: str,
        vrm: str,
        captured_at: str,
        *,
        confidence: float,
        direction: str | None,
        frames: int,
        hit: bool,
        payload: str,
    ) -> OutboxItem | None:
        stored_at = self.clock()
        cursor = self.conn.execute(
            "INSERT INTO plate_reads (read_id, vrm, captured_at, confidence, direction, frames,"
            " hit, payload, bytes, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (read_id) DO NOTHING",
            (
                read_id,
                vrm,
                captured_at,
                confidence,
                direction,
                frames,
                int(hit),
                payload,
                len(payload),
                stored_at,
            ),
        )
        return self._queue("read", cursor, read_id, payload, stored_at)

    def _queue(
        self, kind: Kind, cursor: sqlite3.Cursor, read_id: str, payload: str, stored_at: float
    ) -> OutboxItem | None:
        if cursor.rowcount == 0:
            return None
        no = cursor.lastrowid
        assert no is not None
        self.conn.execute("INSERT INTO outbox (kind, ref_no) VALUES (?, ?)", (kind, no))
        return OutboxItem(kind, no, read_id, payload.encode(), stored_at)

    def mark_delivered(self, kind: Kind, nos: list[int]) -> int:
        """Stamp `nos` delivered and drop them from the outbox; returns how many were owed
        (a record evicted meanwhile, or acknowledged twice, is not counted)."""
        table, key = TABLES[kind]
        now = self.clock()
        done = 0
        for no in nos:
            owed = self.conn.execute(
                "DELETE FROM outbox WHERE kind = ? AND ref_no = ?", (kind, no)
            ).rowcount
            if owed:
                self.conn.execute(f"UPDATE {table} SET delivered_at = ? WHERE {key} = ?", (now, no))
                done += 1
        return done

    def expire(self, retention_s: float) -> int:
        """Delete delivered records stored more than `retention_s` ago; returns how many.
        Undelivered ones stay until delivered (or evicted by the quota)."""
        cutoff = self.clock() - retention_s
        removed = 0
        for table in ("plate_reads", "plate_hits"):
            removed += self.conn.execute(
                f"DELETE FROM {table} WHERE stored_at < ? AND delivered_at IS NOT NULL", (cutoff,)
            ).rowcount
        if removed:
            self._count("expired", removed)
        return removed

    def enforce_quota(self, max_bytes: int) -> dict[str, int]:
        """Evict in `_EVICTION_CLASSES` order until the used pages fit `max_bytes`."""
        return self._evict(lambda: self.used_bytes() > max_bytes, delivered_only=False)

    def make_room(self, headroom_bytes: int) -> dict[str, int]:
        """Evict delivered records (reads before hits, oldest first) until the file has
        `headroom_bytes` of free pages for new records to reuse, so that it stops growing on a
        file system that is nearly full. Undelivered records are never evicted here."""
        return self._evict(lambda: self.free_page_bytes() < headroom_bytes, delivered_only=True)

    def _evict(self, needed: Callable[[], bool], *, delivered_only: bool) -> dict[str, int]:
        """Evict by class, oldest first, in batches, while `needed()`; count what went."""
        evicted: dict[str, int] = {}
        for name, table, condition in _EVICTION_CLASSES:
            if delivered_only and "delivered_at IS NULL" in condition:
                continue
            key = "read_no" if table == "plate_reads" else "hit_no"
            kind = "read" if table == "plate_reads" else "hit"
            while needed():
                nos = [
                    row[0]
                    for row in self.conn.execute(
                        f"SELECT {key} FROM {table} WHERE {condition} ORDER BY {key} LIMIT ?",
                        (EVICT_BATCH,),
                    )
                ]
                if not nos:
                    break
                marks = ",".join("?" * len(nos))
                self.conn.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", nos)
                self.conn.execute(
                    f"DELETE FROM outbox WHERE kind = ? AND ref_no IN ({marks})", [kind, *nos]
                )
                evicted[name] = evicted.get(name, 0) + len(nos)
        for name, count in evicted.items():
            self._count(name, count)
        return evicted

    def free_page_bytes(self) -> int:
        free, size = (
            self.conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("freelist_count", "page_size")
        )
        return free * size

    def _count(self, name: str, amount: int) -> None:
        self.conn.execute(
            "INSERT INTO store_counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )

    # --- reading (any connection) ---------------------------------------------------------

    def pending(self, kind: Kind, after: int = 0, limit: int = 64) -> list[OutboxItem]:
        """Owed messages of `kind` numbered above `after`, oldest first."""
        table, key = TABLES[kind]
        rows = self.conn.execute(
            f"SELECT t.{key}, t.read_id, t.payload, t.stored_at FROM outbox o "
            f"JOIN {table} t ON t.{key} = o.ref_no WHERE o.kind = ? AND o.ref_no > ? "
            "ORDER BY o.ref_no LIMIT ?",
            (kind, after, limit),
        ).fetchall()
        return [OutboxItem(kind, no, rid, payload.encode(), at) for no, rid, payload, at in rows]

    def backlog(self) -> dict[str, float | int | None]:
        """How many messages are owed, and the age of the oldest, in seconds."""
        counts = dict.fromkeys(KINDS, 0)
        oldest: float | None = None
        for kind in KINDS:
            table, key = TABLES[kind]
            count, first = self.conn.execute(
                f"SELECT COUNT(*), MIN(t.stored_at) FROM outbox o JOIN {table} t "
                f"ON t.{key} = o.ref_no WHERE o.kind = ?",
                (kind,),
            ).fetchone()
            counts[kind] = count
            if first is not None:
                oldest = first if oldest is None else min(oldest, first)
        age = None if oldest is None else round(max(self.clock() - oldest, 0.0), 3)
        return {"hits": counts["hit"], "reads": counts["read"], "oldest_age_s": age}

    def used_bytes(self) -> int:
        pages, free, size = (
            self.conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count", "page_size")
        )
        return (pages - free) * size

    def counters(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, value FROM store_counters").fetchall())

    def records(
        self, kind: Kind, limit: int | None = 100, undelivered: bool = False, **filters
    ) -> list[dict]:
        """See `edge.store.listing.records` (the newest first, without images)."""
        return listing.records(self.conn, kind, limit, undelivered, **filters)

    def counts_since(self, since: float) -> dict[str, int]:
        """Reads and hits stored at or after `since` (epoch seconds; indexed)."""
        return {
            plural: self.conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE stored_at >= ?", (since,)
            ).fetchone()[0]
            for plural, table in (("reads", "plate_reads"), ("hits", "plate_hits"))
        }

    def last_read_at(self) -> str | None:
        """`captured_at` of the newest stored read."""
        row = self.conn.execute(
            "SELECT captured_at FROM plate_reads ORDER BY read_no DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def payload(self, kind: Kind, read_id: str) -> str | None:
        table, _ = TABLES[kind]
        row = self.conn.execute(
            f"SELECT payload FROM {table} WHERE read_id = ?", (read_id,)
        ).fetchone()
        return row[0] if row else None
