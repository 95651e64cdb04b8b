"""Publish a signed bundle to the broker (the centre's side; `hotlist publish`).

The topic comes from the bundle itself: `{prefix}/hotlists/{list}/snapshot` or `…/delta`.
Snapshots are retained by default, so a unit that subscribes later, or asks again after a gap,
gets the current whole list; deltas never are (a retained delta would be re-applied out of
context). The publish counts only once the broker acknowledged it (PUBACK): paho's
`wait_for_publish(timeout)` returns silently on timeout, so `is_published()` decides.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

from paho.mqtt.enums import MQTTErrorCode

from edge.errors import RuntimeFailure, UserError
from edge.hotlist.payload import GZIP_WBITS
from edge.mqtt import BrokerSettings, ConnackWaiter, make_client
from edge.progress import Progress
from edge.uplink.topics import BUNDLE_KINDS, hotlist_topic

HEADER_PEEK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Published:
    topic: str
    list_id: str
    kind: str
    version: int
    bytes: int
    retained: bool


def bundle_topic(data: bytes, prefix: str) -> tuple[str, dict]:
    """The topic a bundle belongs on, and its payload header. Reads only the header; does not
    verify the signature (that is the unit's job, and the centre signed it)."""
    try:
        envelope = json.loads(data)
        payload = base64.b64decode(envelope["payload"], validate=True)
        if envelope["compression"] == "gzip":
            payload = zlib.decompressobj(GZIP_WBITS).decompress(payload, HEADER_PEEK_BYTES)
        header = json.loads(payload.split(b"\n", 1)[0])
        list_id, kind = header["list"], header["kind"]
    except (ValueError, KeyError, TypeError, zlib.error):
        raise UserError("not a hotlist bundle (see `anpr-edge hotlist sign`)") from None
    if kind not in BUNDLE_KINDS or not isinstance(list_id, str):
        raise UserError(f"not a hotlist bundle: kind {kind!r}")
    return hotlist_topic(prefix, list_id, kind), header


def publish_bundle(
    data: bytes,
    broker: BrokerSettings,
    *,
    prefix: str,
    retain: bool | None = None,
    progress: Progress | None = None,
) -> Published:
    topic, header = bundle_topic(data, prefix)
    kind = header["kind"]
    if retain is None:
        retain = kind == "snapshot"
    if retain and kind == "delta":
        raise UserError(
            "--retain is for snapshots: a retained delta would be applied again "
            "out of order by units that subscribe later"
        )
    publish_acknowledged(data, broker, topic, retain=retain, progress=progress)
    return Published(topic, header["list"], kind, int(header.get("version", 0)), len(data), retain)


def publish_acknowledged(
    data: bytes,
    broker: BrokerSettings,
    topic: str,
    *,
    retain: bool,
    progress: Progress | None = None,
) -> None:
    """Publish one message at QoS 1 and return once the broker acknowledged it (PUBACK);
    RuntimeFailure otherwise. The centre's tools use it for every kind of signed bundle."""
    progress = progress or Progress("")
    progress.phase(f"connecting to {broker.host}:{broker.port}")
    client = make_client(broker)
    connack = ConnackWaiter()
    client.on_connect = connack
    try:
        client.connect(broker.host, broker.port, keepalive=broker.keepalive_s)
    except OSError as exc:
        raise RuntimeFailure(
            f"cannot connect to the broker {broker.host}:{broker.port}: {exc.strerror or exc}"
        ) from None
    client.loop_start()
    try:
        connack.wait(broker)
        progress.phase(f"sending {len(data)} bytes and waiting for the broker's acknowledgement")
        info = client.publish(topic, data, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise RuntimeFailure(f"publish to {topic} failed: {info.rc}")
        info.wait_for_publish(broker.connect_timeout_s + len(data) / 1e6)
        if not info.is_published():
            raise RuntimeFailure(
                f"the broker did not acknowledge the bundle on {topic} in "
                "time; it may not have been delivered"
            )
    finally:
        client.disconnect()
        client.loop_stop()
