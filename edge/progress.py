"""Progress on long work, for a technician at a terminal.

One line on stderr, redrawn at most five times a second: what is being done, how far (a bar
and a count when the total is known) and an estimate of the time left from the rate so far.
It is drawn only when stderr is a terminal and the command is not printing JSON, so pipes,
logs, scripts and `--json` see nothing but the result. Library code takes a `Progress` and
calls `advance`/`phase`; the CLI decides whether it is shown (`for_command`).

    with Progress("eval", total=len(images), unit="images", enabled=True) as progress:
        for image in images:
            ...
            progress.advance()
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

REDRAW_S = 0.2
TICK_S = 0.5  # a phase with nothing to count still shows its clock moving
BAR_WIDTH = 24
CLEAR_LINE = "\r\x1b[K"


def clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """A progress line. Disabled, every call is a few attribute reads: pass one freely."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "",
        *,
        enabled: bool = False,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.enabled = enabled
        self.done = 0
        self.phase_name = ""
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._started = self._phase_started = clock()
        self._drawn_at = float("-inf")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def update(self, done: int) -> None:
        """How much is done, for work that counts for itself."""
        self.done = done
        self._draw()

    def phase(self, name: str, total: int | None = None, unit: str = "") -> None:
        """A new step of phased work (e.g. reading, compressing, signing): the count restarts."""
        self.phase_name, self.done, self.total, self.unit = name, 0, total, unit
        self._phase_started = self._clock()
        self._draw(force=True)

    def line(self) -> str:
        """What the line says now."""
        elapsed = self._clock() - self._phase_started
        parts = [f"{self.label}:"]
        if self.phase_name:
            parts.append(self.phase_name)
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = round(share * BAR_WIDTH)
            parts.append(f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {share:4.0%}")
            parts.append(f"{self.done}/{self.total}{unit}")
        elif self.done:
            parts.append(f"{self.done}{unit}")
        if self.done and elapsed > 0:
            rate = self.done / elapsed
            parts.append(f"{rate:.0f}/s" if rate >= 100 else f"{rate:.1f}/s")
        if self.total and self.done and self.done < self.total:
            left = elapsed * (self.total - self.done) / self.done
            parts.append(f"about {clock_text(left)} left")
        else:
            parts.append(clock_text(elapsed))
        return " ".join(parts)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if not force and now - self._drawn_at < REDRAW_S:
            return
        with self._lock:
            if self._stop.is_set():
                return
            self._drawn_at = now
            self._stream.write(CLEAR_LINE + self.line())
            self._stream.flush()
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
                self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            self._draw(force=True)

    def close(self) -> None:
        """Take the line away: the command's own output follows on a clean line."""
        if not self.enabled:
            return
        with self._lock:
            self._stop.set()
            if self._drawn_at != float("-inf"):
                self._stream.write(CLEAR_LINE)
                self._stream.flush()
        if self._ticker is not None:
            self._ticker.join(timeout=2 * TICK_S)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def shown(json_output: bool = False, stream: TextIO | None = None) -> bool:
    """Whether a command shows progress: on a terminal, and not when it prints JSON."""
    stream = stream if stream is not None else sys.stderr
    try:
        return not json_output and stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def for_command(args: object, label: str, total: int | None = None, unit: str = "") -> Progress:
    """The progress line of a CLI command (shown per `shown`, `--json` read from `args`)."""
    return Progress(label, total, unit, enabled=shown(bool(getattr(args, "json", False))))
