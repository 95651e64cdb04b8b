"""What kind of miss a read is, so an eval report says *why* real photos are misread.

Kinds, from a labelled plate's text and what was read of it:

- `right`: read exactly;
- `not found`: the detector gave no box on it (end to end only);
- `nothing read`: a box, but no text;
- `furniture inserted`: every labelled character is there, in order, plus extra ones (an
  emblem, a sticker, a hyphen or dot between groups read as a character);
- `part read`: what was read is a run of the label, the rest missing (a box cut short, one
  row of a two-row plate);
- `characters dropped`: the read is the label with characters missing here and there;
- `substitution`: same length, some characters wrong (8/B, 1/I, 6/G …);
- `other`: anything else (wrong length and wrong characters).
"""

from __future__ import annotations

from collections import Counter

KINDS = (
    "right",
    "not found",
    "nothing read",
    "furniture inserted",
    "part read",
    "characters dropped",
    "substitution",
    "other",
)


def failure_kind(label: str, read: str | None) -> str:
    if read is None:
        return "not found"
    if read == label:
        return "right"
    if not read:
        return "nothing read"
    if len(read) > len(label) and _is_subsequence(label, read):
        return "furniture inserted"
    if len(read) < len(label) and read in label:
        return "part read"
    if len(read) < len(label) and _is_subsequence(read, label):
        return "characters dropped"
    if len(read) == len(label):
        return "substitution"
    return "other"


def count_kinds(pairs: list[tuple[str, str | None]]) -> dict[str, int]:
    """How many (label, read) pairs of each kind, in KINDS order, kinds that occur only."""
    counts = Counter(failure_kind(label, read) for label, read in pairs)
    return {kind: counts[kind] for kind in KINDS if counts[kind]}


def _is_subsequence(short: str, long: str) -> bool:
    characters = iter(long)
    return all(c in characters for c in short)
