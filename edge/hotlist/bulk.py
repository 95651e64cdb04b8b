"""Entries into and out of SQLite many rows a call: the two bulk paths of the store.

A national snapshot is ten million rows each way: an apply writes them (edge.hotlist.apply) and
every boot reads them back into the index (edge.hotlist.loading). Python's sqlite3 costs about
as much per statement executed and per value bound or fetched as SQLite's own B-tree work, so
both paths move a chunk of rows per call: writes as INSERT statements of INSERT_ROWS rows each,
reads as one row per chunk holding each column as a single text (`group_concat`) that numpy
parses. Figures are CPU seconds for 1 M entries on the 2-core development machine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from edge.hotlist.entries import EntryColumns
from edge.hotlist.keys import encode_many
from edge.hotlist.records import IndexColumns

# One row a statement made the insert 2.8 µs an entry, over half of an apply; 100 rows a
# statement: 1.6 µs, of which ~0.85 is SQLite's B-tree work (more rows: no further gain).
INSERT_ROWS = 100
ENTRY_VALUES = 6  # bound per row: vrm, category_id, priority, action_id, reason, expires_at
READ_ROWS = 65536


class ChunkMismatch(Exception):
    """A chunk read back did not hold whole rows in strictly ascending plate order."""


@lru_cache(maxsize=16)
def insert_statement(list_no: int, rows: int) -> str:
    """INSERT of `rows` entries of list `list_no` (an integer, written into the text so it is
    not bound again for every row)."""
    row = f"({int(list_no)}, ?, ?, ?, ?, ?, NULLIF(?, 0))"
    return (
        "INSERT INTO hotlist_entries (list_no, vrm, category_id, priority, action_id, reason, "
        f"expires_at) VALUES {', '.join([row] * rows)}"
    )


def entry_values(columns: EntryColumns, categories: list[int], actions: list[int]) -> list[list]:
    """The bound values of the entries, column by column in the table's order (ENTRY_VALUES)."""
    priorities, expires = columns.priorities.tolist(), columns.expires.tolist()
    return [columns.vrms, categories, priorities, actions, columns.reasons, expires]


def insert_rows(
    conn: sqlite3.Connection,
    list_no: int,
    columns: EntryColumns,
    categories: list[int],
    actions: list[int],
) -> None:
    """Insert `columns` (with their label ids) into list `list_no`, in their order. Raises
    sqlite3.IntegrityError if a plate is already on the list."""
    # One flat parameter list, filled column by column with slice assignments: C loops, 3×
    # faster than chaining zipped rows (27 vs 84 ns an entry).
    values: list = [None] * (len(columns) * ENTRY_VALUES)
    for field, column in enumerate(entry_values(columns, categories, actions)):
        values[field::ENTRY_VALUES] = column
    whole = len(values) - len(values) % (INSERT_ROWS * ENTRY_VALUES)
    conn.executemany(insert_statement(list_no, INSERT_ROWS), _groups(values[:whole], INSERT_ROWS))
    conn.executemany(insert_statement(list_no, 1), _groups(values[whole:], 1))


def read_chunk(conn: sqlite3.Connection, list_id: str, after: str) -> IndexColumns:
    """Up to READ_ROWS entries of `list_id` with plates after `after`, in key order, as index
    columns. 1.8× faster than fetching a tuple a row (1.2 vs 2.2 s for 1 M entries): load_s
    is how long a unit matches nothing after it boots. Raises ChunkMismatch."""
    count, *texts = conn.execute(
        "SELECT count(*), group_concat(vrm, ' '), group_concat(category_id, ' '), "
        "group_concat(action_id, ' '), group_concat(priority, ' '), "
        "group_concat(COALESCE(expires_at, 0), ' ') FROM (SELECT vrm, category_id, action_id, "
        "priority, expires_at FROM hotlist_entries WHERE list_no = (SELECT list_no FROM "
        "hotlist_lists WHERE list_id = ?) AND vrm > ? ORDER BY vrm LIMIT ?)",
        (list_id, after, READ_ROWS),
    ).fetchone()
    if not count:
        return IndexColumns.empty()
    keys = encode_many(texts[0].split(" "))
    numbers = (
        np.fromstring(text, dtype=dtype, sep=" ")
        for text, dtype in zip(texts[1:], (np.uint16, np.uint16, np.uint8, np.uint32), strict=True)
    )
    chunk = IndexColumns(keys, *numbers)
    # group_concat follows the subquery's order in practice, by no promise of SQLite's: check.
    lengths = {len(getattr(chunk, name)) for name in IndexColumns.FIELDS}
    if lengths != {count} or np.any(keys[1:] <= keys[:-1]):
        raise ChunkMismatch
    return chunk


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Several reads that see one committed state (in WAL mode a writer can commit between
    two statements otherwise); inside a transaction already open, that one."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _groups(values: list, rows: int) -> Iterator[tuple]:
    """`values` cut into tuples of `rows` × ENTRY_VALUES (its length must be a multiple)."""
    return zip(*[iter(values)] * (rows * ENTRY_VALUES), strict=True)
