"""Open the store and the hotlist file at start, waiting (not crash-looping) while they cannot
be opened for a reason that passes: a full disk, or another process holding the lock.

systemd would restart a unit that exits at once, ten times, then give up; and a unit that
exits reads nothing. So the start waits instead: it says plainly why (`no space left on
<path>`), in the log (once, then every minute), in systemd's STATUS and the status file, feeds
the watchdog meanwhile, and tries again every `RETRY_S` until it succeeds or is stopped.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from edge.errors import RuntimeFailure
from edge.store.database import fault_of
from edge.store.sql import StoreError
from edge.unit.notify import Notifier

log = logging.getLogger(__name__)

RETRY_S = 5.0
LOG_AGAIN_S = 60.0

T = TypeVar("T")


class StoppedWaiting(RuntimeFailure):
    """The unit was asked to stop while it waited for its store."""


def open_when_possible(
    opener: Callable[[], T],
    path: Path,
    stop: threading.Event,
    notifier: Notifier,
    on_wait: Callable[[str], None] = lambda reason: None,
) -> T:
    """`opener()`, retried while it fails with a full disk or a busy lock; any other failure
    is raised as it is (a corrupt or newer store needs a person, not a retry)."""
    logged_at = -LOG_AGAIN_S
    while True:
        try:
            return opener()
        except (StoreError, sqlite3.Error) as exc:
            cause = exc.__cause__ or exc
            fault = fault_of(cause, path)
            if fault == "error":
                raise
            reason = str(exc) if fault == "disk full" else f"{path} is locked by another process"
        now = time.monotonic()
        if now - logged_at >= LOG_AGAIN_S:
            logged_at = now
            log.error("%s; retrying every %.0f s", reason, RETRY_S)
        notifier.status(f"waiting: {reason}")
        notifier.watchdog()
        on_wait(reason)
        if stop.wait(RETRY_S):
            raise StoppedWaiting(f"stopped while waiting for the store: {reason}")
