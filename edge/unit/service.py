"""The whole unit, wired in one place and in the order it starts (`anpr-edge run`).

    source ─frames─▶ pipeline ─hits, reads─▶ store writer ─committed─▶ publisher ─▶ broker
     (capture)     (motion, models,          (SQLite: reads,          (outbox, PUBACK,
                    tracks, hotlists)          hits, outbox)             status, health)
                                  ▲                   ▲                        │
                     hotlist sync ┘                   └──── delivered ◀────────┘

Start: source checked → store → hotlists (index loaded, MQTT sync started) → models → writer
→ publisher → the MQTT connection → pipeline → camera and capture → READY. The publisher, the
command desk and the hotlist sync share the unit's one MQTT connection (edge.uplink), which
connects once all of them are there to see its first CONNACK. The main thread then supervises: the
status line, health every `health.interval_s`, the systemd watchdog (fed only while every stage
beats), the run's duration. Stop (SIGTERM, SIGINT, the source's end, `--duration`): STOPPING →
capture stops → the pipeline finishes its frames and decides every open track → the writer
commits them → the publisher sends what it can in a few seconds and says `offline` → the writer
closes the store → the hotlist sync stops → the connection disconnects. Whatever was not
delivered stays in the outbox for the next start.

The status file (`health.status_file`, for `anpr-edge status`) says "starting" from the moment
SIGUSR1 is handled (`anpr-edge outbox --retry-now`: retry delivery now), "running" every few
seconds, "stopping" and finally "stopped", however the run ends.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import __version__
from edge.capture.sources import make_source
from edge.capture.stage import Capture
from edge.config import Config
from edge.hotlist.index import IndexHolder
from edge.hotlist.matcher import Matcher
from edge.hotlist.reasons import StoreReasons
from edge.hotlist.storefile import open_hotlists
from edge.hotlist.unit import fuzzy_policy, make_sync
from edge.mqtt import BrokerSettings
from edge.stages import Counters, Stage, start_stage
from edge.store.database import open_database
from edge.store.reads import ReadStore
from edge.store.writer import END, StoreSettings, StoreWriter
from edge.track.pipeline import Pipeline, PipelineSettings, run_pipeline
from edge.track.reading import ReadContext
from edge.track.tracking import Tracker, TrackSettings
from edge.unit.console import StatusLine
from edge.unit.health import ClockState, HealthReporter
from edge.unit.notify import Notifier
from edge.unit.signals import retry_on_sigusr1, signals_stop
from edge.unit.status import STATUS_FILE_S, StatusFile, bare_status
from edge.unit.storewait import open_when_possible
from edge.unit.summary import run_summary, status_text
from edge.unit.supervisor import Supervisor
from edge.uplink.connection import Connection
from edge.uplink.publisher import Publisher
from edge.uplink.topics import Topics
from edge.vision.motion import MotionGate
from edge.vision.reader import PlateReader

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


def run_unit(
    config: Config,
    options: RunOptions,
    *,
    stop: threading.Event | None = None,
    notifier: Notifier | None = None,
    status_line: StatusLine | None = None,
) -> dict[str, Any]:
    """Run until stopped; returns the run's summary (exit code under "exit_code")."""
    stop = stop or threading.Event()
    notifier = notifier or Notifier.from_environment()
    status_line = status_line or StatusLine(None, False)  # type: ignore[arg-type]
    counters = Counters()
    crashed = threading.Event()
    clock = ClockState()
    retry = threading.Event()  # SIGUSR1: the publisher skips its back-off once
    health_now = threading.Event()  # a `health` command from the centre
    restore_sigusr1 = retry_on_sigusr1(retry)
    status_file = StatusFile(Path(config.health.status_file))
    status_every = min(config.health.interval_s, STATUS_FILE_S)
    status_file.write(bare_status(config.unit.id, "starting", status_every))

    def crash() -> None:
        crashed.set()
        stop.set()

    log.info("anpr-edge %s starting: unit %s", __version__, config.unit.id)
    notifier.status("starting")

    # 0. The frame source, checked (not opened) before anything starts.
    source = make_source(config, options.source, truth=options.truth, clock_synced=clock)

    # 1. The store: reads, hits and the outbox, migrated to the latest schema, here, before
    # any stage opens its own connection (two first opens at once can meet a lock).
    store_path = Path(config.storage.path)

    def waiting(reason: str) -> None:
        status_file.write(
            {**bare_status(config.unit.id, "starting", status_every), "waiting": reason}
        )

    health_conn = open_when_possible(
        lambda: open_database(store_path, same_thread=False), store_path, stop, notifier, waiting
    )
    backlog = ReadStore(health_conn).backlog()
    if backlog["hits"] or backlog["reads"]:
        log.info(
            "store %s: %d hit(s), %d read(s) still to deliver",
            store_path,
            backlog["hits"],
            backlog["reads"],
        )

    # 2. Hotlists: the index from the store, kept current by the MQTT sync.
    # In a file of their own (edge.hotlist.storefile); lists an older version kept in the
    # store are moved there now, once.
    hotlist_path = Path(config.storage.hotlist_file)
    open_when_possible(
        lambda: open_hotlists(hotlist_path, legacy_store=store_path),
        hotlist_path,
        stop,
        notifier,
        waiting,
    ).close()
    holder = IndexHolder()
    connection = Connection(BrokerSettings.from_config(config, config.mqtt_client_id))
    sync = make_sync(config, holder, stop, options.config_file, connection)
    sync.start()
    if not sync.wait_ready(HOTLIST_LOAD_S):
        log.warning(
            "hotlists not loaded (%s); reading plates meanwhile",
            "still loading" if sync.alive() else "the sync stopped on an error, logged above",
        )
    matcher = Matcher(holder, fuzzy_policy(config), reasons=StoreReasons(hotlist_path))
    log.info("hotlists held: %s", _versions_text(holder.versions()) or "none yet")

    # 3. The models.
    reader = PlateReader.from_files(
        config.models.detector,
        config.models.recogniser,
        threads=config.models.threads,
        region=config.recognition.region,
        threshold=config.models.detector_threshold,
    )
    log.info("models: %s", ", ".join(f"{k} {v}" for k, v in reader.model_versions))

    # 4. The stages, downstream first: writer ← publisher ← pipeline ← capture.
    camera = config.camera
    stages = {
        "capture": Stage("capture", camera.capture_timeout_s + 1.0),
        "pipeline": Stage("pipeline", 15.0),
        "writer": Stage("writer", 60.0),
        "publisher": Stage("publisher", 15.0),
    }
    publisher = Publisher(
        connection,
        Topics(config.mqtt.topic_prefix, config.unit.id),
        store_path,
        stages["publisher"],
        counters,
        on_delivered=lambda kind, no: writer.delivered(kind, no, publisher.generation),
        retry=retry,
        health_now=health_now,
        versions=lambda: {
            "software": __version__,
            "models": dict(reader.model_versions),
            "hotlists": holder.versions(),
        },
    )
    writer = StoreWriter(
        StoreSettings(
            store_path,
            retention_s=config.storage.retention_days * 86400.0,
            quota_bytes=config.storage.quota_mb * 1024 * 1024,
            min_free_bytes=config.storage.min_free_mb * 1024 * 1024,
        ),
        stages["writer"],
        counters,
        on_stored=publisher.stored,
        on_replaced=publisher.store_replaced,
        on_release=lambda: (publisher.release_store(), health.release_store()),
    )
    gate = MotionGate(enabled=config.recognition.motion_gating)
    pipeline = Pipeline(
        reader,
        gate,
        Tracker(
            TrackSettings(
                gap_s=config.recognition.track_gap_s,
                max_s=config.recognition.max_track_s,
                region=config.recognition.region,
                keep_frames=config.storage.keep_overview,
            )
        ),
        matcher,
        ReadContext(
            unit_id=config.unit.id,
            camera_id=config.unit.camera_id,
            location=(config.unit.location.lat, config.unit.location.lon)
            if config.unit.location
            else None,
            model_versions=reader.model_versions,
            direction_hint=config.unit.direction_hint,
            keep_overview=config.storage.keep_overview,
        ),
        PipelineSettings(
            region=config.recognition.region,
            hit_min_frames=config.recognition.hit_min_frames,
            min_confidence=config.models.recogniser_min_confidence,
            min_read_confidence=config.recognition.min_read_confidence,
        ),
        emit=writer.submit,
        counters=counters,
    )
    frames: queue.Queue = queue.Queue(maxsize=2)
    connection.start()  # every part has registered: each sees the first CONNACK
    threads = {
        "writer": start_stage(stages["writer"], writer.run, counters, crash),
        "publisher": start_stage(stages["publisher"], publisher.run, counters, crash),
        "pipeline": start_stage(
            stages["pipeline"],
            lambda: run_pipeline(pipeline, frames, stop, stages["pipeline"], counters),
            counters,
            crash,
        ),
    }

    # 5. Capture from the camera (opened below) into the pipeline.
    capture = Capture(
        source,
        frames,
        stop,
        stages["capture"],
        counters,
        timeout_s=camera.capture_timeout_s,
        max_frames=options.max_frames,
    )
    health = HealthReporter(
        config.unit.id,
        counters,
        health_conn,
        store_path,
        list(stages.values()),
        clock,
        extra=lambda: {
            "motion_ratio": gate.ratio,
            "hotlists": holder.versions(),
            "hotlist_sync": sync.health(),
            "broker": publisher.status(),
            "source": source.status(),
            "store": writer.condition.snapshot(),
        },
        store_generation=lambda: writer.generation,
    )
    supervisor = Supervisor(
        stages,
        notifier,
        health,
        publisher.health,
        status_file,
        config.health.interval_s,
        status_line,
        lambda elapsed: status_text(counters, publisher, elapsed),
        status_every,
        health_now,
    )
    started = time.monotonic()
    try:
        with signals_stop(stop), source:
            threads["capture"] = start_stage(stages["capture"], capture.run, counters, crash)
            log.info("reading frames from %s", source.describe())
            notifier.ready(f"reading frames from {source.kind}")
            supervisor.run(stop, capture.ended, started, options.duration_s)
            notifier.stopping("stopping: finishing work in hand")
            status_file.write(_status(health, "stopping", status_every))
            stop.set()
            threads["capture"].join(camera.capture_timeout_s + 5.0)
    finally:
        # 6. The orderly stop, upstream first, so nothing decided is lost (also when the
        # camera failed to open).
        stop.set()
        elapsed = time.monotonic() - started
        threads["pipeline"].join(JOIN_S)
        _wait(writer.idle, JOIN_S)
        publisher.close(PUBLISH_ON_STOP_S)
        threads["publisher"].join(PUBLISH_ON_STOP_S + JOIN_S)
        writer.submit(END)
        threads["writer"].join(JOIN_S)
        final = health.snapshot()  # after the writer has marked the last deliveries
        stopped = _status(health, "stopped", status_every)
        status_file.write({**stopped, "stopped_at": stopped["at"]})
        restore_sigusr1()
        sync.join(JOIN_S)
        connection.stop()
        status_line.clear()
        health.close()
    summary = run_summary(
        counters, publisher, final, elapsed, crashed.is_set() or writer.condition.replaced > 0
    )
    log.info(
        "stopped after %.0f s: %d frames (%.1f fps), %d reads, %d hits; %d hit(s) and %d read(s) "
        "left to deliver",
        elapsed,
        counters.frames,
        summary["fps"],
        counters.reads,
        counters.hits,
        final["backlog"]["hits"],
        final["backlog"]["reads"],
    )
    return summary


def _status(health: HealthReporter, state: str, every_s: float) -> dict[str, Any]:
    try:
        return health.status(state, every_s)
    except sqlite3.Error as exc:  # the store failed (the run is ending because of it?)
        log.warning("status file without store figures: %s", exc)
        return bare_status(health.unit_id, state, every_s)


def _versions_text(versions: dict[str, int]) -> str:
    return ", ".join(f"{name} v{version}" for name, version in sorted(versions.items()))


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
