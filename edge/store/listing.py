"""What a technician's commands list from the store (`anpr-edge reads`, `hits`, `outbox`):
read-only queries on any connection, safe while the service writes (WAL).

Images never leave here: the payload column (which holds them) is never selected.
"""

from __future__ import annotations

import sqlite3

from edge.store.kinds import TABLES, Kind
from edge.times import rfc3339

_COLUMNS = {
    "read": "read_id, vrm, captured_at, confidence, direction, frames, hit, stored_at, "
    "delivered_at",
    "hit": "read_id, vrm, captured_at, lists, stored_at, delivered_at",
}


def records(
    conn: sqlite3.Connection,
    kind: Kind,
    limit: int | None = 100,
    undelivered: bool = False,
    *,
    since: str | None = None,
    plate: str | None = None,
    after: int | None = None,
) -> list[dict]:
    """Stored reads or hits: the newest first, or with `after` (a number from `last_no`) those
    stored after it, oldest first. `since` is an RFC 3339 UTC time, written as `captured_at`
    is, so they compare as text; `plate` a VRM or a GLOB pattern of VRM characters with `*`
    and `?` (the caller checks it holds nothing else). `limit` None: all."""
    table, key = TABLES[kind]
    wanted = (
        ("delivered_at IS NULL", None, undelivered),
        ("captured_at >= ?", since, since is not None),
        ("vrm GLOB ?", plate, plate is not None),
        (f"{key} > ?", after, after is not None),
    )
    conditions = [sql for sql, _, used in wanted if used]
    values = [value for _, value, used in wanted if used and value is not None]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    order = "ASC" if after is not None else "DESC"
    rows = conn.execute(
        f"SELECT {_COLUMNS[kind]} FROM {table} {where} ORDER BY {key} {order} LIMIT ?",
        (*values, -1 if limit is None else limit),
    ).fetchall()
    return [_read(r) if kind == "read" else _hit(r) for r in rows]


def last_no(conn: sqlite3.Connection, kind: Kind) -> int:
    """The number of the newest stored record of `kind` (0 when none): the cursor for
    `records(after=...)`."""
    table, key = TABLES[kind]
    return conn.execute(f"SELECT COALESCE(MAX({key}), 0) FROM {table}").fetchone()[0]


def last_delivered_at(conn: sqlite3.Connection) -> str | None:
    """When the broker last acknowledged a read or hit that is still stored (a full scan: for
    a command, not for a loop)."""
    latest = conn.execute(
        "SELECT MAX(at) FROM (SELECT MAX(delivered_at) AS at FROM plate_reads"
        " UNION ALL SELECT MAX(delivered_at) FROM plate_hits)"
    ).fetchone()[0]
    return None if latest is None else rfc3339(latest)


def _read(r: tuple) -> dict:
    return {
        "read_id": r[0],
        "vrm": r[1],
        "captured_at": r[2],
        "confidence": r[3],
        "direction": r[4],
        "frames": r[5],
        "hit": bool(r[6]),
        **_delivery(r[7], r[8]),
    }


def _hit(r: tuple) -> dict:
    return {
        "read_id": r[0],
        "vrm": r[1],
        "captured_at": r[2],
        "lists": r[3].split(",") if r[3] else [],
        **_delivery(r[4], r[5]),
    }


def _delivery(stored_at: float, delivered_at: float | None) -> dict:
    return {
        "stored_at": rfc3339(stored_at),
        "delivered": delivered_at is not None,
        "delivered_at": None if delivered_at is None else rfc3339(delivered_at),
    }
