"""MQTT 3.1.1 where a broker can do no better (DESIGN §3, `mqtt.protocol = "3.1.1"`): the unit
still delivers every read, and its hotlist sync keeps a persistent session, against a real
Mosquitto whose log shows the protocol each client used (p2 = 3.1.1, p5 = 5)."""

from __future__ import annotations

import re

import pytest

from tests.support.broker import MosquittoBroker
from tests.support.cli import anpr
from tests.support.hotlist import V1, Centre, Unit, entry, wait_for, write_config
from tests.support.unit import Subscriber, check_delivery, write_unit_config

pytestmark = pytest.mark.broker


def protocols(broker: MosquittoBroker) -> dict[str, str]:
    """client id → protocol from the broker's log ("… as CLIENT (p2, c1, k30)")."""
    log = broker.log.read_text()
    return dict(re.findall(r" as (\S+) \((p\d)", log))


def test_hotlist_sync_on_311_keeps_its_session(tmp_path, logging_broker):
    from edge.hotlist.publish import publish_bundle
    from edge.mqtt import BrokerSettings

    centre = Centre(tmp_path / "keys")
    settings = BrokerSettings(
        logging_broker.host, logging_broker.port, "test-centre", protocol="3.1.1"
    )
    config = write_config(tmp_path, centre.trusted_paths, port=logging_broker.port)
    config.write_text(config.read_text().replace("tls = {", 'protocol = "3.1.1"\ntls = {'))
    unit = Unit(config)
    try:
        publish_bundle(centre.snapshot("national", 1, V1), settings, prefix="anpr/v1")
        wait_for(lambda: unit.version() == 1, "snapshot v1 applied over 3.1.1")
        unit.stop()
        delta = centre.delta("national", 2, 1, [["add", *entry("CD34EFG")]])
        publish_bundle(delta, settings, prefix="anpr/v1")
        unit.start()  # the broker kept the session: the delta waited for it
        wait_for(lambda: unit.version() == 2, "queued delta applied after reconnecting")
        # a resumed 3.1.1 session does not subscribe again, which would bring the retained
        # snapshot back as a replay
        assert unit.sync.status()["rejected"] == {}
    finally:
        unit.stop()
    assert set(protocols(logging_broker).values()) == {"p2"}


def test_the_unit_delivers_every_read_over_311(tmp_path, logging_broker):
    config = write_unit_config(tmp_path, logging_broker, look="day", seed=3)
    config.write_text(
        config.read_text().replace(
            "connect_timeout_s = 5.0\n", 'connect_timeout_s = 5.0\nprotocol = "3.1.1"\n'
        )
    )
    subscriber = Subscriber(logging_broker)
    result = anpr(
        "run", "--config", str(config), "--source", "synthetic:paced=false,rate=60",
        "--max-frames", "300", process=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    reads, _hits = check_delivery(config, subscriber)
    assert reads, "no read delivered"
    subscriber.close()
    used = protocols(logging_broker)
    assert used.get("test-unit") == "p2", used  # the unit's one connection, as its unit id
