"""A technician's model changes on site (`anpr-edge model install FILE`, `model rollback`).

Both work on the model store the running unit uses, under its lock, with the checks of a
bundle arriving over MQTT (install: signature, version, files, load, golden images). They only
rewrite the state file; the running unit notices within a second and switches between two
frames (an installed version on trial, as from the centre). A unit that is not running starts
on what the state names.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from edge.errors import UserError
from edge.updates.model_bundle import open_model_bundle
from edge.updates.model_start import base_paths
from edge.updates.model_store import ModelStore
from edge.updates.readers import checked_models
from edge.updates.reasons import Reason, UpdateRejected
from edge.updates.unit import model_trusted_keys

if TYPE_CHECKING:
    from edge.config import Config


def install_bundle(config: Config, data: bytes, config_file: str = "") -> dict[str, Any]:
    """Check, stage and test the bundle, then make it current (on trial). Raises
    UpdateRejected with the reason, having changed nothing the unit runs."""
    trusted = model_trusted_keys(config, config_file)
    if not trusted:
        raise UserError(f"{config_file}: models.trusted_keys is empty: no key to check it with")
    bundle = open_model_bundle(data, trusted, config.models.max_bundle_mb * 1024 * 1024)
    store = ModelStore(config.model_store_dir)
    state = store.read()
    if bundle.version <= state.highest_seen:
        raise UpdateRejected(
            Reason.STALE_VERSION,
            f"v{bundle.version} is not above v{state.highest_seen}, the highest seen",
            bundle.version,
        )
    paths = store.stage(bundle, store.paths(state.current, base_paths(config)))
    try:
        _, golden = checked_models(config, paths)
    except UpdateRejected:
        store.prune({state.current, state.previous})
        raise
    with store.locked():
        state = store.read()
        store.write(
            replace(
                state,
                current=bundle.version,
                previous=state.current,
                highest_seen=max(state.highest_seen, bundle.version),
                trial=bundle.version,
                trial_starts=0,
            )
        )
    return {
        "version": bundle.version,
        "previous": state.current,
        "golden_plates": golden.plates,
        "detail": f"installed models v{bundle.version} (was "
        f"{'base' if state.current is None else f'v{state.current}'}); golden images read "
        f"({golden.plates} plates); the running unit switches within a second, on trial",
    }


def roll_back_on_site(config: Config) -> dict[str, Any]:
    """Make the previous version current again; UserError when there is none."""
    store = ModelStore(config.model_store_dir)
    with store.locked():
        state = store.read()
        if state.current is None:
            raise UserError("the unit runs its base models: there is nothing to roll back")
        if not store.has(state.previous):
            raise UserError(f"the previous version v{state.previous} is no longer on disk")
        store.write(
            replace(
                state,
                current=state.previous,
                previous=None,
                trial=None,
                trial_starts=0,
                rolled_back=(*state.rolled_back, state.current),
            )
        )
    target = "base" if state.previous is None else f"v{state.previous}"
    return {
        "rolled_back": state.current,
        "current": state.previous,
        "detail": f"rolled back from v{state.current} to {target}; the running unit follows "
        "within a second",
    }
