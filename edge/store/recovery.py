"""The store file deleted or replaced under a running unit: notice it, and carry on.

SQLite keeps writing through its open descriptor into a file that was unlinked (or renamed
away); every later commit goes into a file nobody will ever open again. So the writer compares
the file at `storage.path` with the one it opened (device and inode) every few seconds. When
they differ, what the unit still owes the centre is copied from the old file (still readable
through the open connection) into the file now at the path, created and migrated if missing;
delivered records are not copied (the centre has them, and they went with the old file).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from edge.store.sql import transaction

FileId = tuple[int, int]  # (st_dev, st_ino)


def file_id(path: Path) -> FileId | None:
    try:
        stats = os.stat(path)
    except FileNotFoundError:
        return None
    return (stats.st_dev, stats.st_ino)


def open_file_ids() -> set[FileId]:
    """The files this process has open (Linux: /proc/self/fd)."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            stats = os.stat(f"/proc/self/fd/{name}")
        except OSError:
            continue
        found.add((stats.st_dev, stats.st_ino))
    return found


def remove_stale_sidecars(path: Path) -> list[str]:
    """Remove `<path>-wal` and `<path>-shm` if they are the old file's, still open here.

    SQLite does not checkpoint or delete the WAL of a database file that was moved or
    unlinked when its connections close (it must not write into the wrong file); but a new
    file opened at the same path would take that WAL and its index for its own and replay the
    old file's pages into itself. Called before the new file is opened, while the old
    connections still hold their descriptors (which is how they are told from a WAL that
    came with a replacement file)."""
    ours = open_file_ids()
    removed = []
    for suffix in ("-wal", "-shm"):
        sidecar = Path(f"{path}{suffix}")
        if file_id(sidecar) in ours:
            sidecar.unlink()
            removed.append(sidecar.name)
    return removed


def copy_owed(old: sqlite3.Connection, new: sqlite3.Connection) -> dict[str, int]:
    """Copy every hit and read still in `old`'s outbox into `new` (in one transaction of
    `new`), with its outbox row; records `new` already has (by read_id) are kept as they are.
    Also carries the eviction counters over. Returns {"hits": n, "reads": n} copied."""
    copied = {"hits": 0, "reads": 0}
    with transaction(new):
        for kind, table, key, plural in (
            ("hit", "plate_hits", "hit_no", "hits"),
            ("read", "plate_reads", "read_no", "reads"),
        ):
            columns = [
                row[1] for row in old.execute(f"PRAGMA table_info({table})") if row[1] != key
            ]
            names = ", ".join(columns)
            rows = old.execute(
                f"SELECT {', '.join('t.' + c for c in columns)} FROM outbox o JOIN {table} t "
                f"ON t.{key} = o.ref_no WHERE o.kind = ? ORDER BY o.ref_no",
                (kind,),
            )
            marks = ", ".join("?" * len(columns))
            for row in rows:
                cursor = new.execute(
                    f"INSERT INTO {table} ({names}) VALUES ({marks}) "
                    "ON CONFLICT (read_id) DO NOTHING",
                    row,
                )
                if cursor.rowcount:
                    new.execute(
                        "INSERT INTO outbox (kind, ref_no) VALUES (?, ?)", (kind, cursor.lastrowid)
                    )
                    copied[plural] += 1
        for name, value in old.execute("SELECT name, value FROM store_counters"):
            new.execute(
                "INSERT INTO store_counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
                (name, value),
            )
    return copied
