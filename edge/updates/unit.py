"""Wiring of model updates into the running unit (`Unit.load_models`): the models to start
on, the holder the pipeline reads per frame, the updater and, when the configuration trusts
keys for models, its MQTT intake on the unit's connection."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import Config
from edge.envelope import envelope_limit
from edge.hotlist.signing import PublicKey, load_trusted_keys
from edge.stages import Counters
from edge.updates.config_bundle import RULES
from edge.updates.config_update import ConfigUpdater, Effective
from edge.updates.intake import BundleIntake
from edge.updates.model_start import start_models
from edge.updates.model_store import ModelStore
from edge.updates.model_updater import ModelUpdater, Trial
from edge.updates.readers import ReaderHolder
from edge.uplink.connection import Connection
from edge.uplink.topics import config_topic, model_topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelUpdates:
    holder: ReaderHolder
    updater: ModelUpdater
    intake: BundleIntake | None  # None: models.trusted_keys empty, no remote updates


def model_trusted_keys(config: Config, config_file: str = "") -> dict[str, PublicKey]:
    paths = [Path(path) for path in config.models.trusted_keys]
    return load_trusted_keys(paths, config_file, "models.trusted_keys") if paths else {}


def make_model_updates(
    config: Config,
    counters: Counters,
    stop: threading.Event,
    connection: Connection,
    announce: Callable[[dict[str, Any]], None],
    config_file: str = "",
) -> ModelUpdates:
    store = ModelStore(config.model_store_dir)
    active, state, on_trial = start_models(config, store)
    holder = ReaderHolder(active)
    trial = (
        Trial(state.current, time.monotonic(), None, None) if on_trial and state.current else None
    )
    trusted = model_trusted_keys(config, config_file)
    updater = ModelUpdater(
        config, store, holder, counters, stop, trusted=trusted, announce=announce, trial=trial
    )
    intake = None
    if trusted:
        intake = BundleIntake(
            connection,
            model_topic(config.mqtt.topic_prefix, config.models.group),
            envelope_limit(updater.max_payload_bytes),
            updater.offer,
            updater.refuse,
            "models.max_bundle_mb",
        )
    return ModelUpdates(holder, updater, intake)


def make_config_updates(
    effective: Effective,
    stop: threading.Event,
    connection: Connection,
    restart: Callable[[], None],
    announce: Callable[[dict[str, Any]], None],
    config_file: str = "",
) -> ConfigUpdater:
    """The updater of signed partial configurations (always: it confirms a pending one), with
    its MQTT intake when `remote_config.trusted_keys` are set."""
    config = effective.config
    for problem in effective.problems:
        log.error("%s", problem)
    if effective.version is not None:
        log.info(
            "configuration: %s with remote v%d%s",
            effective.file,
            effective.version,
            " (pending: confirmed after remote_config.confirm_after_s)"
            if effective.pending
            else "",
        )
    paths = [Path(path) for path in config.remote_config.trusted_keys]
    trusted = load_trusted_keys(paths, config_file, "remote_config.trusted_keys") if paths else {}
    updater = ConfigUpdater(effective, trusted, stop, restart, announce)
    if trusted:
        BundleIntake(
            connection,
            config_topic(config.mqtt.topic_prefix, config.remote_config.group),
            RULES.max_envelope_bytes,
            updater.offer,
            updater.refuse,
            RULES.size_setting,
        )
    return updater
