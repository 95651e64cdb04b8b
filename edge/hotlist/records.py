"""The hotlist package's records: a list's header (`ListInfo`), entries in the compact columnar
form the index holds (`IndexColumns`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ListInfo:
    """One list as held: which version, from whom, how many entries."""

    list_id: str
    version: int
    issued_at: str  # RFC 3339 UTC, as the centre (or the local import) stated it
    local: bool  # imported on this unit, unsigned: never from the centre
    entries: int
    key_id: str | None  # the key that signed it; None for local lists
    applied_at: str


@dataclass(frozen=True, eq=False)
class IndexColumns:
    """Entries as parallel arrays: 17 bytes an entry, no Python object per entry.

    `keys` are packed plates (edge.hotlist.keys); `category` and `action` are label ids into the
    store's label table; `expires` is seconds since the epoch, 0 for never.
    """

    keys: np.ndarray  # int64
    category: np.ndarray  # uint16
    action: np.ndarray  # uint16
    priority: np.ndarray  # uint8
    expires: np.ndarray  # uint32

    FIELDS = ("keys", "category", "action", "priority", "expires")

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self.FIELDS)

    @staticmethod
    def empty() -> IndexColumns:
        return IndexColumns(
            np.zeros(0, np.int64),
            np.zeros(0, np.uint16),
            np.zeros(0, np.uint16),
            np.zeros(0, np.uint8),
            np.zeros(0, np.uint32),
        )

    @staticmethod
    def allocate(rows: int) -> IndexColumns:
        """Uninitialised columns for `rows` entries, to be filled with `fill`."""
        return IndexColumns(
            np.empty(rows, np.int64),
            np.empty(rows, np.uint16),
            np.empty(rows, np.uint16),
            np.empty(rows, np.uint8),
            np.empty(rows, np.uint32),
        )

    def fill(self, start: int, part: IndexColumns) -> None:
        """Copy `part` into rows `start`… (these arrays are not yet shared with readers)."""
        for name in self.FIELDS:
            getattr(self, name)[start : start + len(part)] = getattr(part, name)

    @staticmethod
    def concatenate(parts: list[IndexColumns]) -> IndexColumns:
        if not parts:
            return IndexColumns.empty()
        if len(parts) == 1:
            return parts[0]
        return IndexColumns(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in IndexColumns.FIELDS)
        )

    def take(self, rows: np.ndarray) -> IndexColumns:
        return IndexColumns(*(getattr(self, name)[rows] for name in self.FIELDS))

    def in_key_order(self) -> IndexColumns:
        """The same entries sorted by key (a no-op copy-free return when already sorted)."""
        if len(self) < 2 or bool(np.all(self.keys[1:] > self.keys[:-1])):
            return self
        return self.take(np.argsort(self.keys, kind="stable"))
