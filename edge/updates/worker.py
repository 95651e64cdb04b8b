"""What the model and configuration updaters share: a bounded inbox filled from paho's thread,
one worker thread that honours the stop event, outcomes counted by reason for health, and a
refusal that is logged, counted and announced on the command result topic."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from edge.hotlist.apply import ApplyCounters
from edge.updates.reasons import UpdateRejected

POLL_S = 0.5
QUEUED_BUNDLES = 2  # retained topics: the newest matters; a full queue refuses the rest

Announce = Callable[[dict[str, Any]], None]


class UpdateWorker:
    """Subclasses implement `apply(data, origin)`, `tick()` (each loop, even when idle),
    `result(version, ok, detail, reason)` and `running_label()`."""

    name = "updates"
    log = logging.getLogger(__name__)

    def __init__(self, stop: threading.Event, announce: Announce):
        self.stop_event, self.announce = stop, announce
        self.outcomes = ApplyCounters()
        self.inbox: queue.Queue[bytes] = queue.Queue(maxsize=QUEUED_BUNDLES)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def offer(self, data: bytes) -> bool:
        """Queue a bundle (paho's thread: never blocks); False when the queue is full (the
        bundle is retained: it comes again at the next connection)."""
        try:
            self.inbox.put_nowait(data)
        except queue.Full:
            self.outcomes.error()
            self.log.error("%s: bundle dropped, %d already waiting", self.name, QUEUED_BUNDLES)
            return False
        return True

    def refuse(self, rejected: UpdateRejected, origin: str) -> None:
        """Count, log and announce a refusal (any thread)."""
        self.outcomes.rejected(rejected.reason)
        self.log.warning(
            "%s rejected (%s): %s: %s; running %s kept",
            self.bundle_name,
            origin,
            rejected.reason,
            rejected.detail,
            self.running_label(),
        )
        self.announce(self.result(rejected.version, False, rejected.detail, str(rejected.reason)))

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout_s: float = 10.0) -> None:
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                data = self.inbox.get(timeout=POLL_S)
            except queue.Empty:
                data = None
            try:
                if data is not None:
                    self.apply(data, "mqtt")
                self.tick()
            except Exception:  # logged with its traceback and counted; what runs stays
                self.outcomes.error()
                self.log.exception("%s: an update failed", self.name)

    # --- the subclass's part ------------------------------------------------------------------

    bundle_name = "bundle"

    def apply(self, data: bytes, origin: str = "mqtt") -> None:
        raise NotImplementedError

    def tick(self) -> None:
        """Called every POLL_S in the worker thread."""

    def result(self, version: int | None, ok: bool, detail: str, reason: str | None) -> dict:
        raise NotImplementedError

    def running_label(self) -> str:
        raise NotImplementedError
