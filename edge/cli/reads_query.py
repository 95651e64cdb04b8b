"""What a technician asks the store for, checked: `--since`, `--plate`, and the store itself.

Times: a `--since` without a zone is the unit's local time (what a person on site means by
"since 14:00"); the store keeps UTC, so it is converted. Plates are compared normalised (upper
case, no spaces), as the unit stores them.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.errors import RuntimeFailure, UserError
from edge.times import rfc3339

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_PLATE = re.compile(r"^[A-Z0-9*?]{1,16}$")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
SQLITE_MAX_INT = 2**63 - 1


def parse_limit(limit: int) -> int:
    """`--limit`: at least 1; a number past SQLite's integers means "all of them"."""
    if limit < 1:
        raise UserError(f"--limit: got {limit}; expected at least 1")
    return min(limit, SQLITE_MAX_INT)


def parse_since(text: str, now: datetime | None = None) -> str:
    """`--since`: an age (30s, 15m, 2h, 1d) or an ISO 8601 time (2026-03-01T14:00, local
    unless it ends in Z or an offset). Returns RFC 3339 UTC with milliseconds, as `captured_at`
    is stored, so the two compare as text."""
    now = now or datetime.now(UTC)
    value = text.strip()
    age = _AGE.match(value.lower())
    if age:
        try:
            moment = now - timedelta(**{_UNITS[age.group(2)]: float(age.group(1))})
        except OverflowError:  # an age before year 1 (99999999d): every record is younger
            return rfc3339(EARLIEST)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise UserError(
                f"--since: got {text!r}; expected an age (30s, 15m, 2h, 1d) or a time "
                "(2026-03-01T14:00, local time unless it ends in Z or an offset such as +01:00)"
            ) from None
        try:
            if moment.tzinfo is None:
                moment = moment.astimezone()  # naive: the unit's local time
            moment = moment.astimezone(UTC)
        except (OverflowError, OSError, ValueError):
            # at the ends of the calendar (0001-01-01T00:00, 9999-12-31T23:59-01:00) the zone
            # shift leaves Python's range: the time is as early (or late) as it can be
            return rfc3339(EARLIEST if moment.year < 1000 else LATEST)
    return rfc3339(moment)


def parse_plate(text: str) -> str:
    """`--plate`: a VRM, normalised (upper case, spaces dropped), optionally with `*` (any
    characters) and `?` (one character). Returned as a SQLite GLOB pattern: with only these
    characters allowed, a plate without wildcards matches exactly itself."""
    plate = "".join(text.split()).upper()
    if not _PLATE.match(plate):
        raise UserError(
            f"--plate: got {text!r}; expected a registration (letters and digits, e.g. AB12CDE), "
            "optionally with * (any characters) or ? (one character)"
        )
    return plate


def open_store(path: Path) -> sqlite3.Connection:
    """Open the unit's store for reading; never create one (a command run as root would leave
    a file the service cannot open)."""
    from edge.store.database import open_database

    if not path.exists():
        raise RuntimeFailure(
            f"no store at {path} (storage.path): the unit has not run with this configuration"
        )
    return open_database(path)
