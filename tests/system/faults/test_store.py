"""The store under the running unit: another process reading it, and the store filling up."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.store.database import open_database
from edge.store.sql import transaction
from tests.support.faults import (
    LONG,
    SEED,
    StoreView,
    UnitRun,
    add_fillers,
    fault_config,
    health_with,
    store_path,
)
from tests.support.unit import Subscriber, wait_for

pytestmark = pytest.mark.broker


# --- the store's WAL and other processes ------------------------------------------------


def test_another_process_reading_the_store_never_takes_the_wal_from_the_unit(tmp_path):
    """The unit opens its store several times (one connection per stage). Opening it must not
    drop the locks of the connections already open (closing any descriptor of a file drops
    every POSIX lock the process holds on it): without them, a technician's `anpr-edge reads`
    closing its connection checkpoints and deletes the WAL the unit still writes to, and
    every later commit is lost at the next start (what the outage test first ran into)."""
    path = tmp_path / "anpr.db"
    first = open_database(path)
    second = open_database(path)  # as the writer, publisher and health each open it
    first.execute("CREATE TABLE probe (n)")
    reader = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print(c.execute('SELECT COUNT(*) FROM probe').fetchone()[0]); c.close()"
    )
    counts = []
    for n in range(3):
        with transaction(second):
            second.execute("INSERT INTO probe VALUES (?)", (n,))
        done = subprocess.run([sys.executable, "-c", reader, str(path)], capture_output=True,
                              text=True, check=True)  # fmt: skip
        counts.append(int(done.stdout))
        assert Path(f"{path}-wal").exists(), "another process deleted the unit's WAL"
    assert counts == [1, 2, 3]
    first.close()
    second.close()


# --- the store fills up ---------------------------------------------------------------------


def test_a_full_store_evicts_the_oldest_delivered_reads_never_hits_and_keeps_running(
    tmp_path, broker
):
    """A 16 MB quota (the least the config allows) on a store already over it: the unit's
    housekeeping (at start, then every minute) evicts delivered reads, oldest first, while
    older undelivered reads, and hits and the reads of hits however old, stay; health (MQTT
    and the status file) counts the evictions; the unit keeps reading and delivering.
    The long version also fills it again while running and waits for the next housekeeping."""
    rng = random.Random(SEED + 2)
    quota = 16 * 1024 * 1024
    config = fault_config(tmp_path, broker, quota_mb=16)
    path = store_path(config)
    store = StoreView(path)
    # the oldest: undelivered reads (owed: evicted only after every delivered read)
    owed = add_fillers(path, rng, count=200, delivered=False, age_s=3 * 86400)
    # then delivered reads with a hit among every 25, until the store is 3 MB over its quota
    delivered: dict[str, list[tuple[int, str]]] = {"read": [], "hit_read": [], "hit": []}
    while store.used_bytes() < quota + 3 * 1024 * 1024:
        batch = add_fillers(path, rng, count=500, delivered=True, hit_every=25, age_s=2 * 86400)
        for kind, made in batch.items():
            delivered[kind] += made
    over_by = store.used_bytes() - quota
    hit_reads = {rid for _, rid in delivered["hit_read"]}
    hit_ids = {rid for _, rid in delivered["hit"]}
    subscriber = Subscriber(broker)
    started = time.monotonic()
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        first = health_with(subscriber, lambda h: h["evicted"], "no eviction in health")
        evicted = first["evicted"]
        assert set(evicted) == {"evicted_reads_delivered"}, evicted
        reads = store.rows("read")
        gone = [no for no, rid in delivered["read"] if rid not in reads]
        assert len(gone) == evicted["evicted_reads_delivered"] > 0
        # the oldest delivered reads went, and only they
        assert gone == [no for no, _ in delivered["read"][: len(gone)]]
        assert hit_reads <= set(reads) and hit_ids <= store.ids("hit")
        assert {rid for _, rid in owed["read"]} <= set(reads)
        assert store.used_bytes() <= quota
        assert first["stages"] == dict.fromkeys(first["stages"], True)
        # it keeps running: its own reads (none of the fillers) are stored and delivered
        fillers = {rid for made in (owed, delivered) for part in made.values() for _, rid in part}
        wait_for(
            lambda: len([r for r in subscriber.of("reads") if r["read_id"] not in fillers]) >= 3,
            "no new reads delivered after the eviction",
            90,
        )
        status = json.loads((tmp_path / "run" / "status.json").read_text())
        assert status["state"] == "running"
        assert status["evicted"]["evicted_reads_delivered"] >= len(gone)
        grown = 0
        if LONG:  # fill it again while it runs; the housekeeping a minute after start evicts
            more = add_fillers(path, rng, count=1500, delivered=True, age_s=86400)
            grown = len(more["read"])
            before = evicted["evicted_reads_delivered"]
            later = health_with(
                subscriber,
                lambda h: h["evicted"].get("evicted_reads_delivered", 0) > before,
                "no second eviction while running",
                90,
            )
            assert set(later["evicted"]) == {"evicted_reads_delivered"}, later["evicted"]
            assert later["stages"] == dict.fromkeys(later["stages"], True)
            frames = later["frames"]
            health_with(subscriber, lambda h: h["frames"] > frames + 15, "frames stopped")
        code, summary = unit.stop()
    assert code == 0, unit.tail()
    assert summary["errors"] == 0
    reads = store.rows("read")
    # never a hit, nor the read of a hit; never one of the unit's own (newer) reads
    assert hit_reads <= set(reads) and hit_ids <= store.ids("hit")
    own = {r["read_id"] for r in subscriber.of("reads")} - fillers
    assert own <= set(reads)
    # what went is the oldest non-hit reads, in order (the owed ones only once delivered)
    non_hit = sorted(no for made in (owed, delivered) for no, _ in made["read"])
    gone = [no for no in non_hit if no not in {r.no for r in reads.values()}]
    if LONG:
        assert gone == non_hit[: len(gone)]
    counted = store.counters()
    assert counted["evicted_reads_delivered"] == len(
        [no for made in (owed, delivered) for no, rid in made["read"] if rid not in reads]
    )
    final = json.loads((tmp_path / "run" / "status.json").read_text())
    assert final["state"] == "stopped" and final["evicted"] == counted
    subscriber.close()
    print(json.dumps({"over_quota_mb": round(over_by / 2**20, 2), "evicted_at_start":
                      evicted, "evicted_total": counted, "grown_while_running": grown,
                      "hits_kept": len(hit_ids), "hit_reads_kept": len(hit_reads),
                      "seconds": round(time.monotonic() - started)}))  # fmt: skip
