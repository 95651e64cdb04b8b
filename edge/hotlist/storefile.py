"""The hotlists' own SQLite file, beside the store (`storage.hotlist_file`).

Why a file of its own: applying a national snapshot writes millions of rows in one transaction
(the list must change whole, DESIGN §4), 20 s for 4 M entries here and longer on a Pi. In the
store's file that transaction held the write lock the reads and hits are committed under, and
the unit's writer gave up. In a separate file the apply locks only the lists: reads go on being
committed, and the matcher's reads of the list (WAL) are never blocked either.

Units that held their lists in the store (schema of migration 1) have them moved here once, at
the first open: copied in one transaction of this file, then deleted from the store. A power
cut between the two leaves the lists in both; the next open sees this file's copy and only
finishes the delete.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from edge.store.database import DEFAULT_BUSY_TIMEOUT_S, open_database
from edge.store.sql import transaction

log = logging.getLogger(__name__)

TABLES = ("hotlist_labels", "hotlist_lists", "hotlist_entries")


def open_hotlists(
    path: str | Path,
    legacy_store: str | Path | None = None,
    *,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    migrate: bool = True,
) -> sqlite3.Connection:
    """The hotlist file at `path`, created and migrated if needed; lists still held in
    `legacy_store` (the reads store of an older version) are moved in first."""
    conn = open_database(path, busy_timeout_s=busy_timeout_s, migrate=migrate, schema="hotlists")
    if migrate and legacy_store is not None and Path(legacy_store) != Path(path):
        try:
            _move_legacy_lists(conn, Path(legacy_store))
        except BaseException:
            conn.close()
            raise
    return conn


def _move_legacy_lists(conn: sqlite3.Connection, legacy: Path) -> None:
    if not legacy.exists():
        return
    old = open_database(legacy)
    try:
        if not old.execute("SELECT 1 FROM hotlist_lists LIMIT 1").fetchone():
            return
        with transaction(conn):
            if conn.execute("SELECT 1 FROM hotlist_lists LIMIT 1").fetchone() is None:
                for table in TABLES:
                    rows = old.execute(f"SELECT * FROM {table}")
                    while chunk := rows.fetchmany(50_000):
                        marks = ",".join("?" * len(chunk[0]))
                        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", chunk)
                moved = conn.execute("SELECT COUNT(*) FROM hotlist_lists").fetchone()[0]
                log.info("moved %d hotlist(s) from %s into %s", moved, legacy, _name(conn))
        with transaction(old):  # only once the copy is committed
            for table in reversed(TABLES):
                old.execute(f"DELETE FROM {table}")
    finally:
        old.close()


def _name(conn: sqlite3.Connection) -> str:
    return conn.execute("PRAGMA database_list").fetchone()[2]
