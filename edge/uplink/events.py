"""What reaches the publisher's thread, as typed events on its one queue.

paho's network thread (CONNACKs, disconnects, PUBACKs, commands), the store writer (records
committed, the store file replaced) and the unit (health, close) only put events here; the
publisher's own thread handles them one at a time, so none of its state is shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from edge.store.reads import OutboxItem
from edge.uplink.commands import Command, Rejected


@dataclass(frozen=True)
class Connack:
    reason: Any  # paho's ReasonCode (or a 3.1.1 code wrapped as one)


@dataclass(frozen=True)
class Gone:
    reason: Any


@dataclass(frozen=True)
class Puback:
    mid: int
    reason: Any


@dataclass(frozen=True)
class Unreachable:
    """A connection attempt failed (once per outage is enough to say so)."""


@dataclass(frozen=True)
class CommandArrived:
    command: Command | Rejected
    mid: int
    qos: int


@dataclass(frozen=True)
class Announce:
    """A result the unit publishes unasked (a model or configuration update's outcome)."""

    result: dict[str, Any]


@dataclass(frozen=True)
class Stored:
    """The writer committed a record: it may be sent now."""

    item: OutboxItem
    timing: tuple[float, float] | None  # a hit's (readable, decided) monotonic times


@dataclass(frozen=True)
class HealthDue:
    payload: str  # encoded JSON


@dataclass(frozen=True)
class Close:
    deadline: float  # monotonic: send what can go until then, then say offline


@dataclass(frozen=True)
class Release:
    """The writer is replacing the store file: close ours and say so on `closed`."""

    closed: threading.Event


@dataclass(frozen=True)
class Replaced:
    generation: int


Event = (
    Connack
    | Gone
    | Puback
    | Unreachable
    | CommandArrived
    | Announce
    | Stored
    | HealthDue
    | Close
    | Release
    | Replaced
)
