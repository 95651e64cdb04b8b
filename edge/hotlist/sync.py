"""Keep the unit's lists current over MQTT: `{prefix}/hotlists/{list}/snapshot` and `/delta`.

- **On the unit's one connection** (edge.uplink.connection: a persistent session, so deltas
  published while the unit is offline wait at the broker and arrive, in order, when it
  reconnects).
- **Acknowledged once durable** (paho `manual_ack`): paho's thread checks the topic and the
  size, writes the bundle into the spool beside the store (edge.hotlist.spool) and only then
  acknowledges it. Nothing is dropped: when the spool is full the bundle is not acknowledged
  (said loudly, counted in `held_back`), nor is anything after it, so order is kept; once the
  worker has made room it reconnects into the same session and the broker sends them again.
- **One worker applies the spool in order** (the single writer of the hotlist tables), then
  swaps the in-memory index, and deletes each file after its apply committed or its rejection
  was counted. At start it first applies what a previous run left in the spool. A store locked
  by another writer (`anpr-edge hotlist apply` run on site) is waited out with back-off: the
  bundle stays in the spool until it applies.
- **Gaps**: a delta whose base is not the held version is rejected (`base-mismatch`) and the
  snapshot asked for again; deltas ahead are parked (edge.hotlist.gaps).
- Held versions, waiting lists, rejection counters and the spool are in `status()` for status
  and health.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.hotlist.apply import ApplyCounters, ApplyInterrupted, BundleApplier
from edge.hotlist.bundle import envelope_limit
from edge.hotlist.gaps import ListState, VersionGaps
from edge.hotlist.heap import LARGE_BUNDLE_BYTES, give_back_freed_memory
from edge.hotlist.index import IndexHolder
from edge.hotlist.intake import SpoolIntake
from edge.hotlist.loading import load_index
from edge.hotlist.rejections import BundleRejected, Reason
from edge.hotlist.signing import PublicKey
from edge.hotlist.spool import Spool, Spooled
from edge.hotlist.store import HotlistStore
from edge.hotlist.storefile import open_hotlists
from edge.mqtt import BrokerSettings
from edge.uplink.connection import SESSION_EXPIRY_S, Connection, shared
from edge.uplink.topics import BUNDLE_KINDS, all_hotlists, hotlist_topic

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the worker looks at the stop event when idle
LOCKED_BACKOFF_S = (0.5, 10.0)  # waiting for another writer of the store: doubling

MB = 1024 * 1024


@dataclass(frozen=True)
class SyncSettings:
    prefix: str
    lists: tuple[str, ...]
    store_path: str
    max_payload_bytes: int
    snapshot_retry_s: float = 60.0
    session_expiry_s: int = SESSION_EXPIRY_S
    spool_max_files: int | None = None  # None: edge.hotlist.spool's defaults
    spool_max_bytes: int | None = None

    @classmethod
    def from_config(cls, config: Config) -> SyncSettings:
        return cls(
            prefix=config.mqtt.topic_prefix,
            lists=tuple(config.hotlist.lists),
            store_path=str(config.storage.hotlist_file),
            max_payload_bytes=config.hotlist.max_bundle_mb * MB,
        )


class HotlistSync(VersionGaps):
    def __init__(
        self,
        settings: SyncSettings,
        link: BrokerSettings | Connection,
        trusted: dict[str, PublicKey],
        holder: IndexHolder,
        stop: threading.Event,
    ):
        self.settings, self.trusted = settings, trusted
        self.holder, self.stop_event = holder, stop
        self.connection, self._owns_connection = shared(link)
        self.broker = self.connection.broker
        self.counters = ApplyCounters()
        self.connected = threading.Event()
        self.ready = threading.Event()  # the index is loaded and the client is connecting
        self.spool = Spool.beside(
            settings.store_path, max_bundle_bytes=envelope_limit(settings.max_payload_bytes)
        )
        if settings.spool_max_files is not None:
            self.spool.max_files = settings.spool_max_files
        if settings.spool_max_bytes is not None:
            self.spool.max_bytes = settings.spool_max_bytes
        self._next: deque[Spooled] = deque()  # parked deltas now in turn, before the queue
        self._connects: queue.Queue[bool] = queue.Queue()  # session_present of each CONNACK
        self._states = {list_id: ListState() for list_id in settings.lists}
        self._topics = {
            hotlist_topic(settings.prefix, list_id, kind): (list_id, kind)
            for list_id in settings.lists
            for kind in BUNDLE_KINDS
        }
        self.connection.on_connect(self._on_connect)
        self.connection.on_disconnect(self._on_disconnect)
        self.intake = SpoolIntake(
            self.connection, self.spool, self._topics, settings.max_payload_bytes, self.counters
        )
        self.connection.route(all_hotlists(settings.prefix), self.intake.on_message)
        self._thread = threading.Thread(target=self._run, name="hotlist-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def wait_ready(self, timeout_s: float) -> bool:
        """Until the index is loaded; False at once if the worker died first (its error is
        logged with its traceback), or after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.2):
            if not self._thread.is_alive() or time.monotonic() >= deadline:
                return False
        return True

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for the worker to finish after the stop event was set."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("hotlist sync did not stop within %.0f s", timeout_s)

    def status(self) -> dict:
        versions = self.holder.versions()
        return {
            "connected": self.connected.is_set(),
            "lists": {
                list_id: {
                    "version": versions.get(list_id),
                    "waiting_for_snapshot": state.waiting_since is not None,
                    "parked_deltas": len(state.parked),
                }
                for list_id, state in self._states.items()
            },
            **self.counters.snapshot(),
            "queued": self.intake.queue.qsize(),
            "spool": self.intake.status(),
        }

    def health(self) -> dict:
        """What the centre needs in the unit's health (DESIGN §4: rejections are counted
        there): connection, bundles applied, rejected by reason, errors, the lists waiting for
        a snapshot after a version gap, and the spool (`held_back`: bundles left
        unacknowledged at the broker because the spool was full)."""
        status = self.status()
        waiting = [name for name, s in status["lists"].items() if s["waiting_for_snapshot"]]
        return {
            "connected": status["connected"],
            "applied": status["applied"],
            "rejected": status["rejected"],
            "errors": status["errors"],
            "waiting_for_snapshot": sorted(waiting),
            "spool": status["spool"],
        }

    # --- paho's thread: validate, spool, acknowledge ---------------------------------------

    def _on_connect(self, reason_code, session_present: bool) -> None:
        if reason_code.is_failure:
            log.error("hotlist sync: broker refused the connection: %s", reason_code)
            return
        self.intake.new_session()
        if self.ready.is_set():
            self._subscribe(session_present)
        else:  # the held versions are not known yet: the worker subscribes once they are
            self._connects.put(session_present)
        self.connected.set()

    def _on_disconnect(self, reason_code) -> None:
        self.connected.clear()
        if not self.stop_event.is_set():
            log.warning("hotlist sync disconnected: %s; reconnecting", reason_code)

    # --- the worker thread: the one writer -----------------------------------------------

    def _run(self) -> None:
        try:
            conn = open_hotlists(self.settings.store_path)
            try:
                self._work(HotlistStore(conn))
            finally:
                conn.close()
        except Exception:
            self.counters.error()
            log.exception("hotlist sync stopped by an error")
        finally:
            if self._owns_connection:
                self.connection.stop()

    def _work(self, store: HotlistStore) -> None:
        load_index(store, self.holder)
        self.applier = BundleApplier(
            store,
            self.trusted,
            max_payload_bytes=self.settings.max_payload_bytes,
            lists=self.settings.lists,
            holder=self.holder,
            counters=self.counters,
            progress=self._check_stop,
        )
        self.ready.set()
        if self._owns_connection:
            self.connection.start()
        while not self.stop_event.is_set():
            self._subscribe_after_connects()
            try:
                item = self._next.popleft() if self._next else self.intake.queue.get(timeout=POLL_S)
            except queue.Empty:
                self._request_overdue_snapshots()
                self.intake.fetch_held_back()
                continue
            if not self._process(item):
                return
            self.intake.fetch_held_back()

    def _process(self, item: Spooled) -> bool:
        """Apply one spooled bundle; False when the unit is stopping (the file stays)."""
        delay = LOCKED_BACKOFF_S[0]
        while True:
            try:
                keep = self._handle(item)
            except ApplyInterrupted:
                log.info("hotlist sync: stopped in the middle of an apply; rolled back, kept")
                return False
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    keep = self._failed(item)
                else:
                    log.warning(
                        "hotlist store busy (%s: another writer holds it); %s/%s stays in "
                        "the spool, trying again in %.1f s", exc, item.list_id, item.kind, delay,
                    )  # fmt: skip
                    if self.stop_event.wait(delay):
                        return False
                    delay = min(delay * 2, LOCKED_BACKOFF_S[1])
                    continue
            except Exception:
                keep = self._failed(item)
            if not keep:
                self.spool.remove(item)
            if item.size >= LARGE_BUNDLE_BYTES:  # its bytes and transients are freed by now
                give_back_freed_memory()
            return True

    def _failed(self, item: Spooled) -> bool:
        # Logged, counted and then removed like a rejection: a bundle that broke the applier
        # would break it again on every attempt.
        self.counters.error()
        log.exception("hotlist sync: applying a bundle on %s/%s failed", item.list_id, item.kind)
        return False

    def _subscribe_after_connects(self) -> None:
        while True:
            try:
                session_present = self._connects.get_nowait()
            except queue.Empty:
                return
            self._subscribe(session_present)

    def _subscribe(self, session_present: bool) -> None:
        held = self.holder.versions()
        for topic, (list_id, kind) in self._topics.items():
            # Retained snapshot only for a new subscription, unless the list is missing.
            resend = kind == "snapshot" and list_id not in held
            if self.broker.mqtt5:
                options = SubscribeOptions(qos=1, retainHandling=0 if resend else 1)
                self.connection.subscribe(topic, options=options)
            elif resend or not session_present:
                # 3.1.1 has no retain handling: a subscription always brings the retained
                # snapshot, so a resumed session keeps its subscriptions instead
                self.connection.subscribe(topic, qos=1)
        log.info("hotlist sync connected (session %s)", "resumed" if session_present else "new")

    def _handle(self, item: Spooled) -> bool:
        """Apply `item`; True when its file must stay (parked for later)."""
        state = self._states.get(item.list_id)
        if state is None:  # spooled by a run that had other lists configured
            log.warning("hotlist spool: %s is no longer a configured list; dropped", item.list_id)
            return False
        try:
            # the file, not its bytes: the applier lets them go once the signature checked out
            self.applier.apply(item.path, topic=(item.list_id, item.kind))
        except BundleRejected as rejection:
            if rejection.reason == Reason.BASE_MISMATCH:
                held = self.holder.versions().get(item.list_id)
                parked = False
                if held is None or (rejection.base_version or 0) > held:
                    parked = self._park(state, rejection.base_version, item)
                self._request_snapshot(item.list_id, state)
                return parked
            if rejection.reason == Reason.DELTA_CONFLICT:
                # the centre's list differs from ours at the same version: only a whole
                # snapshot can reconcile them
                self._request_snapshot(item.list_id, state)
            return False
        state.waiting_since = None  # the list is whole and current again
        self._apply_parked(item.list_id, state)
        return False

    def _check_stop(self, _rows: int) -> None:
        if self.stop_event.is_set():
            raise ApplyInterrupted
