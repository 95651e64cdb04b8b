"""The centre's broker as committed: a real unit and the centre do their whole job through it, and
who may publish and receive what (the ACL by certificate name)."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.centre import (
    ACCEPTED,
    GRANTED_QOS1,
    OTHER,
    UNIT,
    centre,
    payloads,
    start_unit,
    stop_unit,
    stored,
    tls_unit_config,
    unit_client,
)
from tests.support.cli import anpr
from tests.support.security import COMMAND, NOT_AUTHORIZED, PUBLISHER_CN, Client, signed_snapshot
from tests.support.unit import validate, wait_for

pytestmark = pytest.mark.broker


# --- fixtures and helpers ---------------------------------------------------------------------


# --- the centre's broker: a real unit, and the centre -----------------------------------------


def test_a_unit_and_the_centre_do_their_whole_job_through_the_committed_config(
    tmp_path, ca, centre_broker
):
    """Everything the protocol needs passes: the unit (cert CN = its unit id) publishes status,
    reads, hits and health and answers a command; the centre receives them all, sends the
    command and publishes a hotlist the unit applies."""
    watcher = centre(centre_broker, ca)
    config = tls_unit_config(tmp_path / "unit", centre_broker, ca.cert_path, ca.issue(UNIT))
    unit = start_unit(config, "--source", "synthetic:rate=60", "--duration", "40")
    try:
        wait_for(lambda: payloads(watcher, f"anpr/v1/units/{UNIT}/status"), "no status", 60)
        assert (
            watcher.publish(f"anpr/v1/units/{UNIT}/cmd", json.dumps(COMMAND).encode()) in ACCEPTED
        )
        wait_for(lambda: payloads(watcher, "anpr/v1/units/+/cmd/result"), "no command result")
        version = int(time.time()) + 1000  # newer than the demo list the unit holds
        bundle = signed_snapshot(tmp_path / "unit", "demo", version)
        centre_id = ca.issue(PUBLISHER_CN)  # the watcher holds the consumer's certificate
        published = anpr(
            "hotlist", "publish", str(bundle), "--broker", f"127.0.0.1:{centre_broker.port}",
            "--ca", str(ca.cert_path), "--cert", str(centre_id.cert), "--key", str(centre_id.key),
            process=True,
        )  # fmt: skip
        assert published.returncode == 0, published.stderr
        wait_for(
            lambda: any(h["hotlists"].get("demo") == version
                        for h in payloads(watcher, "anpr/v1/units/+/health")),
            "the unit did not apply the centre's hotlist", 30,
        )  # fmt: skip
        wait_for(lambda: payloads(watcher, "anpr/v1/units/+/reads"), "no read", 60)
    finally:
        _out, err = stop_unit(unit)
    assert unit.returncode == 0, err[-3000:]
    result = payloads(watcher, "anpr/v1/units/+/cmd/result")[0]
    assert result["id"] == COMMAND["id"] and result["ok"] is True, result
    reads, hits = stored(config, "reads"), stored(config, "hits")
    wait_for(lambda: len(payloads(watcher, "anpr/v1/units/+/reads")) >= len(reads), "reads")
    wait_for(lambda: len(payloads(watcher, "anpr/v1/units/+/hits")) >= len(hits), "hits")
    assert all(record["delivered"] for record in reads + hits)
    received = payloads(watcher, "anpr/v1/units/+/reads")
    assert {r["read_id"] for r in received} == {r["read_id"] for r in reads}
    for message in watcher.received("anpr/v1/units/+/reads"):
        assert message.topic == f"anpr/v1/units/{UNIT}/reads"
        validate("read", json.loads(message.payload))
    assert all(r["unit_id"] == UNIT for r in received)
    states = [s["state"] for s in payloads(watcher, "anpr/v1/units/+/status")]
    assert states[0] == "online" and states[-1] == "offline", states
    assert "refused" not in err and "Not authorized" not in err, err[-3000:]
    watcher.close()


OTHER_TOPICS = ["reads", "hits", "status", "health", "cmd/result"]


@pytest.mark.parametrize("retain", [False, True])
def test_a_unit_cannot_publish_as_another_unit_or_publish_hotlists(ca, centre_broker, retain):
    watcher = centre(centre_broker, ca)
    rogue = unit_client(centre_broker, ca, "unit-a")
    for name in OTHER_TOPICS:
        topic = f"anpr/v1/units/{OTHER}/{name}"
        assert rogue.publish(topic, b'{"forged":true}', retain=retain) == NOT_AUTHORIZED, topic
    for kind in ("snapshot", "delta"):
        topic = f"anpr/v1/hotlists/national/{kind}"
        assert rogue.publish(topic, b'{"forged":true}', retain=retain) == NOT_AUTHORIZED, topic
    # the same client may publish under its own id (so the refusals above are the ACL's)
    assert rogue.publish("anpr/v1/units/unit-a/reads", b'{"own":true}') in ACCEPTED
    wait_for(lambda: watcher.received("anpr/v1/units/unit-a/reads"), "own read not received")
    time.sleep(0.5)
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-a/reads"]
    # nothing forged stayed behind as a retained message, for units or for the centre (a new
    # subscription brings the retained messages it matches)
    hotlists = unit_client(centre_broker, ca, "unit-c")
    assert hotlists.subscribe("anpr/v1/hotlists/#") == GRANTED_QOS1
    assert watcher.subscribe(f"anpr/v1/units/{OTHER}/#") == GRANTED_QOS1
    time.sleep(0.5)
    assert hotlists.received() == []
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-a/reads"]
    for client in (watcher, rogue, hotlists):
        client.close()


def test_a_unit_receives_only_its_own_commands_and_the_hotlists(ca, centre_broker):
    sender = centre(centre_broker, ca, subscribe=None)
    other = unit_client(centre_broker, ca, OTHER)
    rogue = unit_client(centre_broker, ca, "unit-a")
    assert rogue.subscribe("anpr/v1/units/unit-a/cmd") == GRANTED_QOS1
    assert rogue.subscribe("anpr/v1/hotlists/#") == GRANTED_QOS1
    for topic_filter in (
        f"anpr/v1/units/{OTHER}/cmd", f"anpr/v1/units/{OTHER}/reads", "anpr/v1/units/+/cmd",
        "anpr/v1/units/#", "anpr/v1/#", "#", "$SYS/#",
    ):  # fmt: skip
        # Mosquitto 2.0 acknowledges these; read access is enforced per delivered message
        assert rogue.subscribe(topic_filter) in (GRANTED_QOS1, NOT_AUTHORIZED), topic_filter
    command = json.dumps(COMMAND).encode()
    assert sender.publish(f"anpr/v1/units/{OTHER}/cmd", command) in ACCEPTED
    assert other.publish(f"anpr/v1/units/{OTHER}/reads", b'{"read":"b"}') in ACCEPTED
    assert other.publish(f"anpr/v1/units/{OTHER}/status", b'{"s":1}', retain=True) in ACCEPTED
    assert sender.publish("anpr/v1/units/unit-a/cmd", command) in ACCEPTED
    assert sender.publish("anpr/v1/hotlists/national/delta", b'{"delta":1}') in ACCEPTED
    wait_for(lambda: rogue.received("anpr/v1/units/unit-a/cmd"), "own command not received")
    wait_for(lambda: rogue.received("anpr/v1/hotlists/#"), "hotlist not received")
    time.sleep(1.0)  # anything else would have arrived by now
    topics = {m.topic for m in rogue.received()}
    assert topics == {"anpr/v1/units/unit-a/cmd", "anpr/v1/hotlists/national/delta"}, topics
    for client in (sender, other, rogue):
        client.close()


def test_the_certificate_decides_who_a_client_is_not_its_user_name(ca, centre_broker):
    watcher = centre(centre_broker, ca)
    rogue = Client(centre_broker, ca.cert_path, ca.issue("unit-a"), f"anpr-{OTHER}")
    rogue.client.username_pw_set(OTHER, "any password")  # claims to be unit-b
    assert rogue.connect() == 0
    assert rogue.publish(f"anpr/v1/units/{OTHER}/reads", b"{}") == NOT_AUTHORIZED
    assert rogue.publish("anpr/v1/units/unit-a/reads", b"{}") in ACCEPTED  # still unit-a
    wait_for(lambda: watcher.received(), "own read not received")
    time.sleep(0.5)
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-a/reads"]
    rogue.close()
    watcher.close()


@pytest.mark.parametrize("cn", ["+", "#"])
def test_a_wildcard_in_a_certificate_name_matches_no_other_unit(ca, centre_broker, cn):
    """Were the CA ever to sign such a name, %u in the ACL patterns would not turn into a
    wildcard (Mosquitto refuses pattern ACLs for user names with + or #)."""
    rogue = unit_client(centre_broker, ca, cn, client_id="wildcard")
    for name in ("reads", "status"):
        assert rogue.publish(f"anpr/v1/units/{OTHER}/{name}", b"{}") == NOT_AUTHORIZED, name
    rogue.close()


def test_a_unit_cannot_forge_another_units_last_will(ca, centre_broker):
    watcher = centre(centre_broker, ca)
    for cn, will_unit in (("unit-a", OTHER), ("unit-c", "unit-c")):  # forged, then a control
        client = Client(centre_broker, ca.cert_path, ca.issue(cn), f"anpr-{cn}")
        client.client.will_set(
            f"anpr/v1/units/{will_unit}/status", b'{"state":"offline"}', qos=1, retain=True
        )
        connack = client.connect()
        if connack == 0:
            client.client.loop_stop()  # then drop the connection without a DISCONNECT
            client.client.socket().close()
        else:
            assert connack == NOT_AUTHORIZED
    wait_for(lambda: watcher.received("anpr/v1/units/unit-c/status"), "the control will")
    time.sleep(0.5)
    assert [m.topic for m in watcher.received()] == ["anpr/v1/units/unit-c/status"]
    watcher.close()


def test_only_the_centre_may_command_units_or_publish_hotlists_and_it_cannot_forge_reads(
    ca, centre_broker
):
    sender = centre(centre_broker, ca, subscribe=None)
    assert sender.publish(f"anpr/v1/units/{OTHER}/cmd", b"{}") in ACCEPTED
    assert sender.publish("anpr/v1/hotlists/national/snapshot", b"{}", retain=True) in ACCEPTED
    for name in ("reads", "hits", "status", "cmd/result"):
        assert sender.publish(f"anpr/v1/units/{OTHER}/{name}", b"{}") == NOT_AUTHORIZED, name
    rogue = unit_client(centre_broker, ca, "unit-a")
    assert rogue.publish(f"anpr/v1/units/{OTHER}/cmd", b"{}") == NOT_AUTHORIZED
    sender.close()
    rogue.close()
