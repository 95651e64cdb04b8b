"""The stages of a running unit, built and wired to each other (`Unit.build_stages`): the writer,
the publisher, the pipeline, capture, the health reporter and supervisor that watch them, and
the live aiming page the pipeline hands its frames to (edge.live).

A part of `edge.unit.service.Unit`, kept apart so the unit's steps read in one screen: what is
declared here is opened by the steps before (`open_store`, `start_hotlists`, `load_models`).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from edge import __version__
from edge.capture.sources.base import FrameSource
from edge.capture.stage import Capture
from edge.config import Config
from edge.hotlist.index import IndexHolder
from edge.hotlist.matcher import Matcher
from edge.hotlist.sync import HotlistSync
from edge.live.control import control_path
from edge.live.holder import FrameHolder
from edge.live.page import LivePage, LiveSettings
from edge.records import Frame, HitDecided, ReadDecided
from edge.stages import Counters, Stage
from edge.store.writer import StoreSettings, StoreWriter
from edge.track.pipeline import Pipeline, PipelineSettings
from edge.track.reading import ReadContext
from edge.track.tracking import Tracker, TrackSettings
from edge.unit.console import StatusLine
from edge.unit.health import ClockState, HealthReporter
from edge.unit.notify import Notifier
from edge.unit.status import StatusFile
from edge.unit.summary import status_text
from edge.unit.supervisor import Supervisor
from edge.updates.config_update import ConfigUpdater
from edge.updates.unit import ModelUpdates
from edge.uplink.connection import Connection
from edge.uplink.publisher import Publisher
from edge.uplink.topics import Topics
from edge.vision.motion import MotionGate

if TYPE_CHECKING:
    from edge.unit.service import RunOptions


class UnitParts:
    # set by Unit.__init__ and the steps before build_stages
    config: Config
    options: RunOptions
    stop_event: threading.Event
    notifier: Notifier
    status_line: StatusLine
    status_file: StatusFile
    status_every: float
    counters: Counters
    clock: ClockState
    retry: threading.Event
    health_now: threading.Event
    live_requested: threading.Event
    store_path: Path
    health_conn: sqlite3.Connection
    source: FrameSource
    holder: IndexHolder
    connection: Connection
    sync: HotlistSync
    matcher: Matcher
    models: ModelUpdates
    config_updates: ConfigUpdater
    # built here
    stages: dict[str, Stage]
    publisher: Publisher
    writer: StoreWriter
    frames: queue.Queue[tuple[Frame, float] | None]
    gate: MotionGate
    pipeline: Pipeline
    capture: Capture
    health: HealthReporter
    supervisor: Supervisor
    live_holder: FrameHolder
    live: LivePage

    def build_stages(self) -> None:
        """Downstream first: writer ← publisher ← pipeline ← capture; then health and the
        supervisor that watch them."""
        self.stages = {
            "capture": Stage("capture", self.config.camera.capture_timeout_s + 1.0),
            "pipeline": Stage("pipeline", 15.0),
            "writer": Stage("writer", 60.0),
            "publisher": Stage("publisher", 15.0),
        }
        self.publisher = self._publisher()
        self.writer = StoreWriter(
            StoreSettings.from_config(self.config),
            self.stages["writer"],
            self.counters,
            on_stored=self.publisher.stored,
            on_replaced=self.publisher.store_replaced,
            on_release=self._release_store,
        )
        self.frames: queue.Queue[tuple[Frame, float] | None] = queue.Queue(maxsize=2)
        self.live_holder = FrameHolder()
        self.pipeline = self._pipeline()
        self.capture = Capture(
            self.source,
            self.frames,
            self.stop_event,
            self.stages["capture"],
            self.counters,
            timeout_s=self.config.camera.capture_timeout_s,
            max_frames=self.options.max_frames,
        )
        self.health = self._health()
        self.supervisor = Supervisor(
            self.stages,
            self.notifier,
            self.health,
            self.publisher.health,
            self.status_file,
            self.config.health.interval_s,
            self.status_line,
            lambda elapsed: status_text(self.counters, self.publisher, elapsed),
            self.status_every,
            self.health_now,
        )
        self.live = LivePage(
            LiveSettings.from_config(self.config),
            self.live_holder,
            self.counters,
            self.stop_event,
            control_path(Path(self.config.health.status_file)),
            self.live_requested,
            source_status=self.source.status,
            health=lambda: self.status_file.last,
        )

    def _publisher(self) -> Publisher:
        return Publisher(
            self.connection,
            Topics.from_config(self.config),
            self.store_path,
            self.stages["publisher"],
            self.counters,
            on_delivered=lambda kind, no: self.writer.delivered(
                kind, no, self.publisher.generation
            ),
            retry=self.retry,
            health_now=self.health_now,
            versions=lambda: {
                "software": __version__,
                "models": dict(self.models.holder.current.reader.model_versions),
                "hotlists": self.holder.versions(),
            },
        )

    def _pipeline(self) -> Pipeline:
        config = self.config
        self.gate = MotionGate(enabled=config.recognition.motion_gating)
        return Pipeline(
            self.models.holder,
            self.gate,
            Tracker(TrackSettings.from_config(config)),
            self.matcher,
            ReadContext.from_config(config, self.models.holder.current.reader.model_versions),
            PipelineSettings.from_config(config),
            emit=self._emit,
            counters=self.counters,
            on_frame=self.live_holder.offer,
        )

    def _emit(self, event: HitDecided | ReadDecided) -> None:
        self.writer.submit(event)
        if isinstance(event, ReadDecided):
            self.live_holder.offer_read(event)  # the page's "last reads" (only while served)

    def _health(self) -> HealthReporter:
        return HealthReporter(
            self.config.unit.id,
            self.counters,
            self.health_conn,
            self.store_path,
            list(self.stages.values()),
            self.clock,
            extra=lambda: {
                "motion_ratio": self.gate.ratio,
                "hotlists": self.holder.versions(),
                "hotlist_sync": self.sync.health(),
                "model_updates": self.models.updater.status(),
                "config_updates": self.config_updates.status(),
                "broker": self.publisher.status(),
                "source": self.source.status(),
                "store": self.writer.condition.snapshot(),
            },
            store_generation=lambda: self.writer.generation,
        )

    def _release_store(self) -> None:
        """The writer is replacing the store file: everyone else lets go of the old one."""
        self.publisher.release_store()
        self.health.release_store()
