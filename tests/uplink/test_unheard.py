"""A read the broker acknowledges with "no matching subscribers" (MQTT 5 reason 0x10) reached
nobody: against a real Mosquitto with no subscriber the unit keeps its backlog, sends a probe now
and then instead of the backlog again, and delivers every read once, oldest first, when the
centre subscribes."""

from __future__ import annotations

import time

import pytest

from edge.records import HitDecided
from tests.support.unit import Subscriber, wait_for
from tests.support.uplink import Unit
from tests.uplink.test_publisher import fill_backlog, hit_of, plate_read

pytestmark = pytest.mark.broker


def test_reads_nobody_subscribes_to_stay_owed_until_the_centre_listens(tmp_path, broker):
    backlog = fill_backlog(tmp_path / "anpr.db", 200)
    unit = Unit(tmp_path, broker, window=16, hit_reserve=4)
    wait_for(lambda: not unit.publisher.audience.listening, "no PUBACK said no subscriber")
    hot = plate_read("HT51HOT")
    unit.writer.submit(HitDecided(hit_of(hot), 0.0, 0.0))
    time.sleep(4.0)
    status = unit.publisher.status()
    assert status["connected"] and not status["centre_listening"]
    assert unit.counters.delivered_reads == 0 and unit.counters.delivered_hits == 0
    assert unit.backlog()["reads"] == 200 and unit.backlog()["hits"] == 1
    # the first window came back unheard, then a probe after 1, 2 s…: not the backlog each time
    assert 1 <= status["unheard"] <= 16 + 4, status
    subscriber = Subscriber(broker)
    wait_for(
        lambda: len(subscriber.of("reads")) == 200 and subscriber.of("hits"),
        "the backlog did not reach the subscriber",
    )
    wait_for(lambda: unit.backlog()["reads"] == 0 and unit.backlog()["hits"] == 0, "not marked")
    assert unit.publisher.status()["centre_listening"]
    unit.stop()
    assert [r["read_id"] for r in subscriber.of("reads")] == backlog  # oldest first, each once
    assert [h["read_id"] for h in subscriber.of("hits")] == [hot.read_id]
    subscriber.close()
