"""Reads and hits in a real store for the `reads`, `outbox` and `status` commands, and a unit
config whose store and status file are in a test folder (no broker needed)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from edge.records import new_read_id
from edge.store import transaction
from edge.store.reads import ReadStore
from edge.times import rfc3339

IMAGE_MARK = "SECRET-IMAGE-BYTES"  # stands for the base64 JPEG inside a stored payload


def write_config(folder: Path) -> Path:
    """A unit config whose store and status file are under `folder` (no broker is needed)."""
    path = folder / "unit.toml"
    path.write_text(
        '[unit]\nid = "test-unit"\n'
        f'[hotlist]\ntrusted_keys = ["{folder}/a.pub", "{folder}/b.pub"]\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 1883\ntls = { enabled = false }\n'
        f'[storage]\npath = "{folder / "state" / "anpr.db"}"\n'
        f'[health]\ninterval_s = 5.0\nstatus_file = "{folder / "run" / "status.json"}"\n'
    )
    return path


def add_read(store: ReadStore, vrm: str, captured: datetime, *, hit: bool = False) -> str:
    read_id = new_read_id()
    payload = json.dumps({"read_id": read_id, "vrm": vrm, "patch_jpeg": IMAGE_MARK})
    with transaction(store.conn):
        store.add_read(
            read_id, vrm, rfc3339(captured.timestamp()), confidence=0.93, direction="towards",
            frames=5, hit=hit, payload=payload,
        )  # fmt: skip
    return read_id


def add_hit(store: ReadStore, vrm: str, captured: datetime, lists: list[str]) -> str:
    read_id = new_read_id()
    payload = json.dumps({"read_id": read_id, "vrm": vrm, "patch_jpeg": IMAGE_MARK})
    with transaction(store.conn):
        store.add_hit(read_id, vrm, rfc3339(captured.timestamp()), lists, payload)
    return read_id
