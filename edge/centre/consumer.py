"""The reference centre consumer: one process of a shared-subscription group.

- **Shared subscriptions** (MQTT 5 `$share/{group}/…`): every process of the group subscribes
  to `{prefix}/units/+/reads` and `/hits`; the broker hands each message to one of them. Run
  two or more for throughput and for no gap while one restarts. Each process has a
  certificate of its own (`anpr.centre.ingest-1`, `-2`, … in the committed ACL): the centre's
  broker makes the client id the certificate's name, so one certificate holds one connection.
- **A persistent session** (clean start off, a day's expiry): while a process is away the
  broker queues its share of the messages for it (up to `max_queued_messages`).
- **Acknowledged once committed** (paho `manual_ack`): messages are checked
  (edge.centre.checks), stored in one PostgreSQL transaction per batch and only then
  acknowledged. A batch is whatever arrived while the last one was being stored (up to
  `batch`): nothing waits to fill it, so a hit alone goes straight in. A crash before the
  commit means a redelivery, which the `read_id` key turns into nothing
  (edge.centre.tables): each read is stored exactly once. A refused message is counted,
  logged without its content and acknowledged (it would be refused again forever).
- **Figures**: `stats()`; with `stats_file`, rewritten every second (0600).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.centre.checks import Checked, Checker, Refused
from edge.centre.tables import INSERT_HIT, INSERT_READ, create_tables, hit_row, read_row
from edge.files import write_private

log = logging.getLogger(__name__)

PG_RETRY_S = (0.5, 10.0)


@dataclass(frozen=True)
class ConsumerSettings:
    host: str
    port: int
    ca: Path
    cert: Path
    key: Path
    client_id: str  # the broker replaces it with the certificate's CN anyway
    dsn: str
    prefix: str = "anpr/v1"
    group: str | None = "centre"  # None: a plain (not shared) subscription, one process
    batch: int = 500
    receive_maximum: int = 1000
    session_expiry_s: int = 86400
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0
    stats_file: Path | None = None


@dataclass
class Stats:
    received: int = 0
    reads_stored: int = 0
    hits_stored: int = 0
    duplicates: int = 0
    refused: int = 0
    batches: int = 0
    connects: int = 0
    subscribed: int = 0  # SUBACKs (two a connection: hits and reads)
    pg_errors: int = 0
    started: float = field(default_factory=time.time)


class Consumer:
    def __init__(self, settings: ConsumerSettings, stop: threading.Event):
        self.settings, self.stop = settings, stop
        self.checker = Checker(settings.prefix)
        self.counts = Stats()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                                  protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)  # fmt: skip
        self.client.connect_timeout = settings.connect_timeout_s
        self.client.tls_set(ca_certs=str(settings.ca), certfile=str(settings.cert),
                            keyfile=str(settings.key))  # fmt: skip
        # retries every 0.25–2 s: after a broker restart the consumers are usually back before
        # the units (1 s, then doubling to 15 s), so the shared subscriptions Mosquitto 2.0
        # lost in the restart are renewed before reads arrive; a race narrowed, not closed
        # (docs/fleet.md)
        # paho's hints say int; its back-off arithmetic takes seconds as floats
        self.client.reconnect_delay_set(0.25, 2)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, f, rc, p: self.connected.clear()
        self.client.on_message = lambda c, u, message: self.messages.put(message)
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the consumer: %s", reason_code)
            return
        self.counts.connects += 1
        # on every CONNACK, also a resumed session: Mosquitto 2.0.11 keeps a session over a
        # restart but not its shared subscriptions (docs/fleet.md)
        group, prefix = self.settings.group, self.settings.prefix
        share = f"$share/{group}/" if group else ""
        for kind in ("hits", "reads"):
            client.subscribe(f"{share}{prefix}/units/+/{kind}", options=SubscribeOptions(qos=1))
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("broker refused a subscription: %s", reason_codes)
        else:
            self.counts.subscribed += 1
        self.next_stats = 0.0  # say so at once

    def run(self) -> None:
        conn = self._pg()
        create_tables(conn)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = self.settings.receive_maximum
        self.client.connect_async(self.settings.host, self.settings.port,
                                  keepalive=self.settings.keepalive_s, clean_start=False,
                                  properties=props)  # fmt: skip
        self.client.loop_start()
        self.next_stats = 0.0
        try:
            while not self.stop.is_set():
                batch = self._take()
                if batch:
                    conn = self._store(conn, batch)
                if self.settings.stats_file and time.monotonic() >= self.next_stats:
                    self.next_stats = time.monotonic() + 1.0
                    self._write_stats()
        finally:
            self.client.disconnect()  # orderly: the session (and its queue) stays
            self.client.loop_stop()
            conn.close()
            if self.settings.stats_file:
                self._write_stats()

    def _pg(self) -> psycopg.Connection:
        delay = PG_RETRY_S[0]
        while True:
            try:
                return psycopg.connect(self.settings.dsn, options="-c statement_timeout=30000")
            except psycopg.OperationalError as exc:
                self.counts.pg_errors += 1
                log.warning("PostgreSQL unavailable (%s); retrying in %.1f s", exc, delay)
                if self.stop.wait(delay):
                    raise
                delay = min(delay * 2, PG_RETRY_S[1])

    def _take(self) -> list[mqtt.MQTTMessage]:
        try:
            batch = [self.messages.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < self.settings.batch:  # what came while the last batch was stored
            try:
                batch.append(self.messages.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, conn: psycopg.Connection, batch: list[mqtt.MQTTMessage]):
        """Check, store in one transaction, then acknowledge; on a database error, the same
        batch again on a new connection (nothing acknowledged yet)."""
        reads, hits = [], []
        for message in batch:
            verdict = self.checker.check(message.topic, bytes(message.payload))
            if isinstance(verdict, Refused):
                self.counts.refused += 1
                log.warning("refused a message: %s", verdict.reason)
            elif isinstance(verdict, Checked) and verdict.kind == "hit":
                hits.append(hit_row(verdict.payload))
            else:
                reads.append(read_row(verdict.payload))
        while True:
            try:
                with conn.transaction(), conn.cursor() as cur:
                    new_hits = new_reads = 0
                    if hits:
                        cur.executemany(INSERT_HIT, hits)
                        new_hits = cur.rowcount
                    if reads:
                        cur.executemany(INSERT_READ, reads)
                        new_reads = cur.rowcount
                break
            except psycopg.OperationalError as exc:
                self.counts.pg_errors += 1
                log.warning("storing a batch failed (%s); again on a new connection", exc)
                conn.close()
                conn = self._pg()
        self.counts.received += len(batch)
        self.counts.batches += 1
        self.counts.hits_stored += new_hits
        self.counts.reads_stored += new_reads
        self.counts.duplicates += len(hits) - new_hits + len(reads) - new_reads
        for message in batch:
            self.client.ack(message.mid, message.qos)
        return conn

    def stats(self) -> dict:
        return asdict(self.counts)

    def _write_stats(self) -> None:
        if self.settings.stats_file is None:
            return
        data = json.dumps({**self.stats(), "at": time.time()}).encode()
        write_private(self.settings.stats_file, data)
