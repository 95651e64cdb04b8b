"""The lists a unit holds, in its SQLite store (tables from migration 1, edge.store.migrations).

`HotlistStore` reads; `HotlistStore.change(list_id)` opens the one write transaction through
which a list changes (a snapshot replaces it, a delta edits it, an import replaces a local
list): `BEGIN IMMEDIATE`, the version it holds read inside the lock, then the rows, then the
list's header row, then `COMMIT`. Anything raised inside rolls everything back, so a list is
always a whole version. Writes return the columns the in-memory index needs, so an apply never
has to read ten million rows back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat

import numpy as np

from edge.hotlist.bulk import (
    ChunkMismatch,
    entry_values,
    insert_rows,
    read_chunk,
    read_transaction,
)
from edge.hotlist.entries import EntryColumns, format_time
from edge.hotlist.keys import decode, encode_many
from edge.hotlist.records import IndexColumns, ListInfo
from edge.store.sql import StoreError, transaction
from edge.times import rfc3339_now

MAX_LABEL_ID = 2**16 - 1  # label ids are uint16 in the index
FETCH_ROWS = 65536


class StoreConflict(Exception):
    """A change does not fit the rows held: `row` (within the chunk given) and what is wrong."""

    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row = row


class HotlistStore:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def lists(self) -> list[ListInfo]:
        rows = self.conn.execute(f"SELECT {_LIST_COLUMNS} FROM hotlist_lists ORDER BY list_id")
        return [_list_info(row) for row in rows]

    def get(self, list_id: str) -> ListInfo | None:
        row = self.conn.execute(
            f"SELECT {_LIST_COLUMNS} FROM hotlist_lists WHERE list_id = ?", (list_id,)
        ).fetchone()
        return _list_info(row) if row else None

    def labels(self) -> tuple[str, ...]:
        """Label texts by id (id 0 is unused and empty)."""
        rows = self.conn.execute("SELECT label_id, text FROM hotlist_labels").fetchall()
        table = [""] * (max((r[0] for r in rows), default=0) + 1)
        for label_id, text in rows:
            table[label_id] = text
        return tuple(table)

    @contextmanager
    def change(self, list_id: str) -> Iterator[ListChange]:
        with transaction(self.conn):
            yield ListChange(self.conn, list_id)

    def load_columns(self, list_id: str) -> IndexColumns:
        """Every entry of a list, in key order, as index columns (filled into arrays of the
        list's recorded size: no second copy while loading ten million entries)."""
        with read_transaction(self.conn):  # one version throughout, though read in chunks
            info = self.get(list_id)
            total = info.entries if info else 0
            columns, filled, last = IndexColumns.allocate(total), 0, ""
            try:
                while filled < total:
                    chunk = read_chunk(self.conn, list_id, last)
                    if not len(chunk) or filled + len(chunk) > total:
                        break
                    if filled and chunk.keys[0] <= columns.keys[filled - 1]:
                        raise ChunkMismatch
                    columns.fill(filled, chunk)
                    filled += len(chunk)
                    last = decode(int(chunk.keys[-1]))
                more = len(read_chunk(self.conn, list_id, last))
            except ChunkMismatch:
                raise StoreError(
                    f"hotlist {list_id}: entries read back incomplete or out of order"
                ) from None
        if filled != total or more:
            raise StoreError(
                f"hotlist {list_id}: the store holds a different number of "
                f"entries than its list row records ({total})"
            )
        return columns

    def find(self, list_id: str, plates: list[str]) -> IndexColumns:
        """The entries of `list_id` among `plates` (one query), in key order."""
        rows = self.conn.execute(
            "SELECT vrm, category_id, priority, action_id, COALESCE(expires_at, 0) "
            "FROM hotlist_entries WHERE list_no = (SELECT list_no FROM hotlist_lists "
            "WHERE list_id = ?) AND vrm IN (SELECT value FROM json_each(?)) ORDER BY vrm",
            (list_id, json.dumps(plates)),
        ).fetchall()
        return _index_columns(rows) if rows else IndexColumns.empty()

    def reason(self, list_id: str, vrm: str) -> str | None:
        row = self.conn.execute(
            "SELECT reason FROM hotlist_entries WHERE list_no = (SELECT list_no FROM "
            "hotlist_lists WHERE list_id = ?) AND vrm = ?",
            (list_id, vrm),
        ).fetchone()
        return row[0] if row else None

    def iter_entries(self, list_id: str | None = None) -> Iterator[dict]:
        """Every entry (of one list, or all) as a dict of the export keys, in list and key
        order, streamed (a national list does not fit in memory as dicts)."""
        where = "WHERE l.list_id = ?" if list_id is not None else ""
        cursor = self.conn.execute(
            "SELECT l.list_id, e.vrm, c.text, e.priority, a.text, e.reason, e.expires_at, "
            "l.source FROM hotlist_entries e JOIN hotlist_lists l USING (list_no) "
            "JOIN hotlist_labels c ON c.label_id = e.category_id "
            f"JOIN hotlist_labels a ON a.label_id = e.action_id {where} "
            "ORDER BY l.list_id, e.vrm",
            (list_id,) if list_id is not None else (),
        )
        while rows := cursor.fetchmany(FETCH_ROWS):
            for lid, vrm, category, priority, action, reason, expires, source in rows:
                yield {
                    "list": lid,
                    "vrm": vrm,
                    "category": category,
                    "priority": priority,
                    "action": action,
                    "reason": reason,
                    "expires_at": format_time(expires),
                    "local": source == "local",
                }

    def remove_list(self, list_id: str) -> bool:
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT list_no FROM hotlist_lists WHERE list_id = ?", (list_id,)
            ).fetchone()
            if row is None:
                return False
            self.conn.execute("DELETE FROM hotlist_entries WHERE list_no = ?", row)
            self.conn.execute("DELETE FROM hotlist_lists WHERE list_no = ?", row)
        return True


class ListChange:
    """The open write transaction of one list (see HotlistStore.change)."""

    def __init__(self, conn: sqlite3.Connection, list_id: str):
        self.conn, self.list_id = conn, list_id
        row = conn.execute(
            f"SELECT list_no, {_LIST_COLUMNS} FROM hotlist_lists WHERE list_id = ?", (list_id,)
        ).fetchone()
        self.held: ListInfo | None = _list_info(row[1:]) if row else None
        self.list_no: int = (
            row[0]
            if row
            else conn.execute("SELECT COALESCE(MAX(list_no), 0) + 1 FROM hotlist_lists").fetchone()[
                0
            ]
        )
        self.entries = self.held.entries if self.held else 0
        self._label_ids: dict[str, int] = {}

    def clear(self) -> None:
        self.conn.execute("DELETE FROM hotlist_entries WHERE list_no = ?", (self.list_no,))
        self.entries = 0

    def insert(self, columns: EntryColumns) -> IndexColumns:
        """Add new plates; a plate already on the list raises StoreConflict."""
        categories, actions = self._ids(columns.categories), self._ids(columns.actions)
        # A savepoint, so that after a conflict only the rows held before this chunk are
        # looked for: the statements before the failing one have added theirs (this named the
        # chunk's first plate, whichever one conflicted).
        self.conn.execute("SAVEPOINT insert_chunk")
        try:
            insert_rows(self.conn, self.list_no, columns, categories, actions)
        except sqlite3.IntegrityError:
            self.conn.execute("ROLLBACK TO insert_chunk")
            self.conn.execute("RELEASE insert_chunk")
            held = self._held_among(columns.vrms)
            row = next(i for i, vrm in enumerate(columns.vrms) if vrm in held)
            raise StoreConflict(row, "adds a plate that is already on the list") from None
        self.conn.execute("RELEASE insert_chunk")
        self.entries += len(columns)
        return _index_columns_of(columns, categories, actions)

    def update(self, columns: EntryColumns) -> IndexColumns:
        """Change held plates; a plate not on the list raises StoreConflict."""
        index, rows = self._rows(columns)
        cursor = self.conn.executemany(
            "UPDATE hotlist_entries SET category_id = ?3, priority = ?4, action_id = ?5, "
            "reason = ?6, expires_at = NULLIF(?7, 0) WHERE list_no = ?1 AND vrm = ?2",
            rows,
        )
        if cursor.rowcount != len(columns):
            self._raise_missing(columns.vrms, "updates a plate that is not on the list")
        return index

    def remove(self, vrms: list[str]) -> None:
        """Remove held plates; a plate not on the list raises StoreConflict (before any row
        is deleted, so the row named is the right one)."""
        if len(self._held_among(vrms)) != len(vrms):
            self._raise_missing(vrms, "removes a plate that is not on the list")
        self.conn.executemany(
            "DELETE FROM hotlist_entries WHERE list_no = ? AND vrm = ?",
            zip(repeat(self.list_no), vrms),
        )
        self.entries -= len(vrms)

    def finish(self, *, version: int, issued_at: str, local: bool, key_id: str | None) -> ListInfo:
        applied_at = rfc3339_now()
        info = ListInfo(self.list_id, version, issued_at, local, self.entries, key_id, applied_at)
        self.conn.execute(
            "INSERT INTO hotlist_lists (list_no, list_id, source, version, issued_at, key_id, "
            "entries, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (list_no) DO "
            "UPDATE SET source = excluded.source, version = excluded.version, issued_at = "
            "excluded.issued_at, key_id = excluded.key_id, entries = excluded.entries, "
            "applied_at = excluded.applied_at",
            (
                self.list_no,
                info.list_id,
                "local" if local else "signed",
                version,
                issued_at,
                key_id,
                info.entries,
                info.applied_at,
            ),
        )
        return info

    def _rows(self, columns: EntryColumns) -> tuple[IndexColumns, Iterator[tuple]]:
        """The index columns, and the SQL parameter rows (lazily: executemany streams them)."""
        categories = self._ids(columns.categories)
        actions = self._ids(columns.actions)
        rows = zip(repeat(self.list_no), *entry_values(columns, categories, actions), strict=False)
        return _index_columns_of(columns, categories, actions), rows

    def _ids(self, texts: list[str]) -> list[int]:
        """The label id of each text (new labels are added to the table first)."""
        try:  # after the first block every label is known: one lookup a row, no set
            return list(map(self._label_ids.__getitem__, texts))
        except KeyError:
            pass
        for text in set(texts) - self._label_ids.keys():
            self.conn.execute("INSERT OR IGNORE INTO hotlist_labels (text) VALUES (?)", (text,))
            label_id = self.conn.execute(
                "SELECT label_id FROM hotlist_labels WHERE text = ?", (text,)
            ).fetchone()[0]
            if label_id > MAX_LABEL_ID:
                raise ValueError(f"more than {MAX_LABEL_ID} distinct categories and actions")
            self._label_ids[text] = label_id
        return list(map(self._label_ids.__getitem__, texts))

    def _held_among(self, vrms: list[str]) -> set[str]:
        rows = self.conn.execute(
            "SELECT vrm FROM hotlist_entries WHERE list_no = ? AND vrm IN "
            "(SELECT value FROM json_each(?))",
            (self.list_no, json.dumps(vrms)),
        )
        return {row[0] for row in rows}

    def _raise_missing(self, vrms: list[str], message: str) -> None:
        held = self._held_among(vrms)
        row = next((i for i, vrm in enumerate(vrms) if vrm not in held), 0)
        raise StoreConflict(row, message)


def _index_columns_of(
    columns: EntryColumns, categories: list[int], actions: list[int]
) -> IndexColumns:
    return IndexColumns(
        columns.keys,
        np.array(categories, np.uint16),
        np.array(actions, np.uint16),
        columns.priorities,
        columns.expires,
    )


def _index_columns(rows: list[tuple]) -> IndexColumns:
    vrms, categories, priorities, actions, expires = zip(*rows, strict=True)
    return IndexColumns(
        encode_many(list(vrms)),
        np.array(categories, np.uint16),
        np.array(actions, np.uint16),
        np.array(priorities, np.uint8),
        np.array(expires, np.uint32),
    )


_LIST_COLUMNS = "list_id, version, issued_at, source, entries, key_id, applied_at"


def _list_info(row: tuple) -> ListInfo:
    list_id, version, issued_at, source, entries, key_id, applied_at = row
    return ListInfo(list_id, version, issued_at, source == "local", entries, key_id, applied_at)
