"""Times as the unit writes and reads them: UTC, RFC 3339 with a 'Z' (DESIGN §3).

Every time on the wire, in the store and in the files is UTC with a 'Z'; records carry
milliseconds, bookkeeping (when a list was applied, a migration run) whole seconds. Only a
technician's "today" and `--since 14:00` are the unit's local time (edge.cli).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["seconds", "milliseconds"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime | float, timespec: Precision = "milliseconds") -> str:
    """A moment (an aware datetime, or seconds since the epoch) as '2026-05-01T14:03:07.250Z'
    (or without the fraction for `timespec="seconds"`)."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def rfc3339_now(timespec: Precision = "seconds") -> str:
    """Now, to the second unless asked: when something was applied, migrated or issued."""
    return rfc3339(utc_now(), timespec)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 time as written here ('Z' or an offset) back into an aware datetime;
    ValueError when it is not one."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rfc3339_or_none(seconds: float | None) -> str | None:
    """Seconds since the epoch as `rfc3339`, None for never (a figure not yet there)."""
    return None if seconds is None else rfc3339(seconds)
