"""Apply a signed bundle: every check of DESIGN §4, one store transaction, then the index swap.

The order is what makes it safe. Nothing is parsed before the signature checks out
(`open_envelope`); the version rules are checked inside the write transaction, against the
version read under the lock; entries are validated block by block while they stream into the
same transaction, so a bad line 9,000,000 rolls back the 8,999,999 before it; the in-memory
index is swapped only after COMMIT returned. A kill at any moment leaves the previous version,
whole, in the store (SQLite's WAL discards an uncommitted transaction on the next open).

Every rejection is logged with its reason and counted in `ApplyCounters` for health.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.hotlist.bundle import PayloadHeader, check_header, open_envelope
from edge.hotlist.changes import DeltaReader
from edge.hotlist.entries import EntryProblem, columns_from_wire
from edge.hotlist.index import IndexHolder, ListIndex
from edge.hotlist.payload import read_lines
from edge.hotlist.records import IndexColumns, ListInfo
from edge.hotlist.rejections import BundleRejected, Reason, entry_rejection
from edge.hotlist.signing import PublicKey
from edge.hotlist.store import HotlistStore, ListChange
from edge.store.database import checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_AFTER_ROWS = 100_000  # a large apply leaves a large WAL: fold it back at once
MIN_ENTRY_BYTES = 24  # the shortest entry line: ["A","a",1,"a","",null] and its newline


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while entries stream in. Each block parses into
    thousands of lists that live until it is written; they trigger collections that walk them
    again and again, and none is in a cycle (reference counting frees them). The collector took
    0.35 of 4.2 s CPU for 1 M entries (1.9 of 7.8 s with the former 4 MB blocks). Cyclic garbage
    of other threads, if any, waits for the end of the apply (under a minute at 10 M)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class Applied:
    list_id: str
    kind: str
    version: int
    previous_version: int | None
    entries: int  # on the list after the apply
    changed: dict[str, int]  # snapshot: entries; delta: adds, updates, removes
    key_id: str
    seconds: float


class ApplyInterrupted(Exception):
    """Raised from a progress callback to abandon an apply (the transaction rolls back)."""


class ApplyCounters:
    """Applied bundles, rejections by reason code and unexpected errors, shared between threads
    (also by the model and configuration updates, whose reason codes are their own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applied = 0
        self._errors = 0
        self._rejected: dict[str, int] = {}

    def applied(self) -> None:
        with self._lock:
            self._applied += 1

    def error(self) -> None:
        with self._lock:
            self._errors += 1

    def rejected(self, reason: str) -> None:
        code = str(reason)  # a StrEnum member's str() is its code
        with self._lock:
            self._rejected[code] = self._rejected.get(code, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "applied": self._applied,
                "rejected": dict(self._rejected),
                "errors": self._errors,
            }


class BundleApplier:
    def __init__(
        self,
        store: HotlistStore,
        trusted: dict[str, PublicKey],
        *,
        max_payload_bytes: int,
        lists: Collection[str] | None = None,
        holder: IndexHolder | None = None,
        counters: ApplyCounters | None = None,
        progress: Callable[[int], None] | None = None,
    ):
        """`lists`: the list ids this unit takes (None: any); `holder`: the index to update
        after each commit (None: store only, as for the `hotlist apply` command)."""
        self.store, self.trusted, self.lists, self.holder = store, trusted, lists, holder
        self.max_payload_bytes = max_payload_bytes
        self.counters = counters or ApplyCounters()
        self.progress = progress

    def apply(self, bundle: bytes | Path, *, topic: tuple[str, str] | None = None) -> Applied:
        """Apply one bundle (its bytes, or the file holding them), or raise BundleRejected
        having changed nothing. `topic` is the (list id, kind) of the MQTT topic it came on,
        which the payload must agree with.

        Given a file, the bundle's bytes are read here and let go once the signature has
        checked out, so they are not held while the payload streams into the store: ~10 MB
        at 1,000,000 entries, ~100 MB at 10,000,000 (the sync passes its spool file)."""
        started = time.monotonic()
        try:
            applied = self._apply(bundle, topic, started)
        except BundleRejected as rejection:
            self.counters.rejected(rejection.reason)
            log.warning("hotlist bundle rejected: %s: %s", rejection.reason, rejection.detail)
            raise
        self.counters.applied()
        log.info(
            "hotlist %s %s v%s applied (was v%s): %d entries in %.1f s",
            applied.list_id,
            applied.kind,
            applied.version,
            applied.previous_version,
            applied.entries,
            applied.seconds,
        )
        return applied

    def _apply(
        self, bundle: bytes | Path, topic: tuple[str, str] | None, started: float
    ) -> Applied:
        data = bundle.read_bytes() if isinstance(bundle, Path) else bundle
        signed = open_envelope(data, self.trusted, self.max_payload_bytes)
        del data  # the caller's bytes stay theirs; bytes read from a file are freed here
        raw_header, blocks = read_lines(signed.payload, signed.compression, self.max_payload_bytes)
        header = check_header(raw_header)
        if self.lists is not None and header.list_id not in self.lists:
            raise BundleRejected(
                Reason.WRONG_LIST, f"list {header.list_id!r} is not in hotlist.lists of this unit"
            )
        if topic is not None and topic != (header.list_id, header.kind):
            raise BundleRejected(
                Reason.WRONG_TOPIC,
                f"a {header.kind} of list "
                f"{header.list_id!r} on the {topic[1]} topic of {topic[0]!r}",
            )
        with _collector_paused(), self.store.change(header.list_id) as change:
            held = change.held
            version, local = (held.version, held.local) if held else (None, None)
            self._check_versions(header, version, local)
            if header.kind == "snapshot":
                update = self._write_snapshot(change, header, blocks)
            else:
                update = DeltaReader(change, header, self.progress).apply(blocks)
            info = change.finish(
                version=header.version,
                issued_at=header.issued_at,
                local=False,
                key_id=signed.key_id,
            )
        rewritten = sum(header.counts.values()) + (
            held.entries if held and header.kind == "snapshot" else 0
        )
        if rewritten >= CHECKPOINT_AFTER_ROWS:
            checkpoint(self.store.conn)
        if self.holder is not None:
            self._swap_index(self.holder, info, held.version if held else None, update)
        return Applied(
            info.list_id,
            header.kind,
            info.version,
            held.version if held else None,
            info.entries,
            header.counts,
            signed.key_id,
            time.monotonic() - started,
        )

    @staticmethod
    def _check_versions(header: PayloadHeader, held: int | None, local: bool | None) -> None:
        if local:
            raise BundleRejected(
                Reason.WRONG_LIST,
                f"list {header.list_id!r} is held as a "
                "local list; remove it first (hotlist remove)",
            )
        if held is not None and header.version <= held:
            what = "the version held" if header.version == held else "older than the one held"
            raise BundleRejected(
                Reason.STALE_VERSION,
                f"{header.list_id} v{header.version} is {what} (v{held}): a replay or rollback",
            )
        if header.kind == "delta" and header.base_version != held:
            raise BundleRejected(
                Reason.BASE_MISMATCH,
                f"delta {header.list_id} "
                f"v{header.base_version}→v{header.version} does not start at "
                f"the version held ({'none' if held is None else f'v{held}'})",
                list_id=header.list_id,
                version=header.version,
                base_version=header.base_version,
            )

    def _write_snapshot(self, change: ListChange, header: PayloadHeader, blocks) -> tuple:
        declared = header.counts["entries"]
        if declared > self.max_payload_bytes // MIN_ENTRY_BYTES:
            raise BundleRejected(
                Reason.MALFORMED,
                f"header.entries: {declared} entries cannot fit the payload size limit",
            )
        # The index arrays are allocated once at the declared size and filled block by block:
        # no list of parts and no concatenation, so the peak is the index itself (170 MB at
        # 10 M), not twice that. Only when there is an index to update.
        index = IndexColumns.allocate(declared) if self.holder is not None else None
        change.clear()
        last_key, rows = -1, 0
        for first_line, values in blocks:
            try:
                columns = columns_from_wire(values)
            except EntryProblem as problem:
                raise entry_rejection(problem, first_line + problem.row) from None
            keys = columns.keys
            if len(keys) and (keys[0] <= last_key or np.any(keys[1:] <= keys[:-1])):
                bad = 0 if keys[0] <= last_key else int(np.argmax(keys[1:] <= keys[:-1])) + 1
                raise BundleRejected(
                    Reason.MALFORMED,
                    f"payload line {first_line + bad}: "
                    "entries must be in strictly ascending vrm order "
                    "(a repeated or misplaced plate)",
                )
            if rows + len(columns) > declared:
                raise BundleRejected(
                    Reason.MALFORMED, f"payload has more entries than its header says ({declared})"
                )
            if len(keys):
                last_key = int(keys[-1])
            written = change.insert(columns)
            if index is not None:
                index.fill(rows, written)
            rows += len(columns)
            if self.progress:
                self.progress(rows)
        if rows != declared:
            raise BundleRejected(
                Reason.MALFORMED,
                f"payload has {rows} entries; its header says {declared} (truncated?)",
            )
        return ("snapshot", index)

    def _swap_index(
        self, holder: IndexHolder, info: ListInfo, previous: int | None, update: tuple
    ) -> None:
        labels = self.store.labels()
        current = holder.current.lists.get(info.list_id)
        if update[0] == "snapshot":
            index = ListIndex.build(info, update[1], labels)
        elif current is not None and current.info.version == previous:
            _, removed, updated, added = update
            index = current.with_changes(info, labels, removed, updated, added)
        else:  # the index did not hold the delta's base (it was built elsewhere): reload
            index = ListIndex.build(info, self.store.load_columns(info.list_id), labels)
        holder.replace(index)
