"""The reference centre consumer (edge.centre, issue 15): a real Mosquitto on the committed
centre configuration (mutual TLS, the committed ACL), a real PostgreSQL (edge.devtools.postgres:
as root, run as an unprivileged user) and two consumer processes sharing one subscription.

What is proved: every read and hit is stored once however often it arrives (idempotent by
read_id), a new hit notifies the alerting side once, the two processes share the stream,
refused payloads are counted and stored nowhere, and what Mosquitto 2.0.11 does to shared
subscriptions over a restart (the reason for docs/fleet.md's advice)."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg (the centre extra) is not installed")

from edge.devtools.centre_broker import CentreBroker  # noqa: E402
from edge.devtools.fleet.centre import Centre, wait_for  # noqa: E402
from edge.devtools.fleet.feed import Feed  # noqa: E402
from edge.devtools.pki import ForceCA  # noqa: E402
from edge.devtools.postgres import find_bin  # noqa: E402
from edge.devtools.processes import find_mosquitto  # noqa: E402
from edge.uplink.payloads import encode, hit_payload, read_payload  # noqa: E402
from tests.support.security import NOT_AUTHORIZED, Client  # noqa: E402

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(find_bin() is None, reason="PostgreSQL is not installed"),
    pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed"),
]
PREFIX = "anpr/v1"


@pytest.fixture(scope="module")
def centre(tmp_path_factory) -> Centre:
    folder = tmp_path_factory.mktemp("centre")
    instance = Centre(folder, consumers=2, pg_fsync=False)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def unit(centre: Centre, cn: str) -> Client:
    client = Client(centre.broker, centre.ca.cert_path, centre.ca.issue(cn), cn)
    assert client.connect() == 0, centre.broker.log.read_text()[-2000:]
    return client


def payloads(unit_id: str, count: int, hits: int = 0) -> list[tuple[str, dict]]:
    feed, out = Feed(seed=3), []
    for i in range(count):
        read = feed.read(unit_id, (51.5, -0.1))
        if i < hits:
            out.append(("hits", hit_payload(Feed.hit(read, "ops", 1))))
        out.append(("reads", read_payload(read, hit=i < hits)))
    return out


def send(client: Client, unit_id: str, items: list[tuple[str, dict]]) -> None:
    for kind, payload in items:
        assert client.publish(f"{PREFIX}/units/{unit_id}/{kind}", encode(payload).encode()) in (
            0x00, 0x10), kind  # fmt: skip


def rows(centre: Centre, sql: str, params: tuple = ()) -> list[tuple]:
    return centre.query(sql, params)


def consumers_total(centre: Centre, key: str) -> int:
    return sum(stats.get(key, 0) for stats in centre.consumer_stats())


def test_every_read_and_hit_is_stored_once_however_often_it_arrives(centre: Centre) -> None:
    client = unit(centre, "unit-a")
    items = payloads("unit-a", 20, hits=3)
    with psycopg.connect(centre.pg.dsn(), autocommit=True) as listener:
        listener.execute("LISTEN anpr_hit")
        dropped_before = consumers_total(centre, "duplicates")
        send(client, "unit-a", items)
        send(client, "unit-a", items[:10])  # redelivered, as QoS 1 may
        send(client, "unit-a", items[:10])
        ids = [p["read_id"] for _, p in items]
        assert wait_for(lambda: consumers_total(centre, "duplicates") - dropped_before >= 20, 30), (
            centre.consumer_stats()
        )
        notified = [n.payload for n in listener.notifies(timeout=2.0, stop_after=10)]
    client.close()
    stored = rows(centre, "SELECT read_id, hit FROM reads WHERE read_id = ANY(%s)", (ids,))
    assert len(stored) == 20
    assert {r[0] for r in stored} == set(ids)
    hits = rows(centre, "SELECT read_id, alert_state, list, priority FROM hits "
                        "WHERE read_id = ANY(%s)", (ids,))  # fmt: skip
    assert sorted(h[0] for h in hits) == sorted(p["read_id"] for k, p in items if k == "hits")
    assert {h[1] for h in hits} == {"new"} and {h[2] for h in hits} == {"ops"}
    assert sorted(notified) == sorted(h[0] for h in hits), "one notification per new hit"
    flagged = rows(centre, "SELECT count(*) FROM reads WHERE hit AND read_id = ANY(%s)", (ids,))
    assert flagged == [(3,)]


def test_two_processes_share_the_stream(centre: Centre) -> None:
    before = [stats.get("received", 0) for stats in centre.consumer_stats()]
    client = unit(centre, "unit-b")
    send(client, "unit-b", payloads("unit-b", 60))
    client.close()
    assert wait_for(lambda: rows(centre, "SELECT count(*) FROM reads WHERE unit_id = 'unit-b'")
                    == [(60,)], 30)  # fmt: skip
    time.sleep(1.2)  # the stats files are rewritten every second
    after = [stats.get("received", 0) for stats in centre.consumer_stats()]
    shares = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(shares) >= 60 and min(shares) > 0, shares


def test_refused_payloads_are_counted_and_stored_nowhere(centre: Centre) -> None:
    client = unit(centre, "unit-c")
    good = payloads("unit-c", 1)[0][1]
    forged = {**good, "read_id": "f" * 32, "unit_id": "unit-x"}  # not the topic's unit
    broken = {**good, "read_id": "e" * 32, "confidence": 7}
    refused_before = consumers_total(centre, "refused")
    for payload in (forged, broken):
        client.publish(f"{PREFIX}/units/unit-c/reads", encode(payload).encode())
    client.publish(f"{PREFIX}/units/unit-c/reads", b"not json")
    client.close()
    assert wait_for(lambda: consumers_total(centre, "refused") - refused_before == 3, 30)
    assert rows(centre, "SELECT count(*) FROM reads WHERE read_id IN (%s, %s)",
                ("f" * 32, "e" * 32)) == [(0,)]  # fmt: skip
    log = "".join(p.read_text() for p in centre.folder.glob("anpr.centre.ingest-*.log"))
    assert "refused a message" in log and good["vrm"] not in log, "no personal data in logs"


def test_a_consumer_certificate_reads_reads_and_hits_only(centre: Centre) -> None:
    # a name of the ACL that no running consumer uses (one certificate, one connection)
    ingest = Client(centre.broker, centre.ca.cert_path, centre.ca.issue("anpr.centre.ingest-4"),
                    "anpr.centre.ingest-4")  # fmt: skip
    assert ingest.connect() == 0
    assert ingest.subscribe(f"{PREFIX}/units/+/status") in (1, NOT_AUTHORIZED)
    send(unit(centre, "unit-d"), "unit-d", payloads("unit-d", 1))
    unit(centre, "unit-d").publish(f"{PREFIX}/units/unit-d/status", b"{}")
    time.sleep(0.5)
    assert ingest.received(f"{PREFIX}/units/+/status") == [], "status is not the consumers'"
    assert ingest.publish(f"{PREFIX}/hotlists/ops/delta") == NOT_AUTHORIZED
    assert ingest.publish(f"{PREFIX}/units/unit-a/cmd") == NOT_AUTHORIZED
    ingest.close()


def test_the_database_files_are_private(centre: Centre) -> None:
    for folder in (centre.pg.data, centre.pg.sockets):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        assert centre.pg.data.stat().st_uid != 0, "the server must not run as root"


def test_mosquitto_2_0_drops_shared_subscriptions_over_a_restart(tmp_path: Path) -> None:
    """Pins the broker behaviour docs/fleet.md builds on: after a restart Mosquitto restores a
    persistent session and its plain subscriptions, but not its shared ones, so a message
    published before the consumer subscribes again reaches nobody. Should this fail after a
    Mosquitto upgrade, the broker was fixed: update docs/fleet.md."""
    ca = ForceCA(tmp_path / "pki")
    broker = CentreBroker(tmp_path / "broker", ca)
    broker.start()
    consumers = {}
    try:
        for name, topic in (("anpr.centre.ingest-1", f"$share/g/{PREFIX}/units/+/reads"),
                            ("anpr.centre.ingest-2", f"{PREFIX}/units/+/reads")):  # fmt: skip
            client = Client(broker, ca.cert_path, ca.issue(name), name)
            assert client.connect(session_expiry_s=3600, clean_start=False) == 0
            assert client.subscribe(topic) == 1
            client.close()
            consumers[name] = client
        broker.stop()
        broker.start()
        sender = Client(broker, ca.cert_path, ca.issue("unit-r"), "unit-r")
        assert sender.connect() == 0
        sender.publish(f"{PREFIX}/units/unit-r/reads", json.dumps({"n": 1}).encode())
        sender.close()
        got = {}
        for name in consumers:  # back without subscribing again: the session alone
            client = Client(broker, ca.cert_path, ca.issue(name), name)
            assert client.connect(session_expiry_s=3600, clean_start=False) == 0
            time.sleep(1.0)
            got[name] = len(client.received())
            client.close()
    finally:
        broker.stop()
    assert got == {"anpr.centre.ingest-1": 0, "anpr.centre.ingest-2": 1}


def test_a_consumer_killed_mid_stream_loses_nothing_and_stores_nothing_twice(
    centre: Centre,
) -> None:
    """SIGKILL one consumer while reads stream in, then start it again on its session: what
    it held unacknowledged comes again, and is stored once."""
    client = unit(centre, "unit-k")
    items = payloads("unit-k", 300)
    victim = centre.consumers[0]
    send(client, "unit-k", items[:150])
    victim.kill()
    victim.wait(timeout=10)
    send(client, "unit-k", items[150:])
    client.close()
    centre.consumers[0] = centre._consumer(centre.ingest[0])  # the same certificate, session
    assert wait_for(lambda: rows(centre, "SELECT count(*) FROM reads WHERE unit_id = 'unit-k'")
                    == [(300,)], 60), rows(centre, "SELECT count(*) FROM reads "
                                                   "WHERE unit_id = 'unit-k'")  # fmt: skip
    time.sleep(1.0)
    assert rows(centre, "SELECT count(*) FROM reads WHERE unit_id = 'unit-k'") == [(300,)]
