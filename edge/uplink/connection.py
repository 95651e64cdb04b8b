"""The unit's one MQTT connection (docs/protocol.md §1), shared by the publisher, the command
desk and the hotlist sync.

- **One connection, client id = unit id.** The centre's broker replaces every client id with
  the certificate's name (`use_username_as_clientid`), so that no certificate can take over
  another client's session (docs/security.md); a unit may then hold only one connection.
- **A persistent session.** MQTT 5 `clean_start=False` with a session expiry of a week
  (3.1.1: `clean_session=False`): deltas and commands published while the unit is away wait at
  the broker; Receive Maximum asks the broker to pace them (Mosquitto 2.0.11 does not after a
  reconnect: the hotlist spool is what bounds intake, see edge.hotlist.spool).
- **Every incoming message is acknowledged by the part that took it** (paho `manual_ack`):
  the hotlist sync once a bundle is spooled, the publisher once a command was answered. A
  message no part takes is acknowledged at once and logged: unacknowledged, it would hold one
  of the broker's in-flight slots for the rest of the session.
- **Callbacks only dispatch.** paho's thread calls the handlers the parts registered (they only
  validate and enqueue); an exception in one is logged with its traceback and counted.
- The parts register before `start()`, so each sees the first CONNACK. Whoever made the
  connection starts and stops it (the service, or a part given only `BrokerSettings`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.mqtt import BrokerSettings, make_client

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 4  # messages in flight from the broker, unacknowledged
BACKOFF_S = (1, 15)  # seconds: doubling from 1 to 15 between connection attempts


class Connection:
    def __init__(
        self,
        broker: BrokerSettings,
        *,
        session_expiry_s: int = SESSION_EXPIRY_S,
        receive_maximum: int = RECEIVE_MAXIMUM,
    ):
        self.broker = broker
        self.session_expiry_s, self.receive_maximum = session_expiry_s, receive_maximum
        self.client = make_client(broker, manual_ack=True, persistent=True)
        self.client.reconnect_delay_set(*BACKOFF_S)
        self._routes: list[tuple[str, Callable[[mqtt.MQTTMessage], None]]] = []
        self._handlers: dict[str, list[Callable[..., None]]] = {
            "connect": [],
            "disconnect": [],
            "publish": [],
            "unreachable": [],
        }
        self._lock = threading.Lock()  # start, stop and restarts of paho's network thread
        self._started = False
        self._errors = 0
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_message = self._on_message

    # --- registration (before start) ------------------------------------------------------

    def route(self, topic_filter: str, handler: Callable[[mqtt.MQTTMessage], None]) -> None:
        """Messages matching `topic_filter` go to `handler`, which must acknowledge each QoS 1
        message (`ack`) once it is safe. The first matching route takes a message."""
        self._routes.append((topic_filter, handler))

    def on_connect(self, handler: Callable[[Any, bool], None]) -> None:
        """`handler(reason_code, session_present)` on every CONNACK."""
        self._handlers["connect"].append(handler)

    def on_disconnect(self, handler: Callable[[Any], None]) -> None:
        self._handlers["disconnect"].append(handler)

    def on_publish(self, handler: Callable[[int, Any], None]) -> None:
        """`handler(mid, reason_code)` on every PUBACK of a message this client published."""
        self._handlers["publish"].append(handler)

    def on_unreachable(self, handler: Callable[[], None]) -> None:
        """A connection attempt failed (no broker, refused TLS): paho retries with back-off."""
        self._handlers["unreachable"].append(handler)

    def will(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = True) -> None:
        self.client.will_set(topic, payload, qos=qos, retain=retain)

    # --- the network thread -----------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self._connect()

    def stop(self) -> None:
        """An orderly DISCONNECT (no last will; the session stays at the broker)."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            self.client.disconnect()
            self.client.loop_stop()

    def restart_loop(self) -> None:
        """Retry now: paho's thread (asleep in a back-off of up to 15 s) is stopped and started
        again with the back-off reset. Blocks up to the connect timeout: call it from a thread
        that may wait."""
        with self._lock:
            if not self._started:
                return
            self.client.loop_stop()
            self.client.reconnect_delay_set(*BACKOFF_S)
            self.client.loop_start()

    def cycle(self) -> None:
        """Disconnect in order and connect again into the same session: the broker then sends
        again every message left unacknowledged (held back when a part had no room)."""
        with self._lock:
            if not self._started:
                return
            log.info(
                "reconnecting to %s:%s in the same session", self.broker.host, self.broker.port
            )
            self.client.disconnect()
            self.client.loop_stop()
            self._connect()

    def _connect(self) -> None:
        session = session_kept(self.broker, self.session_expiry_s, self.receive_maximum)
        self.client.connect_async(
            self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s, **session
        )
        self.client.loop_start()

    # --- used by the parts --------------------------------------------------------------------

    def ack(self, mid: int, qos: int) -> None:
        if qos:
            self.client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False):
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topic: str, **options: Any) -> None:
        self.client.subscribe(topic, **options)

    def is_connected(self) -> bool:
        return self.client.is_connected()

    @property
    def errors(self) -> int:
        return self._errors

    # --- paho's thread: dispatch only -----------------------------------------------------------

    def _call(self, kind: str, *args: Any) -> None:
        for handler in self._handlers[kind]:
            self._guarded(handler, *args)

    def _guarded(self, handler: Callable[..., None], *args: Any) -> None:
        try:
            handler(*args)
        except Exception:
            self._errors += 1  # only paho's thread writes it
            log.exception("MQTT: a %s handler failed", getattr(handler, "__qualname__", handler))

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call("connect", reason_code, bool(flags.session_present))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call("disconnect", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._call("publish", mid, reason_code)

    def _on_connect_fail(self, client, userdata) -> None:
        self._call("unreachable")

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        for topic_filter, handler in self._routes:
            if mqtt.topic_matches_sub(topic_filter, message.topic):
                self._guarded(handler, message)
                return
        log.warning("MQTT: a message on %r, which no part of the unit takes; acknowledged",
                    message.topic)  # fmt: skip
        self.ack(message.mid, message.qos)


def session_kept(
    broker: BrokerSettings,
    session_expiry_s: int = SESSION_EXPIRY_S,
    receive_maximum: int = RECEIVE_MAXIMUM,
) -> dict[str, Any]:
    """paho `connect()` arguments that resume the unit's session and keep it for
    `session_expiry_s` after a disconnect (3.1.1: the client was made with
    clean_session=False, see edge.mqtt.make_client)."""
    if not broker.mqtt5:
        return {}
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    props.ReceiveMaximum = receive_maximum
    return {"clean_start": False, "properties": props}


def shared(link: BrokerSettings | Connection) -> tuple[Connection, bool]:
    """`link` itself when it is a connection another part owns, else a new one for the
    caller to own (start and stop): (connection, owned)."""
    if isinstance(link, Connection):
        return link, False
    return Connection(link), True
