"""Open the unit's SQLite file and write to it in explicit transactions.

Choices, and why:

- **WAL journal**: readers (a technician's `hotlist status`, the health reporter) never block the
  writer, and the writer never blocks them; a crash leaves either the old or the new state.
- **synchronous=FULL**: the store is the unit's durable buffer: a read stays in the outbox
  "across restarts and power cuts" (DESIGN §3) and a hotlist version, once reported as held, must
  not roll back when the roadside cabinet loses power. With NORMAL, WAL commits are not fsynced
  and the last ones can vanish on power loss. FULL costs one fsync per commit, which matters only
  for many tiny commits; the unit commits a few times per vehicle and a hotlist apply once.
- **Owner-only files (0600)**: the store holds personal data (plates, places, times). The file is
  created 0600 before SQLite opens it; SQLite gives its `-wal` and `-shm` files the database
  file's mode, and an existing file with wider permissions is narrowed.
- **A busy timeout** on every connection: a second process that wants to write (the CLI while
  the service runs) waits a bounded time instead of failing at once or hanging forever.
- **Autocommit mode + `transaction()`**: Python's implicit transactions are off
  (`isolation_level=None`), so every write is inside an explicit `BEGIN IMMEDIATE … COMMIT`.
  IMMEDIATE takes the write lock at the start: a writer waits (busy timeout) for another
  writer rather than failing with SQLITE_BUSY halfway through its transaction.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
import time
from pathlib import Path

from edge.files import narrow_private_folder
from edge.store.migrations import SCHEMAS, apply_migrations
from edge.store.sql import StoreError

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_S = 10.0
PRIVATE_MODE = 0o600
# After a large apply the WAL can hold hundreds of MB; a checkpoint truncates it back to this.
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
SIDECAR_SUFFIXES = ("-wal", "-shm")


def _enter_wal(conn: sqlite3.Connection, timeout_s: float) -> str:
    """Switch to WAL, retrying while another process does the same: changing the journal mode
    of a new file needs an exclusive lock, and SQLite can report "database is locked" without
    waiting out the busy timeout (seen once when two processes opened a fresh store together;
    not reproduced since, so this is a guard, not a measured fix)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_database(
    path: str | os.PathLike[str],
    *,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    migrate: bool = True,
    schema: str = "store",
    same_thread: bool = True,
) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite file at `path`, migrated to the latest schema of
    its kind: `schema` "store" (reads, hits, outbox) or "hotlists" (the lists, a file of their
    own: see edge.hotlist.storefile).

    The connection belongs to the thread that opened it (sqlite3's default check), which is
    how the unit keeps one writer per table: each worker opens its own connection
    (`same_thread=False` for one that another thread may close, under a lock of its owner).
    """
    file = Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        narrow_private_folder(file.parent, "the store")
        _create_private(file)
        conn = sqlite3.connect(
            file, timeout=busy_timeout_s, isolation_level=None, check_same_thread=same_thread
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the store {file}: {_reason(exc, file)}") from exc
    try:
        mode = _enter_wal(conn, busy_timeout_s)
        if mode != "wal":
            raise StoreError(f"{file}: cannot use WAL journal mode (got {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        _narrow_sidecars(file)
        if migrate:
            apply_migrations(conn, SCHEMAS[schema])
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"cannot use the store {file}: {_reason(exc, file)}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the database and truncate it (after a large write), if no reader
    holds it; otherwise SQLite's automatic checkpoints finish the job later."""
    busy, _log_pages, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        log.info("WAL checkpoint deferred: a reader holds the store")


def _create_private(file: Path) -> None:
    """Create the file 0600 if missing (SQLite would use the umask); narrow it if wider.

    An existing file is never opened here: closing *any* descriptor of a file drops every POSIX
    lock this process holds on it, the shared locks of its open SQLite connections included.
    Without them, another process (`anpr-edge reads`, `hotlist status`) closing its connection
    takes itself for the last one, checkpoints and deletes the WAL that this process goes on
    writing to: every later commit is invisible to others and lost at the next start (found by
    tests/system/faults/test_store.py; SQLite's "How To Corrupt" §2.2)."""
    try:
        fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        mode = stat.S_IMODE(file.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "store %s had mode %o; narrowing to 0600 (it holds personal data)", file, mode
            )
            file.chmod(PRIVATE_MODE)
        return
    os.close(fd)  # new: no connection of this process can hold a lock on it yet


def _narrow_sidecars(file: Path) -> None:
    # SQLite copies the database's mode onto these; a file left by an older version may not be.
    for suffix in SIDECAR_SUFFIXES:
        sidecar = file.with_name(file.name + suffix)
        try:
            if stat.S_IMODE(sidecar.stat().st_mode) & 0o077:
                sidecar.chmod(PRIVATE_MODE)
        except FileNotFoundError:
            continue


def _reason(exc: BaseException, file: Path) -> str:
    if fault_of(exc, file) == "disk full":
        return f"no space left on {file.parent} ({free_bytes(file):,} bytes free)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


# --- what went wrong, for a writer that must keep its records and try again ----------------

# SQLite reports a full disk as SQLITE_FULL, or as an I/O error when the WAL or shared-memory
# file cannot grow; an I/O error with space to spare is something else.
NEARLY_FULL_BYTES = 1024 * 1024


def free_bytes(file: Path) -> int:
    """Free bytes (for this user) on the file system that holds `file`; -1 if unknown."""
    try:
        stats = os.statvfs(file.parent)
    except OSError:
        return -1
    return stats.f_bavail * stats.f_frsize


def fault_of(exc: BaseException, file: Path) -> str:
    """'busy' (another connection holds the lock), 'disk full', or 'error' (anything else)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return "busy"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disk full"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "disk full"
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        free = free_bytes(file)
        if 0 <= free < NEARLY_FULL_BYTES:
            return "disk full"
    return "error"
