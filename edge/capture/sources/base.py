"""The one small interface every frame source follows.

A source is a context manager: `with source:` opens the device (or folder, or road) and
releases it however the block ends. `read(timeout_s)` returns the next `Frame`, returns None at
the end of a finite source (a folder, a video file, `--max-frames`), and raises `SourceStalled`
when no frame came within `timeout_s` (a hung camera, a dropped stream): the capture stage
counts and reports it, and the source keeps trying (reconnecting where it can).

`live` sources (cameras) produce frames at their own pace whether or not anyone keeps up: the
capture stage drops the oldest frame rather than fall behind. Others (a folder, a file, the
synthetic road run as fast as possible) wait for the pipeline, losing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.errors import RuntimeFailure


class SourceStalled(RuntimeFailure):
    """No frame within the timeout; the source is still open and will be tried again."""


ClockCheck = Callable[[], bool]


def never_synced() -> bool:
    return False


class FrameSource:
    live: bool = False
    kind: str = "?"
    index: int = 0  # of the next frame: frames delivered so far

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, timeout_s: float):  # -> Frame | None
        raise NotImplementedError

    def describe(self) -> str:
        return self.kind

    def status(self) -> dict[str, Any]:
        """What health shows of the source: its kind, frames so far and its own `details()`."""
        return {"source": self.kind, "frames": self.index, **self.details()}

    def details(self) -> dict[str, Any]:
        return {}
