"""The publisher's side of its broker connection (part of `edge.uplink.publisher.Publisher`):
what it does on each CONNACK (status `online`, the command subscription), why it says the
broker is unreachable, a retry asked for now, and `offline` on an orderly stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.mqtt import BrokerSettings
from edge.times import utc_now
from edge.tls_check import explain_tls_failure
from edge.uplink.audience import Audience
from edge.uplink.connection import Connection
from edge.uplink.inflight import InFlight
from edge.uplink.payloads import encode, status_payload
from edge.uplink.topics import Topics

# part of the publisher: its log lines are the publisher's
log = logging.getLogger("edge.uplink.publisher")


class BrokerSide:
    # the publisher's, set in Publisher.__init__
    broker: BrokerSettings
    client: mqtt.Client
    connection: Connection
    topics: Topics
    versions: Callable[[], dict[str, Any]]
    inflight: InFlight
    audience: Audience
    connected: bool
    _told_unreachable: bool
    _restarting: threading.Thread | None
    _resync_at: float | None
    _status_mid: int | None
    _status_acked: threading.Event

    def _handle_events(self) -> None:
        raise NotImplementedError  # the publisher's

    def _explain(self) -> None:
        """In a thread of its own: a TLS handshake with the broker takes up to seconds."""
        b = self.broker
        try:
            reason = explain_tls_failure(b.host, b.port, b.ca, b.cert, b.key, b.key_passphrase,
                                         b.connect_timeout_s)  # fmt: skip
        except Exception:  # the explanation is a courtesy; the retries go on regardless
            log.exception("could not tell why the broker connection failed")
            reason = None
        self._say_unreachable(reason or "cannot connect to the broker")

    def _say_unreachable(self, reason: str) -> None:
        log.warning(
            "%s (%s:%s); buffering reads and hits in the store and retrying with back-off",
            reason,
            self.broker.host,
            self.broker.port,
        )

    def _connected(self, reason: Any) -> None:
        if reason.is_failure:
            log.error(
                "broker %s:%s refused the connection: %s",
                self.broker.host,
                self.broker.port,
                reason,
            )
            return
        self.connected = True
        self._told_unreachable = False
        self.inflight.restart_clocks()
        log.info(
            "connected to broker %s:%s; %d message(s) in flight will be re-sent",
            self.broker.host,
            self.broker.port,
            len(self.inflight),
        )
        online = status_payload(self.topics.unit_id, "online", utc_now(), self.versions())
        self._status_mid = self.client.publish(
            self.topics.status, encode(online), qos=1, retain=True
        ).mid
        # retainAsPublished: a retained command shows as retained even when it arrives live,
        # so it is refused then too, not only at the next reconnect (MQTT 5 only: 3.1.1 shows
        # the flag only on messages sent at subscription)
        if self.broker.mqtt5:
            options = SubscribeOptions(qos=1, retainAsPublished=True)
            self.client.subscribe(self.topics.cmd, options=options)
        else:
            self.client.subscribe(self.topics.cmd, qos=1)

    def _retry_now(self) -> None:
        if self.connected or self.client.is_connected():
            log.info("retry requested: connected; sending what is owed")
            if self._resync_at is not None:
                self._resync_at = time.monotonic()  # skip the wait after a refusal
            self.audience.probe_now()  # and the wait for a subscriber
            return
        if self._restarting is not None and self._restarting.is_alive():
            return  # a retry is under way
        log.info("retry requested: connecting to the broker now")
        # in a thread of its own: stopping paho's thread waits for it to leave its back-off
        # sleep (≤ 1 s) or an attempt under way (≤ mqtt.connect_timeout_s, up to 120 s), and
        # this stage must keep beating meanwhile (nothing is published while disconnected)
        self._restarting = threading.Thread(
            target=self._restart_network, name="mqtt-retry", daemon=True
        )
        self._restarting.start()

    def _restart_network(self) -> None:
        self.connection.restart_loop()  # the next wait is the shortest

    def _say_offline(self) -> None:
        if not self.connected:
            return
        offline = status_payload(self.topics.unit_id, "offline", utc_now(), self.versions())
        info = self.client.publish(self.topics.status, encode(offline), qos=1, retain=True)
        self._status_mid = info.mid
        self._status_acked.clear()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not self._status_acked.is_set():
            self._handle_events()
        if not self._status_acked.is_set():
            log.warning("the broker did not acknowledge the offline status")
