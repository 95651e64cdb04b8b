"""systemd's notify protocol, spoken directly: one datagram per message to `$NOTIFY_SOCKET`.

`READY=1` once the unit reads frames, `STATUS=…` for `systemctl status`, `WATCHDOG=1` while every
stage is alive (`$WATCHDOG_USEC` sets how often systemd expects it; we send at half that), and
`STOPPING=1` at the start of an orderly stop. An address starting with '@' is in Linux's abstract
namespace. Not run by systemd (no `$NOTIFY_SOCKET`), every call is a no-op. A send that fails is
logged (once per kind of failure) and counted, never raised: the unit's work matters more than
telling systemd about it, and the watchdog catches a unit that truly stopped.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None, watchdog_usec: int | None = None):
        self.address = address
        self.watchdog_usec = watchdog_usec
        self.failures = 0
        self._reported: set[str] = set()

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        usec: int | None = None
        if env.get("WATCHDOG_USEC", "").isdigit():
            # WATCHDOG_PID, when set, names the process meant to feed the watchdog
            pid = env.get("WATCHDOG_PID", "")
            if not pid or pid == str(os.getpid()):
                usec = int(env["WATCHDOG_USEC"]) or None
        return cls(env.get("NOTIFY_SOCKET") or None, usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1: half of systemd's timeout."""
        return None if not self.watchdog_usec else self.watchdog_usec / 2e6

    def send(self, *fields: str) -> bool:
        if self.address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(1.0)
                sock.connect(target)
                sock.sendall(message)
            return True
        except OSError as exc:
            self.failures += 1
            kind = type(exc).__name__
            if kind not in self._reported:
                self._reported.add(kind)
                log.warning("systemd notify to %s failed: %s", self.address, exc)
            return False

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")
