"""How `anpr-edge camera live` and the running unit talk about the live page, over the paths
the CLI already uses for the service (edge.unit.status): the CLI finds the service through its
status file and signals it (SIGUSR2: "open the live page"); the service answers in `live.json`
beside the status file (owner-only, like it: it holds the token), naming the address, the
token and until when the page is open, or why it could not open it. Each opening has a new
`serial`, so the CLI can tell the service's answer from an older file.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge.errors import RuntimeFailure
from edge.unit.status import ServiceState, signal_service, write_status_file

CONTROL_NAME = "live.json"
ANSWER_WAIT_S = 10.0
POLL_S = 0.1


def control_path(status_file: Path) -> Path:
    return Path(status_file).with_name(CONTROL_NAME)


@dataclass(frozen=True)
class LiveSession:
    pid: int
    serial: int
    open: bool
    bind: str
    port: int
    token: str | None = None
    until: str | None = None  # RFC 3339; None while open: enabled by config, no end
    reason: str = ""  # "config" or "camera live"
    error: str | None = None  # why it could not open (an address in use …)

    @property
    def url(self) -> str | None:
        if not self.open or self.token is None:
            return None
        return f"http://{_host(self.bind)}:{self.port}/?token={self.token}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "url": self.url}


def _host(bind: str) -> str:
    """The address a browser on the unit uses: a wildcard bind is reached on loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(bind, bind)
    return f"[{host}]" if ":" in host else host


def write_session(path: Path, session: LiveSession) -> None:
    write_status_file(path, session.as_json())  # atomically, owner-only


def read_session(path: Path) -> LiveSession | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("url", None)
        return LiveSession(**data)
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise RuntimeFailure(
            f"cannot read {path}: it belongs to the service's user (run with sudo)"
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise RuntimeFailure(f"{path} is not one anpr-edge wrote: {exc}") from exc


def request_page(state: ServiceState, path: Path, wait_s: float = ANSWER_WAIT_S) -> LiveSession:
    """Ask the running service to open the live page (a new token); its answer."""
    before = read_session(path)
    last = before.serial if before is not None and before.pid == state.pid else 0
    signal_service(state, signal.SIGUSR2, "open the live page")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        session = read_session(path)
        if session is not None and session.pid == state.pid and session.serial > last:
            return session
        time.sleep(POLL_S)
    raise RuntimeFailure(
        f"the service (pid {state.pid}) did not answer within {wait_s:.0f} s in {path}: "
        "is it an older version? (journalctl -u anpr-edge)"
    )
