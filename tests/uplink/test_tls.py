"""Reads over mutual TLS, as at the roadside: a broker that requires a client certificate from
the force CA; the unit's publisher with `mqtt.tls` ca/cert/key delivers; one without a client
certificate gets no connection and keeps its reads in the outbox."""

from __future__ import annotations

import json
import ssl
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.mqtt import BrokerSettings
from edge.records import PlateRead, ReadDecided, new_read_id
from edge.stages import Counters, Stage
from edge.store import open_database
from edge.store.writer import END, StoreSettings, StoreWriter
from edge.uplink.publisher import Publisher, Topics
from tests.support.tls import make_ca_and_server
from tests.support.unit import PREFIX, validate, wait_for

pytestmark = pytest.mark.broker
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run_publisher(folder, settings: BrokerSettings):
    counters = Counters()
    path = folder / "anpr.db"
    open_database(path).close()  # created and migrated once, as the service does
    holder: dict = {}
    publisher = Publisher(
        settings, Topics(PREFIX, "unit-1"), path, Stage("publisher", 10), counters,
        on_delivered=lambda kind, no: holder["writer"].delivered(kind, no),
        versions=lambda: {"software": "test", "models": {}, "hotlists": {}},
    )  # fmt: skip
    writer = StoreWriter(
        StoreSettings(path, 86400.0, 10**9), Stage("w", 10), counters, publisher.stored
    )
    holder["writer"] = writer
    threads = [
        threading.Thread(target=writer.run, daemon=True),
        threading.Thread(target=publisher.run, daemon=True),
    ]
    for thread in threads:
        thread.start()
    read = PlateRead(
        new_read_id(), "unit-1", "cam1", "AB12CDE", 0.97, (0.99,) * 7, "gb-current",
        NOW, NOW, NOW, True, None, None, 3, (), b"\xff\xd8",
    )  # fmt: skip
    writer.submit(ReadDecided(read, False))
    return publisher, writer, threads, counters, read


def stop(publisher, writer, threads) -> None:
    publisher.close(2.0)
    threads[1].join(20)
    writer.submit(END)
    threads[0].join(20)


def test_reads_go_over_mutual_tls_and_without_a_certificate_nothing_goes(tmp_path, mtls_broker):
    port, ca, cert, key = mtls_broker
    received: list = []
    watcher = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="watcher", protocol=MQTTProtocolVersion.MQTTv5
    )
    watcher.tls_set(ca_certs=str(ca), certfile=str(cert), keyfile=str(key))
    subscribed = threading.Event()
    watcher.on_connect = lambda c, *a: c.subscribe(f"{PREFIX}/#", qos=1)
    watcher.on_subscribe = lambda *a: subscribed.set()
    watcher.on_message = lambda c, u, m: received.append(m)
    watcher.connect("127.0.0.1", port)
    watcher.loop_start()
    wait_for(subscribed.is_set, "the watcher did not subscribe")

    good = BrokerSettings("127.0.0.1", port, "anpr-unit-1", tls=True, ca=ca, cert=cert, key=key)
    publisher, writer, threads, counters, read = run_publisher(tmp_path / "good", good)
    wait_for(lambda: counters.delivered_reads == 1, "no delivery over mutual TLS")
    stop(publisher, writer, threads)
    wait_for(lambda: any(m.topic.endswith("/reads") for m in received), "read not received")
    reads = [m for m in received if m.topic.endswith("/reads")]
    assert len(reads) == 1
    payload = json.loads(reads[0].payload)
    validate("read", payload)
    assert payload["read_id"] == read.read_id

    anonymous = BrokerSettings("127.0.0.1", port, "anpr-unit-2", tls=True, ca=ca)
    publisher, writer, threads, counters, _ = run_publisher(tmp_path / "anon", anonymous)
    wait_for(lambda: counters.stored == 1, "not stored")
    with pytest.raises(AssertionError):
        wait_for(lambda: publisher.connected, "connected", timeout_s=3)
    assert counters.delivered_reads == 0
    stop(publisher, writer, threads)
    watcher.loop_stop()
    watcher.disconnect()
    assert ssl.HAS_TLSv1_3  # the refusal above is the TLS 1.3 post-handshake kind


def test_a_ca_that_does_not_sign_the_broker_is_named_in_the_log(tmp_path, mtls_broker, caplog):
    """Not "cannot reach the broker": the unit says its CA does not match the broker's."""
    port, _ca, cert, key = mtls_broker
    (tmp_path / "other").mkdir()
    other = make_ca_and_server(tmp_path / "other")  # a CA that did not sign the broker
    wrong = BrokerSettings("127.0.0.1", port, "anpr-unit-1", tls=True, ca=other["ca"],
                           cert=cert, key=key, connect_timeout_s=3.0)  # fmt: skip
    caplog.set_level("WARNING", logger="edge.uplink.publisher")
    publisher, writer, threads, counters, _ = run_publisher(tmp_path / "wrong", wrong)
    wait_for(
        lambda: any("is not signed by the CA in" in r.getMessage() for r in caplog.records),
        "the CA mismatch named in the log",
        20,
    )
    line = next(r.getMessage() for r in caplog.records if "not signed by the CA" in r.getMessage())
    assert str(other["ca"]) in line and "buffering reads and hits" in line
    assert counters.delivered_reads == 0
    stop(publisher, writer, threads)
