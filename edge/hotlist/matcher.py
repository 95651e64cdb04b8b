"""Match a read against every list held: exact, then fuzzy (edge.hotlist.fuzzy).

The hot path allocates nothing per list entry: exact is one `searchsorted` per list; fuzzy is
one candidate array per read, searched per list in one call. Only hits (rare) become Python
records, and only for them is the edit measured exactly (`edit_kind`) and, when a store is
given, the entry's `reason` read from SQLite. Expired entries never match: expiry is checked
against the clock at match time, so an entry stops matching the second it expires, without
waiting for the centre to remove it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from edge.hotlist.fuzzy import FuzzyPolicy, candidates, edit_kind
from edge.hotlist.index import HotlistIndex, IndexHolder, ListIndex
from edge.hotlist.keys import decode, decode_many, encode, normalise_vrm
from edge.hotlist.trust import edits_believable
from edge.records import HotlistEntry, HotlistMatch, MatchKind

ReasonLookup = Callable[[str, str], "str | None"]  # (list id, vrm) → reason


class Matcher:
    def __init__(
        self,
        holder: IndexHolder,
        policy: FuzzyPolicy,
        *,
        clock: Callable[[], float] = time.time,
        reasons: ReasonLookup | None = None,
    ):
        self.holder, self.policy, self.clock, self.reasons = holder, policy, clock, reasons

    def match(
        self, read: str, confidences: Sequence[float] | None = None
    ) -> tuple[HotlistMatch, ...]:
        """Every unexpired entry `read` matches, best first (exact before fuzzy, then by
        distance, priority and list). A read that is not a plate matches nothing. With the
        recogniser's per-character `confidences`, a fuzzy match must change only characters
        read below the policy's `sure_confidence` (edge.hotlist.trust)."""
        try:
            plate = normalise_vrm(read)
        except ValueError:
            return ()
        lists = self.holder.current.lists
        if not lists:
            return ()
        key = encode(plate)
        now = int(self.clock())
        matches: list[HotlistMatch] = []
        for index in lists.values():
            row = index.lookup_one(key)
            if row >= 0:
                matches += self._records(index, [row], now, plate, key)
        if self.policy.max_distance > 0:
            wanted = frozenset().union(*(index.lengths for index in lists.values()))
            by_length = candidates(plate, self.policy, wanted)
            for index in lists.values():
                parts = [keys for length, keys in by_length.items() if length in index.lengths]
                if not parts:
                    continue
                keys = np.sort(np.concatenate(parts) if len(parts) > 1 else parts[0])
                _, rows = index.lookup(keys)
                if rows.size:  # rare: most reads stop here
                    held = index.columns.keys
                    # a key can repeat among the candidates; the exact match is already done
                    hits = sorted({row for row in rows.tolist() if held[row] != key})
                    matches += self._records(index, hits, now, plate, key)
        if confidences is not None:
            sure = self.policy.sure_confidence
            matches = [
                m
                for m in matches
                if m.kind == "exact" or edits_believable(plate, m.entry.vrm, confidences, sure)
            ]
        matches.sort(key=lambda m: (m.distance, m.entry.priority, m.list_id, m.entry.vrm))
        return tuple(matches)

    def _records(
        self, index: ListIndex, rows: list[int], now: int, read: str, key: int
    ) -> list[HotlistMatch]:
        """Records of the unexpired `rows` of one list (a handful: scalar access is cheaper
        than vector operations on arrays this small)."""
        columns, info, labels = index.columns, index.info, index.labels
        records = []
        for row in rows:
            expires = int(columns.expires[row])
            if 0 < expires <= now:
                continue  # expired: never a match
            held = int(columns.keys[row])
            vrm = read if held == key else decode(held)
            distance, confusion = (0, False) if vrm == read else edit_kind(read, vrm)
            reason = self.reasons(info.list_id, vrm) if self.reasons else None
            entry = HotlistEntry(
                vrm,
                labels[int(columns.category[row])],
                int(columns.priority[row]),
                labels[int(columns.action[row])],
                reason or "",
                datetime.fromtimestamp(expires, UTC) if expires else None,
            )
            kind: MatchKind = "exact" if distance == 0 else "fuzzy"
            records.append(
                HotlistMatch(
                    info.list_id, info.version, entry, kind, distance, info.local, confusion
                )
            )
        return records


def match_in_store(
    store, read: str, policy: FuzzyPolicy, clock: Callable[[], float] = time.time
) -> tuple[HotlistMatch, ...]:
    """The same matching straight from SQLite, without loading whole lists: the candidates'
    entries are fetched with one query per list and matched as a tiny index. For commands
    (`hotlist check`); the running unit matches against the in-memory index."""
    try:
        plate = normalise_vrm(read)
    except ValueError:
        return ()
    keys = [np.array([encode(plate)]), *candidates(plate, policy).values()]
    plates = decode_many(np.unique(np.concatenate(keys)))
    labels = store.labels()
    index = HotlistIndex()
    for info in store.lists():
        index = index.with_list(ListIndex.build(info, store.find(info.list_id, plates), labels))
    return Matcher(IndexHolder(index), policy, clock=clock, reasons=store.reason).match(plate)
