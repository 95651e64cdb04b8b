"""Which fuzzy matches the recogniser's own confidences make believable.

A fuzzy match says "the camera read X, but it may have been the listed Y". That is only
believable where the recogniser was unsure: if it read every character of `AB12CDE` at 0.999,
the listed `AB12CDF` is a different car, not a misread. Without this gate one confusion away
from a 1 M list catches about 4 % of all passing cars (`anpr-edge bench hotlist`); gated, a
small fraction of that, while most real misreads stay matchable because misread characters
mostly carry low confidence (measured by the same bench on the recogniser's real misreads).

The edits of the fewest-edit path from the read to the listed plate must each be explained:

- a **substitution** or a **dropped read character** (the read has one too many) only where
  that read character's confidence is below `sure`;
- a **missing character** (the listed plate has one more) only where a read loses one: at
  either end (a box cut short), where it doubles a neighbour (CTC merges a repeated character
  that has no gap between its copies), or beside an unsure character.
"""

from __future__ import annotations

from collections.abc import Sequence


def edits_believable(read: str, plate: str, confidences: Sequence[float], sure: float) -> bool:
    """Whether a fewest-edit path from `read` to `plate` changes only what the recogniser
    could have got wrong (`confidences`: one per character of `read`). `sure` ≥ 1 trusts no
    character (every edit is believable); a length mismatch between `read` and
    `confidences` (a caller's bug or an older record) also trusts no character."""
    if sure >= 1.0 or len(confidences) != len(read):
        return True
    unsure = [c < sure for c in confidences]

    def insert_ok(gap: int, char: str) -> bool:  # `char` missing from the read before `gap`
        if gap == 0 or gap == len(read):
            return True
        return char in (read[gap - 1], read[gap]) or unsure[gap - 1] or unsure[gap]

    # cell = (edits, edits not explained), compared as a tuple: fewest edits first
    previous = [(0, 0)]
    for j in range(1, len(plate) + 1):
        edits, bad = previous[-1]
        previous.append((edits + 1, bad + (not insert_ok(0, plate[j - 1]))))
    for i in range(1, len(read) + 1):
        explained = unsure[i - 1]
        edits, bad = previous[0]
        current = [(edits + 1, bad + (not explained))]
        for j in range(1, len(plate) + 1):
            diagonal = previous[j - 1]
            if read[i - 1] != plate[j - 1]:
                diagonal = (diagonal[0] + 1, diagonal[1] + (not explained))
            up = (previous[j][0] + 1, previous[j][1] + (not explained))  # read char dropped
            left = current[j - 1]  # plate char missing from the read, before read[i]
            left = (left[0] + 1, left[1] + (not insert_ok(i, plate[j - 1])))
            current.append(min(diagonal, up, left))
        previous = current
    return previous[-1][1] == 0
