"""The broker fixture is a real Mosquitto: a QoS 1 publish is acknowledged and delivered."""

from __future__ import annotations

import queue

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def _client(name: str) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)


def test_publish_is_acknowledged_and_received(broker):
    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    subscribed: queue.Queue[int] = queue.Queue()
    subscriber = _client("test-subscriber")
    subscriber.on_message = lambda _c, _u, msg: received.put(msg)
    subscriber.on_subscribe = lambda _c, _u, mid, _codes, _props: subscribed.put(mid)
    subscriber.connect(broker.host, broker.port, keepalive=10)
    subscriber.loop_start()
    publisher = _client("test-publisher")
    try:
        subscriber.subscribe("anpr/v1/units/+/reads", qos=1)
        subscribed.get(timeout=5)
        publisher.connect(broker.host, broker.port, keepalive=10)
        publisher.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        info = publisher.publish(
            "anpr/v1/units/u1/reads", b'{"schema":"anpr.read/1"}', 1, False, props
        )
        info.wait_for_publish(timeout=5)
        # wait_for_publish returns silently on timeout: the PUBACK is what counts.
        assert info.is_published()
        message = received.get(timeout=5)
        assert message.topic == "anpr/v1/units/u1/reads"
        assert message.payload == b'{"schema":"anpr.read/1"}'
        assert message.qos == 1
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        subscriber.loop_stop()
        subscriber.disconnect()


def test_broker_restart_keeps_port(broker):
    port = broker.port
    broker.stop()
    broker.start()
    client = _client("test-reconnect")
    assert client.connect(broker.host, port, keepalive=10) == mqtt.MQTT_ERR_SUCCESS
    client.disconnect()
