"""The whole unit, wired in one place and in the order it starts (`anpr-edge run`): `Unit`.

    source ─frames─▶ pipeline ─hits, reads─▶ store writer ─committed─▶ publisher ─▶ broker
     (capture)     (motion, models,          (SQLite: reads,          (outbox, PUBACK,
                    tracks, hotlists)          hits, outbox)             status, health)
                                  ▲                   ▲                        │
                     hotlist sync ┘                   └──── delivered ◀────────┘

Start: source checked → store → hotlists (index loaded, MQTT sync started) → models (the model
store's current version, else the previous, else the base: edge.updates) → writer
→ publisher → the MQTT connection → pipeline → the live page (edge.live: open now when
`live.enabled`, else on `anpr-edge camera live`) → camera and capture → READY. The publisher, the
command desk and the hotlist sync share the unit's one MQTT connection (edge.uplink), which
connects once all of them are there to see its first CONNACK. The main thread then supervises: the
status line, health every `health.interval_s`, the systemd watchdog (fed only while every stage
beats), the run's duration. Stop (SIGTERM, SIGINT, the source's end, `--duration`): STOPPING →
capture stops → the pipeline finishes its frames and decides every open track → the writer
commits them → the publisher sends what it can in a few seconds and says `offline` → the writer
closes the store → the hotlist sync stops → the connection disconnects. Whatever was not
delivered stays in the outbox for the next start.

The live page closes first on the way out. The status file (`health.status_file`, for
`anpr-edge status`) says "starting" from the moment
SIGUSR1 is handled (`anpr-edge outbox --retry-now`: retry delivery now), "running" every few
seconds, "stopping" and finally "stopped", however the run ends.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import __version__
from edge.capture.sources import make_source
from edge.config import Config
from edge.hotlist.fuzzy import FuzzyPolicy
from edge.hotlist.index import IndexHolder
from edge.hotlist.matcher import Matcher
from edge.hotlist.reasons import StoreReasons
from edge.hotlist.storefile import open_hotlists
from edge.hotlist.unit import make_sync
from edge.mqtt import BrokerSettings
from edge.stages import Counters, start_stage
from edge.store.database import open_database
from edge.store.reads import ReadStore
from edge.store.writer import END
from edge.track.pipeline import run_pipeline
from edge.unit.console import StatusLine
from edge.unit.health import ClockState
from edge.unit.notify import Notifier
from edge.unit.parts import UnitParts
from edge.unit.signals import flag_on_signal, signals_stop
from edge.unit.status import STATUS_FILE_S, StatusFile, bare_status
from edge.unit.storewait import open_when_possible
from edge.unit.summary import run_summary
from edge.updates.config_update import EXIT_RESTART, Effective
from edge.updates.unit import make_config_updates, make_model_updates
from edge.uplink.connection import Connection

log = logging.getLogger(__name__)

HOTLIST_LOAD_S = 120.0
PUBLISH_ON_STOP_S = 5.0
JOIN_S = 30.0


@dataclass(frozen=True)
class RunOptions:
    source: str | None = None  # --source SPEC, else camera.source
    duration_s: float | None = None
    max_frames: int | None = None
    truth: Path | None = None
    config_file: str = ""
    remote: Effective | None = None  # the file merged with a remote configuration (run_cmd)


class Unit(UnitParts):
    """The running unit: `run()` takes the named steps below in order, supervises, and stops in
    reverse. One `stop` event ends it (signals, the source's end, a crashed stage, `--duration`,
    or a test setting it)."""

    def __init__(
        self,
        config: Config,
        options: RunOptions,
        *,
        stop: threading.Event | None = None,
        notifier: Notifier | None = None,
        status_line: StatusLine | None = None,
    ):
        self.config, self.options = config, options
        self.stop_event = stop or threading.Event()
        self.notifier = notifier or Notifier.from_environment()
        self.status_line = status_line or StatusLine(sys.stderr, False)  # off: never written
        self.counters = Counters()
        self.crashed = threading.Event()
        self.restart_requested = threading.Event()  # a new configuration: exit 75
        self.clock = ClockState()
        self.retry = threading.Event()  # SIGUSR1: the publisher skips its back-off once
        self.health_now = threading.Event()  # a `health` command from the centre
        self.live_requested = threading.Event()  # SIGUSR2: `anpr-edge camera live`
        self.status_file = StatusFile(Path(config.health.status_file))
        self.status_every = min(config.health.interval_s, STATUS_FILE_S)
        self.store_path = Path(config.storage.path)
        self.hotlist_path = Path(config.storage.hotlist_file)
        self.threads: dict[str, threading.Thread] = {}

    def run(self) -> dict[str, Any]:
        """Run until stopped; returns the run's summary (exit code under "exit_code")."""
        self.restore_signals = [
            flag_on_signal(signal.SIGUSR1, self.retry),
            flag_on_signal(signal.SIGUSR2, self.live_requested),
        ]
        self.status_file.write(self._bare("starting"))
        log.info("anpr-edge %s starting: unit %s", __version__, self.config.unit.id)
        self.notifier.status("starting")
        # the frame source, checked (not opened) before anything starts
        self.source = make_source(
            self.config, self.options.source, truth=self.options.truth, clock_synced=self.clock
        )
        self.open_store()
        self.start_hotlists()
        self.load_models()
        self.start_remote_config()
        self.build_stages()
        self.start()
        self.start_live_page()
        started = time.monotonic()
        try:
            self.supervise(started)
        finally:
            elapsed = time.monotonic() - started
            final = self.stop()
        return self.summary(final, elapsed)

    def open_store(self) -> None:
        """Reads, hits and the outbox, migrated to the latest schema here, before any stage
        opens its own connection (two first opens at once can meet a lock)."""
        self.health_conn = open_when_possible(
            lambda: open_database(self.store_path, same_thread=False),
            self.store_path,
            self.stop_event,
            self.notifier,
            self._waiting,
        )
        backlog = ReadStore(self.health_conn).backlog()
        if backlog["hits"] or backlog["reads"]:
            log.info(
                "store %s: %d hit(s), %d read(s) still to deliver",
                self.store_path,
                backlog["hits"],
                backlog["reads"],
            )

    def start_hotlists(self) -> None:
        """The index from the hotlist file (edge.hotlist.storefile: lists an older version kept
        in the store are moved there now, once), kept current by the MQTT sync on the unit's
        one connection."""
        config = self.config
        open_when_possible(
            lambda: open_hotlists(self.hotlist_path, legacy_store=self.store_path),
            self.hotlist_path,
            self.stop_event,
            self.notifier,
            self._waiting,
        ).close()
        self.holder = IndexHolder()
        self.connection = Connection(BrokerSettings.from_config(config, config.mqtt_client_id))
        self.sync = make_sync(
            config, self.holder, self.stop_event, self.options.config_file, self.connection
        )
        self.sync.start()
        if not self.sync.wait_ready(HOTLIST_LOAD_S):
            log.warning(
                "hotlists not loaded (%s); reading plates meanwhile",
                "still loading"
                if self.sync.alive()
                else "the sync stopped on an error, logged above",
            )
        self.matcher = Matcher(
            self.holder, FuzzyPolicy.from_config(config), reasons=StoreReasons(self.hotlist_path)
        )
        log.info("hotlists held: %s", _versions_text(self.holder.versions()) or "none yet")

    def load_models(self) -> None:
        """The version the model store names (checked again: it loads and reads its golden
        images), else the one before, else the base models (edge.updates.model_start); then
        the updater that switches models between frames, and its MQTT intake."""
        self.models = make_model_updates(
            self.config,
            self.counters,
            self.stop_event,
            self.connection,
            announce=lambda result: self.publisher.announce(result),
            config_file=self.options.config_file,
        )
        active = self.models.holder.current
        log.info(
            "models %s: %s",
            active.label,
            ", ".join(f"{k} {v}" for k, v in active.reader.model_versions),
        )

    def start_remote_config(self) -> None:
        """Signed partial configurations: accepted ones restart the unit (exit 75, systemd
        starts it again on them); a pending one is confirmed after it ran a while
        (edge.updates.config_update)."""
        self.config_updates = make_config_updates(
            self.options.remote
            or Effective(self.config, Path(self.options.config_file), None, False),
            self.stop_event,
            self.connection,
            restart=self._restart,
            announce=lambda result: self.publisher.announce(result),
            config_file=self.options.config_file,
        )

    def start(self) -> None:
        """The connection first (every part has registered: each sees the first CONNACK), then
        the stages' threads; capture starts once the camera is open (`supervise`)."""
        self.connection.start()
        for name, loop in (
            ("writer", self.writer.run),
            ("publisher", self.publisher.run),
            ("pipeline", self._run_pipeline),
        ):
            self.threads[name] = start_stage(self.stages[name], loop, self.counters, self._crash)
        self.models.updater.start()
        self.config_updates.start()

    def start_live_page(self) -> None:
        """Its own thread, which opens the page now (`live.enabled`) or when asked (SIGUSR2),
        and closes it when its time is up or the unit stops; the pipeline hands it frames only
        while a page watches."""
        self.live.start()

    def supervise(self, started: float) -> None:
        """Open the camera, capture into the pipeline, and watch until the stop event."""
        stop, source = self.stop_event, self.source
        with signals_stop(stop), source:
            capture = start_stage(
                self.stages["capture"], self.capture.run, self.counters, self._crash
            )
            self.threads["capture"] = capture
            log.info("reading frames from %s", source.describe())
            self.notifier.ready(f"reading frames from {source.kind}")
            self.supervisor.run(stop, self.capture.ended, started, self.options.duration_s)
            self.notifier.stopping("stopping: finishing work in hand")
            self.status_file.write(self._status("stopping"))
            stop.set()
            capture.join(self.config.camera.capture_timeout_s + 5.0)

    def stop(self) -> dict[str, Any]:
        """The orderly stop, upstream first, so nothing decided is lost (also when the camera
        failed to open); returns the final health figures."""
        self.stop_event.set()
        self.live.stop()
        self.threads["pipeline"].join(JOIN_S)
        _wait(self.writer.idle, JOIN_S)
        self.publisher.close(PUBLISH_ON_STOP_S)
        self.threads["publisher"].join(PUBLISH_ON_STOP_S + JOIN_S)
        self.writer.submit(END)
        self.threads["writer"].join(JOIN_S)
        final = self.health.snapshot()  # after the writer has marked the last deliveries
        stopped = self._status("stopped")
        self.status_file.write({**stopped, "stopped_at": stopped["at"]})
        for restore in self.restore_signals:
            restore()
        self.sync.join(JOIN_S)
        self.models.updater.join(JOIN_S)
        self.config_updates.join(JOIN_S)
        self.connection.stop()
        self.status_line.clear()
        self.health.close()
        return final

    def summary(self, final: dict[str, Any], elapsed: float) -> dict[str, Any]:
        counters = self.counters
        failed = self.crashed.is_set() or self.writer.condition.replaced > 0
        summary = run_summary(counters, self.publisher, final, elapsed, failed)
        if self.restart_requested.is_set() and summary["exit_code"] == 0:
            summary["exit_code"] = EXIT_RESTART  # systemd starts it again on the new config
        log.info(
            "stopped after %.0f s: %d frames (%.1f fps), %d reads, %d hits; %d hit(s) and %d "
            "read(s) left to deliver",
            elapsed,
            counters.frames,
            summary["fps"],
            counters.reads,
            counters.hits,
            final["backlog"]["hits"],
            final["backlog"]["reads"],
        )
        return summary

    def _run_pipeline(self) -> None:
        run_pipeline(
            self.pipeline, self.frames, self.stop_event, self.stages["pipeline"], self.counters
        )

    def _restart(self) -> None:
        log.warning("stopping so that systemd restarts the unit on its new configuration")
        self.restart_requested.set()
        self.stop_event.set()

    def _crash(self) -> None:
        self.crashed.set()
        self.stop_event.set()

    def _waiting(self, reason: str) -> None:
        self.status_file.write({**self._bare("starting"), "waiting": reason})

    def _bare(self, state: str) -> dict[str, Any]:
        return bare_status(self.config.unit.id, state, self.status_every)

    def _status(self, state: str) -> dict[str, Any]:
        try:
            return self.health.status(state, self.status_every)
        except sqlite3.Error as exc:  # the store failed (the run is ending because of it?)
            log.warning("status file without store figures: %s", exc)
            return self._bare(state)


def run_unit(
    config: Config,
    options: RunOptions,
    *,
    stop: threading.Event | None = None,
    notifier: Notifier | None = None,
    status_line: StatusLine | None = None,
) -> dict[str, Any]:
    """`Unit(...).run()` in one call."""
    return Unit(config, options, stop=stop, notifier=notifier, status_line=status_line).run()


def _versions_text(versions: dict[str, int]) -> str:
    return ", ".join(f"{name} v{version}" for name, version in sorted(versions.items()))


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
