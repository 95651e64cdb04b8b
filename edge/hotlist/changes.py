"""The lines of a delta: `["add", …entry]`, `["update", …entry]`, `["remove", vrm]`.

Validated and written block by block into the open list transaction, like a snapshot. A plate
may appear once per delta (two changes to one plate in one version would depend on their
order); an add of a plate already held, or an update or removal of one not held, means the
centre's idea of the base differs from the unit's and the delta is refused (`delta-conflict`):
the unit then waits for a snapshot rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from edge.hotlist.bundle import PayloadHeader
from edge.hotlist.entries import EntryProblem, columns_from_wire
from edge.hotlist.keys import InvalidPlate, encode_many
from edge.hotlist.records import IndexColumns
from edge.hotlist.rejections import BundleRejected, Reason, entry_rejection
from edge.hotlist.store import ListChange, StoreConflict

OPS = ("add", "update", "remove")


class DeltaReader:
    def __init__(
        self,
        change: ListChange,
        header: PayloadHeader,
        progress: Callable[[int], None] | None = None,
    ):
        self.change, self.header, self.progress = change, header, progress
        self.seen: dict[str, int] = {}  # plate → line, across blocks
        self.counts = dict.fromkeys(OPS, 0)
        self.removed: list[np.ndarray] = []
        self.updated: list[IndexColumns] = []
        self.added: list[IndexColumns] = []

    def apply(self, blocks: Iterator[tuple[int, list]]) -> tuple:
        """Write every change; return what the index needs: ("delta", removed keys, updated
        columns, added columns)."""
        for first_line, values in blocks:
            self._block(first_line, values)
            if self.progress:
                self.progress(sum(self.counts.values()))
        expected = {
            "add": self.header.counts["adds"],
            "update": self.header.counts["updates"],
            "remove": self.header.counts["removes"],
        }
        if self.counts != expected:
            raise BundleRejected(
                Reason.MALFORMED,
                f"payload has {self.counts}; its header says {expected} (truncated?)",
            )
        removed = np.concatenate(self.removed) if self.removed else np.zeros(0, np.int64)
        return (
            "delta",
            removed,
            IndexColumns.concatenate(self.updated),
            IndexColumns.concatenate(self.added),
        )

    def _block(self, first_line: int, values: list) -> None:
        by_op: dict[str, tuple[list, list[int]]] = {op: ([], []) for op in OPS}
        for i, value in enumerate(values):
            line = first_line + i
            if type(value) is not list or len(value) < 2 or value[0] not in OPS:
                raise BundleRejected(
                    Reason.MALFORMED,
                    f'payload line {line}: expected ["add"|"update", …entry] or ["remove", vrm]',
                )
            op = value[0]
            if op == "remove" and len(value) != 2:
                raise BundleRejected(
                    Reason.MALFORMED, f'payload line {line}: expected ["remove", vrm]'
                )
            vrm = value[1]
            if type(vrm) is str:
                if vrm in self.seen:
                    raise BundleRejected(
                        Reason.MALFORMED,
                        f"payload line {line}: the plate is also changed on line {self.seen[vrm]}",
                    )
                self.seen[vrm] = line
            rows, lines = by_op[op]
            rows.append(value[1] if op == "remove" else value[1:])
            lines.append(line)
        self._remove(*by_op["remove"])
        self._upsert("update", *by_op["update"])
        self._upsert("add", *by_op["add"])

    def _remove(self, vrms: list, lines: list[int]) -> None:
        if not vrms:
            return
        for vrm, line in zip(vrms, lines, strict=True):
            if type(vrm) is not str:
                raise BundleRejected(
                    Reason.WRONG_TYPE, f"payload line {line}: field vrm: expected a string"
                )
        try:
            keys = encode_many(vrms)
        except InvalidPlate as exc:
            raise BundleRejected(
                Reason.MALFORMED,
                f"payload line {lines[exc.index]}: field vrm: expected 1–10 of A–Z and 0–9",
            ) from None
        try:
            self.change.remove(vrms)
        except StoreConflict as conflict:
            raise BundleRejected(
                Reason.DELTA_CONFLICT, f"payload line {lines[conflict.row]}: {conflict}"
            ) from None
        self.removed.append(keys)
        self.counts["remove"] += len(vrms)

    def _upsert(self, op: str, entries: list, lines: list[int]) -> None:
        if not entries:
            return
        try:
            columns = columns_from_wire(entries)
        except EntryProblem as problem:
            raise entry_rejection(problem, lines[problem.row]) from None
        try:
            if op == "add":
                self.added.append(self.change.insert(columns))
            else:
                self.updated.append(self.change.update(columns))
        except StoreConflict as conflict:
            raise BundleRejected(
                Reason.DELTA_CONFLICT, f"payload line {lines[conflict.row]}: {conflict}"
            ) from None
        self.counts[op] += len(columns)
