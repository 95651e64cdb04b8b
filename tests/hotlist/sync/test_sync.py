"""The MQTT loop end to end with a real Mosquitto: the centre publishes signed bundles, the
unit's sync applies them, refuses forgeries, survives being offline and recovers from a gap."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.support.hotlist import PREFIX, V1, Unit, entry, tamper, wait_for, write_config

pytestmark = pytest.mark.broker


def test_snapshot_then_delta_are_applied_and_reported(unit, centre, publish):
    assert publish(centre.snapshot("national", 1, V1)).retained
    wait_for(lambda: unit.version() == 1, "snapshot v1 applied")
    assert not publish(centre.delta("national", 2, 1, [["add", *entry("CD34EFG")]])).retained
    wait_for(lambda: unit.version() == 2, "delta v2 applied")
    assert len(unit.holder.current.lists["national"]) == 3
    status = unit.sync.status()
    assert status["applied"] == 2 and status["rejected"] == {} and status["errors"] == 0
    assert status["lists"]["national"] == {
        "version": 2,
        "waiting_for_snapshot": False,
        "parked_deltas": 0,
    }
    assert status["lists"]["county"]["version"] is None


def test_a_unit_started_later_gets_the_retained_snapshot(tmp_path, broker, centre, publish):
    publish(centre.snapshot("national", 7, V1))
    late = Unit(write_config(tmp_path, centre.trusted_paths, port=broker.port))
    try:
        wait_for(lambda: late.version() == 7, "retained snapshot applied at start")
    finally:
        late.stop()


def test_forged_and_tampered_bundles_are_rejected_and_counted(unit, centre, publish):
    publish(centre.snapshot("national", 1, V1))
    wait_for(lambda: unit.version() == 1, "snapshot v1 applied")
    publish(centre.delta("national", 2, 1, [["remove", "AB12CDE"]], key="rogue"))
    wait_for(lambda: unit.rejected("unknown-key") == 1, "forgery counted")
    publish(tamper(centre.delta("national", 2, 1, [["remove", "AB12CDE"]])))
    wait_for(lambda: unit.rejected("bad-signature") == 1, "tampered bundle counted")
    publish(centre.snapshot("national", 1, V1))  # a replay
    wait_for(lambda: unit.rejected("stale-version") == 1, "replay counted")
    assert unit.version() == 1 and len(unit.holder.current.lists["national"]) == 2
    # what the unit's health tells the centre (DESIGN §4)
    health = unit.sync.health()
    assert health["rejected"] == {"unknown-key": 1, "bad-signature": 1, "stale-version": 1}
    assert health["applied"] == 1 and health["connected"] and health["waiting_for_snapshot"] == []


def test_deltas_published_while_the_unit_is_offline_arrive_when_it_returns(unit, centre, publish):
    publish(centre.snapshot("national", 1, V1))
    wait_for(lambda: unit.version() == 1, "snapshot v1 applied")
    unit.stop()
    publish(centre.delta("national", 2, 1, [["add", *entry("CD34EFG")]]))
    publish(centre.delta("national", 3, 2, [["remove", "BD51SMR"]]))
    unit.start()
    wait_for(lambda: unit.version() == 3, "queued deltas applied after reconnecting")
    assert unit.sync.status()["rejected"] == {}


def test_a_gap_waits_and_recovers_from_the_retained_snapshot(unit, centre, publish, broker):
    publish(centre.snapshot("national", 1, V1))
    publish(centre.delta("national", 2, 1, [["add", *entry("CD34EFG")]]))
    wait_for(lambda: unit.version() == 2, "v2 applied")
    unit.stop()
    # While the unit is away the centre moves on to v3 and retains that snapshot, but the
    # unit's session never sees it (QoS 0 is not queued for offline clients); then a delta
    # v3→v4 is queued for the unit. On return the unit holds v2 and gets a delta from v3.
    retain_quietly(
        broker,
        f"{PREFIX}/hotlists/national/snapshot",
        centre.snapshot("national", 3, [*V1, entry("CD34EFG"), entry("EF56GHI")]),
    )
    publish(centre.delta("national", 4, 3, [["remove", "EF56GHI"], ["add", *entry("GH78JKL")]]))
    unit.start()
    wait_for(lambda: unit.version() == 4, "recovered through the retained snapshot")
    status = unit.sync.status()
    assert status["rejected"] == {"base-mismatch": 1}
    assert status["lists"]["national"]["waiting_for_snapshot"] is False
    plates = set(unit.holder.current.lists["national"].columns.keys.tolist())
    assert len(plates) == 4


def test_oversized_messages_are_refused_in_the_callback_and_counted(
    tmp_path, broker, centre, publish
):
    config = write_config(
        tmp_path, centre.trusted_paths, port=broker.port, extra="max_bundle_mb = 1\n"
    )
    small = Unit(config)
    try:
        big = [entry(f"A{i:06d}", reason=f"{i:0>190}") for i in range(9000)]
        publish(centre.snapshot("national", 1, big, compression="none"))
        wait_for(lambda: small.rejected("oversized") == 1, "oversized bundle counted")
        publish(centre.snapshot("national", 2, V1))
        wait_for(lambda: small.version() == 2, "the next bundle still applies")
    finally:
        small.stop()


def test_stop_is_honoured_promptly(unit):
    started = time.monotonic()
    unit.stop()
    assert time.monotonic() - started < 5
    assert not unit.sync._thread.is_alive()


def retain_quietly(broker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="test-qos0", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=0, retain=True)
        info.wait_for_publish(10)
        assert info.is_published()
        time.sleep(0.3)  # QoS 0 has no acknowledgement: give the broker a moment to store it
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_conflicting_delta_brings_the_retained_snapshot(unit, centre, publish, broker):
    publish(centre.snapshot("national", 1, V1))
    wait_for(lambda: unit.version() == 1, "v1 applied")
    unit.stop()
    # The centre's v2 differs from what this unit holds at v1 (a list rebuilt at the centre):
    # its snapshot is retained while the unit is away, then a delta 1 → 2 removes a plate the
    # unit never had.
    v2 = [entry("AB12CDE"), entry("ZZ99ZZZ")]
    retain_quietly(
        broker, f"{PREFIX}/hotlists/national/snapshot", centre.snapshot("national", 2, v2)
    )
    publish(centre.delta("national", 2, 1, [["remove", "ZZ11ZZZ"]]))
    unit.start()
    wait_for(lambda: unit.version() == 2, "recovered through the retained snapshot")
    assert unit.sync.health()["rejected"] == {"delta-conflict": 1}
    plates = set(unit.holder.current.lists["national"].columns.keys.tolist())
    assert len(plates) == 2
