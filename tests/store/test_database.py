"""The SQLite layer: WAL, full sync, owner-only files, numbered migrations, transactions."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import time

import pytest

from edge.store import Migration, StoreError, apply_migrations, open_database, schema_version
from edge.store.migrations import MIGRATIONS
from edge.store.sql import transaction


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_store_is_wal_full_sync_and_owner_only_including_sidecars(tmp_path):
    path = tmp_path / "state" / "anpr.db"
    conn = open_database(path)
    with transaction(conn):
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    for suffix in ("", "-wal", "-shm"):
        assert mode(f"{path}{suffix}") == 0o600, suffix
    conn.close()


def test_an_existing_world_readable_store_is_narrowed(tmp_path):
    path = tmp_path / "anpr.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    open_database(path).close()
    assert mode(path) == 0o600


def test_migrations_are_recorded_once_and_reopening_applies_nothing(tmp_path):
    path = tmp_path / "anpr.db"
    conn = open_database(path)
    rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    assert schema_version(conn) == len(MIGRATIONS)
    assert apply_migrations(conn) == []
    conn.close()
    conn = open_database(path)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    conn.close()


def test_a_later_migration_extends_the_list(tmp_path):
    conn = open_database(tmp_path / "anpr.db")
    extended = (*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "reads", ("CREATE TABLE reads (x)",)))
    assert apply_migrations(conn, extended) == [len(MIGRATIONS) + 1]
    assert schema_version(conn) == len(MIGRATIONS) + 1


def test_a_failing_migration_leaves_the_previous_version(tmp_path):
    conn = open_database(tmp_path / "anpr.db")
    bad = Migration(
        len(MIGRATIONS) + 1, "broken", ("CREATE TABLE half_done (x)", "CREATE TABLE oops (x")
    )
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn, (*MIGRATIONS, bad))
    assert schema_version(conn) == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables


def test_a_store_from_newer_software_is_refused(tmp_path):
    path = tmp_path / "anpr.db"
    conn = open_database(path)
    with transaction(conn):
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'x')")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99, newer"):
        open_database(path)


def test_migrations_must_be_numbered_without_gaps(tmp_path):
    conn = open_database(tmp_path / "anpr.db", migrate=False)
    with pytest.raises(ValueError, match="without gaps"):
        apply_migrations(conn, (Migration(1, "a", ()), Migration(3, "c", ())))


def test_transaction_rolls_back_on_error(tmp_path):
    conn = open_database(tmp_path / "anpr.db")
    with transaction(conn):
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    assert not conn.in_transaction


def test_a_second_writer_waits_for_the_busy_timeout_then_fails(tmp_path):
    path = tmp_path / "anpr.db"
    first = open_database(path)
    second = open_database(path, busy_timeout_s=0.3)
    first.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("BEGIN IMMEDIATE")
    assert 0.25 <= time.monotonic() - started < 5
    first.execute("ROLLBACK")


def test_unusable_paths_name_the_file(tmp_path):
    not_db = tmp_path / "notes.db"
    not_db.write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(StoreError, match=str(not_db)):
        open_database(not_db)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StoreError, match=str(folder)):
        open_database(folder)


def test_an_up_to_date_store_opens_and_reads_while_another_process_writes(tmp_path):
    path = tmp_path / "anpr.db"
    writer = open_database(path)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO hotlist_labels (text) VALUES ('uncommitted')")
    started = time.monotonic()
    reader = open_database(path, busy_timeout_s=5)
    assert time.monotonic() - started < 1, "opening waited for the writer's lock"
    assert reader.execute("SELECT COUNT(*) FROM hotlist_labels").fetchone()[0] == 0
    writer.execute("ROLLBACK")


def _open_at_once(path: str, barrier) -> str:
    barrier.wait(timeout=30)
    conn = open_database(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def test_processes_opening_a_new_store_together_all_succeed(tmp_path):
    # The service and a technician's command can create the store at the same moment: the
    # WAL switch and the migrations of a new file must serialise, not fail.
    context = multiprocessing.get_context("spawn")
    for round_ in range(3):
        path = str(tmp_path / f"fresh-{round_}.db")
        with context.Manager() as manager:
            barrier = manager.Barrier(4)
            with context.Pool(4) as pool:
                modes = pool.starmap(_open_at_once, [(path, barrier)] * 4)
        assert modes == ["wal"] * 4
