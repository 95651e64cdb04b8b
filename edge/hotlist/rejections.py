"""Why a bundle was refused: one stable code per rule of DESIGN §4, used in logs, health
counters, `hotlist apply --json` (`reason`) and tests."""

from __future__ import annotations

from enum import StrEnum

from edge.errors import UserError
from edge.hotlist.entries import EntryProblem


class Reason(StrEnum):
    BAD_SIGNATURE = "bad-signature"  # signed by a trusted key id, but the signature is wrong
    UNKNOWN_KEY = "unknown-key"  # signed by a key this unit does not trust
    STALE_VERSION = "stale-version"  # version ≤ the one held: replay or rollback
    BASE_MISMATCH = "base-mismatch"  # a delta from a version this unit does not hold
    DELTA_CONFLICT = "delta-conflict"  # a delta adding a held plate or changing a missing one
    MALFORMED = "malformed"  # not the bundle format: syntax, fields, values, order, counts
    WRONG_TYPE = "wrong-type"  # a field of the format holds a value of the wrong JSON type
    OVERSIZED = "oversized"  # larger than hotlist.max_bundle_mb
    WRONG_LIST = "wrong-list"  # a list this unit does not take (not configured, held as local)
    WRONG_TOPIC = "wrong-topic"  # arrived on the topic of another list or kind


class BundleRejected(UserError):
    """A bundle was refused and nothing was changed. `reason` is the code, the message says
    what exactly (never a plate: messages go to logs; lines are named by number)."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        list_id: str | None = None,
        version: int | None = None,
        base_version: int | None = None,
    ):
        super().__init__(f"bundle rejected ({reason}): {message}")
        self.reason = reason
        self.detail = message
        # What the (signed) header said, when it was read: lets the sync keep a delta that is
        # ahead of the held version until the snapshot it needs has arrived.
        self.list_id, self.version, self.base_version = list_id, version, base_version


def entry_rejection(problem: EntryProblem, line: int) -> BundleRejected:
    """A bad entry as a rejection naming its payload line. The value is shown for every field
    but the plate: rejections are logged, and a plate is personal data."""
    reason = Reason.WRONG_TYPE if problem.wrong_type else Reason.MALFORMED
    detail = (
        "field vrm: expected 1–10 of A–Z and 0–9 (value not shown)"
        if problem.field == "vrm" and not problem.wrong_type
        else str(problem)
    )
    return BundleRejected(reason, f"payload line {line}: {detail}")
