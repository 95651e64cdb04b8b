"""The publisher and the store writer against a real Mosquitto: delivered only on PUBACK, hits
ahead of a read backlog that drains oldest first in a bounded window, buffering through a broker
outage, retained online/offline status, payloads valid against their JSON Schemas."""

from __future__ import annotations

import pytest

from edge.records import Hit, HitDecided, PlateRead, ReadDecided
from edge.store import open_database
from edge.store.reads import ReadStore
from tests.support.store import hit_on
from tests.support.store import plate_read as stored_read
from tests.support.unit import Subscriber, validate, wait_for
from tests.support.uplink import Unit

pytestmark = pytest.mark.broker


def plate_read(vrm: str) -> PlateRead:
    """A read with a crop of a real one's size (1.5 kB)."""
    return stored_read(vrm, b"\xff\xd8" + bytes(1500))


def hit_of(read: PlateRead) -> Hit:
    return hit_on(read, reason="test")


def fill_backlog(path, count: int) -> list[str]:
    """`count` undelivered reads in the outbox, as a unit that ran offline would leave them."""
    from edge.store import transaction
    from edge.uplink.payloads import encode, read_payload

    conn = open_database(path)
    store = ReadStore(conn)
    ids = []
    with transaction(conn):
        for i in range(count):
            read = plate_read(f"BL{i % 100:02d}ACK")
            store.add_read(
                read.read_id, read.vrm, "2026-03-01T12:00:00.000Z", confidence=0.9,
                direction=None, frames=3, hit=False, payload=encode(read_payload(read, False)),
            )  # fmt: skip
            ids.append(read.read_id)
    conn.close()
    return ids


def test_a_new_hit_overtakes_a_read_backlog_that_drains_oldest_first(tmp_path, broker):
    backlog = fill_backlog(tmp_path / "anpr.db", 1500)
    subscriber = Subscriber(broker)
    unit = Unit(tmp_path, broker, window=16, hit_reserve=4)
    wait_for(lambda: len(subscriber.of("reads")) >= 50, "the backlog did not start draining")
    hit_read = plate_read("HT51HOT")
    unit.writer.submit(HitDecided(hit_of(hit_read), 0.0, 0.0))
    wait_for(lambda: subscriber.of("hits"), "the hit was not received")
    reads_before_hit = len(subscriber.of("reads"))
    wait_for(lambda: len(subscriber.of("reads")) == len(backlog), "the backlog did not drain")
    unit.stop()
    received = [r["read_id"] for r in subscriber.of("reads")]
    assert received == backlog  # oldest first, each once
    assert reads_before_hit < len(backlog) // 2  # the hit did not wait for the backlog
    assert unit.publisher.max_in_flight <= 16
    assert unit.backlog() == {"hits": 0, "reads": 0, "oldest_age_s": None}
    (hit,) = subscriber.of("hits")
    validate("hit", hit)
    assert hit["read_id"] == hit_read.read_id and hit["matches"][0]["list"] == "demo"
    for payload in subscriber.of("reads")[:20]:
        validate("read", payload)
    subscriber.close()


def test_nothing_is_delivered_while_the_broker_is_down_and_everything_after(
    tmp_path, outage_broker
):
    subscriber = Subscriber(outage_broker, persistent=True)
    unit = Unit(tmp_path, outage_broker)
    wait_for(lambda: unit.publisher.connected, "the unit did not connect")
    sent = [plate_read(f"AB{i:02d}CDE") for i in range(5)]
    for read in sent[:2]:
        unit.writer.submit(ReadDecided(read, False))
    wait_for(lambda: unit.counters.delivered_reads == 2, "reads not delivered")
    outage_broker.stop()
    wait_for(lambda: not unit.publisher.connected, "the unit did not notice the outage")
    hot = sent[2]
    unit.writer.submit(HitDecided(hit_of(hot), 0.0, 0.0))
    for read in sent[2:]:
        unit.writer.submit(ReadDecided(read, read is hot))
    wait_for(lambda: unit.counters.stored == 6, "not stored while the broker was down")
    assert unit.backlog()["reads"] == 3 and unit.backlog()["hits"] == 1  # stored, not delivered
    outage_broker.start()
    wait_for(lambda: unit.backlog()["reads"] == 0 and unit.backlog()["hits"] == 0, "not delivered")
    wait_for(lambda: len(subscriber.of("reads")) >= 5, "the subscriber missed reads")
    unit.stop()
    assert {r["read_id"] for r in subscriber.of("reads")} == {r.read_id for r in sent}
    assert [h["read_id"] for h in subscriber.of("hits")] == [hot.read_id]
    subscriber.close()


def test_status_is_retained_online_then_offline_with_versions(tmp_path, broker):
    unit = Unit(tmp_path, broker)
    wait_for(lambda: unit.publisher.connected, "the unit did not connect")
    late = Subscriber(broker, "late-subscriber")  # joins after: gets the retained status
    wait_for(lambda: late.of("status"), "no retained status")
    online = late.of("status")[0]
    validate("status", online)
    assert online["state"] == "online" and online["versions"]["hotlists"] == {"demo": 7}
    unit.publisher.health(
        {
            "schema": "anpr.health/1", "unit_id": "unit-1", "at": "2026-03-01T12:00:00.000Z",
            "uptime_s": 1.0, "fps": 0.0, "frames": 0, "frames_dropped": 0, "motion_ratio": 0.0,
            "reads": 0, "hits": 0, "backlog": {"hits": 0, "reads": 0, "oldest_age_s": None},
            "hotlists": {}, "cpu_temp_c": None, "disk_free_mb": None, "clock_synced": False,
            "errors": 0, "stages": {},
        }
    )  # fmt: skip
    wait_for(lambda: late.of("health"), "no health")
    unit.stop()
    wait_for(lambda: len(late.of("status")) == 2, "no offline status")
    offline = late.of("status")[1]
    validate("status", offline)
    assert offline["state"] == "offline"
    late.close()
    again = Subscriber(broker, "after-stop")
    wait_for(lambda: again.of("status"), "no retained status after the stop")
    assert again.of("status")[0]["state"] == "offline"
    again.close()
