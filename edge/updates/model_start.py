"""Which models the unit starts on, and the small pieces the updater and the commands share.

At start the state file names the current version. Its models are loaded and read their golden
images again (a file corrupted since, or a version whose switch was cut by a power cut, fails
here); on failure the unit falls back to the previous version, then to the base models (the
configuration's, else the bundled ones), and records the rollback. A version still on trial is
resumed (its trial window starts again) unless the unit has already started
`MAX_TRIAL_STARTS` times during it: models that crash the unit are rolled back rather than
crashing it for ever.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.updates.model_store import ModelPaths, ModelState, ModelStore
from edge.updates.readers import ActiveModels, checked_models, load_models
from edge.updates.reasons import UpdateRejected
from edge.uplink.commands import result_payload

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

MAX_TRIAL_STARTS = 3


def base_paths(config: Config) -> ModelPaths:
    models = config.models
    return ModelPaths(
        None,
        Path(models.detector) if models.detector else None,
        Path(models.recogniser) if models.recogniser else None,
    )


def running_paths(config: Config) -> ModelPaths:
    """The model files the unit runs now (the model store's current version, else the base
    models), read without changing anything: for the selftest."""
    store = ModelStore(config.model_store_dir)
    current = store.read().current if (store.folder / "state.json").exists() else None
    return store.paths(current, base_paths(config)) if store.has(current) else base_paths(config)


def result_of(
    config: Config,
    version: int | None,
    ok: bool,
    detail: str,
    reason: str | None = None,
    what: str = "model",
) -> dict[str, Any]:
    """An `anpr.cmd-result/1` for an update the centre did not ask for by command: the id is
    `<what>-v<version>`, the command `<what>-update`, with `reason` when refused."""
    extra: dict[str, Any] = {"version": version}
    if reason is not None:
        extra["reason"] = str(reason)
    command_id = f"{what}-v{version}" if version is not None else None
    return result_payload(config.unit.id, command_id, f"{what}-update", ok, detail, extra)


def start_models(config: Config, store: ModelStore) -> tuple[ActiveModels, ModelState, bool]:
    """The models to start on, the state, and whether the current version is on trial.
    Raises only when even the base models do not load (as before model updates existed)."""
    base = base_paths(config)
    with store.locked():
        state = store.read()
        changed = False
        if state.trial is not None and state.trial == state.current:
            state = replace(state, trial_starts=state.trial_starts + 1)
            changed = True
            if state.trial_starts > MAX_TRIAL_STARTS:
                log.error(
                    "models v%s on trial: the unit started %d times during the trial; rolling back",
                    state.trial,
                    state.trial_starts - 1,
                )
                state = _rolled_back(state)
        models = None
        while models is None:
            if state.current is None:
                models = load_models(config, base)
                break
            try:
                models, _ = checked_models(config, store.paths(state.current, base))
            except UpdateRejected as rejected:
                log.error(
                    "models v%s cannot run (%s: %s); falling back to %s",
                    state.current,
                    rejected.reason,
                    rejected.detail,
                    "the base models" if state.previous is None else f"v{state.previous}",
                )
                state, changed = _rolled_back(state), True
        if changed:
            state = store.write(state)
    on_trial = state.trial is not None and state.trial == state.current
    return models, state, on_trial


def _rolled_back(state: ModelState) -> ModelState:
    failed = state.current or 0
    return replace(
        state,
        current=state.previous,
        previous=None,
        trial=None,
        trial_starts=0,
        rolled_back=(*state.rolled_back, failed),
    )
