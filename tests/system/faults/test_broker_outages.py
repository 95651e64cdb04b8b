"""The broker goes away again and again: nothing is lost, and hits waiting at a reconnect go
before reads."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

import pytest

from tests.support.delivery import check_everything_delivered, received
from tests.support.faults import (
    LONG,
    SEED,
    StoreView,
    UnitRun,
    fault_config,
    fault_rounds,
    store_path,
)
from tests.support.unit import Subscriber, validate, wait_for

pytestmark = pytest.mark.broker


# A hit counts as waiting at a reconnect if it was stored at least this long before the broker
# came back: the writer stamps `stored_at` before its commit (an fsync) and hands the hit to the
# publisher after it; a second covers that on a loaded machine.
COMMITTED_S = 1.0


# --- the broker goes away, again and again ------------------------------------------------


@dataclass
class Outage:
    stopped_at: float  # time.time(): the broker stopped
    seen: int  # how many messages the subscriber had by then
    back_at: float  # the broker listening again


def test_broker_outages_lose_nothing_and_waiting_hits_go_before_reads(tmp_path, outage_broker):
    """The broker is stopped and restarted several times while the road keeps producing reads.

    Order, precisely: for each outage r, the hits waiting at the reconnect are W_r = the hits
    stored at least COMMITTED_S before the broker came back and not delivered before it
    stopped. After the outage, every hit of W_r must reach the subscriber before any read that
    it had not received before the outage, except for reads the unit had in flight when the
    connection dropped (paho sends those again first, at most the number the unit logs in
    "N message(s) in flight will be re-sent")."""
    rng = random.Random(SEED)
    rounds = fault_rounds(ci=3, long=10)
    config = fault_config(tmp_path, outage_broker)
    store = StoreView(store_path(config))
    subscriber = Subscriber(outage_broker, persistent=True)
    outages: list[Outage] = []
    started = time.monotonic()
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        wait_for(lambda: subscriber.of("reads"), "no read before the first outage", 120)
        for _ in range(rounds):
            time.sleep(rng.uniform(2.0, 5.0))
            stopped_at = time.time()
            outage_broker.stop()
            seen = len(subscriber.messages)
            time.sleep(rng.uniform(5.0, 30.0) if LONG else rng.uniform(3.0, 6.0))
            # keep it down until a hit and a read are waiting (the road is random)
            wait_for(lambda: store.owed("hit") and store.owed("read"), "nothing owed", 120)
            time.sleep(COMMITTED_S + 0.2)
            during = json.loads((tmp_path / "run" / "status.json").read_text())
            assert during["broker"]["connected"] is False and during["stages"]["pipeline"]
            outage_broker.start()
            outages.append(Outage(stopped_at, seen, time.time()))
            back_at = outages[-1].back_at
            wait_for(
                lambda back_at=back_at: (
                    not any(r.owed and r.stored_at < back_at for r in store.rows("hit").values())
                    and not any(
                        r.owed and r.stored_at < back_at for r in store.rows("read").values()
                    )
                ),
                "the backlog of the outage did not drain",
                60,
            )
        wait_for(lambda: store.owed() == 0, "the outbox did not empty", 60)
        code, summary = unit.stop()
        log = unit.messages()
    elapsed = time.monotonic() - started
    assert code == 0, unit.tail()
    assert summary["backlog"] == {"hits": 0, "reads": 0, "oldest_age_s": None}, summary
    figures = check_everything_delivered(store, subscriber)
    for payload in subscriber.of("reads")[:50]:
        validate("read", payload)

    resent = [
        int(m.rsplit("; ", 1)[1].split()[0]) for m in log if m.startswith("connected to broker")
    ]
    assert len(resent) == rounds + 1, f"one connection per outage expected: {resent}"
    hits, reads = store.rows("hit"), store.rows("read")
    report = []
    for r, outage in enumerate(outages):
        before = received(subscriber, 0, outage.seen)
        after = received(subscriber, outage.seen)
        waiting = [
            h
            for h in hits.values()
            if h.stored_at < outage.back_at - COMMITTED_S
            and h.delivered_at > outage.stopped_at
            and ("hits", h.read_id) not in before
        ]
        assert waiting, f"outage {r}: no hit was waiting; the order check would be empty"
        positions = []
        for hit in waiting:
            assert ("hits", hit.read_id) in after, f"outage {r}: waiting hit {hit.read_id} lost"
            positions.append(after.index(("hits", hit.read_id)))
        last_hit = max(positions)
        old_reads = {rid for kind, rid in before if kind == "reads"}
        overtaking = [rid for kind, rid in after[:last_hit] if kind == "reads"]
        overtaking = [rid for rid in overtaking if rid not in old_reads]
        assert len(overtaking) <= resent[r + 1], (
            f"outage {r}: {len(overtaking)} read(s) went before hits waiting since the outage "
            f"({len(waiting)} waiting, {resent[r + 1]} in flight re-sent)"
        )
        drained = [rid for kind, rid in after if kind == "reads" and rid not in old_reads]
        report.append(
            {
                "down_s": round(outage.back_at - outage.stopped_at, 1),
                "hits_waiting": len(waiting),
                "new_reads_received_after": len(drained),
                "reads_before_last_waiting_hit": len(overtaking),
                "resent_in_flight": resent[r + 1],
                "owed_reads_at_restart": sum(
                    1
                    for x in reads.values()
                    if x.stored_at < outage.back_at and x.delivered_at > outage.stopped_at
                ),
            }
        )
    subscriber.close()
    print(json.dumps({"outages": report, **figures, "seconds": round(elapsed)}))
