"""The in-memory index: per list, sorted arrays searched with `np.searchsorted`.

Memory: 17 bytes an entry (int64 key, two uint16 label ids, uint8 priority, uint32 expiry) plus
~3.4 bytes of membership bits (edge.hotlist.prefilter), so ten million entries take ~200 MB and
no Python object exists per entry. `reason` stays in SQLite
(it is free text, unbounded in variety) and is read only for the rare entries that match.

Concurrency: a `ListIndex` and a `HotlistIndex` never change after construction. The one writer
(the sync worker, after its store transaction has committed) builds a new `HotlistIndex` and
swaps it into the `IndexHolder` with a single reference assignment; a matcher reads
`holder.current` once per lookup, so it sees either the old or the new lists, never a mix.
A delta is merged into copies of the arrays (O(n) copying, tens of ms at 10 M) rather than
reloading the list from SQLite (tens of seconds).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from edge.hotlist.keys import BITS, MAX_LENGTH
from edge.hotlist.prefilter import CHUNK_KEYS, MembershipBits
from edge.hotlist.records import IndexColumns, ListInfo

PREFILTER_FROM = 65_536  # entries; below this the keys (512 KB) stay in the CPU cache anyway


@dataclass(frozen=True, eq=False)
class ListIndex:
    info: ListInfo
    columns: IndexColumns  # sorted by key, keys unique
    labels: tuple[str, ...]  # label id → text (category and action)
    # Plate lengths on the list: fuzzy candidates of other lengths are not looked up.
    lengths: frozenset[int] = field(default=frozenset())
    # Skips most absent candidates before the binary search (edge.hotlist.prefilter); None
    # for lists small enough to sit in the CPU cache, where it would not pay.
    membership: MembershipBits | None = None

    @staticmethod
    def build(info: ListInfo, columns: IndexColumns, labels: tuple[str, ...]) -> ListIndex:
        membership = MembershipBits.of(columns.keys) if len(columns) >= PREFILTER_FROM else None
        return ListIndex(info, columns, labels, key_lengths(columns.keys), membership)

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def nbytes(self) -> int:
        return self.columns.nbytes + (self.membership.nbytes if self.membership else 0)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For candidate `keys` (int64, ideally sorted for cache locality): the indices into
        `keys` that are on this list, and their rows."""
        held = self.columns.keys
        if held.size == 0 or keys.size == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        if self.membership is not None:
            maybe = np.flatnonzero(self.membership.may_contain(keys))
            rows = np.searchsorted(held, keys[maybe])
            np.minimum(rows, held.size - 1, out=rows)
            found = np.flatnonzero(held[rows] == keys[maybe])
            return maybe[found], rows[found]
        rows = np.searchsorted(held, keys)
        np.minimum(rows, held.size - 1, out=rows)
        found = np.flatnonzero(held[rows] == keys)
        return found, rows[found]

    def lookup_one(self, key: int) -> int:
        """The row of one key, or −1 (the exact-match fast path: no arrays allocated)."""
        held = self.columns.keys
        row = int(held.searchsorted(key))
        return row if row < held.size and held[row] == key else -1

    def with_changes(
        self,
        info: ListInfo,
        labels: tuple[str, ...],
        removed: np.ndarray,
        updated: IndexColumns,
        added: IndexColumns,
    ) -> ListIndex:
        """A new index for `info`: this one minus `removed` keys, with `updated` rows replaced
        and `added` rows inserted. Every key in `removed`/`updated` must be present and every
        key in `added` absent (the store has checked it before committing)."""
        columns = self.columns
        if len(updated):
            updated = updated.in_key_order()
            rows = np.searchsorted(columns.keys, updated.keys)
            columns = IndexColumns(*(getattr(columns, name).copy() for name in IndexColumns.FIELDS))
            for name in IndexColumns.FIELDS[1:]:
                getattr(columns, name)[rows] = getattr(updated, name)
        if removed.size:
            keep = np.ones(len(columns), dtype=bool)
            keep[np.searchsorted(columns.keys, removed)] = False
            columns = columns.take(np.flatnonzero(keep))
        if len(added):
            added = added.in_key_order()
            at = np.searchsorted(columns.keys, added.keys)
            columns = IndexColumns(
                *(
                    np.insert(getattr(columns, name), at, getattr(added, name))
                    for name in IndexColumns.FIELDS
                )
            )
        membership = None
        if self.membership is not None:
            membership = self.membership.with_keys(added.keys, len(columns))
        if membership is None and len(columns) >= PREFILTER_FROM:
            membership = MembershipBits.of(columns.keys)  # new, or outgrown: sized afresh
        return ListIndex(info, columns, labels, self.lengths | key_lengths(added.keys), membership)


def key_lengths(keys: np.ndarray) -> frozenset[int]:
    """The plate lengths present among `keys`: the lowest set bit of a key lies in the 6-bit
    group of its last character."""
    # A chunk at a time: over a whole list the temporaries (five arrays of the keys' size)
    # took 32 MB at 1 M entries, twice what the list's index itself needs while it is built.
    counts = np.zeros(MAX_LENGTH + 1, np.int64)
    for start in range(0, keys.size, CHUNK_KEYS):
        part = keys[start : start + CHUNK_KEYS]
        lowest = part & -part
        _, exponent = np.frexp(lowest.astype(np.float64))  # exact: powers of two below 2^60
        counts += np.bincount(MAX_LENGTH - (exponent - 1) // BITS, minlength=MAX_LENGTH + 1)
    return frozenset(int(length) for length in np.flatnonzero(counts))


@dataclass(frozen=True, eq=False)
class HotlistIndex:
    """Every list held, by list id (read-only)."""

    lists: Mapping[str, ListIndex] = field(default_factory=lambda: MappingProxyType({}))

    def with_list(self, index: ListIndex) -> HotlistIndex:
        return HotlistIndex(MappingProxyType({**self.lists, index.info.list_id: index}))

    def without(self, list_id: str) -> HotlistIndex:
        return HotlistIndex(
            MappingProxyType({key: value for key, value in self.lists.items() if key != list_id})
        )

    @property
    def nbytes(self) -> int:
        return sum(index.nbytes for index in self.lists.values())


class IndexHolder:
    """The current `HotlistIndex`; readers take `current`, the writer calls `replace`/`drop`."""

    def __init__(self, index: HotlistIndex | None = None):
        self.current = index or HotlistIndex()
        self._write_lock = threading.Lock()  # two writers would lose each other's list

    def replace(self, index: ListIndex) -> None:
        with self._write_lock:
            self.current = self.current.with_list(index)

    def drop(self, list_id: str) -> None:
        with self._write_lock:
            self.current = self.current.without(list_id)

    def versions(self) -> dict[str, int]:
        return {list_id: index.info.version for list_id, index in self.current.lists.items()}
