"""The store writer against a real SQLite file that it cannot always write: another
connection's write lock, a stop while it is held (the spill file), the holding area's bound,
deliveries numbered in a replaced file, and a file replaced under it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from edge.records import HitDecided, PlateRead, ReadDecided
from edge.stages import Counters, Stage
from edge.store import open_database
from edge.store import writer as writer_module
from edge.store.holding import Delivered, spill_path
from edge.store.reads import ReadStore
from edge.store.writer import END, StoreSettings, StoreWriter
from tests.support.store import hit_on, plate_read
from tests.support.unit import wait_for


class Running:
    """A writer in its own thread, with what it handed to the publisher."""

    def __init__(self, path: Path, **settings):
        self.stored: list = []
        self.released = threading.Event()
        self.replaced: list[int] = []
        self.writer = StoreWriter(
            StoreSettings(path, 86400.0, 10**9, **settings),
            Stage("writer", 10),
            Counters(),
            lambda item, timing: self.stored.append(item),
            on_replaced=self.replaced.append,
            on_release=self.released.set,
        )
        self.thread = threading.Thread(target=self.writer.run, daemon=True)
        self.thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self.writer.submit(END)
        self.thread.join(timeout_s)
        assert not self.thread.is_alive()


def hit_of(read) -> HitDecided:
    return HitDecided(hit_on(read, list_version=3), 1.0, 2.0)


def hold_lock(path: Path) -> sqlite3.Connection:
    open_database(path).close()  # made and migrated, as the service does before the writer
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    return lock


def ids(path: Path, table: str) -> set[str]:
    conn = open_database(path, migrate=False)
    try:
        return {row[0] for row in conn.execute(f"SELECT read_id FROM {table}")}
    finally:
        conn.close()


def start_locked_with_reads(
    path: Path, plate: str, count: int, hit: int
) -> tuple[sqlite3.Connection, Running, list[PlateRead]]:
    """A writer started while another connection holds the write lock, handed `count` reads
    (plates from the `plate` template) and a hit on the `hit`-th."""
    lock = hold_lock(path)
    unit = Running(path)
    reads = [plate_read(plate.format(n)) for n in range(count)]
    for read in reads:
        unit.writer.submit(ReadDecided(read, False))
    unit.writer.submit(hit_of(reads[hit]))
    return lock, unit, reads


def test_a_held_write_lock_keeps_records_in_memory_until_it_goes(tmp_path):
    path = tmp_path / "anpr.db"
    lock, unit, reads = start_locked_with_reads(path, "AB{:02d}CDE", 5, hit=0)
    wait_for(lambda: unit.writer.condition.state == "busy", "the writer saying busy", 10)
    time.sleep(2.5)  # several failed attempts (the busy timeout is 1 s)
    state = unit.writer.condition.snapshot()
    assert state["held"] == {"hits": 1, "reads": 5}
    assert "another connection holds the write lock" in state["detail"]
    assert not unit.stored and not unit.writer.idle()
    lock.execute("ROLLBACK")
    wait_for(lambda: len(unit.stored) == 6, "six records stored once the lock went", 10)
    assert unit.stored[0].kind == "hit"  # hits first, as always
    assert unit.writer.condition.snapshot()["state"] == "ok"
    unit.stop()
    assert ids(path, "plate_reads") == {r.read_id for r in reads}
    lock.close()


def test_a_stop_while_the_lock_is_held_spills_and_the_next_start_stores(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_module, "END_GRACE_S", 2.0)
    path = tmp_path / "anpr.db"
    lock, unit, reads = start_locked_with_reads(path, "CD{:02d}EFG", 3, hit=1)
    unit.stop()
    spill = spill_path(path)
    assert spill.exists() and oct(spill.stat().st_mode & 0o777) == "0o600"
    assert len(spill.read_text().splitlines()) == 4
    lock.execute("ROLLBACK")
    lock.close()
    again = Running(path)
    wait_for(lambda: len(again.stored) == 4, "the spilled records stored at the next start", 10)
    again.stop()
    assert not spill.exists()
    assert ids(path, "plate_reads") == {r.read_id for r in reads}
    assert ids(path, "plate_hits") == {reads[1].read_id}


def test_a_spill_already_stored_is_not_stored_twice(tmp_path, monkeypatch):
    """A power cut after the commit of spilled records, before the spill file was removed."""
    monkeypatch.setattr(writer_module, "END_GRACE_S", 1.0)
    path = tmp_path / "anpr.db"
    lock = hold_lock(path)
    unit = Running(path)
    read = plate_read("EF12GHJ")
    unit.writer.submit(ReadDecided(read, False))
    unit.stop()
    lock.execute("ROLLBACK")
    lock.close()
    kept = spill_path(path).read_text()
    first = Running(path)
    wait_for(lambda: len(first.stored) == 1, "stored", 10)
    first.stop()
    spill_path(path).write_text(kept)  # as if the removal never happened
    second = Running(path)
    wait_for(lambda: not spill_path(path).exists(), "the spill taken back", 10)
    second.stop()
    assert second.stored == []
    conn = open_database(path)
    assert conn.execute("SELECT COUNT(*) FROM plate_reads").fetchone()[0] == 1
    assert ReadStore(conn).backlog()["reads"] == 1
    conn.close()


def test_past_the_bound_reads_are_dropped_loudly_but_hits_never(tmp_path, caplog):
    path = tmp_path / "anpr.db"
    lock = hold_lock(path)
    unit = Running(path)
    unit.writer.holding.max_read_bytes = 1  # room for one read only
    reads = [plate_read(f"GH{n:02d}JKL") for n in range(4)]
    for read in reads:
        unit.writer.submit(ReadDecided(read, False))
        unit.writer.submit(hit_of(read))
    wait_for(lambda: unit.writer.condition.dropped_reads == 3, "three reads dropped", 10)
    # a batch's drops are counted as they happen, what is held once the batch is in
    held = {"hits": 4, "reads": 1}
    wait_for(lambda: unit.writer.condition.snapshot()["held"] == held, "4 hits, 1 read held", 10)
    assert sum("DROPPED" in r.getMessage() for r in caplog.records) == 3
    lock.execute("ROLLBACK")
    lock.close()
    wait_for(lambda: len(unit.stored) == 5, "four hits and one read stored", 10)
    unit.stop()
    assert ids(path, "plate_hits") == {r.read_id for r in reads}


def test_deliveries_numbered_in_a_replaced_file_are_ignored(tmp_path):
    path = tmp_path / "anpr.db"
    unit = Running(path)
    read = plate_read("JK12LMN")
    unit.writer.submit(ReadDecided(read, False))
    wait_for(lambda: unit.stored, "stored", 10)
    no = unit.stored[0].no
    unit.writer.submit(Delivered("read", no, generation=7))  # not this file's numbering
    unit.writer.submit(Delivered("read", no, generation=0))
    unit.stop()
    conn = open_database(path)
    assert ReadStore(conn).backlog()["reads"] == 0  # the right one was applied
    conn.close()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_file_deleted_or_replaced_is_carried_on_in_a_fresh_one(tmp_path, how):
    path = tmp_path / "anpr.db"
    unit = Running(path)
    owed, delivered = plate_read("LM12NPR"), plate_read("LM13NPR")
    unit.writer.submit(ReadDecided(owed, False))
    unit.writer.submit(ReadDecided(delivered, False))
    wait_for(lambda: len(unit.stored) == 2, "stored", 10)
    unit.writer.submit(Delivered("read", unit.stored[1].no))
    wait_for(unit.writer.idle, "the delivery marked", 10)
    if how == "deleted":
        os.unlink(path)
    else:
        other = tmp_path / "other.db"
        open_database(other).close()
        os.replace(other, path)
    wait_for(lambda: unit.replaced == [1], "the writer carried on in a fresh file", 10)
    assert unit.released.is_set(), "the others were asked to close the old file first"
    later = plate_read("LM14NPR")
    unit.writer.submit(ReadDecided(later, False))
    wait_for(lambda: len(unit.stored) == 3, "a read stored in the fresh file", 10)
    unit.stop()
    assert unit.writer.condition.snapshot()["replaced"] == 1
    assert ids(path, "plate_reads") == {owed.read_id, later.read_id}
    conn = open_database(path)
    assert ReadStore(conn).backlog()["reads"] == 2
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert not list(tmp_path.glob("anpr.db.rescue-*"))
