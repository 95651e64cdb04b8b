"""Keep the unit's lists current over MQTT: `{prefix}/hotlists/{list}/snapshot` and `/delta`.

- **Persistent session** (MQTT 5 clean_start=False, a session expiry of a week): deltas published
  while the unit is offline wait at the broker and arrive, in order, when it reconnects.
- **Acknowledged after applying** (paho `manual_ack`): a bundle is PUBACKed only once it is
  applied or rejected, so a unit killed mid-apply gets it again. The broker keeps at most
  `RECEIVE_MAXIMUM` unacknowledged bundles in flight, which bounds the memory they take.
- **Callbacks only validate and enqueue**: paho's thread checks the topic and the size and
  puts the message on a queue; one worker thread applies them in arrival order (the single
  writer of the hotlist tables), then swaps the in-memory index.
- **Gaps**: a delta whose base is not the held version is rejected (`base-mismatch`); the
  unit then asks the broker for the retained snapshot again (re-subscribing with MQTT 5
  retain handling 0 makes the broker re-send it) and repeats the request every
  `snapshot_retry_s` until a newer snapshot arrives. Deltas that are ahead of the held version
  are kept (a few per list) and applied after that snapshot if they follow on from it.
- Held versions, waiting lists and rejection counters are in `status()` for status and health.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.hotlist.apply import ApplyCounters, ApplyInterrupted, BundleApplier
from edge.hotlist.bundle import envelope_limit
from edge.hotlist.index import IndexHolder
from edge.hotlist.loading import load_index
from edge.hotlist.mqtt_client import BrokerSettings, make_client
from edge.hotlist.rejections import BundleRejected, Reason
from edge.hotlist.signing import PublicKey
from edge.hotlist.store import HotlistStore
from edge.hotlist.storefile import open_hotlists

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 4  # bundles in flight from the broker, unacknowledged
QUEUE_SLACK = 16  # QoS 0 messages are not bounded by RECEIVE_MAXIMUM
PARKED_PER_LIST = 16
POLL_S = 0.5  # how often the worker looks at the stop event when idle


@dataclass(frozen=True)
class SyncSettings:
    prefix: str
    lists: tuple[str, ...]
    store_path: str
    max_payload_bytes: int
    snapshot_retry_s: float = 60.0
    session_expiry_s: int = SESSION_EXPIRY_S


@dataclass(frozen=True)
class Incoming:
    """A message as the callback saw it; `refused` is set when it failed the callback's checks
    (it still goes through the queue so acknowledgements keep arrival order)."""

    list_id: str
    kind: str
    payload: bytes
    mid: int
    qos: int
    refused: tuple[Reason, str] | None = None


@dataclass
class _ListState:
    waiting_since: float | None = None  # monotonic time of the last snapshot request
    parked: dict[int, bytes] = field(default_factory=dict)  # base version → delta bundle


class HotlistSync:
    def __init__(
        self,
        settings: SyncSettings,
        broker: BrokerSettings,
        trusted: dict[str, PublicKey],
        holder: IndexHolder,
        stop: threading.Event,
    ):
        self.settings, self.broker, self.trusted = settings, broker, trusted
        self.holder, self.stop_event = holder, stop
        self.counters = ApplyCounters()
        self.connected = threading.Event()
        self.ready = threading.Event()  # the index is loaded and the client is connecting
        self._queue: queue.Queue[Incoming] = queue.Queue(RECEIVE_MAXIMUM + QUEUE_SLACK)
        self._states = {list_id: _ListState() for list_id in settings.lists}
        self._topics = {
            f"{settings.prefix}/hotlists/{list_id}/{kind}": (list_id, kind)
            for list_id in settings.lists
            for kind in ("snapshot", "delta")
        }
        self._client = make_client(broker, manual_ack=True, persistent=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
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
            "queued": self._queue.qsize(),
        }

    def health(self) -> dict:
        """What the centre needs in the unit's health (DESIGN §4: rejections are counted
        there): connection, bundles applied, rejected by reason, errors, and the lists
        waiting for a snapshot after a version gap."""
        status = self.status()
        waiting = [name for name, s in status["lists"].items() if s["waiting_for_snapshot"]]
        return {
            "connected": status["connected"],
            "applied": status["applied"],
            "rejected": status["rejected"],
            "errors": status["errors"],
            "waiting_for_snapshot": sorted(waiting),
        }

    # --- paho's thread: validate and enqueue, nothing else -------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("hotlist sync: broker refused the connection: %s", reason_code)
            return
        self.connected.set()
        held = self.holder.versions()
        for topic, (list_id, kind) in self._topics.items():
            # Retained snapshot only for a new subscription, unless the list is missing.
            resend = kind == "snapshot" and list_id not in held
            if self.broker.mqtt5:
                options = SubscribeOptions(qos=1, retainHandling=0 if resend else 1)
                client.subscribe(topic, options=options)
            elif resend or not flags.session_present:
                # 3.1.1 has no retain handling: a subscription always brings the retained
                # snapshot, so a resumed session keeps its subscriptions instead
                client.subscribe(topic, qos=1)
        log.info(
            "hotlist sync connected (session %s)", "resumed" if flags.session_present else "new"
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self.stop_event.is_set():
            log.warning("hotlist sync disconnected: %s; paho reconnects", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        list_id, kind = self._topics.get(message.topic, ("", ""))
        refused = None
        if not list_id:
            refused = (Reason.WRONG_TOPIC, f"message on an unexpected topic {message.topic!r}")
        elif len(message.payload) > envelope_limit(self.settings.max_payload_bytes):
            refused = (Reason.OVERSIZED, f"{len(message.payload)} bytes on {message.topic}")
        payload = b"" if refused else message.payload
        item = Incoming(list_id, kind, payload, message.mid, message.qos, refused)
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # only QoS 0 floods get here: RECEIVE_MAXIMUM bounds QoS 1
            log.error("hotlist sync queue full; dropped a message on %s", message.topic)
            self.counters.error()
            if message.qos:
                client.ack(message.mid, message.qos)

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
            self._client.disconnect()
            self._client.loop_stop()

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
        self._connect()
        while not self.stop_event.is_set():
            try:
                item = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                self._request_overdue_snapshots()
                continue
            try:
                self._handle(item)
            except ApplyInterrupted:
                # Not acknowledged: the broker delivers it again in the next session.
                log.info("hotlist sync: stopped in the middle of an apply; rolled back")
                return
            except Exception:
                # Logged, counted and then acknowledged like a rejection: a bundle that broke
                # the applier would break it again on every redelivery.
                self.counters.error()
                log.exception(
                    "hotlist sync: applying a bundle on %s/%s failed", item.list_id, item.kind
                )
            if item.qos:
                self._client.ack(item.mid, item.qos)

    def _connect(self) -> None:
        self._client.reconnect_delay_set(1, 60)
        session: dict = {}
        if self.broker.mqtt5:  # 3.1.1: the client was made with clean_session=False
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.settings.session_expiry_s
            props.ReceiveMaximum = RECEIVE_MAXIMUM
            session = {"clean_start": False, "properties": props}
        self._client.connect_async(
            self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s, **session
        )
        self._client.loop_start()

    def _handle(self, item: Incoming) -> None:
        if item.refused is not None:
            reason, message = item.refused
            self.counters.rejected(reason)
            log.warning("hotlist bundle rejected: %s: %s", reason, message)
            return
        state = self._states[item.list_id]
        try:
            self.applier.apply(item.payload, topic=(item.list_id, item.kind))
        except BundleRejected as rejection:
            if rejection.reason == Reason.BASE_MISMATCH:
                held = self.holder.versions().get(item.list_id)
                if held is None or (rejection.base_version or 0) > held:
                    self._park(state, rejection.base_version, item.payload)
                self._request_snapshot(item.list_id, state)
            elif rejection.reason == Reason.DELTA_CONFLICT:
                # the centre's list differs from ours at the same version: only a whole
                # snapshot can reconcile them
                self._request_snapshot(item.list_id, state)
            return
        state.waiting_since = None  # the list is whole and current again
        self._apply_parked(item.list_id, state)

    def _check_stop(self, _rows: int) -> None:
        if self.stop_event.is_set():
            raise ApplyInterrupted

    def _park(self, state: _ListState, base_version: int | None, payload: bytes) -> None:
        if base_version is None:
            return
        state.parked[base_version] = payload
        while len(state.parked) > PARKED_PER_LIST:
            state.parked.pop(max(state.parked))  # keep those nearest the held version

    def _apply_parked(self, list_id: str, state: _ListState) -> None:
        while state.parked:
            held = self.holder.versions().get(list_id, 0)
            for base in [base for base in state.parked if base < held]:
                del state.parked[base]  # superseded by what was applied
            payload = state.parked.pop(held, None)
            if payload is None:
                return
            try:
                self.applier.apply(payload, topic=(list_id, "delta"))
            except BundleRejected:
                return

    def _request_snapshot(self, list_id: str, state: _ListState) -> None:
        state.waiting_since = time.monotonic()
        topic = f"{self.settings.prefix}/hotlists/{list_id}/snapshot"
        log.info(
            "hotlist %s: waiting for a snapshot; asking the broker for the retained one", list_id
        )
        if self.broker.mqtt5:
            self._client.subscribe(topic, options=SubscribeOptions(qos=1, retainHandling=0))
        else:
            self._client.subscribe(topic, qos=1)  # brings the retained snapshot

    def _request_overdue_snapshots(self) -> None:
        now = time.monotonic()
        for list_id, state in self._states.items():
            if (
                state.waiting_since is not None
                and now - state.waiting_since >= self.settings.snapshot_retry_s
            ):
                self._request_snapshot(list_id, state)
