"""Certificates and sessions at the centre's broker: sessions survive a restart, a client without
a valid certificate is refused at the handshake, a certificate for another id delivers nothing,
no one takes over the centre's session, selftest leaves the unit's session as it was."""

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
    stored,
    tls_unit_config,
    unit_client,
)
from tests.support.cli import anpr
from tests.support.security import (
    CENTRE_CN,
    PUBLISHER_CN,
    CentreBroker,
    Client,
    Identity,
    TestCA,
    old_tls_context,
)
from tests.support.unit import wait_for

pytestmark = pytest.mark.broker


def test_the_unit_sessions_and_the_centre_subscription_survive_a_broker_restart(ca, centre_broker):
    """Persistence: a delta published while a unit's session is away, and a read published
    while the centre's consumer is away, both across a broker restart. The unit holds one
    session (its client id is its certificate's name), in which it also publishes."""
    week = 7 * 24 * 3600
    consumer, unit = ca.issue(CENTRE_CN), ca.issue(OTHER)
    for identity, topic_filter in (
        (consumer, "anpr/v1/units/+/#"),
        (unit, "anpr/v1/hotlists/#"),
    ):
        client = Client(centre_broker, ca.cert_path, identity, "any-id")
        assert client.connect(session_expiry_s=week, clean_start=False) == 0
        assert client.subscribe(topic_filter) == GRANTED_QOS1
        if identity is unit:
            assert client.publish(f"anpr/v1/units/{OTHER}/reads", b'{"read":1}') in ACCEPTED
        client.close()
    sender = Client(centre_broker, ca.cert_path, ca.issue(PUBLISHER_CN), "publisher")
    assert sender.connect() == 0
    assert sender.publish("anpr/v1/hotlists/national/delta", b'{"delta":2}') in ACCEPTED
    sender.close()
    centre_broker.stop()
    centre_broker.start()
    for identity, topic in (
        (consumer, f"anpr/v1/units/{OTHER}/reads"),
        (unit, "anpr/v1/hotlists/national/delta"),
    ):
        client = Client(centre_broker, ca.cert_path, identity, "any-id")
        assert client.connect(session_expiry_s=week, clean_start=False) == 0
        wait_for(lambda c=client: c.received(), f"{topic}: nothing after the restart", 10)
        assert [m.topic for m in client.received()] == [topic]
        client.close()


@pytest.mark.parametrize(
    "who", ["no certificate", "another CA", "expired", "revoked", "TLS 1.1", "good"]
)
def test_a_client_without_a_valid_certificate_is_refused_at_the_handshake(
    tmp_path, ca, who, monkeypatch
):
    """No CONNACK (the TLS handshake fails, or with TLS 1.3 the broker closes the connection
    right after it): such a client never sends a single MQTT packet. "good" is the control."""
    if who == "TLS 1.1":
        # Debian's OpenSSL policy (MinProtocol TLSv1.2, SECLEVEL 2) refuses TLS 1.1 by itself:
        # the broker runs under a lax policy here, so that only `tls_version` can refuse it
        lax = tmp_path / "lax-openssl.cnf"
        lax.write_text(LAX_OPENSSL)
        monkeypatch.setenv("OPENSSL_CONF", str(lax))
    identity: Identity | None = None
    if who == "another CA":
        identity = TestCA(tmp_path / "other", "another CA").issue("unit-a")
    elif who == "expired":
        identity = ca.issue("unit-a", expired=True)
    elif who == "revoked":
        identity = ca.issue("unit-a")
        ca.revoke(identity)  # in the CRL the broker loads at start
    elif who != "no certificate":
        identity = ca.issue("unit-a")
    (tmp_path / "broker").mkdir()
    broker = CentreBroker(tmp_path / "broker", ca)
    broker.start()
    try:
        context = old_tls_context(ca.cert_path, identity) if who == "TLS 1.1" else None
        client = Client(broker, ca.cert_path, identity, "anpr-unit-a", context=context)
        connack = client.connect(timeout_s=5)
        client.close()
    finally:
        broker.stop()
    log = broker.log.read_text()
    if who == "good":
        assert connack == 0, log
    else:
        assert connack is None, f"{who}: CONNACK {connack}"
        assert "New client connected" not in log, log


LAX_OPENSSL = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT@SECLEVEL=0
"""


def test_a_unit_with_a_certificate_for_another_id_delivers_nothing_and_keeps_its_reads(
    tmp_path, ca, centre_broker
):
    """A mis-issued certificate (or a swapped SD card): the broker refuses every publish with
    "not authorised"; the unit says so, and keeps every read in its outbox."""
    watcher = centre(centre_broker, ca)
    config = tls_unit_config(tmp_path / "unit", centre_broker, ca.cert_path, ca.issue(OTHER))
    result = anpr(
        "run", "--config", str(config), "--source", "synthetic:paced=false,rate=60",
        "--max-frames", "240", "--json", process=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    reads = stored(config, "reads")
    assert reads and not any(read["delivered"] for read in reads)
    assert "Not authorized" in result.stderr, result.stderr[-3000:]
    time.sleep(0.5)
    assert watcher.received() == []  # not even its status: the will and "online" were refused
    watcher.close()


def test_a_unit_cannot_take_over_the_centres_session(ca, centre_broker):
    """use_username_as_clientid: the rogue's client id becomes its certificate's name, so it
    neither disconnects the centre's consumer nor drops the reads queued for it."""
    week = 7 * 24 * 3600
    consumer = ca.issue(CENTRE_CN)
    client = Client(centre_broker, ca.cert_path, consumer, "centre-consumer")
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    assert client.subscribe("anpr/v1/units/+/#") == GRANTED_QOS1
    client.close()  # the centre's consumer is away; reads queue for it
    unit = unit_client(centre_broker, ca, OTHER)
    assert unit.publish(f"anpr/v1/units/{OTHER}/reads", b'{"read":1}') in ACCEPTED
    rogue = Client(centre_broker, ca.cert_path, ca.issue("unit-a"), "centre-consumer")
    rogue.connect(session_expiry_s=0)  # takes the id, drops the session
    time.sleep(0.5)
    rogue.close()
    client = Client(centre_broker, ca.cert_path, consumer, "centre-consumer")
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    wait_for(client.received, "the queued read was lost", 5)
    client.close()
    unit.close()


def test_selftest_leaves_the_units_session_as_it_was(tmp_path, ca, centre_broker):
    """The broker turns the selftest's client id into the unit's (its certificate's name): the
    selftest must resume the unit's session without dropping it or taking what waits in it."""
    week = 7 * 24 * 3600
    identity = ca.issue(UNIT)
    client = Client(centre_broker, ca.cert_path, identity, UNIT)
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    assert client.subscribe("anpr/v1/hotlists/#") == GRANTED_QOS1
    client.close()
    sender = Client(centre_broker, ca.cert_path, ca.issue(PUBLISHER_CN), "publisher")
    assert sender.connect() == 0
    assert sender.publish("anpr/v1/hotlists/demo/delta", b'{"delta":1}') in ACCEPTED
    sender.close()
    config = tls_unit_config(tmp_path / "unit", centre_broker, ca.cert_path, identity)
    result = anpr("selftest", "--config", str(config), "--json", process=True)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["broker"]["ok"], checks["broker"]
    client = Client(centre_broker, ca.cert_path, identity, UNIT)
    assert client.connect(session_expiry_s=week, clean_start=False) == 0
    wait_for(client.received, "the delta queued for the unit was lost", 10)
    assert [m.topic for m in client.received()] == ["anpr/v1/hotlists/demo/delta"]
    client.close()
