"""The hotlist sync's intake, on paho's thread: each bundle checked, spooled, acknowledged.

A bundle is acknowledged (PUBACK) only once its file is in the spool (edge.hotlist.spool);
refused bundles (wrong topic, oversized) are counted and acknowledged, so they do not come
again. Past the spool's bound a bundle is **not** acknowledged, nor any after it, so their
order is kept: the broker holds them, and sends them again in the next session, which the
worker starts (`fetch_held_back`, a reconnect into the same session) once the spool has room.
Nothing is dropped but a QoS 0 bundle past the bound (QoS 0 has no redelivery).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping

from edge.hotlist.apply import ApplyCounters
from edge.hotlist.bundle import envelope_limit
from edge.hotlist.rejections import Reason
from edge.hotlist.spool import Spool, Spooled
from edge.uplink.connection import Connection

log = logging.getLogger(__name__)

CYCLE_AFTER_S = 5.0  # at least this long between reconnects to fetch held-back bundles


class SpoolIntake:
    def __init__(
        self,
        connection: Connection,
        spool: Spool,
        topics: Mapping[str, tuple[str, str]],
        max_payload_bytes: int,
        counters: ApplyCounters,
    ):
        self.connection, self.spool, self.topics = connection, spool, topics
        self.max_envelope, self.counters = envelope_limit(max_payload_bytes), counters
        # names only, never payloads: what a previous run left first, in order
        self.queue: queue.Queue[Spooled] = queue.Queue()
        for item in spool.pending():
            self.queue.put(item)
        self._holding = threading.Event()  # a bundle was not acknowledged: none after it is
        self.held_back = 0  # bundles not acknowledged for want of room (paho's thread writes)
        self._last_cycle = 0.0

    def new_session(self) -> None:
        """A CONNACK: the broker sends again whatever was held back."""
        self._holding.clear()

    def status(self) -> dict:
        files, used = self.spool.usage()
        return {"files": files, "bytes": used, "held_back": self.held_back}

    # --- paho's thread ------------------------------------------------------------------------

    def on_message(self, message) -> None:
        list_id, kind = self.topics.get(message.topic, ("", ""))
        size = len(message.payload)
        if not list_id or size > self.max_envelope:
            # refused for good: acknowledged, so it is not sent again
            reason = Reason.OVERSIZED if list_id else Reason.WRONG_TOPIC
            self.counters.rejected(reason)
            log.warning("hotlist bundle rejected: %s: %d bytes on %s", reason, size, message.topic)
            self.connection.ack(message.mid, message.qos)
            return
        item = None
        if not self._holding.is_set():
            try:
                item = self.spool.add(list_id, kind, message.payload)
            except OSError as exc:
                self.counters.error()
                log.error("hotlist spool: cannot write a bundle on %s: %s", message.topic, exc)
        if item is None:
            self._hold_back(message)
            return
        self.connection.ack(message.mid, message.qos)
        self.queue.put(item)

    def _hold_back(self, message) -> None:
        """Not acknowledged: the broker keeps it and sends it again in the next session."""
        self._holding.set()
        if not message.qos:
            log.error("hotlist spool full: a QoS 0 bundle on %s is lost", message.topic)
            return
        self.held_back += 1
        files, used = self.spool.usage()
        log.error(
            "hotlist spool full (%d files, %d bytes; bound %d files, %d bytes): bundle on %s "
            "NOT acknowledged; the broker keeps it until the spool has room (%d held back)",
            files, used, self.spool.max_files, self.spool.max_bytes, message.topic,
            self.held_back,
        )  # fmt: skip

    # --- the worker's thread ------------------------------------------------------------------

    def fetch_held_back(self) -> None:
        """After bundles were held back: once the spool is at most half full, a new session
        makes the broker send them again (it re-sends unacknowledged messages only then)."""
        if not self._holding.is_set() or time.monotonic() - self._last_cycle < CYCLE_AFTER_S:
            return
        files, used = self.spool.usage()
        if files * 2 > self.spool.max_files or used * 2 > self.spool.max_bytes:
            return
        self._last_cycle = time.monotonic()
        log.warning("hotlist spool has room again: reconnecting to fetch the held-back bundles")
        self.connection.cycle()
