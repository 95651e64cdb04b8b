"""Model versions on disk and the state file that says which one the unit runs.

```
<models.store_dir>/            0700
  state.json                   0600: current, previous, highest version seen, trial …
  .lock                        held (flock) while the state is read and rewritten
  versions/<n>/                one whole set: detector, recogniser (each with its manifest)
                               and golden/ (the bundle's golden images)
  versions/.staging-<n>/       a version being written; never used, removed at next start
```

Why it survives a power cut at any moment: a version is written into `.staging-<n>`, every
file fsynced, then renamed to `versions/<n>` and the folder fsynced, so a version folder is
always whole; the state file is replaced atomically (edge.files.write_private: temporary file,
fsync, rename) and its folder fsynced, so it names either the old or the new current version,
never half of each. The previous version's folder is kept until a later version has passed
its trial. Version `None` is the base: the models the configuration names (or the bundled ones).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.files import fsync_folder
from edge.updates.model_bundle import ROLES, ModelBundle
from edge.updates.state_file import locked, read_state, remove_cut_writes, write_state

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
STATE_SCHEMA = "anpr.model-state/1"
FOLDER_MODE, FILE_MODE = 0o700, 0o600  # as the store beside it: the service user's alone


@dataclass(frozen=True)
class ModelState:
    current: int | None = None  # None: the base models
    previous: int | None = None  # what a rollback returns to (None: the base models)
    highest_seen: int = 0  # a bundle at or below this is a replay (persisted: survives restarts)
    trial: int | None = None  # the current version while it is on trial
    trial_starts: int = 0  # unit starts since its trial began (a crash loop ends the trial)
    rolled_back: tuple[int, ...] = ()  # versions undone, newest last (at most 10)
    serial: int = 0  # bumped at every write: the running unit sees a technician's change

    def as_json(self) -> dict:
        return {**asdict(self), "rolled_back": list(self.rolled_back)}


@dataclass(frozen=True)
class ModelPaths:
    """The model files of one version (None: the base's bundled model for that role)."""

    version: int | None
    detector: Path | None
    recogniser: Path | None
    golden: Path | None = field(default=None)


class ModelStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.versions = self.folder / "versions"

    def ensure(self) -> None:
        """Make the folders (0700) and remove what a cut staging left."""
        for folder in (self.folder, self.versions):
            folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            folder.chmod(FOLDER_MODE)  # also when it existed with the umask's mode
        for stale in self.versions.glob(".staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        remove_cut_writes(self.folder)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Excludes the running unit and a technician's command from each other's
        read-modify-write of the state."""
        self.ensure()
        with locked(self.folder, FILE_MODE):
            yield

    def read(self) -> ModelState:
        return read_state(self.folder / STATE_FILE, ModelState, STATE_SCHEMA)

    def write(self, state: ModelState) -> ModelState:
        """Persist `state` (serial bumped) atomically and durably; returns what was written."""
        return write_state(self.folder / STATE_FILE, state, STATE_SCHEMA, FILE_MODE)

    def paths(self, version: int | None, base: ModelPaths) -> ModelPaths:
        if version is None:
            return base
        folder = self.versions / str(version)
        return ModelPaths(
            version, folder / "detector.tflite", folder / "recogniser.tflite", folder / "golden"
        )

    def has(self, version: int | None) -> bool:
        return version is None or (self.versions / str(version) / "recogniser.json").is_file()

    def stage(self, bundle: ModelBundle, running: ModelPaths) -> ModelPaths:
        """Write `bundle` as a whole version folder; a role it leaves out is copied from the
        `running` models. Returns its paths; a folder of that version left by an earlier try
        is replaced."""
        self.ensure()
        staging = self.versions / f".staging-{bundle.version}"
        shutil.rmtree(staging, ignore_errors=True)
        for folder in (staging, staging / "golden"):
            folder.mkdir(mode=FOLDER_MODE)
            folder.chmod(FOLDER_MODE)
        files = dict(bundle.files)
        for role in ROLES:
            if role not in bundle.roles:
                model = getattr(running, role) or _bundled(role)
                files[f"{role}.tflite"] = model.read_bytes()
                files[f"{role}.json"] = model.with_suffix(".json").read_bytes()
        for name, data in files.items():
            _write_synced(staging / name, data)
        fsync_folder(staging / "golden")
        fsync_folder(staging)
        final = self.versions / str(bundle.version)
        if final.exists():
            shutil.rmtree(final)
        os.rename(staging, final)
        fsync_folder(self.versions)
        return self.paths(bundle.version, running)

    def prune(self, keep: set[int | None]) -> None:
        """Remove version folders no longer current, previous or pending."""
        if not self.versions.is_dir():
            return
        for folder in self.versions.iterdir():
            if folder.name.isdigit() and int(folder.name) not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _bundled(role: str) -> Path:
    from edge.vision.runtime import bundled_model

    return bundled_model(role)
