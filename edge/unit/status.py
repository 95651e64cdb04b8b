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
from pathlib import Path
from typing import Any

from edge.errors import RuntimeFailure
from edge.files import narrow_private_folder
from edge.times import parse_rfc3339, rfc3339, utc_now

log = logging.getLogger(__name__)

STALE_INTERVALS = 3
STATUS_FILE_S = 5.0  # at most this long between writes, whatever health.interval_s is
ALIVE_STATES = ("starting", "running", "stopping")
PID_MAX = 4_194_304  # the kernel's largest pid_max
# systemd's RuntimeDirectoryMode= for /run/anpr-edge: the group may list it, never read the file
STATUS_FOLDER_MODE = 0o750


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
        "at": rfc3339(utc_now()),
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
        self.folder_checked = False
        self.last: dict[str, Any] | None = None  # the last document written (the live page)

    def write(self, payload: dict[str, Any]) -> None:
        self.last = payload
        if not self.folder_checked:  # a folder that already existed may be open to all
            narrow_private_folder(self.path.parent, "the status file", STATUS_FOLDER_MODE)
            self.folder_checked = True
        try:
            write_status_file(self.path, payload)
        except OSError as exc:
            if not self.failing:
                log.warning(
                    "cannot write the status file %s: %s; `anpr-edge status` cannot see this "
                    "unit until it can (the unit reads on; retrying at every write)",
                    self.path,
                    exc.strerror or exc,
                )
            self.failing = True
            return
        if self.failing:
            log.info("the status file %s is written again", self.path)
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


def read_service_state(
    path: Path, fallback_interval_s: float, now: float, config_file: Path | None = None
) -> ServiceState:
    """Judge the status file at `path` at wall-clock time `now` (see the module's rules).
    With `config_file`, a file that shows no live unit is checked against the processes: a
    live `anpr-edge run` of that config means the file is unwritable (edge.unit.unit_process).
    """
    state = _judge_file(path, fallback_interval_s, now)
    if state.running or config_file is None:
        return state
    return _unwritable(state, config_file) or state


def _judge_file(path: Path, fallback_interval_s: float, now: float) -> ServiceState:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        detail = f"anpr-edge is not running (no status file at {path})"
        return ServiceState(False, "absent", detail, path)
    except UnicodeDecodeError as exc:
        raise RuntimeFailure(
            f"the status file {path} is not one anpr-edge wrote: not UTF-8 text (byte "
            f"0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    except OSError as exc:
        raise RuntimeFailure(
            f"cannot read the status file {path}: {exc.strerror or exc} (it belongs to the "
            "service's user: run as that user or with sudo)"
        ) from exc
    try:
        doc = json.loads(text)
        state, pid = str(doc["state"]), int(doc["pid"])
        at = parse_rfc3339(str(doc["at"])).timestamp()
        interval = float(doc.get("status_interval_s") or fallback_interval_s)
        if not 0 < pid <= PID_MAX:  # 0 and -1 would make kill() signal groups, or everyone
            raise ValueError(f"pid {pid} is not a process id")
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise RuntimeFailure(f"the status file {path} is not one anpr-edge wrote: {exc}") from exc
    age = round(max(now - at, 0.0), 1)

    def verdict(running: bool, name: str, detail: str) -> ServiceState:
        return ServiceState(running, name, detail, path, age, pid, doc)

    if state == "stopped":
        return verdict(False, "stopped", f"anpr-edge is not running: stopped at {doc['at']}")
    ticks = doc.get("pid_start_ticks")
    if ticks is not None and (isinstance(ticks, bool) or not isinstance(ticks, int)):
        # without it a reused pid would pass for the unit: cannot tell, so not running
        return verdict(
            False,
            "stale",
            f"anpr-edge: cannot tell whether it is running (the status file records "
            f"pid_start_ticks {ticks!r}, not a whole number, so pid {pid} cannot be told from "
            "another process that has its number now)",
        )
    if not _same_process(pid, ticks, path):
        return verdict(
            False, "gone", f"anpr-edge is not running (last status {age:.0f} s ago; pid {pid} gone)"
        )
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


def _unwritable(state: ServiceState, config_file: Path) -> ServiceState | None:
    """The unit alive while its status file shows otherwise: a file it cannot write."""
    from edge.unit.unit_process import unit_processes, why_unwritable

    for unit in unit_processes(config_file):
        why = why_unwritable(state.path, unit)
        if why is None and state.state == "stale":
            continue  # nothing in its way: the file is old because the unit hangs
        written = "never" if state.age_s is None else f"last {state.age_s:.0f} s ago"
        detail = (
            f"anpr-edge is running (pid {unit.pid}) but cannot write its status file "
            f"{state.path} (written {written}): "
            f"{why or 'the journal says why (cannot write the status file …)'}"
        )
        return ServiceState(
            False, "unwritable", detail, state.path, state.age_s, unit.pid, state.document
        )
    return None


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
    signal_service(state, signal.SIGUSR1, "retry")


def signal_service(state: ServiceState, signum: signal.Signals, what: str) -> None:
    """Send the running service (as judged from its status file) a signal asking it to `what`."""
    if not state.running or state.pid is None:
        raise RuntimeFailure(f"{state.detail}: cannot ask it to {what}")
    try:
        os.kill(state.pid, signum)
    except PermissionError as exc:
        raise RuntimeFailure(
            f"not allowed to signal the service (pid {state.pid}): run as its user or with sudo"
        ) from exc
    except ProcessLookupError as exc:
        raise RuntimeFailure(f"the service (pid {state.pid}) has just stopped") from exc
