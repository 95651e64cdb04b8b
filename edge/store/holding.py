"""The writer's holding area: records decided by the pipeline and not yet committed.

A record waits here while the store cannot take it (another process holds the write lock, the
disk is full, the file vanished), however long that lasts. Hits are never given up. Reads are
bounded by `max_read_bytes` of payload: past it the newest read is dropped, loudly and counted
(at a read a second with overview images that is hours of reads; without them, days).

What is still held when the unit stops is written to a spill file beside the store
(`<store>.held.jsonl`, 0600) and taken back at the next start, so a stop during a long lock
loses nothing either. Payloads are kept as the exact JSON the centre will receive.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.records import HitDecided, ReadDecided
from edge.store.reads import Kind
from edge.times import rfc3339
from edge.uplink.payloads import encode, hit_payload, read_payload

log = logging.getLogger(__name__)

MAX_HELD_READ_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Delivered:
    """The broker acknowledged record `no` of `kind`, numbered in store `generation`."""

    kind: Kind
    no: int
    generation: int = 0


@dataclass(frozen=True)
class HeldHit:
    read_id: str
    vrm: str
    captured_at: str
    lists: list[str]
    payload: str
    timing: tuple[float, float] | None = None  # monotonic: readable, decided


@dataclass(frozen=True)
class HeldRead:
    read_id: str
    vrm: str
    captured_at: str
    confidence: float
    direction: str | None
    frames: int
    hit: bool
    payload: str


def held_hit(event: HitDecided) -> HeldHit:
    read = event.hit.read
    return HeldHit(
        read.read_id,
        read.vrm,
        rfc3339(read.captured_at),
        sorted({m.list_id for m in event.hit.matches}),
        encode(hit_payload(event.hit)),
        (event.readable_mono, event.decided_mono),
    )


def held_read(event: ReadDecided) -> HeldRead:
    read = event.read
    return HeldRead(
        read.read_id,
        read.vrm,
        rfc3339(read.captured_at),
        read.confidence,
        read.direction,
        read.frames,
        event.hit,
        encode(read_payload(read, event.hit)),
    )


@dataclass
class Holding:
    max_read_bytes: int = MAX_HELD_READ_BYTES
    hits: list[HeldHit] = field(default_factory=list)
    reads: list[HeldRead] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    read_bytes: int = 0

    def __bool__(self) -> bool:
        return bool(self.hits or self.reads or self.delivered)

    def add_hit(self, hit: HeldHit) -> None:
        self.hits.append(hit)

    def add_read(self, read: HeldRead) -> bool:
        """False (and not held) when the reads held already fill the bound."""
        if self.read_bytes + len(read.payload) > self.max_read_bytes and self.reads:
            return False
        self.reads.append(read)
        self.read_bytes += len(read.payload)
        return True

    def take(self) -> Holding:
        """Everything held, handed over (the caller gives it back with `restore` if the
        commit fails); this holding is left empty."""
        taken = Holding(self.max_read_bytes, self.hits, self.reads, self.delivered, self.read_bytes)
        self.hits, self.reads, self.delivered, self.read_bytes = [], [], [], 0
        return taken

    def restore(self, taken: Holding) -> None:
        """Put back what a failed commit took, ahead of what arrived meanwhile."""
        self.hits = taken.hits + self.hits
        self.reads = taken.reads + self.reads
        self.delivered = taken.delivered + self.delivered
        self.read_bytes += taken.read_bytes


def spill_path(store: Path) -> Path:
    return store.with_name(store.name + ".held.jsonl")


def spill(holding: Holding, store: Path) -> int:
    """Write the held hits and reads to the spill file, replacing it (a spill taken back at
    start is held until committed, so it is in `holding` too); returns how many."""
    records = [("hit", asdict(h) | {"timing": None}) for h in holding.hits]
    records += [("read", asdict(r)) for r in holding.reads]
    if not records:
        return 0
    path = spill_path(store)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for kind, fields in records:
            out.write(json.dumps({"kind": kind, **fields}) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return len(records)


def take_spill(store: Path, holding: Holding) -> int:
    """Load a spill file left by the last run into `holding`; returns how many records. The
    file is removed by the caller once they are committed (`drop_spill`)."""
    path = spill_path(store)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0
    count = 0
    for number, line in enumerate(lines, 1):
        try:
            fields = json.loads(line)
            kind = fields.pop("kind")
            if kind == "hit":
                holding.add_hit(HeldHit(**{**fields, "timing": None}))
            else:
                holding.reads.append(HeldRead(**fields))
                holding.read_bytes += len(fields["payload"])
            count += 1
        except (ValueError, TypeError, KeyError) as exc:  # a torn last line after a power cut
            log.error("%s line %d: not a held record (%s); skipped", path, number, exc)
    return count


def drop_spill(store: Path) -> None:
    spill_path(store).unlink(missing_ok=True)
