"""Commands from the centre on `{prefix}/units/{unit}/cmd` (DESIGN §3): a small, validated set.

The centre may ask a unit to report now, or to retry its outbox now. Nothing here can change
what the unit reads, stores or trusts: hotlists come only as signed bundles, configuration only
from the file on the unit. Every command gets one result on `{prefix}/units/{unit}/cmd/result`
(QoS 1, not retained), accepted or rejected with the reason, so the centre never has to guess.

A command is JSON: `{"schema": "anpr.cmd/1", "id": "…", "command": "ping" | "health" |
"retry", "args": {}}`; `id` (1–64 characters of A–Z a–z 0–9 . _ -) is echoed in the result.
Rejected, with a reason: more than 4 KB, not a JSON object, another schema, a missing or bad id,
an unknown command, arguments (none of these commands takes any), a retained message (it
would run again at every reconnect).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edge.times import rfc3339

log = logging.getLogger(__name__)

CMD_SCHEMA = "anpr.cmd/1"
RESULT_SCHEMA = "anpr.cmd-result/1"
MAX_COMMAND_BYTES = 4096
COMMANDS = {
    "ping": "reply at once with the unit's versions and state",
    "health": "publish a health message now",
    "retry": "retry delivery of the outbox now (as `anpr-edge outbox --retry-now`)",
}
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KEYS = {"schema", "id", "command", "args"}


@dataclass(frozen=True)
class Command:
    id: str
    name: str


@dataclass(frozen=True)
class Rejected:
    id: str | None  # echoed when the command carried a usable one
    reason: str


def parse_command(payload: bytes, retained: bool = False) -> Command | Rejected:
    """Validate one message from the command topic. Never raises: a bad command is a
    `Rejected` with a reason fit for the centre's logs."""
    if len(payload) > MAX_COMMAND_BYTES:
        return Rejected(None, f"command of {len(payload)} bytes; at most {MAX_COMMAND_BYTES}")
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Rejected(None, f"not JSON: {exc}")
    except RecursionError:  # e.g. 3000 "[" fit in 4 KB
        return Rejected(None, "not JSON: nested too deeply")
    if not isinstance(body, dict):
        return Rejected(None, f"expected a JSON object, got {type(body).__name__}")
    raw_id = body.get("id")
    command_id = raw_id if isinstance(raw_id, str) and _ID.fullmatch(raw_id) else None
    problem = _problem(body, command_id, retained)
    if problem:
        return Rejected(command_id, problem)
    return Command(command_id, body["command"])  # type: ignore[arg-type]


def _problem(body: dict[str, Any], command_id: str | None, retained: bool) -> str | None:
    if retained:
        return "retained commands are refused: they would run again at every reconnect"
    if body.get("schema") != CMD_SCHEMA:
        return f"schema: got {body.get('schema')!r}; expected {CMD_SCHEMA!r}"
    if command_id is None:
        return "id: expected 1-64 characters of A-Z a-z 0-9 . _ -"
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        return f"unknown key(s): {', '.join(unknown)}"
    name = body.get("command")
    if not isinstance(name, str) or name not in COMMANDS:
        return f"command: got {name!r}; expected one of {', '.join(sorted(COMMANDS))}"
    if body.get("args", {}) != {}:
        return f"args: {name} takes no arguments"
    return None


def result_payload(
    unit_id: str,
    command_id: str | None,
    command: str | None,
    ok: bool,
    detail: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "schema": RESULT_SCHEMA,
        "unit_id": unit_id,
        "id": command_id,
        "command": command,
        "ok": ok,
        "detail": detail,
        "at": rfc3339(datetime.now(UTC)),
        **(extra or {}),
    }


class CommandDesk:
    """Runs accepted commands in the publisher's thread. Each only sets an event another part
    of the unit already honours (the supervisor's health tick, the publisher's retry) or reads
    state: none blocks, none touches the store."""

    def __init__(
        self,
        unit_id: str,
        retry: threading.Event,
        health_now: threading.Event,
        versions: Callable[[], dict[str, Any]],
        state: Callable[[], dict[str, Any]],
    ):
        self.unit_id, self.retry, self.health_now = unit_id, retry, health_now
        self.versions, self.state = versions, state

    @staticmethod
    def parse(message) -> Command | Rejected:
        """paho's message callback: validate only (the caller enqueues)."""
        return parse_command(message.payload, bool(message.retain))

    def run(self, command: Command | Rejected) -> dict[str, Any]:
        if isinstance(command, Rejected):
            log.warning("command rejected: %s", command.reason)
            return result_payload(self.unit_id, command.id, None, False, command.reason)
        log.info("command %s (id %s) from the centre", command.name, command.id)
        extra: dict[str, Any] = {}
        if command.name == "ping":
            extra = {"versions": self.versions(), "broker": self.state()}
        elif command.name == "health":
            self.health_now.set()
        elif command.name == "retry":
            self.retry.set()
        return result_payload(
            self.unit_id, command.id, command.name, True, COMMANDS[command.name], extra
        )
