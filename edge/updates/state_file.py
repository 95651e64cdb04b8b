"""The small JSON state files of the updates (models, configuration): a frozen dataclass
written atomically and durably, so a power cut leaves the old state or the new, never half.

A write goes through `edge.files.write_private` (temporary file, fsync, rename) and then the
folder is fsynced; every write bumps `serial`, which lets a running unit see that a
technician's command changed the file. A file that cannot be read (only a hand edit can make
one) gives the dataclass's defaults, logged: the unit then runs its base state.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from edge.errors import RuntimeFailure
from edge.files import fsync_folder, write_private

log = logging.getLogger(__name__)

KEPT_ROLLBACKS = 10
LOCK_TIMEOUT_S = 10.0


class State(Protocol):
    """A frozen dataclass with these fields (read-only here)."""

    @property
    def serial(self) -> int: ...

    @property
    def rolled_back(self) -> tuple[int, ...]: ...


S = TypeVar("S", bound=State)


def read_state(path: Path, cls: type[S], schema: str) -> S:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("schema", None) != schema:
            raise ValueError(f"schema is not {schema}")
        data = {key: tuple(v) if isinstance(v, list) else v for key, v in data.items()}
        return cls(**data)
    except FileNotFoundError:
        return cls()
    except (OSError, ValueError, TypeError) as exc:
        log.error("%s unreadable (%s): starting from the base state", path, exc)
        return cls()


def write_state(path: Path, state: S, schema: str, mode: int) -> S:
    """Persist `state` with its serial bumped; returns what was written."""
    state = dataclasses.replace(  # type: ignore[type-var]
        state, serial=state.serial + 1, rolled_back=state.rolled_back[-KEPT_ROLLBACKS:]
    )
    body = {"schema": schema, **dataclasses.asdict(state)}  # type: ignore[call-overload]
    write_private(path, json.dumps(body, indent=1).encode() + b"\n")
    path.chmod(mode)
    fsync_folder(path.parent)
    return state


@contextmanager
def locked(folder: Path, mode: int, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """An exclusive flock on `folder/.lock`: the running unit and a technician's command
    never rewrite the state at once (each holds it for milliseconds). RuntimeFailure after
    `timeout_s` (a process stopped while holding it)."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, mode)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RuntimeFailure(
                        f"{folder / '.lock'}: held by another process for {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def remove_cut_writes(folder: Path) -> None:
    """The temporary files of writes a power cut interrupted (edge.files.write_private names
    them `.<name>.<pid>.tmp`): never the state, only litter."""
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
