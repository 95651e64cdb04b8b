"""A plate read with fixed times, for the store and writer tests."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.records import PlateRead, new_read_id

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def plate_read(vrm: str = "AB12CDE", patch: bytes = b"\xff\xd8jpeg") -> PlateRead:
    return PlateRead(
        new_read_id(), "unit-1", "cam1", vrm, 0.97, (0.99,) * len(vrm), "gb-current",
        NOW, NOW, NOW, True, (51.5, -0.1), "towards", 6, (("recogniser", "r@1"),), patch,
    )  # fmt: skip
