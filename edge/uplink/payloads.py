"""The unit's MQTT payloads (DESIGN §3), each with its `schema` id; JSON Schemas of the same
names are in docs/schemas/ and the tests validate every payload against them.

- `anpr.read/1`: one vehicle's read (published once its track ends).
- `anpr.hit/1`: a read that matched hotlists, with the matched entries; usually published
  before the read, as soon as enough frames agree; both carry the same `read_id`.
- `anpr.status/1`: retained `online`, and `offline` (the last will, or an orderly stop).
- `anpr.health/1`: periodic figures (built in `edge.unit.health`).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from edge.records import Hit, HotlistMatch, PlateRead
from edge.times import rfc3339

READ_SCHEMA = "anpr.read/1"
HIT_SCHEMA = "anpr.hit/1"
STATUS_SCHEMA = "anpr.status/1"
HEALTH_SCHEMA = "anpr.health/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def read_fields(read: PlateRead) -> dict[str, Any]:
    return {
        "read_id": read.read_id,
        "unit_id": read.unit_id,
        "camera_id": read.camera_id,
        "vrm": read.vrm,
        "confidence": round(read.confidence, 4),
        "char_confidences": [round(c, 4) for c in read.char_confidences],
        "format": read.format,
        "captured_at": rfc3339(read.captured_at),
        "first_seen": rfc3339(read.first_seen),
        "last_seen": rfc3339(read.last_seen),
        "clock_synced": read.clock_synced,
        "location": (
            None if read.location is None else {"lat": read.location[0], "lon": read.location[1]}
        ),
        "direction": read.direction,
        "frames": read.frames,
        "models": dict(read.model_versions),
        "patch_jpeg": _b64(read.patch_jpeg),
        "overview_jpeg": None if read.overview_jpeg is None else _b64(read.overview_jpeg),
    }


def read_payload(read: PlateRead, hit: bool) -> dict[str, Any]:
    return {"schema": READ_SCHEMA, **read_fields(read), "hit": hit}


def match_fields(match: HotlistMatch) -> dict[str, Any]:
    entry = match.entry
    return {
        "list": match.list_id,
        "version": match.version,
        "vrm": entry.vrm,
        "kind": match.kind,
        "distance": match.distance,
        "confusion_only": match.confusion_only,
        "local": match.local,
        "category": entry.category,
        "priority": entry.priority,
        "action": entry.action,
        "reason": entry.reason,
        "expires_at": None if entry.expires_at is None else rfc3339(entry.expires_at),
    }


def hit_payload(hit: Hit) -> dict[str, Any]:
    matches = [match_fields(m) for m in hit.matches]
    best = hit.matches[0]
    return {
        "schema": HIT_SCHEMA,
        **read_fields(hit.read),
        "list": best.list_id,
        "version": best.version,
        "kind": best.kind,
        "distance": best.distance,
        "matches": matches,
    }


def status_payload(
    unit_id: str, state: str, since: datetime, versions: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema": STATUS_SCHEMA,
        "unit_id": unit_id,
        "state": state,
        "since": rfc3339(since),
        "versions": versions,
    }


def encode(payload: dict[str, Any]) -> str:
    """Compact UTF-8 JSON, as sent and as stored."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
