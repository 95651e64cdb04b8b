"""The publisher's window: messages published and not yet acknowledged (DESIGN §3).

At most `window` messages are in flight; reads may use all but `hit_reserve` of them, so a new
hit is never queued behind a full window of reads. Each is keyed by paho's message id until
its PUBACK; one unacknowledged for `STALE_S` while connected is handed back to be sent again.
A hit's latency (first readable, decided → PUBACK) is kept for the run's summary.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from edge.store.reads import OutboxItem
from edge.uplink.send_order import SendOrder

STALE_S = 120.0  # in flight this long while connected: sent again

# publishes one item; returns paho's message id, or None when paho would not take it
Send = Callable[[OutboxItem], int | None]


class InFlight:
    def __init__(self, window: int, hit_reserve: int):
        self.window, self.hit_reserve = window, hit_reserve
        self.messages: dict[int, tuple[OutboxItem, float]] = {}  # mid → (item, sent)
        self.timings: dict[int, tuple[float, float]] = {}  # hit_no → (readable, decided)
        self.max_in_flight = 0
        self.hit_latency_ms: deque[float] = deque(maxlen=10_000)
        self.hit_decision_ms: deque[float] = deque(maxlen=10_000)

    def __len__(self) -> int:
        return len(self.messages)

    def keys(self) -> set[tuple[str, int]]:
        """(kind, number) of every record in flight: the send order skips them."""
        return {(item.kind, item.no) for item, _ in self.messages.values()}

    def fill(self, order: SendOrder, send: Send, room: int | None = None) -> None:
        """Hits first, then reads up to the reserve, until the window (or `room`, when less:
        edge.uplink.audience) is full or nothing is owed; an item paho would not take goes
        back to `order` (and the filling stops)."""
        limit = self.window if room is None else min(self.window, room)
        while len(self.messages) < limit:
            item = order.next_hit()
            if item is None:
                if len(self.messages) >= self.window - self.hit_reserve:
                    return  # the rest of the window is kept for hits
                item = order.next_read()
                if item is None:
                    return
            mid = send(item)
            if mid is None:
                order.again(item)
                return
            self.messages[mid] = (item, time.monotonic())
            self.max_in_flight = max(self.max_in_flight, len(self.messages))

    def restart_clocks(self) -> None:
        """paho sends what was in flight again after a CONNACK: their clocks restart."""
        now = time.monotonic()
        self.messages = {mid: (item, now) for mid, (item, _) in self.messages.items()}

    def acked(self, mid: int) -> OutboxItem | None:
        """The item this PUBACK is for (no longer in flight); None for a message not ours."""
        entry = self.messages.pop(mid, None)
        return None if entry is None else entry[0]

    def delivered_hit(self, item: OutboxItem) -> None:
        timing = self.timings.pop(item.no, None)
        if timing is not None:
            now = time.monotonic()
            self.hit_latency_ms.append((now - timing[0]) * 1000)
            self.hit_decision_ms.append((now - timing[1]) * 1000)

    def stale(self) -> list[tuple[OutboxItem, float]]:
        """Take out every message unacknowledged for `STALE_S`, with how long it waited."""
        now = time.monotonic()
        late = [(mid, item, now - sent) for mid, (item, sent) in self.messages.items()]
        late = [entry for entry in late if entry[2] > STALE_S]
        for mid, _, _ in late:
            del self.messages[mid]
        return [(item, waited) for _, item, waited in late]

    def forget(self) -> None:
        """The store file was replaced: these numbers name records of the old one."""
        self.messages.clear()
        self.timings.clear()
