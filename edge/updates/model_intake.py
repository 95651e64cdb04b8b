"""Model bundles from the centre on the unit's one MQTT connection: `{prefix}/models/{group}/
bundle`, retained, QoS 1.

paho's thread only checks the size and queues the bundle for the updater, then acknowledges
it. No spool is needed (unlike hotlist deltas): the bundle is retained, and the unit subscribes
on every connection with MQTT 5 retain handling 0, so the broker sends the current bundle again
each time; a bundle lost in a power cut before it was applied comes back at the next start,
and one already applied or refused is recognised by its version (the highest seen, persisted)
and ignored quietly.
"""

from __future__ import annotations

import logging

from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.envelope import envelope_limit
from edge.updates.model_updater import ModelUpdater
from edge.updates.reasons import Reason, UpdateRejected
from edge.uplink.connection import Connection
from edge.uplink.topics import model_topic

log = logging.getLogger(__name__)


class ModelIntake:
    def __init__(self, connection: Connection, prefix: str, group: str, updater: ModelUpdater):
        self.connection, self.updater = connection, updater
        self.topic = model_topic(prefix, group)
        self.max_envelope = envelope_limit(updater.max_payload_bytes)
        connection.on_connect(self._on_connect)
        connection.route(self.topic, self.on_message)

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
            self.updater.refuse(
                UpdateRejected(
                    Reason.OVERSIZED,
                    f"bundle of {size} bytes on {message.topic} exceeds models.max_bundle_mb",
                ),
                "mqtt",
            )
        else:
            self.updater.offer(bytes(message.payload))
        self.connection.ack(message.mid, message.qos)
