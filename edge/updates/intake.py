"""Signed update bundles from the centre on the unit's one MQTT connection: models on
`{prefix}/models/{group}/bundle`, configuration on `{prefix}/config/{group}/bundle`; both
retained, QoS 1.

paho's thread only checks the size and queues the bundle for its updater, then acknowledges
it. No spool is needed (unlike hotlist deltas): the bundle is retained, and the unit subscribes
on every connection with MQTT 5 retain handling 0, so the broker sends the current bundle again
each time; a bundle lost in a power cut before it was applied comes back at the next start,
and one already applied or refused is recognised by its version (the highest seen, persisted)
and ignored quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.updates.reasons import Reason, UpdateRejected
from edge.uplink.connection import Connection

log = logging.getLogger(__name__)


class BundleIntake:
    def __init__(
        self,
        connection: Connection,
        topic: str,
        max_envelope_bytes: int,
        offer: Callable[[bytes], bool],
        refuse: Callable[[UpdateRejected, str], None],
        size_setting: str,
    ):
        self.connection, self.topic, self.max_envelope = connection, topic, max_envelope_bytes
        self.offer, self.refuse, self.size_setting = offer, refuse, size_setting
        connection.on_connect(self._on_connect)
        connection.route(topic, self.on_message)

    def _on_connect(self, reason_code, _session_present: bool) -> None:
        if reason_code.is_failure:
            return
        if self.connection.broker.mqtt5:  # the retained bundle at every subscription
            self.connection.subscribe(self.topic, options=SubscribeOptions(qos=1, retainHandling=0))
        else:
            self.connection.subscribe(self.topic, qos=1)

    def on_message(self, message) -> None:
        """paho's thread: size checked, queued, acknowledged."""
        size = len(message.payload)
        if size > self.max_envelope:
            detail = f"bundle of {size} bytes on {message.topic} exceeds {self.size_setting}"
            self.refuse(UpdateRejected(Reason.OVERSIZED, detail), "mqtt")
        else:
            self.offer(bytes(message.payload))
        self.connection.ack(message.mid, message.qos)
