"""One MQTT connection per unit (issue 12, point 5): a running unit publishes, answers a
command and applies a hotlist over a single connection whose client id is its unit id, in a
persistent session, as the broker's own log shows. The centre's broker can then bind client
ids to certificate names (use_username_as_clientid: tests/system/security/)."""

from __future__ import annotations

import json
import re

import pytest

from edge.hotlist.publish import publish_bundle
from edge.mqtt import BrokerSettings
from tests.support.faults import UnitRun
from tests.support.security import COMMAND, signed_snapshot
from tests.support.unit import Subscriber, wait_for, write_unit_config

pytestmark = pytest.mark.broker
UNIT = "test-unit"


def connections(broker) -> list[tuple[str, str]]:
    """(client id, flags) of every connection the broker accepted, from its log:
    "New client connected from 127.0.0.1:40000 as test-unit (p5, c0, k5)."."""
    return re.findall(r"New client connected from \S+ as (\S+) \(([^)]*)\)", broker.log.read_text())


def test_a_running_unit_holds_one_connection_as_its_unit_id(tmp_path, logging_broker):
    config = write_unit_config(tmp_path, logging_broker)
    watcher = Subscriber(logging_broker)
    with UnitRun(config, "synthetic:rate=30", tmp_path) as unit:
        wait_for(lambda: watcher.of("status"), "the unit did not say online", 60)
        # the command desk and the hotlist sync answer on that same connection
        cmd = f"anpr/v1/units/{UNIT}/cmd"
        watcher.client.publish(cmd, json.dumps(COMMAND).encode(), qos=1).wait_for_publish(5)
        wait_for(lambda: watcher.of("result"), "no command result", 20)
        version = 2_000_000_000
        bundle = signed_snapshot(tmp_path, "demo", version).read_bytes()
        publish_bundle(bundle, BrokerSettings(logging_broker.host, logging_broker.port,
                                              "test-centre"), prefix="anpr/v1")  # fmt: skip
        wait_for(
            lambda: any(h["hotlists"].get("demo") == version for h in watcher.of("health")),
            "the unit did not apply the hotlist",
            30,
        )
        code, _summary = unit.stop()
    watcher.close()
    assert code == 0, unit.tail()
    assert watcher.of("result")[0]["ok"] is True
    ours = [(client, flags) for client, flags in connections(logging_broker)
            if client not in ("test-subscriber", "test-centre")]  # fmt: skip
    # one connection, as the unit id, MQTT 5 (p5) resuming its session (c0: clean start off)
    assert [(client, flags.split(", ")[:2]) for client, flags in ours] == [(UNIT, ["p5", "c0"])], (
        ours
    )
