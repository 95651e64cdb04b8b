"""What the publisher sends next, from the store's outbox: every waiting hit first (oldest
first), then reads oldest first through a cursor over `read_no`, so a backlog left by an outage
drains in order while new hits overtake it.

Hits are few: they are kept in memory as the writer announces them (and loaded from the outbox
at start). Reads can be many: only their numbers are tracked, a batch is read from the outbox
when the last is used up. Messages in flight are never handed out twice.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable

from edge.store.reads import OutboxItem, ReadStore

READ_BATCH = 128

InFlight = Callable[[], set[tuple[str, int]]]  # (kind, no) of the messages in flight


class SendOrder:
    def __init__(self, store: ReadStore, in_flight: InFlight):
        self.store, self.in_flight = store, in_flight
        self._hits: OrderedDict[int, OutboxItem] = OrderedDict()
        self._hits_loaded_upto = 0
        self._reads: deque[OutboxItem] = deque()
        self._read_cursor = 0
        self._reads_dirty = True

    @property
    def hits_waiting(self) -> int:
        return len(self._hits)

    def reload(self) -> None:
        """Everything owed, from the outbox (at start, and after the broker refused some)."""
        flying = self.in_flight()
        hits = self.store.pending("hit", after=0, limit=1_000_000)
        self._hits = OrderedDict((h.no, h) for h in hits if ("hit", h.no) not in flying)
        # a hit stored before this reading of the outbox may still be announced: not twice
        self._hits_loaded_upto = max(self._hits_loaded_upto, hits[-1].no if hits else 0)
        self._read_cursor = 0
        self._reads.clear()
        self._reads_dirty = True

    def announced(self, item: OutboxItem) -> bool:
        """The writer committed `item`; True if it is a hit now waiting to be sent."""
        if item.kind == "read":
            self._reads_dirty = True
            return False
        if item.no <= self._hits_loaded_upto:
            return False
        self._hits[item.no] = item
        return True

    def next_hit(self) -> OutboxItem | None:
        return self._hits.popitem(last=False)[1] if self._hits else None

    def next_read(self) -> OutboxItem | None:
        if not self._reads and self._reads_dirty:
            self._refill()
        return self._reads.popleft() if self._reads else None

    def anything_waiting(self) -> bool:
        if not self._reads and self._reads_dirty:
            self._refill()
        return bool(self._hits or self._reads)

    def again(self, item: OutboxItem) -> None:
        """Send `item` again (a failed publish, or no PUBACK for too long)."""
        if item.kind == "hit":
            self._hits[item.no] = item
            self._hits = OrderedDict(sorted(self._hits.items()))
        else:
            self._read_cursor = min(self._read_cursor, item.no - 1)
            self._reads.clear()
            self._reads_dirty = True

    def _refill(self) -> None:
        flying = self.in_flight()
        rows = self.store.pending("read", after=self._read_cursor, limit=READ_BATCH)
        if rows:
            self._read_cursor = rows[-1].no
        self._reads.extend(row for row in rows if ("read", row.no) not in flying)
        self._reads_dirty = len(rows) == READ_BATCH
