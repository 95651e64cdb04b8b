"""One simulated unit: the unit's own code from the store to the broker and back.

Wired as edge.unit.service wires a real unit, less the camera, models and pipeline: the unit's
one MQTT connection (edge.uplink.connection, mutual TLS, a persistent session, client id = unit
id), the publisher (edge.uplink.publisher: hits first, delivered on PUBACK), the store writer
(edge.store.writer, SQLite with WAL and full sync) and the hotlist sync (edge.hotlist.sync:
spool, signature check, atomic apply, index swap). `produce()` hands the writer what the
pipeline would: a `HitDecided` then a `ReadDecided` for a hit, a `ReadDecided` otherwise.

Apply slots: a real unit applies a bundle on its own CPU; here hundreds of units share two
cores, and 20 applies of a 1,000,000-entry snapshot at once did not finish in 6 minutes. With
`slots` (a semaphore shared by every worker process) a unit's sync waits for a slot before each
apply, so at most that many run at once, and records when its apply started and ended: the
wall clock (queued for a slot) and the unit's own figure (received + its own apply) both come
out of one run. Nothing else of the sync changes: the bundle waits in the unit's spool,
acknowledged, as it would behind a slow apply on a real unit.

This is the only module of the simulation that imports the unit's modules (issue 14 moves some
of them: edit the imports here).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edge.hotlist.index import IndexHolder
from edge.hotlist.signing import load_trusted_keys
from edge.hotlist.spool import Spooled
from edge.hotlist.storefile import open_hotlists
from edge.hotlist.sync import HotlistSync, SyncSettings
from edge.mqtt import BrokerSettings
from edge.records import HitDecided, ReadDecided
from edge.stages import Counters, Stage
from edge.store.database import open_database
from edge.store.writer import END, StoreSettings, StoreWriter
from edge.uplink.connection import Connection
from edge.uplink.publisher import Publisher
from edge.uplink.topics import Topics

from .feed import Feed

log = logging.getLogger(__name__)

STOP_SEND_S = 5.0
JOIN_S = 30.0
SLOT_POLL_S = 0.5  # how often a unit waiting for an apply slot looks at its stop event


class Slots(Protocol):
    """A counting semaphore (multiprocessing's, shared by the worker processes)."""

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool: ...

    def release(self) -> None: ...


class SlottedSync(HotlistSync):
    """The unit's own hotlist sync, each apply waiting for one of the simulation's `slots`
    (None: no bound) and recorded in `applies`: list, kind, the version held after it, and
    when it started and finished (wall clock)."""

    def __init__(self, *args, slots: Slots | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.slots = slots
        self.applies: list[dict] = []

    def _handle(self, item: Spooled) -> bool:
        if self.slots is not None:
            while not self.slots.acquire(timeout=SLOT_POLL_S):
                if self.stop_event.is_set():
                    return True  # the bundle stays in the spool, as when stopped mid-apply
        started = time.time()
        try:
            return super()._handle(item)
        finally:
            finished = time.time()  # before the slot goes to the next unit
            if self.slots is not None:
                self.slots.release()
            version = self.holder.versions().get(item.list_id)
            self.applies.append({"list": item.list_id, "kind": item.kind, "version": version,
                                 "started": started, "finished": finished})  # fmt: skip


@dataclass(frozen=True)
class UnitSpec:
    unit_id: str
    folder: Path
    host: str
    port: int
    ca: Path
    cert: Path
    key: Path
    trusted_keys: tuple[Path, ...]
    lists: tuple[str, ...]
    location: tuple[float, float]
    prefix: str = "anpr/v1"
    max_bundle_bytes: int = 512 * 1024 * 1024  # the unit's default, hotlist.max_bundle_mb


class SimUnit:
    def __init__(self, spec: UnitSpec, slots: Slots | None = None):
        self.spec = spec
        self.stop_event = threading.Event()
        self.counters = Counters()
        self.produced = {"reads": 0, "hits": 0}
        store, hotlists = spec.folder / "anpr.db", spec.folder / "hotlists.db"
        open_database(store).close()  # made before the stages open it, as the service does
        open_hotlists(hotlists).close()
        broker = BrokerSettings(spec.host, spec.port, spec.unit_id, tls=True, ca=spec.ca,
                                cert=spec.cert, key=spec.key, keepalive_s=30)  # fmt: skip
        self.connection = Connection(broker)
        # when each hotlist bundle arrived (wall clock), before the sync spools it, and when
        # it was spooled: the first matching route takes a message, so this one goes in ahead
        # of the sync's and hands every message on to the sync's intake
        self.arrivals: list[tuple[str, float, float]] = []
        self.connection.route(f"{spec.prefix}/hotlists/#", self._arrived)
        self.holder = IndexHolder()
        self.sync = SlottedSync(
            SyncSettings(spec.prefix, spec.lists, str(hotlists), spec.max_bundle_bytes),
            self.connection,
            load_trusted_keys(list(spec.trusted_keys)),
            self.holder,
            self.stop_event,
            slots=slots,
        )
        self.publisher = Publisher(
            self.connection,
            Topics(spec.prefix, spec.unit_id),
            store,
            Stage("publisher", 15.0),
            self.counters,
            on_delivered=lambda kind, no: self.writer.delivered(kind, no,
                                                                self.publisher.generation),
            versions=lambda: {"software": "fleet-sim", "hotlists": self.holder.versions()},
        )  # fmt: skip
        self.writer = StoreWriter(
            StoreSettings(store, retention_s=86400.0, quota_bytes=512 * 1024 * 1024),
            Stage("writer", 60.0),
            self.counters,
            on_stored=self.publisher.stored,
            on_replaced=self.publisher.store_replaced,
            on_release=self.publisher.release_store,
        )
        self.threads: list[threading.Thread] = []

    def _arrived(self, message) -> None:
        arrived = time.time()
        self.sync.intake.on_message(message)
        self.arrivals.append((message.topic, arrived, time.time()))

    def start(self) -> None:
        self.sync.start()
        for name, target in (("writer", self.writer.run), ("publisher", self.publisher.run)):
            thread = threading.Thread(target=target, name=f"{self.spec.unit_id}-{name}",
                                      daemon=True)  # fmt: skip
            thread.start()
            self.threads.append(thread)
        self.connection.start()

    def produce(self, feed: Feed, hit: bool) -> None:
        read = feed.read(self.spec.unit_id, self.spec.location)
        if hit:
            now = time.monotonic()
            versions = self.holder.versions()
            list_id = self.spec.lists[0]
            event = HitDecided(feed.hit(read, list_id, versions.get(list_id, 1)), now, now)
            self.writer.submit(event)
            self.produced["hits"] += 1
        self.writer.submit(ReadDecided(read, hit))
        self.produced["reads"] += 1

    def owed(self) -> int:
        """Produced and not yet acknowledged by the broker."""
        delivered = self.counters.delivered_reads + self.counters.delivered_hits
        return self.produced["reads"] + self.produced["hits"] - delivered

    def status(self) -> dict:
        return {
            "unit": self.spec.unit_id,
            "connected": self.connection.is_connected(),
            "produced": dict(self.produced),
            "delivered": {"reads": self.counters.delivered_reads,
                          "hits": self.counters.delivered_hits},
            "owed": self.owed(),
            "versions": self.holder.versions(),
            "errors": self.counters.errors + self.connection.errors,
            "arrivals": list(self.arrivals),
            "applies": list(self.sync.applies),
        }  # fmt: skip

    def stop(self) -> None:
        """As the service stops: the publisher sends what it can, the writer commits, then
        the sync and the connection end."""
        self.publisher.close(STOP_SEND_S)
        self.threads[1].join(STOP_SEND_S + JOIN_S)
        self.writer.submit(END)
        self.threads[0].join(JOIN_S)
        self.stop_event.set()
        self.sync.join(JOIN_S)
        self.connection.stop()
