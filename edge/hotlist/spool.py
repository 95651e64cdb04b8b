"""The hotlist spool: bundles received over MQTT, kept on disk until they are applied.

Why: a bundle may be acknowledged (PUBACK) only once it is applied or durably queued, and the
broker's pacing cannot be trusted to bound what arrives (Mosquitto 2.0.11 sent 1,229 queued
QoS 1 messages at once after a reconnect, to a client that asked for 4: docs/protocol.md).
paho's callback therefore writes each bundle here and only then acknowledges it; the sync's
worker applies the files in order and deletes each one after its apply committed (or its
rejection was counted). A unit killed in between finds the file at its next start.

- `<store folder>/hotlist-spool/`, mode 0700; files 0600 (bundles are personal data).
- One file per bundle, named by an increasing sequence number with its list and kind:
  `000000000042.national.delta`. Written to `.tmp-…`, fsynced, renamed, and the folder fsynced,
  so a file with its final name is always whole.
- Bounded by a count and a size: `add` returns None past the bound (the caller then does not
  acknowledge; the broker sends the bundle again in the next session). One bundle always fits
  into an empty spool, so a bundle of the largest allowed size can never be held back forever.
- Memory: the spool keeps only names and sizes; the payload is read back by the worker.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from edge.files import fsync_folder

log = logging.getLogger(__name__)

FOLDER = "hotlist-spool"
MAX_FILES = 10_000
SLACK_BYTES = 64 * 1024 * 1024  # beyond one largest bundle: room for a burst of deltas
_NAME = re.compile(r"(\d{12})\.([A-Za-z0-9_-]+)\.(snapshot|delta)")


@dataclass(frozen=True)
class Spooled:
    """A bundle waiting in the spool: its file and what its name says of it."""

    seq: int
    list_id: str
    kind: str
    path: Path
    size: int


class Spool:
    def __init__(self, folder: Path, *, max_files: int, max_bytes: int):
        self.folder, self.max_files, self.max_bytes = folder, max_files, max_bytes
        self._lock = threading.Lock()  # paho's thread adds, the worker removes
        self._held: dict[int, Spooled] = {}
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # also when it already existed with the umask's mode
        for stale in folder.glob(".tmp-*"):
            stale.unlink()  # a write cut short: never acknowledged, the broker sends it again
        for path in folder.iterdir():
            match = _NAME.fullmatch(path.name)
            if match is None:
                log.warning("hotlist spool: ignoring %s (not a spooled bundle)", path)
                continue
            seq = int(match.group(1))
            self._held[seq] = Spooled(
                seq, match.group(2), match.group(3), path, path.stat().st_size
            )
        self._next = max(self._held, default=0) + 1

    @staticmethod
    def beside(store_path: str | os.PathLike[str], *, max_bundle_bytes: int) -> Spool:
        """The spool next to the store at `store_path`, bounded from the largest bundle."""
        return Spool(
            Path(store_path).resolve().parent / FOLDER,
            max_files=MAX_FILES,
            max_bytes=max_bundle_bytes + SLACK_BYTES,
        )

    def pending(self) -> list[Spooled]:
        """What is in the spool, oldest first (at start: what a previous run left)."""
        with self._lock:
            return [self._held[seq] for seq in sorted(self._held)]

    def usage(self) -> tuple[int, int]:
        with self._lock:
            return len(self._held), sum(item.size for item in self._held.values())

    def has_room_for(self, size: int) -> bool:
        files, used = self.usage()
        if files == 0:
            return True
        return files < self.max_files and used + size <= self.max_bytes

    def add(self, list_id: str, kind: str, payload: bytes) -> Spooled | None:
        """Durably store one bundle (raises OSError, e.g. disk full); None past the bound."""
        if not self.has_room_for(len(payload)):
            return None
        with self._lock:
            seq, self._next = self._next, self._next + 1
        path = self.folder / f"{seq:012d}.{list_id}.{kind}"
        temp = self.folder / f".tmp-{seq:012d}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            os.rename(temp, path)
            fsync_folder(self.folder)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        item = Spooled(seq, list_id, kind, path, len(payload))
        with self._lock:
            self._held[seq] = item
        return item

    def read(self, item: Spooled) -> bytes:
        return item.path.read_bytes()

    def remove(self, item: Spooled) -> None:
        with self._lock:
            self._held.pop(item.seq, None)
        item.path.unlink(missing_ok=True)
        # no folder fsync: a deletion lost in a power cut re-applies a bundle already held,
        # which is rejected as stale and counted, never applied twice
