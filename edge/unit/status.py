"""The status file: written by the running service, read by `anpr-edge status` and `outbox`.

The service writes it (atomically, owner-only: it names plates) as "starting" once its signal
handlers are in place, every `status_interval_s` while running, "stopping" when an orderly stop
begins and "stopped" at the end. A reader never trusts the file alone: a unit killed with
SIGKILL, a power cut or a hung main thread leave a "running" file behind. So the unit is judged
running only while the file is fresh (written within `STALE_INTERVALS` intervals) and its pid is
alive *and is the same process* (the kernel's start time of the pid matches the one recorded: a
pid reused after a reboot is not the unit). The owner check matters because `outbox --retry-now`
signals that pid, usually as root: it signals only a process owned by the file's owner.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.errors import RuntimeFailure

log = logging.getLogger(__name__)

STALE_INTERVALS = 3
STATUS_FILE_S = 5.0  # at most this long between writes, whatever health.interval_s is
ALIVE_STATES = ("starting", "running", "stopping")


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of `pid` (clock ticks since boot), None if unknown or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def identity() -> dict[str, Any]:
    """What the file records so a reader can tell this process from a later one with its pid."""
    return {"pid": os.getpid(), "pid_start_ticks": process_start_ticks(os.getpid())}


def bare_status(unit_id: str, state: str, every_s: float) -> dict[str, Any]:
    """The document before the figures exist (starting) or without them (a failed store)."""
    return {
        "unit_id": unit_id,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "state": state,
        **identity(),
        "status_interval_s": every_s,
    }


def write_status_file(path: Path, payload: dict[str, Any]) -> None:
    """Atomically (write, then rename), owner-only; a folder it has to make is owner-only too
    (under systemd the RuntimeDirectory already exists)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2)
    os.replace(temporary, path)


class StatusFile:
    """A failed write is logged (once per run of failures), never raised: the file is for
    technicians, and a full /run must not stop the unit reading plates."""

    def __init__(self, path: Path):
        self.path = path
        self.failing = False

    def write(self, payload: dict[str, Any]) -> None:
        try:
            write_status_file(self.path, payload)
        except OSError as exc:
            if not self.failing:
                log.warning("cannot write the status file %s: %s", self.path, exc.strerror or exc)
            self.failing = True
            return
        self.failing = False


@dataclass(frozen=True)
class ServiceState:
    """The verdict on the status file: is the unit running, and the one line that says so."""

    running: bool  # alive: starting, running or stopping, pid alive and the file fresh
    state: str  # absent | starting | running | stopping | stopped | stale | gone
    detail: str
    path: Path
    age_s: float | None = None
    pid: int | None = None
    document: dict[str, Any] | None = None


def read_service_state(path: Path, fallback_interval_s: float, now: float) -> ServiceState:
    """Judge the status file at `path` at wall-clock time `now` (see the module's rules)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        detail = f"anpr-edge is not running (no status file at {path})"
        return ServiceState(False, "absent", detail, path)
    except OSError as exc:
        raise RuntimeFailure(
            f"cannot read the status file {path}: {exc.strerror or exc} (it belongs to the "
            "service's user: run as that user or with sudo)"
        ) from exc
    try:
        doc = json.loads(text)
        state, pid = str(doc["state"]), int(doc["pid"])
        at = datetime.fromisoformat(str(doc["at"]).replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError) as exc:
        raise RuntimeFailure(f"the status file {path} is not one anpr-edge wrote: {exc}") from exc
    age = round(max(now - at, 0.0), 1)

    def verdict(running: bool, name: str, detail: str) -> ServiceState:
        return ServiceState(running, name, detail, path, age, pid, doc)

    if state == "stopped":
        return verdict(False, "stopped", f"anpr-edge is not running: stopped at {doc['at']}")
    if not _same_process(pid, doc.get("pid_start_ticks"), path):
        return verdict(
            False, "gone", f"anpr-edge is not running (last status {age:.0f} s ago; pid {pid} gone)"
        )
    interval = float(doc.get("status_interval_s") or fallback_interval_s)
    # starting (models, hotlists) and stopping (draining the outbox) write once: the pid decides
    if state == "running" and age > STALE_INTERVALS * interval:
        return verdict(
            False,
            "stale",
            f"anpr-edge is not running normally (last status {age:.0f} s ago, expected every "
            f"{interval:g} s; pid {pid} still exists: hung?)",
        )
    if state not in ALIVE_STATES:
        raise RuntimeFailure(f"the status file {path} has an unknown state {state!r}")
    return verdict(True, state, f"anpr-edge is {state} (pid {pid})")


def _same_process(pid: int, start_ticks: Any, path: Path) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    ticks = process_start_ticks(pid)
    if ticks is None:
        # a zombie (exited, not yet reaped) - or no /proc at all: then kill(0) is all we have
        return not Path("/proc/self").exists()
    if isinstance(start_ticks, int) and ticks != start_ticks:
        return False  # the pid now belongs to another process
    try:
        return os.stat(f"/proc/{pid}").st_uid == path.stat().st_uid
    except OSError:
        return False


def request_retry(state: ServiceState) -> None:
    """Ask the running service to retry delivery now (SIGUSR1; see edge.unit.service)."""
    if not state.running or state.pid is None:
        raise RuntimeFailure(f"{state.detail}; nothing to retry")
    try:
        os.kill(state.pid, signal.SIGUSR1)
    except PermissionError as exc:
        raise RuntimeFailure(
            f"not allowed to signal the service (pid {state.pid}): run as its user or with sudo"
        ) from exc
    except ProcessLookupError as exc:
        raise RuntimeFailure(f"the service (pid {state.pid}) has just stopped") from exc
