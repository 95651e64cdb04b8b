"""The unit's model updates: one worker thread that takes signed bundles (from MQTT or a
technician), checks, stages and tests them, switches the reader between two frames, watches
the new models on trial and switches back by itself when they fail.

Order, and why a power cut anywhere leaves a working unit:
1. verify (edge.updates.model_bundle: signature, version above the highest seen, software,
   every file's size and sha256, manifests): nothing written yet;
2. stage the version folder (edge.updates.model_store: written whole or not at all);
3. load the models and read the golden images with them; a failure is refused, the folder
   removed, the version remembered as seen (so the retained bundle is not tried again);
4. the state file names the new version current (on trial) and the old one previous, then the
   holder is swapped: the pipeline takes the new reader at its next frame. A unit killed
   between 3 and 4 starts on the old version (the bundle, retained, comes again); after 4, on
   the new one, whose load and golden test are repeated at start (edge.updates.model_start);
5. after `models.trial_window_s`: confirmed, or rolled back (`degraded`) to the previous
   models, which stay loaded in memory during the trial so the switch back is as quick.
Every outcome is logged, counted (health `model_updates`) and announced on the command result
topic.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from edge.hotlist.signing import PublicKey
from edge.stages import Counters
from edge.updates.model_bundle import open_model_bundle
from edge.updates.model_start import base_paths, result_of
from edge.updates.model_store import ModelState, ModelStore
from edge.updates.readers import ActiveModels, ReaderHolder, checked_models, load_models
from edge.updates.reasons import Reason, UpdateRejected
from edge.updates.trial import Figures, ReadLedger, TrialSettings, degraded
from edge.updates.worker import Announce, UpdateWorker

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trial:
    version: int
    started: float  # monotonic
    before: Figures | None  # the previous models' figures (None: resumed after a restart)
    previous: ActiveModels | None  # kept loaded for an instant switch back (None: resumed)


class ModelUpdater(UpdateWorker):
    name = "model-updates"
    bundle_name = "model bundle"
    log = log

    def __init__(
        self,
        config: Config,
        store: ModelStore,
        holder: ReaderHolder,
        counters: Counters,
        stop: threading.Event,
        *,
        trusted: dict[str, PublicKey],
        announce: Announce = lambda result: None,
        trial: Trial | None = None,
    ):
        super().__init__(stop, announce)
        self.config, self.store, self.holder = config, store, holder
        self.trusted = trusted
        self.settings = TrialSettings.from_config(config)
        self.max_payload_bytes = config.models.max_bundle_mb * 1024 * 1024
        self.ledger = ReadLedger(counters, keep_s=2 * self.settings.window_s + 10)
        self.trial = trial
        self.pending: int | None = None
        self.last_switch: dict[str, Any] | None = None
        self._serial = store.read().serial

    def status(self) -> dict[str, Any]:
        """For health and the status file: versions, trial, outcomes."""
        state = self.store.read()
        active = self.holder.current
        trial = self.trial
        return {
            "current": active.version,
            "previous": state.previous,
            "pending": self.pending,
            "highest_seen": state.highest_seen,
            "models": dict(active.reader.model_versions),
            "trial": None
            if trial is None
            else {
                "version": trial.version,
                "remaining_s": round(
                    max(0.0, trial.started + self.settings.window_s - time.monotonic()), 1
                ),
            },
            "rolled_back": list(state.rolled_back),
            "last_switch": self.last_switch,
            **self.outcomes.snapshot(),
        }

    # --- the worker ---------------------------------------------------------------------------

    def tick(self) -> None:
        self.ledger.sample()
        self._follow_technician()
        self._judge_trial()

    def running_label(self) -> str:
        return self.holder.current.label

    def result(self, version: int | None, ok: bool, detail: str, reason: str | None) -> dict:
        return result_of(self.config, version, ok, detail, reason)

    def apply(self, data: bytes, origin: str = "mqtt") -> None:
        """One bundle: refused with its reason (the running models kept), or switched to."""
        started = time.monotonic()
        try:
            bundle = open_model_bundle(data, self.trusted, self.max_payload_bytes)
            state = self.store.read()
            if bundle.version == state.highest_seen:
                log.debug("model bundle v%d already seen; nothing to do", bundle.version)
                return
            if bundle.version < state.highest_seen:
                raise UpdateRejected(
                    Reason.STALE_VERSION,
                    f"v{bundle.version} is older than v{state.highest_seen}, the highest "
                    "seen: a replay or rollback",
                    bundle.version,
                )
            self.pending = bundle.version
            log.info(
                "model bundle v%d verified (key %s, %s); staging",
                bundle.version,
                bundle.key_id,
                ", ".join(bundle.roles),
            )
            running = self.store.paths(self.holder.current.version, base_paths(self.config))
            paths = self.store.stage(bundle, running)
            log.info(
                "models v%d staged; loading them and reading the golden images", bundle.version
            )
            try:
                models, golden = checked_models(self.config, paths)
            except UpdateRejected:
                self.store.prune(_kept(state) | {self.holder.current.version})
                self._remember_seen(bundle.version)
                raise
        except UpdateRejected as rejected:
            self.pending = None
            self.refuse(rejected, origin)
            return
        except Exception:
            self.pending = None
            raise
        prepared_s = time.monotonic() - started
        self._switch(models, origin, f"golden {golden.plates} plates in {golden.seconds:.2f} s")
        self.pending = None
        self.last_switch = {**(self.last_switch or {}), "prepared_s": round(prepared_s, 2)}

    def _switch(self, models: ActiveModels, origin: str, note: str) -> None:
        version = models.version
        assert version is not None
        with self.store.locked():
            state = self.store.read()
            written = self.store.write(
                replace(
                    state,
                    current=version,
                    previous=self.holder.current.version,
                    highest_seen=max(state.highest_seen, version),
                    trial=version,
                    trial_starts=0,
                )
            )
        self._serial = written.serial
        now = time.monotonic()
        self.ledger.sample(now, force=True)
        before = self.ledger.between(now - self.settings.window_s, now)
        swap_started = time.perf_counter()
        old = self.holder.swap(models)
        swap_ms = (time.perf_counter() - swap_started) * 1000.0
        self.trial = Trial(version, now, before, old)
        self.last_switch = {"from": old.label, "to": models.label, "swap_ms": round(swap_ms, 3)}
        self.outcomes.applied()
        detail = (
            f"models {old.label} → {models.label} ({', '.join(_versions(models))}), on trial "
            f"for {self.settings.window_s:g} s; {note}"
        )
        log.info("model update applied (%s): %s", origin, detail)
        self.announce(self.result(version, True, detail, None))

    def _remember_seen(self, version: int) -> None:
        with self.store.locked():
            state = self.store.read()
            if version > state.highest_seen:
                self._serial = self.store.write(replace(state, highest_seen=version)).serial

    def _judge_trial(self) -> None:
        trial = self.trial
        if trial is None or time.monotonic() < trial.started + self.settings.window_s:
            return
        now = time.monotonic()
        self.ledger.sample(now, force=True)
        after = self.ledger.between(trial.started, now)
        why = None if trial.before is None else degraded(trial.before, after, self.settings)
        if why is not None:
            self.roll_back(Reason.DEGRADED, why, trial.previous)
            return
        with self.store.locked():
            state = self.store.read()
            if state.trial == trial.version:
                state = self.store.write(replace(state, trial=None, trial_starts=0))
                self._serial = state.serial
            self.store.prune(_kept(state))
        self.trial = None
        log.info(
            "models v%d passed their trial: %s (before: %s)",
            trial.version,
            after.as_json(),
            trial.before.as_json() if trial.before else "not measured",
        )

    def roll_back(self, reason: Reason, detail: str, previous: ActiveModels | None) -> None:
        """Back to the previous version (loaded now if it is not in memory)."""
        failed = self.holder.current
        with self.store.locked():
            state = self.store.read()
            target = state.previous
            if previous is None or previous.version != target:
                try:
                    previous, _ = checked_models(
                        self.config, self.store.paths(target, base_paths(self.config))
                    )
                except UpdateRejected as broken:  # the previous version is gone too
                    log.error("models %s cannot run either (%s): the base models", target, broken)
                    target, previous = None, load_models(self.config, base_paths(self.config))
            written = self.store.write(
                replace(
                    state,
                    current=target,
                    previous=None,
                    trial=None,
                    trial_starts=0,
                    rolled_back=(*state.rolled_back, failed.version or 0),
                )
            )
        self._serial = written.serial
        self.holder.swap(previous)
        self.trial = None
        self.outcomes.rejected(reason)
        log.warning(
            "models rolled back from %s to %s: %s: %s", failed.label, previous.label, reason, detail
        )
        self.announce(self.result(failed.version, False, detail, reason))

    def _follow_technician(self) -> None:
        """`anpr-edge model install|rollback` changed the state file: run what it names."""
        state = self.store.read()
        if state.serial == self._serial:
            return
        self._serial = state.serial
        active = self.holder.current
        if state.current == active.version:
            return
        try:
            models, _ = checked_models(
                self.config, self.store.paths(state.current, base_paths(self.config))
            )
        except UpdateRejected as rejected:  # the running models stay; the state says so again
            with self.store.locked():
                state = self.store.read()
                self._serial = self.store.write(
                    replace(
                        state,
                        current=active.version,
                        previous=None if state.previous == active.version else state.previous,
                        trial=None,
                        rolled_back=(*state.rolled_back, state.current or 0),
                    )
                ).serial
            self.refuse(replace_version(rejected, state.current), "technician")
            return
        self.ledger.sample(force=True)
        now = time.monotonic()
        before = self.ledger.between(now - self.settings.window_s, now)
        old = self.holder.swap(models)
        on_trial = state.trial is not None and state.trial == state.current
        self.trial = Trial(state.trial, now, before, old) if on_trial and state.trial else None
        log.info("models %s → %s (set by a technician on site)", old.label, models.label)


def replace_version(rejected: UpdateRejected, version: int | None) -> UpdateRejected:
    return UpdateRejected(rejected.reason, rejected.detail, version)


def _kept(state: ModelState) -> set[int | None]:
    return {state.current, state.previous}


def _versions(models: ActiveModels) -> list[str]:
    return [version for _, version in models.reader.model_versions]
