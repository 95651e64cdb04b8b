"""The reads/hits/outbox tables (migration 2) on a real SQLite file: delivery state, oldest-first
outbox, retention, quota eviction order and counters, the writer committing before publishing."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from edge.records import Hit, HitDecided, HotlistEntry, HotlistMatch, ReadDecided, new_read_id
from edge.stages import Counters, Stage
from edge.store import MIGRATIONS, open_database, schema_version, transaction
from edge.store.reads import ReadStore
from edge.store.writer import END, StoreSettings, StoreWriter
from tests.support.store import plate_read


class Clock:
    def __init__(self, at: float = 1_800_000_000.0):
        self.at = at

    def __call__(self) -> float:
        return self.at


def add_read(store: ReadStore, vrm: str = "AB12CDE", size: int = 100, hit: bool = False):
    with transaction(store.conn):
        return store.add_read(
            new_read_id(), vrm, "2026-03-01T12:00:00.000Z", confidence=0.9, direction=None,
            frames=4, hit=hit, payload="x" * size,
        )  # fmt: skip


def add_hit(store: ReadStore, vrm: str = "AB12CDE", size: int = 100):
    with transaction(store.conn):
        return store.add_hit(new_read_id(), vrm, "2026-03-01T12:00:00.000Z", ["demo"], "h" * size)


@pytest.fixture
def store(tmp_path):
    conn = open_database(tmp_path / "anpr.db")
    yield ReadStore(conn, Clock())
    conn.close()


def test_migration_two_adds_the_tables_and_keeps_migration_one(tmp_path):
    conn = open_database(tmp_path / "anpr.db")
    assert schema_version(conn) == len(MIGRATIONS) >= 2
    assert MIGRATIONS[0].name == "hotlists"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"plate_reads", "plate_hits", "outbox", "store_counters", "hotlist_lists"} <= tables
    for suffix in ("", "-wal", "-shm"):  # the store holds personal data
        assert stat.S_IMODE(os.stat(f"{tmp_path / 'anpr.db'}{suffix}").st_mode) == 0o600
    conn.close()


def test_outbox_is_oldest_first_and_delivery_removes_only_what_was_owed(store):
    reads = [add_read(store, f"AB{i:02d}CDE") for i in range(5)]
    hit = add_hit(store)
    assert [i.no for i in store.pending("read")] == [r.no for r in reads]
    assert [i.no for i in store.pending("read", after=reads[1].no, limit=2)] == [
        reads[2].no,
        reads[3].no,
    ]
    assert store.pending("hit")[0].payload == hit.payload
    assert store.backlog() == {"hits": 1, "reads": 5, "oldest_age_s": 0.0}
    with transaction(store.conn):
        assert store.mark_delivered("read", [reads[0].no, reads[0].no, 999]) == 1
        assert store.mark_delivered("hit", [hit.no]) == 1
    assert store.backlog()["reads"] == 4 and store.backlog()["hits"] == 0
    records = {r["read_id"]: r for r in store.records("read")}
    assert records[reads[0].read_id]["delivered"] is True
    assert records[reads[0].read_id]["delivered_at"].endswith("Z")
    assert records[reads[1].read_id]["delivered"] is False
    assert [r["read_id"] for r in store.records("read", undelivered=True)] == [
        r.read_id for r in reversed(reads[1:])
    ]


def test_retention_deletes_only_delivered_records_past_it(store):
    old_delivered, old_owed = add_read(store), add_read(store)
    with transaction(store.conn):
        store.mark_delivered("read", [old_delivered.no])
    store.clock.at += 10 * 86400
    fresh = add_read(store)
    with transaction(store.conn):
        store.mark_delivered("read", [fresh.no])
        assert store.expire(5 * 86400) == 1
    left = {r["read_id"] for r in store.records("read")}
    assert left == {old_owed.read_id, fresh.read_id}
    assert store.counters() == {"expired": 1}


def test_quota_evicts_delivered_reads_first_and_hits_last_and_counts_it(store):
    delivered = [add_read(store, size=8000) for _ in range(20)]
    owed = [add_read(store, size=8000) for _ in range(20)]
    hits = [add_hit(store, size=8000) for _ in range(10)]
    with transaction(store.conn):
        store.mark_delivered("read", [r.no for r in delivered])
    full = store.used_bytes()
    with transaction(store.conn):  # room for a bit more than the undelivered reads and hits
        evicted = store.enforce_quota(full - 20 * 8192)
    assert evicted == {"evicted_reads_delivered": 20}
    assert {r["read_id"] for r in store.records("read")} == {r.read_id for r in owed}
    with transaction(store.conn):  # now only room for about the hits
        evicted = store.enforce_quota(12 * 8192 + 64 * 1024)
    assert evicted == {"evicted_reads_undelivered": 20}
    assert store.backlog() == {"hits": 10, "reads": 0, "oldest_age_s": 0.0}
    assert len(store.records("hit")) == len(hits)
    assert store.counters() == {"evicted_reads_delivered": 20, "evicted_reads_undelivered": 20}


def test_making_room_evicts_only_delivered_records_oldest_first(store):
    delivered = [add_read(store, size=8000) for _ in range(20)]
    owed = [add_read(store, size=8000) for _ in range(20)]
    delivered_hits = [add_hit(store, size=8000) for _ in range(5)]
    with transaction(store.conn):
        store.mark_delivered("read", [r.no for r in delivered])
        store.mark_delivered("hit", [h.no for h in delivered_hits])
    assert store.free_page_bytes() < 5 * 8192
    with transaction(store.conn):  # room for about five reads
        evicted = store.make_room(5 * 8192)
    assert evicted == {"evicted_reads_delivered": sum(evicted.values())}
    assert store.free_page_bytes() >= 5 * 8192
    kept = {r["read_id"] for r in store.records("read", limit=None)}
    gone = [r.read_id for r in delivered if r.read_id not in kept]
    assert gone == [r.read_id for r in delivered[: len(gone)]]  # the oldest went
    with transaction(store.conn):  # more room than every delivered record gives
        store.make_room(10**9)
    assert {r["read_id"] for r in store.records("read", limit=None)} == {r.read_id for r in owed}
    assert store.records("hit", limit=None) == []  # delivered hits go after delivered reads
    assert store.backlog()["reads"] == 20


def test_writer_commits_before_handing_over_and_marks_deliveries(tmp_path):
    path = tmp_path / "anpr.db"
    seen: list[tuple] = []

    def on_stored(item, timing) -> None:
        # another connection already sees the row: it was committed before the hand-over
        conn = open_database(path, migrate=False)
        found = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE kind = ? AND ref_no = ?", (item.kind, item.no)
        ).fetchone()[0]
        conn.close()
        seen.append((item.kind, found, timing))

    counters = Counters()
    writer = StoreWriter(
        StoreSettings(path, 86400.0, 10**9), Stage("writer", 10), counters, on_stored
    )
    thread = threading.Thread(target=writer.run)
    thread.start()
    read = plate_read("AB12CDE")
    match = HotlistMatch("demo", 3, HotlistEntry("AB12CDE", "stolen", 1, "intercept"), "exact")
    writer.submit(ReadDecided(read, True))
    writer.submit(HitDecided(Hit(read, (match,)), 1.0, 2.0))
    writer.submit(END)
    thread.join(10)
    assert not thread.is_alive()
    assert sorted(seen) == [("hit", 1, (1.0, 2.0)), ("read", 1, None)]
    conn = open_database(path)
    store = ReadStore(conn)
    hit_payload = json.loads(store.payload("hit", read.read_id))
    read_payload = json.loads(store.payload("read", read.read_id))
    assert hit_payload["read_id"] == read_payload["read_id"] == read.read_id
    assert hit_payload["matches"][0]["list"] == "demo" and read_payload["hit"] is True
    conn.close()
    assert counters.stored == 2
