"""The running unit's live page (`Unit.open_live_page`): served from the start when
`live.enabled`, otherwise opened for `live.session_s` when `anpr-edge camera live` asks
(SIGUSR2), and closed again when that time is up. While closed there is no listening socket at
all, and the pipeline's hand-off (edge.live.holder) does nothing.

Each opening makes a new token (the previous one stops working) and answers the CLI in the
control file (edge.live.control). The page's own thread waits on the request flag and the
unit's stop event; nothing in it can stop the unit: an error is logged with its traceback,
counted (stage "live" in health's errors) and the page closed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.live.access import TokenGuard, new_token
from edge.live.control import LiveSession, write_session
from edge.live.holder import FrameHolder
from edge.live.server import LiveServer, PageContent
from edge.live.state import StateDocument
from edge.live.view import Renderer
from edge.stages import Counters
from edge.times import rfc3339

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

TICK_S = 0.5
STOP_S = 5.0


@dataclass(frozen=True)
class LiveSettings:
    """The `[live]` section: whether the page is always open, where it listens, how often it
    renders, and how long a page opened on request stays open."""

    enabled: bool = False
    bind: str = "127.0.0.1"
    port: int = 8480
    max_fps: float = 6.0
    session_s: float = 900.0

    @classmethod
    def from_config(cls, config: Config) -> LiveSettings:
        return cls(**config.live.model_dump())  # the section's keys are these fields


class LivePage:
    def __init__(
        self,
        settings: LiveSettings,
        holder: FrameHolder,
        counters: Counters,
        stop: threading.Event,
        control_file: Path,
        requested: threading.Event,
        *,
        source_status: Callable[[], dict[str, Any]],
        health: Callable[[], dict[str, Any] | None],
    ):
        self.settings, self.holder, self.counters = settings, holder, counters
        self.stop_event, self.control_file = stop, control_file
        self.requested = requested  # set by SIGUSR2 (edge.unit.signals): `camera live`
        self.guard = TokenGuard()
        self.renderer = Renderer(holder, settings.max_fps)
        self.state = StateDocument(
            self.renderer, holder, counters, source_status, health, self._session
        )
        self.server: LiveServer | None = None
        self.until: float | None = None  # monotonic end of a `camera live` session
        self.session: LiveSession | None = None
        self.serial = 0
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="live-page", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """After the unit's stop event: the thread closes the page on its way out."""
        if self.thread is not None:
            self.thread.join(STOP_S + TICK_S)
        if self.server is not None:  # the thread did not get to it
            self._close("the unit stopped")

    def _run(self) -> None:
        if self.settings.enabled:
            self._guarded(lambda: self._open("config"))
        while not self.stop_event.wait(TICK_S):
            if self.requested.is_set():
                self.requested.clear()
                self._guarded(lambda: self._open("camera live"))
            elif self.until is not None and time.monotonic() >= self.until:
                self._guarded(lambda: self._close("its time is up"))
        if self.server is not None:
            self._guarded(lambda: self._close("the unit stopped"))

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:
            self.counters.error("live")
            log.exception("live page: failed; closing it")
            try:
                if self.server is not None:
                    self._close("of the error above")
            except Exception:  # the page's own thread must go on (a later request reopens it)
                self.counters.error("live")
                log.exception("live page: closing it failed too")

    def _open(self, reason: str) -> None:
        settings = self.settings
        self.serial += 1
        if self.server is None:
            content = PageContent(self.guard, self.renderer, self.state.build, self.counters)
            try:
                self.server = LiveServer((settings.bind, settings.port), content)
            except OSError as exc:
                error = f"cannot listen on {settings.bind}:{settings.port}: {exc.strerror or exc}"
                log.error("live page: %s", error)
                self._answer(LiveSession(os.getpid(), self.serial, False, settings.bind,
                                         settings.port, reason=reason, error=error))  # fmt: skip
                return
            self.server.start()
            self.holder.open = True
        token = new_token()
        self.guard.replace(token)
        # enabled by config: no end; else this session's time from now (a second request extends)
        self.until = None if settings.enabled else time.monotonic() + settings.session_s
        until = None if self.until is None else rfc3339(time.time() + settings.session_s)
        session = LiveSession(
            os.getpid(), self.serial, True, settings.bind, settings.port,
            token=token, until=until, reason=reason,
        )  # fmt: skip
        self._answer(session)
        self.session = session  # set once answered: whoever sees it can read the file
        log.info(
            "live page open on %s:%d (%s)%s, with a new token (anpr-edge camera live prints it)",
            settings.bind, settings.port, reason, f" until {until}" if until else "",
        )  # fmt: skip

    def _close(self, why: str) -> None:
        server, self.server = self.server, None
        self.guard.replace(None)
        self.holder.close()
        self.renderer.forget()
        self.until = None
        if server is not None:
            server.stop(STOP_S)
        settings = self.settings
        self._answer(LiveSession(os.getpid(), self.serial, False, settings.bind, settings.port))
        self.session = None
        log.info("live page closed: %s", why)

    def _answer(self, session: LiveSession) -> None:
        try:
            write_session(self.control_file, session)
        except OSError as exc:
            log.warning("live page: cannot write %s: %s", self.control_file, exc.strerror or exc)

    def _session(self) -> dict[str, Any]:
        session = self.session
        return {
            "until": None if session is None else session.until,
            "max_fps": self.settings.max_fps,
        }
