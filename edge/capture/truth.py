"""Ground truth of the synthetic road (`anpr-edge run --truth PATH`) and scoring reads by it.

The CSV has DESIGN §6's columns `vehicle_id,plate,first_frame,last_frame` (the frames in which
the vehicle's plate was wholly in the picture), then `first_seen,last_seen` (those frames'
capture times, RFC 3339), `direction`, `look`, `max_plate_px` (its largest height in pixels, for
a 111 mm plate), `complete` (the vehicle both entered and left during the run, so a read of it
was possible from start to end) and `plate_style` (uk, uk-square, …).

Scoring matches each read to the vehicle in view at the time (by the read's first and last
seen times) whose plate it reads or holds a piece of, else to the one it is closest to by edit
distance; a read that fits no vehicle in view is a ghost.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from edge.plates.distance import levenshtein
from edge.times import parse_rfc3339, rfc3339

COLUMNS = (
    "vehicle_id",
    "plate",
    "first_frame",
    "last_frame",
    "first_seen",
    "last_seen",
    "direction",
    "look",
    "max_plate_px",
    "complete",
    "plate_style",
)
SLACK_S = 0.5


@dataclass
class _Seen:
    vehicle: Any
    first_frame: int
    last_frame: int
    max_plate_px: float
    look: str
    design: str


class TruthRecorder:
    """Fed by the synthetic source as it draws; written when the source closes."""

    def __init__(self, path: Path, fps: float, started: datetime | None = None):
        self.path, self.fps = Path(path), fps
        self.started = started
        self._seen: dict[int, _Seen] = {}

    def saw(self, vehicle, frame_index: int, plate_px: float, look: str, design: str = "") -> None:
        seen = self._seen.get(vehicle.vehicle_id)
        if seen is None:
            self._seen[vehicle.vehicle_id] = _Seen(
                vehicle, frame_index, frame_index, plate_px, look, design
            )
        else:
            seen.last_frame = frame_index
            seen.max_plate_px = max(seen.max_plate_px, plate_px)

    def close(self, last_frame: int, started: datetime | None = None) -> None:
        started = started or self.started
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(COLUMNS)
            for vehicle_id in sorted(self._seen):
                seen = self._seen[vehicle_id]
                times = [
                    rfc3339(started + timedelta(seconds=i / self.fps)) if started else ""
                    for i in (seen.first_frame, seen.last_frame)
                ]
                complete = seen.first_frame > 0 and seen.last_frame < last_frame
                writer.writerow(
                    [
                        vehicle_id,
                        seen.vehicle.plate,
                        seen.first_frame,
                        seen.last_frame,
                        *times,
                        seen.vehicle.direction,
                        seen.look,
                        round(seen.max_plate_px, 1),
                        "true" if complete else "false",
                        seen.design,
                    ]
                )


@dataclass
class TruthVehicle:
    vehicle_id: int
    plate: str
    first_seen: datetime
    last_seen: datetime
    direction: str
    look: str
    complete: bool
    design: str = ""
    reads: list[str] = field(default_factory=list)  # vrms of the reads matched to it


def read_truth(path: Path) -> list[TruthVehicle]:
    with Path(path).open(encoding="utf-8") as source:
        return [
            TruthVehicle(
                int(row["vehicle_id"]),
                row["plate"],
                parse_rfc3339(row["first_seen"]),
                parse_rfc3339(row["last_seen"]),
                row["direction"],
                row["look"],
                row["complete"] == "true",
                row.get("plate_style", ""),
            )
            for row in csv.DictReader(source)
        ]


def score(truth: list[TruthVehicle], reads: list[dict]) -> dict[str, Any]:
    """`reads`: read payloads (or records with vrm, first_seen, last_seen)."""
    slack = timedelta(seconds=SLACK_S)
    ghosts = []
    for read in reads:
        start, end = parse_rfc3339(read["first_seen"]), parse_rfc3339(read["last_seen"])
        in_view = [v for v in truth if v.first_seen - slack <= end and start <= v.last_seen + slack]
        if not in_view:
            ghosts.append(read["vrm"])
            continue
        best = min(in_view, key=lambda v: (_gap(v.plate, read["vrm"]), v.vehicle_id))
        if _gap(best.plate, read["vrm"]) > max(3, len(best.plate) // 2):
            ghosts.append(read["vrm"])
            continue
        best.reads.append(read["vrm"])
    eligible = [v for v in truth if v.complete]
    once_right = [v for v in eligible if v.reads == [v.plate]]
    result: dict[str, Any] = {
        "vehicles": len(eligible),
        "read_once_right": len(once_right),
        "read_once_right_ratio": round(len(once_right) / len(eligible), 4) if eligible else None,
        "missed": [v.plate for v in eligible if not v.reads],
        "wrong": [
            (v.plate, v.reads[0]) for v in eligible if len(v.reads) == 1 and v.reads != [v.plate]
        ],
        "duplicated": [(v.plate, v.reads) for v in eligible if len(v.reads) > 1],
        "ghost_reads": ghosts,
    }
    for key, attribute in (("by_look", "look"), ("by_style", "design")):
        result[key] = {}
        for value in sorted({getattr(v, attribute) for v in eligible}):
            group = [v for v in eligible if getattr(v, attribute) == value]
            right = sum(1 for v in group if v.reads == [v.plate])
            result[key][value] = {"vehicles": len(group), "read_once_right": right}
    return result


def _gap(plate: str, read: str) -> float:
    """How far a read is from a plate: the edit distance, but ½ for a piece of it (one row of
    a two-row plate is a wrong read of that vehicle, not a ghost)."""
    return 0.5 if read and read in plate and read != plate else levenshtein(plate, read)
