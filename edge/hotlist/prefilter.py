"""A one-hash Bloom filter in front of a list's sorted keys, for fuzzy lookups.

A fuzzy lookup searches a few hundred candidate keys, nearly all absent. In a 10 M-entry array
(80 MB of keys) each binary search costs ~10 cache misses; at 10 M that made the fuzzy p99
exceed its 500 µs target (510 µs measured, on a loaded 2-core machine). One bit per hash slot,
≥ 16 slots per entry, answers "certainly absent" with one memory access for ~95 % of the
candidates, so only the rest are binary-searched. It never answers "absent" for a present key,
so results are unchanged: only the time is.

Memory: the next power of two ≥ 16 bits an entry — 32 MB at 10 M entries (2^28 bits). Removed
keys leave their bit set (a Bloom filter cannot unset one safely); that only lets a few more
candidates through to the exact search, until the next snapshot rebuilds the bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SLOTS_PER_ENTRY = 16
MIN_SLOT_BITS = 16  # 65,536 slots (8 KB) for small lists
# Fibonacci hashing: multiply by 2^64/φ and keep the top bits, which depend on every key bit.
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
# Keys hashed (and, in edge.hotlist.index, measured) at a time: 64 K keys make temporaries of
# 512 KB each, which stay in the CPU cache, and bound the peak whatever the list's size.
CHUNK_KEYS = 65_536


@dataclass(frozen=True, eq=False)
class MembershipBits:
    words: np.ndarray  # uint64, 64 slots a word
    slot_bits: int  # log2 of the number of slots
    sized_for: int  # entries it was sized for; far more and it is rebuilt

    @staticmethod
    def of(keys: np.ndarray) -> MembershipBits:
        slot_bits = max(MIN_SLOT_BITS, int(np.ceil(np.log2(max(len(keys), 1) * SLOTS_PER_ENTRY))))
        bits = MembershipBits(np.zeros(1 << (slot_bits - 6), np.uint64), slot_bits, len(keys))
        bits._set(keys)
        return bits

    def with_keys(self, added: np.ndarray, total: int) -> MembershipBits | None:
        """A copy with `added` keys set (for a delta), or None when the list (now `total`
        entries) has outgrown the sizing and needs `of()` on all its keys."""
        if total > 2 * self.sized_for:
            return None
        bits = MembershipBits(self.words.copy(), self.slot_bits, self.sized_for)
        bits._set(added)
        return bits

    def may_contain(self, keys: np.ndarray) -> np.ndarray:
        """False where a key is certainly absent; True where it may be present."""
        slots = self._slots(keys)
        return ((self.words[slots >> np.uint64(6)] >> (slots & np.uint64(63))) & np.uint64(1)) == 1

    @property
    def nbytes(self) -> int:
        return self.words.nbytes

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return (keys.view(np.uint64) * MULTIPLIER) >> np.uint64(64 - self.slot_bits)

    def _set(self, keys: np.ndarray) -> None:
        # A chunk at a time: hashing all keys at once made five temporaries of their size
        # (34 MB for a 2 MB filter at 1 M entries), the largest part of an apply's peak.
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        for start in range(0, keys.size, CHUNK_KEYS):
            slots = self._slots(keys[start : start + CHUNK_KEYS])
            np.bitwise_or.at(
                self.words,
                slots >> np.uint64(6),
                np.left_shift(np.uint64(1), slots & np.uint64(63)),
            )
