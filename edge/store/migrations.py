"""The store's schema as numbered migrations, applied in order and recorded.

Every table of the unit comes from this list; a change to the schema is a new migration appended
at the end, never an edit of an applied one (a unit in the field has already run it). Each
migration runs in its own transaction together with its row in `schema_migrations`, so a crash
leaves the store at the previous version, never between two. A store written by newer software
(a higher version than this list knows) is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from edge.store.sql import StoreError, transaction
from edge.times import rfc3339_now


@dataclass(frozen=True)
class Migration:
    version: int  # 1, 2, 3 … with no gaps
    name: str
    statements: tuple[str, ...]  # run one by one: executescript() would commit on its own


HOTLISTS = Migration(
    1,
    "hotlists",
    (
        # One row per list the unit holds. `source` is 'signed' (from the centre, with the key
        # that signed it) or 'local' (imported on this unit, unsigned).
        """CREATE TABLE hotlist_lists (
            list_no INTEGER PRIMARY KEY,
            list_id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL CHECK (source IN ('signed', 'local')),
            version INTEGER NOT NULL CHECK (version >= 1),
            issued_at TEXT NOT NULL,
            key_id TEXT,
            entries INTEGER NOT NULL CHECK (entries >= 0),
            applied_at TEXT NOT NULL
        )""",
        # Categories and actions are a handful of words repeated millions of times: stored once.
        """CREATE TABLE hotlist_labels (
            label_id INTEGER PRIMARY KEY,
            text TEXT NOT NULL UNIQUE
        )""",
        # Clustered on (list, plate): a sorted snapshot is appended in key order, a lookup is
        # one B-tree descent. No foreign keys on purpose: with them SQLite checks every one of
        # ten million rows on insert and delete (measured 6× slower deletes); the single writer
        # (edge.hotlist.store) keeps list_no and the label ids consistent.
        """CREATE TABLE hotlist_entries (
            list_no INTEGER NOT NULL,
            vrm TEXT NOT NULL,
            category_id INTEGER NOT NULL,
            priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
            action_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            expires_at INTEGER,
            PRIMARY KEY (list_no, vrm)
        ) WITHOUT ROWID""",
    ),
)

READS = Migration(
    2,
    "reads-hits-outbox",
    (
        # Every vehicle read, as the exact JSON payload sent to the centre (so a retry sends the
        # same bytes with the same read_id). `bytes` is the payload's size, for the quota;
        # `delivered_at` is set on the broker's PUBACK, never on publish().
        """CREATE TABLE plate_reads (
            read_no INTEGER PRIMARY KEY,
            read_id TEXT NOT NULL UNIQUE,
            vrm TEXT NOT NULL,
            captured_at TEXT NOT NULL,
            confidence REAL NOT NULL,
            direction TEXT,
            frames INTEGER NOT NULL,
            hit INTEGER NOT NULL DEFAULT 0 CHECK (hit IN (0, 1)),
            payload TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            stored_at REAL NOT NULL,
            delivered_at REAL
        )""",
        "CREATE INDEX plate_reads_stored_at ON plate_reads (stored_at)",
        # A hit is stored (and sent) as soon as enough frames agree, usually before its read;
        # both carry the same read_id.
        """CREATE TABLE plate_hits (
            hit_no INTEGER PRIMARY KEY,
            read_id TEXT NOT NULL UNIQUE,
            vrm TEXT NOT NULL,
            captured_at TEXT NOT NULL,
            lists TEXT NOT NULL,
            payload TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            stored_at REAL NOT NULL,
            delivered_at REAL
        )""",
        "CREATE INDEX plate_hits_stored_at ON plate_hits (stored_at)",
        # What is owed to the centre: one row per message not yet acknowledged, oldest first
        # within a kind. Written in the same transaction as the read or hit it names.
        """CREATE TABLE outbox (
            kind TEXT NOT NULL CHECK (kind IN ('hit', 'read')),
            ref_no INTEGER NOT NULL,
            PRIMARY KEY (kind, ref_no)
        ) WITHOUT ROWID""",
        # Durable counters (evictions by retention and quota), reported in health.
        """CREATE TABLE store_counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
)

# The store (reads, hits, outbox). Migration 1 made the hotlist tables here too; since the lists
# live in a file of their own (edge.hotlist.storefile moves them out once) they stay, empty.
MIGRATIONS: tuple[Migration, ...] = (HOTLISTS, READS)

# The hotlist file: the same tables, numbered on their own.
HOTLIST_MIGRATIONS: tuple[Migration, ...] = (HOTLISTS,)

SCHEMAS: dict[str, tuple[Migration, ...]] = {"store": MIGRATIONS, "hotlists": HOTLIST_MIGRATIONS}


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied to this store (0 for a new file)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def apply_migrations(
    conn: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Apply the migrations this store lacks, in order; return the versions applied."""
    _check_numbering(migrations)
    latest = migrations[-1].version if migrations else 0
    # Read first, without a lock: a store already up to date (every open but the first after
    # an update) must open even while another process holds the write lock for minutes, as
    # the sync does while it applies a national snapshot.
    held = schema_version(conn)
    _refuse_newer(held, latest)
    if held == latest:
        return []
    with transaction(conn):
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )"""
        )
    applied: list[int] = []
    for migration in migrations:
        # Checked again inside the write transaction: two processes starting together apply
        # each migration once (the second waits for the lock, then finds it done).
        with transaction(conn):
            held = schema_version(conn)
            _refuse_newer(held, latest)
            if migration.version <= held:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, rfc3339_now()),
            )
            applied.append(migration.version)
    return applied


def _refuse_newer(held: int, latest: int) -> None:
    if held > latest:
        raise StoreError(
            f"the store has schema version {held}, newer than this software knows "
            f"({latest}): update anpr-edge or use another storage.path"
        )


def _check_numbering(migrations: tuple[Migration, ...]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3 … without gaps; got {versions}")
