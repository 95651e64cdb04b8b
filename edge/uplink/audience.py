"""Whether anyone at the centre hears what the unit publishes (MQTT 5 PUBACK reason 0x10).

An MQTT 5 broker acknowledges a message that no subscription matches with reason code 0x10, "No
matching subscribers", and drops it. That is the case while the centre's consumers are away,
and on Mosquitto 2.0 for a moment after every broker restart, which does not restore shared
subscriptions (docs/fleet.md): a PUBACK then would mark delivered a read that nobody has.

So a read or hit acknowledged that way stays in the outbox, owed. The publisher stops sending,
waits (1 s, then twice as long each time, up to a minute), then sends one message as a probe;
the first message heard ends the hold and the backlog drains oldest first, as after an outage.
A hold costs one message per wait, not the backlog again (units sit on cellular links). Over
MQTT 3.1.1 there are no reason codes and nothing changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# part of the publisher: its log lines are the publisher's
log = logging.getLogger("edge.uplink.publisher")

NO_MATCHING_SUBSCRIBERS = 0x10

FIRST_WAIT_S = 1.0
LONGEST_WAIT_S = 60.0


class Audience:
    """The hold on sending while no subscriber hears the unit. Used in the publisher's thread
    only (not thread-safe)."""

    def __init__(
        self,
        first_wait_s: float = FIRST_WAIT_S,
        longest_wait_s: float = LONGEST_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.first_wait_s, self.longest_wait_s, self.clock = first_wait_s, longest_wait_s, clock
        self._wait_s = first_wait_s
        self._hold_until: float | None = None
        self.unheard_total = 0  # messages acknowledged unheard since the unit started
        self.unheard_now = 0  # … in this hold

    @property
    def listening(self) -> bool:
        """False from the first message unheard until one is heard again."""
        return self._hold_until is None

    def unheard(self, what: str) -> None:
        """`what` (e.g. "read <read_id>") came back unheard: a hold starts (said once), or the
        probe failed and the next waits twice as long."""
        self.unheard_total += 1
        self.unheard_now += 1
        now = self.clock()
        if self._hold_until is None:
            self._hold_until = now + self._wait_s
            log.warning(
                "the broker has no subscriber for %s (PUBACK: no matching subscribers): keeping "
                "it and all after it in the outbox; probing again in %.0f s, then less often",
                what, self._wait_s,
            )  # fmt: skip
        elif now >= self._hold_until:  # the probe came back unheard too: wait longer
            self._wait_s = min(self._wait_s * 2, self.longest_wait_s)
            self._hold_until = now + self._wait_s

    def heard(self) -> None:
        """A message was heard: the hold (if any) ends."""
        if self.unheard_now:
            log.warning(
                "the centre hears the unit again (%d messages came back unheard meanwhile, all "
                "kept to be sent again)",
                self.unheard_now,
            )
        self.unheard_now = 0
        self._hold_until, self._wait_s = None, self.first_wait_s

    def probe_now(self) -> None:
        """A retry was asked for (`anpr-edge outbox --retry-now`): probe at once."""
        if self._hold_until is not None:
            self._hold_until = min(self._hold_until, self.clock())

    def room(self, window: int) -> int:
        """How many messages may be in flight now: the window while heard, none while holding,
        one (the probe) once the wait is over."""
        if self._hold_until is None:
            return window
        return 0 if self.clock() < self._hold_until else 1
