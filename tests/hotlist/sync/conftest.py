"""Fixtures of the hotlist sync tests: a centre with real keys, a publisher on the test
broker, and the unit's sync started on it."""

from __future__ import annotations

import pytest

from edge.hotlist.publish import publish_bundle
from edge.mqtt import BrokerSettings
from tests.support.hotlist import PREFIX, Centre, Unit, write_config


@pytest.fixture
def centre(tmp_path):
    return Centre(tmp_path / "keys")


@pytest.fixture
def publish(broker):
    settings = BrokerSettings(broker.host, broker.port, "test-centre")

    def send(bundle: bytes):
        return publish_bundle(bundle, settings, prefix=PREFIX)

    return send


@pytest.fixture
def unit(tmp_path, broker, centre):
    config = write_config(tmp_path, centre.trusted_paths, port=broker.port)
    instance = Unit(config)
    yield instance
    instance.stop()
