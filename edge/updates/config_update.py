"""Signed partial configurations on the unit: kept beside the store, merged into the unit's own
file at start, applied by a restart, undone when the unit does not run on them.

```
<storage folder>/remote-config/     0700
  state.json                        current (last good), pending, highest seen, rolled back
  v<n>.json                         the settings of version n (0600)
```

The safe point is a restart: an accepted configuration is written as `pending` and the unit
stops with exit status 75 (EXIT_RESTART), which the systemd unit restarts at once
(`RestartForceExitStatus=75`). At start (`effective_config`) the pending settings are merged
into the file's and validated again; the unit runs on them and they become `current`, the last
good configuration, once it has run `remote_config.confirm_after_s` on them. A start that
fails, a crash or a power cut before then: at the next start the pending version is undone
(`start-failed`) and the unit runs on the last good one, and says so on the command result
topic once it is connected. The file on the unit is never rewritten.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.config.loader import ConfigError, read_config_data, resolve_config_path, validate_config
from edge.files import write_private
from edge.hotlist.signing import PublicKey
from edge.updates.config_bundle import merged, open_config_bundle
from edge.updates.model_start import result_of
from edge.updates.reasons import Reason, UpdateRejected
from edge.updates.state_file import locked, read_state, remove_cut_writes, write_state
from edge.updates.worker import Announce, UpdateWorker

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

EXIT_RESTART = 75  # EX_TEMPFAIL: "restart me", see systemd/anpr-edge.service
STATE_SCHEMA = "anpr.remote-config-state/1"
FOLDER_MODE, FILE_MODE = 0o700, 0o600


@dataclass(frozen=True)
class RemoteState:
    current: int | None = None  # the last good remote configuration (None: the file alone)
    pending: int | None = None  # accepted; the unit runs on it until confirmed or undone
    pending_starts: int = 0
    highest_seen: int = 0
    rolled_back: tuple[int, ...] = ()
    undone_note: str = ""  # why the last pending one was undone, until announced
    serial: int = 0


@dataclass(frozen=True)
class Effective:
    """The configuration the unit runs on and where its remote part came from."""

    config: Config
    file: Path
    version: int | None  # the remote version merged in (None: the file alone)
    pending: bool  # not yet confirmed
    # what went wrong at start, logged once logging is set up (edge.updates.unit)
    problems: tuple[str, ...] = ()


class RemoteConfigStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def ensure(self) -> None:
        self.folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        self.folder.chmod(FOLDER_MODE)
        remove_cut_writes(self.folder)

    def read(self) -> RemoteState:
        return read_state(self.folder / "state.json", RemoteState, STATE_SCHEMA)

    def write(self, state: RemoteState) -> RemoteState:
        return write_state(self.folder / "state.json", state, STATE_SCHEMA, FILE_MODE)

    def locked(self):
        self.ensure()
        return locked(self.folder, FILE_MODE)

    def save(self, version: int, settings: dict[str, Any]) -> None:
        self.ensure()
        write_private(self.folder / f"v{version}.json", json.dumps(settings).encode())

    def settings(self, version: int) -> dict[str, Any]:
        return json.loads((self.folder / f"v{version}.json").read_text(encoding="utf-8"))

    def prune(self, keep: set[int | None]) -> None:
        for path in self.folder.glob("v*.json"):
            if path.stem[1:].isdigit() and int(path.stem[1:]) not in keep:
                path.unlink(missing_ok=True)


def effective_config(path: str | Path | None) -> Effective:
    """The unit's file with the remote settings merged in (see the module's docstring). An
    error in the file itself raises ConfigError as `load_config` does."""
    file = resolve_config_path(path)
    base_data = read_config_data(file)
    base = validate_config(base_data, str(file))
    store = RemoteConfigStore(base.remote_config_dir)
    if not (store.folder / "state.json").exists():
        return Effective(base, file, None, False)
    problems: list[str] = []
    with store.locked():
        state = store.read()
        if state.pending is not None and state.pending_starts >= 1:
            why = "the unit did not run on it for remote_config.confirm_after_s"
            problems.append(
                f"remote configuration v{state.pending} undone ({Reason.START_FAILED}): {why}"
            )
            state = _undone(state, why)
        elif state.pending is not None:
            state = replace(state, pending_starts=1)
        version = state.pending if state.pending is not None else state.current
        config = base
        if version is not None:
            try:
                config = validate_config(
                    merged(base_data, store.settings(version)), f"{file} + remote v{version}"
                )
            except (ConfigError, OSError, ValueError) as exc:
                problems.append(f"remote configuration v{version} no longer fits {file}: {exc}")
                state = _undone(state, f"invalid against {file}: {exc}")
                if state.current == version:
                    state = replace(state, current=None)
                version = None
        state = store.write(state)
    pending = version is not None and version == state.pending
    return Effective(config, file, version, pending, tuple(problems))


def _undone(state: RemoteState, why: str) -> RemoteState:
    version = state.pending
    if version is None:
        return state
    return replace(
        state,
        pending=None,
        pending_starts=0,
        rolled_back=(*state.rolled_back, version),
        undone_note=f"v{version}: {why}",
    )


class ConfigUpdater(UpdateWorker):
    name = "config-updates"
    bundle_name = "configuration bundle"
    log = log

    def __init__(
        self,
        effective: Effective,
        trusted: dict[str, PublicKey],
        stop: threading.Event,
        restart: Callable[[], None],
        announce: Announce = lambda result: None,
    ):
        super().__init__(stop, announce)
        self.effective, self.trusted, self.restart = effective, trusted, restart
        self.config = effective.config
        self.store = RemoteConfigStore(self.config.remote_config_dir)
        self.started = time.monotonic()

    def running_label(self) -> str:
        version = self.effective.version
        return "the file's configuration" if version is None else f"remote configuration v{version}"

    def result(self, version: int | None, ok: bool, detail: str, reason: str | None) -> dict:
        return result_of(self.config, version, ok, detail, reason, what="config")

    def status(self) -> dict[str, Any]:
        state = self.store.read()
        return {
            "running": self.effective.version,
            "current": state.current,
            "pending": state.pending,
            "highest_seen": state.highest_seen,
            "rolled_back": list(state.rolled_back),
            **self.outcomes.snapshot(),
        }

    def apply(self, data: bytes, origin: str = "mqtt") -> None:
        try:
            bundle = open_config_bundle(data, self.trusted)
            state = self.store.read()
            if bundle.version == state.highest_seen:
                return  # the retained bundle again
            if bundle.version < state.highest_seen:
                raise UpdateRejected(
                    Reason.STALE_VERSION,
                    f"v{bundle.version} is older than v{state.highest_seen}, the highest seen",
                    bundle.version,
                )
            name = f"{self.effective.file} + remote v{bundle.version}"
            base = read_config_data(self.effective.file)
            try:
                validate_config(merged(base, bundle.settings), name)
            except ConfigError as exc:
                raise UpdateRejected(Reason.INVALID_CONFIG, str(exc), bundle.version) from None
        except UpdateRejected as rejected:
            if rejected.version is not None:
                self._remember_seen(rejected.version)
            self.refuse(rejected, origin)
            return
        self.store.save(bundle.version, bundle.settings)
        with self.store.locked():
            state = self.store.read()
            self.store.write(
                replace(
                    state,
                    pending=bundle.version,
                    pending_starts=0,
                    highest_seen=max(state.highest_seen, bundle.version),
                )
            )
        detail = (
            f"configuration v{bundle.version} accepted ({', '.join(bundle.keys) or 'no keys'}); "
            "the service restarts to apply it"
        )
        self.outcomes.applied()
        log.warning("%s (%s)", detail, origin)
        self.announce(self.result(bundle.version, True, detail, None))
        self.restart()

    def tick(self) -> None:
        state = self.store.read()
        if state.undone_note:
            self.announce(self.result(state.rolled_back[-1], False, state.undone_note,
                                      str(Reason.START_FAILED)))  # fmt: skip
            self.outcomes.rejected(Reason.START_FAILED)
            with self.store.locked():
                self.store.write(replace(self.store.read(), undone_note=""))
        waited = time.monotonic() - self.started
        if self.effective.pending and waited >= self.config.remote_config.confirm_after_s:
            with self.store.locked():
                state = self.store.read()
                if state.pending == self.effective.version:
                    previous = state.current
                    state = self.store.write(
                        replace(state, current=state.pending, pending=None, pending_starts=0)
                    )
                    self.store.prune({state.current, previous})
            self.effective = replace(self.effective, pending=False)
            log.info("remote configuration v%s confirmed: the last good one now", state.current)

    def _remember_seen(self, version: int) -> None:
        with self.store.locked():
            state = self.store.read()
            if version > state.highest_seen:
                self.store.write(replace(state, highest_seen=version))
