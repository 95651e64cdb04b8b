"""What the running unit writes for people: one log line per event, and on a terminal a live
status line under them (fps, reads, hits, backlog, broker), redrawn in place.

Not on a terminal (journald, a pipe, a file) there is no status line and no escape codes. Under
systemd (`$JOURNAL_STREAM` set) lines carry no timestamp: journald adds its own. `format =
"json"` writes one JSON object per line. Messages never contain secrets: the broker password and
key passphrase are never handed to anything that logs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import TextIO

CLEAR_LINE = "\r\x1b[K"


class StatusLine:
    def __init__(self, stream: TextIO, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.text = ""
        self.lock = threading.Lock()

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.text = text
            self.stream.write(CLEAR_LINE + text)
            self.stream.flush()

    def clear(self) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self.text = ""


class _ConsoleHandler(logging.Handler):
    """Writes a record above the status line, then draws the status line again."""

    def __init__(self, stream: TextIO, status: StatusLine):
        super().__init__()
        self.stream, self.status = stream, status

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            with self.status.lock:
                if self.status.enabled:
                    self.stream.write(CLEAR_LINE + line + "\n" + self.status.text)
                else:
                    self.stream.write(line + "\n")
                self.stream.flush()
        except Exception:
            self.handleError(record)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, fmt: str, stream: TextIO | None = None) -> StatusLine:
    """Route the unit's logs to `stream` (stderr) and return its status line."""
    stream = stream or sys.stderr
    tty = stream.isatty() and os.environ.get("TERM") != "dumb"
    status = StatusLine(stream, tty)
    handler = _ConsoleHandler(stream, status)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    elif os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _ConsoleHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # paho and LiteRT are chatty at DEBUG; their warnings still come through
    logging.getLogger("paho").setLevel(max(logging.WARNING, root.level))
    return status
