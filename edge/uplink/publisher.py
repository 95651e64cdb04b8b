"""The MQTT publisher: reads and hits from the store's outbox to the centre (DESIGN §3).

- **Delivered means PUBACK.** A message is in flight from `publish()` until its PUBACK; only
  then is the record marked delivered (through the store writer). Until then it stays in the
  outbox, across reconnects (paho re-sends in-flight QoS 1 messages after a new CONNACK) and
  restarts (the outbox is read again at start).
- **Hits first, bounded window.** At most `window` messages are in flight; reads may use all
  but `hit_reserve` of them, so a new hit is never queued behind a full window of reads
  (edge.uplink.inflight).
- **Backlog oldest first.** Reads are taken from the outbox in order (a cursor over `read_no`),
  so after an outage the backlog drains from the oldest while any new hit goes straight out.
- **Callbacks only enqueue.** paho's thread puts CONNACKs, disconnects, PUBACKs and commands
  on a queue (typed: edge.uplink.events); this stage's thread does everything else, and
  acknowledges each command once it has answered it. Reconnection is paho's, with back-off
  1 → 15 s. The connection is the unit's one (edge.uplink.connection), shared with the hotlist
  sync; given only `BrokerSettings`, the publisher makes, starts and stops one of its own.
- **Retry now.** `retry` (set by SIGUSR1: `anpr-edge outbox --retry-now`) skips the waits: while
  disconnected, paho's network thread (asleep in a back-off of up to 15 s) is stopped and started
  again with the back-off reset, so it tries within about 2 s; when connected, a resync put off
  after a refusal, or a probe for a subscriber, happens at once.
- **Heard, not only acknowledged.** A PUBACK saying no subscriber matched (MQTT 5 reason 0x10)
  leaves the message owed and holds sending until a probe is heard (edge.uplink.audience).
- **Status.** `online` (retained) on every connection; `offline` (retained) as the last will
  and on an orderly stop. Health goes out at QoS 0 when connected.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from edge.mqtt import BrokerSettings
from edge.stages import Counters, Stage
from edge.store.database import open_database
from edge.store.reads import Kind, OutboxItem, ReadStore
from edge.times import utc_now
from edge.uplink import events as ev
from edge.uplink.audience import NO_MATCHING_SUBSCRIBERS, Audience
from edge.uplink.broker_side import BrokerSide
from edge.uplink.commands import Command, CommandDesk, Rejected
from edge.uplink.connection import Connection, shared
from edge.uplink.inflight import InFlight
from edge.uplink.payloads import encode, status_payload
from edge.uplink.send_order import SendOrder
from edge.uplink.topics import Topics

log = logging.getLogger(__name__)

POLL_S = 0.2
RESYNC_AFTER_REFUSAL_S = 30.0


class Publisher(BrokerSide):
    def __init__(
        self,
        link: BrokerSettings | Connection,
        topics: Topics,
        store_path: Path,
        stage: Stage,
        counters: Counters,
        on_delivered: Callable[[Kind, int], None],
        versions: Callable[[], dict[str, Any]],
        *,
        retry: threading.Event | None = None,
        health_now: threading.Event | None = None,
        window: int = 32,
        hit_reserve: int = 8,
    ):
        self.connection, self._owns_connection = shared(link)
        self.broker, self.topics, self.store_path = self.connection.broker, topics, store_path
        self.stage, self.counters, self.on_delivered = stage, counters, on_delivered
        self.versions = versions
        self.events: queue.Queue[ev.Event] = queue.Queue()
        self.retry = retry or threading.Event()
        self.desk = CommandDesk(
            topics.unit_id, self.retry, health_now or threading.Event(), versions, self.status
        )
        self._restarting: threading.Thread | None = None
        self.connected = False
        self.inflight = InFlight(window, hit_reserve)
        self.audience = Audience()
        # the run's figures (edge.unit.summary)
        self.hit_latency_ms = self.inflight.hit_latency_ms
        self.hit_decision_ms = self.inflight.hit_decision_ms
        self.order: SendOrder | None = None  # made in the stage's thread (its own connection)
        self.generation = 0  # of the store file (edge.store.writer): numbers are per file
        self._conn: sqlite3.Connection | None = None
        self._resync_at: float | None = None
        self._closing_at: float | None = None
        self._status_mid: int | None = None
        self._status_acked = threading.Event()
        self.started = utc_now()
        self.client = self.connection.client
        self.client.max_inflight_messages_set(window + 4)  # + status messages
        offline = status_payload(topics.unit_id, "offline", self.started, versions())
        self.connection.will(topics.status, encode(offline), qos=1, retain=True)
        self.connection.on_connect(lambda rc, _session: self.events.put(ev.Connack(rc)))
        self.connection.on_disconnect(lambda rc: self.events.put(ev.Gone(rc)))
        self.connection.on_publish(lambda mid, rc: self.events.put(ev.Puback(mid, rc)))
        self.connection.on_unreachable(lambda: self.events.put(ev.Unreachable()))
        self.connection.route(
            topics.cmd,
            lambda message: self.events.put(
                ev.CommandArrived(CommandDesk.parse(message), message.mid, message.qos)
            ),
        )
        self._told_unreachable = False

    # --- called from other threads: enqueue only ------------------------------------------

    def stored(self, item: OutboxItem, timing: tuple[float, float] | None) -> None:
        self.events.put(ev.Stored(item, timing))

    def release_store(self, timeout_s: float = 10.0) -> None:
        """Close the connection to the store file (the writer is replacing it); returns once
        it is closed, or after `timeout_s`. Nothing is read from the outbox until
        `store_replaced`."""
        closed = threading.Event()
        self.events.put(ev.Release(closed))
        if not closed.wait(timeout_s):
            log.error("the publisher did not release the store within %.0f s", timeout_s)

    def store_replaced(self, generation: int) -> None:
        """The writer carried on in a fresh store file: record numbers start again."""
        self.events.put(ev.Replaced(generation))

    def health(self, payload: dict[str, Any]) -> None:
        self.events.put(ev.HealthDue(encode(payload)))

    def announce(self, result: dict[str, Any]) -> None:
        """Publish `result` on the command result topic (QoS 1): an update's outcome."""
        self.events.put(ev.Announce(result))

    def close(self, timeout_s: float) -> None:
        """Ask the stage to finish: send what it can within `timeout_s`, then say offline."""
        self.events.put(ev.Close(time.monotonic() + timeout_s))

    @property
    def max_in_flight(self) -> int:
        return self.inflight.max_in_flight

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "in_flight": len(self.inflight),
            "hits_waiting": self.order.hits_waiting if self.order else 0,
            "centre_listening": self.audience.listening,
            "unheard": self.audience.unheard_total,
        }

    # --- the stage's thread ----------------------------------------------------------------

    def run(self) -> None:
        self._conn = open_database(self.store_path)
        try:
            self.order = SendOrder(ReadStore(self._conn), self.inflight.keys)
            self._resync()
            if self._owns_connection:
                self.connection.start()
            while not self._finished():
                self.stage.beat()
                self._handle_events()
                if self.retry.is_set():
                    self.retry.clear()
                    self._retry_now()
                if self.connected and self.order is not None:  # (None: the store is replaced)
                    if self._resync_at is not None and time.monotonic() >= self._resync_at:
                        self._resync()
                    self._resend_stale(self.order)
                    room = self.audience.room(self.inflight.window)
                    self.inflight.fill(self.order, self._send, room)
            self._say_offline()
        finally:
            if self._restarting is not None:
                self._restarting.join(self.broker.connect_timeout_s + 2.0)
            if self._owns_connection:
                self.connection.stop()
            if self._conn is not None:
                self._conn.close()

    def _finished(self) -> bool:
        if self._closing_at is None:
            return False
        if not self.connected:
            return True  # nothing can go now; the outbox keeps it for the next start
        owed = self.order is not None and self.order.anything_waiting()
        nothing_left = not len(self.inflight) and not owed
        return nothing_left or time.monotonic() >= self._closing_at

    def _handle_events(self) -> None:
        try:
            event = self.events.get(timeout=POLL_S)
        except queue.Empty:
            return
        while True:
            self._handle(event)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return

    def _handle(self, event: ev.Event) -> None:
        match event:
            case ev.Puback(mid, reason):
                self._acked(mid, reason)
            case ev.Stored(item, timing):
                if self.order is not None and self.order.announced(item) and timing is not None:
                    self.inflight.timings[item.no] = timing
            case ev.Connack(reason):
                self._connected(reason)
            case ev.Gone(reason):
                if self.connected:
                    log.warning(
                        "broker connection lost (%s); buffering, reconnecting with back-off",
                        reason,
                    )
                self.connected = False
                self._told_unreachable = True
            case ev.Unreachable() if not self._told_unreachable:
                self._told_unreachable = True  # once per outage, not on every retry
                if self.broker.tls:  # say why (a CA that does not match, a refused certificate…)
                    threading.Thread(target=self._explain, name="tls-explain", daemon=True).start()
                else:
                    self._say_unreachable("cannot reach the broker")
            case ev.HealthDue(payload) if self.connected:
                self.client.publish(self.topics.health, payload, qos=0)
            case ev.CommandArrived(command, mid, qos):
                self._command(command)
                self.connection.ack(mid, qos)  # answered: not to be sent again
            case ev.Announce(result):
                # paho queues it while disconnected (QoS 1) and sends it after the CONNACK
                self.client.publish(self.topics.cmd_result, encode(result), qos=1)
            case ev.Close(deadline):
                self._closing_at = deadline
            case ev.Release(closed):
                self._release(closed)
            case ev.Replaced(generation):
                self._reopen(generation)

    def _command(self, command: Command | Rejected) -> None:
        result = self.desk.run(command)
        if isinstance(command, Rejected):
            self.counters.commands_rejected += 1
        else:
            self.counters.commands += 1
        self.client.publish(self.topics.cmd_result, encode(result), qos=1)

    def _send(self, item: OutboxItem) -> int | None:
        topic = self.topics.hits if item.kind == "hit" else self.topics.reads
        info = self.client.publish(topic, item.payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.error("publish of %s %s failed: %s", item.kind, item.read_id, info.rc)
            return None
        return info.mid  # NO_CONN: paho keeps the message and sends it after the next CONNACK

    def _acked(self, mid: int, reason: Any) -> None:
        if mid == self._status_mid:
            self._status_acked.set()
            return
        item = self.inflight.acked(mid)
        if item is None:
            return
        if reason.is_failure:
            self.counters.publish_failures += 1
            log.error("broker refused %s %s: %s; retrying later", item.kind, item.read_id, reason)
            self._resync_at = time.monotonic() + RESYNC_AFTER_REFUSAL_S
            return
        if reason.value == NO_MATCHING_SUBSCRIBERS:
            self._unheard(item)
            return
        self.audience.heard()
        self.on_delivered(item.kind, item.no)
        self.counters.last_delivered_at = time.time()
        if item.kind == "hit":
            self.counters.delivered_hits += 1
            self.inflight.delivered_hit(item)
        else:
            self.counters.delivered_reads += 1

    def _unheard(self, item: OutboxItem) -> None:
        """No subscriber at the centre: `item` stays owed, sending waits for a probe."""
        if self.order is not None:
            self.order.again(item)
        self.audience.unheard(f"{item.kind} {item.read_id}")

    def _resend_stale(self, order: SendOrder) -> None:
        for item, waited in self.inflight.stale():
            log.warning(
                "%s %s unacknowledged for %.0f s; sending again", item.kind, item.read_id, waited
            )
            order.again(item)

    def _release(self, closed: threading.Event) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn, self.order = None, None
        closed.set()

    def _reopen(self, generation: int) -> None:
        """Read the outbox of the fresh store file from now on. Messages in flight are
        forgotten (their PUBACKs name records of the old file); what they carried is owed in
        the new file and is sent again: at least once, as always."""
        if self._conn is not None:
            self._conn.close()
        self._conn = open_database(self.store_path, migrate=False)
        self.generation = generation
        self.inflight.forget()
        self.order = SendOrder(ReadStore(self._conn), self.inflight.keys)
        self._resync()

    def _resync(self) -> None:
        """Take what is owed from the outbox again (at start, and after a refusal)."""
        self._resync_at = None
        if self.order is not None:
            self.order.reload()
