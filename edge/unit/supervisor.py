"""The main thread's loop while the unit runs: when to stop, the systemd watchdog, health, the
status file (every `status_interval_s`, at most `STATUS_FILE_S`: a technician's `anpr-edge
status` should not show a minute-old picture when health goes to the centre once a minute) and
the status line.

The watchdog is fed (at half systemd's interval) only while every stage has beaten within its
allowance: a stage that hangs (a wedged camera, a stuck store) stops the feeding, is logged
once, and systemd restarts the unit; a stage that recovers is logged and feeding resumes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.stages import Stage
from edge.unit.console import StatusLine
from edge.unit.health import HealthReporter
from edge.unit.notify import Notifier
from edge.unit.status import StatusFile

log = logging.getLogger(__name__)

TICK_S = 0.5
STATUS_LINE_S = 1.0


@dataclass
class Supervisor:
    stages: dict[str, Stage]
    notifier: Notifier
    health: HealthReporter
    publish_health: Callable[[dict[str, Any]], None]
    status_file: StatusFile
    health_interval_s: float
    status_line: StatusLine
    status_text: Callable[[float], str]  # elapsed seconds → one line
    status_interval_s: float
    health_now: threading.Event = field(default_factory=threading.Event)  # the centre asked

    def run(
        self,
        stop: threading.Event,
        source_ended: threading.Event,
        started: float,
        duration_s: float | None,
    ) -> None:
        """Until stop is set, the source ends or `duration_s` has passed."""
        interval = self.notifier.watchdog_interval_s
        next_watchdog = next_status = next_file = time.monotonic()
        next_health = time.monotonic() + self.health_interval_s
        silent: set[str] = set()
        while not stop.wait(TICK_S):
            now = time.monotonic()
            if source_ended.is_set():
                return
            if duration_s is not None and now - started >= duration_s:
                log.info("run time of %.0f s reached", duration_s)
                return
            dead = {name for name, stage in self.stages.items() if not stage.alive(now)}
            self._report_changes(silent, dead, now)
            silent = dead
            if interval is not None and not dead and now >= next_watchdog:
                self.notifier.watchdog()
                next_watchdog = now + interval
            if now >= next_health or self.health_now.is_set():
                self.health_now.clear()
                self.publish_health(self.health.snapshot())
                next_health = now + self.health_interval_s
            if now >= next_file:
                self.status_file.write(self.health.status("running", self.status_interval_s))
                next_file = now + self.status_interval_s
            if now >= next_status:
                text = self.status_text(now - started)
                self.status_line.show(text)
                self.notifier.status(text)
                next_status = now + STATUS_LINE_S

    def _report_changes(self, silent: set[str], dead: set[str], now: float) -> None:
        for name in sorted(dead - silent):
            log.error(
                "stage %s silent for %.1f s%s; not feeding the watchdog",
                name,
                self.stages[name].silent_for(now),
                " (camera stalled)" if name == "capture" else "",
            )
        for name in sorted(silent - dead):
            log.info("stage %s is running again", name)
