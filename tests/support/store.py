"""A plate read with fixed times, and a hit on it, for the store, writer and uplink tests."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.records import Hit, HotlistEntry, HotlistMatch, PlateRead, new_read_id

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def plate_read(vrm: str = "AB12CDE", patch: bytes = b"\xff\xd8jpeg") -> PlateRead:
    return PlateRead(
        new_read_id(), "unit-1", "cam1", vrm, 0.97, (0.99,) * len(vrm), "gb-current",
        NOW, NOW, NOW, True, (51.5, -0.1), "towards", 6, (("recogniser", "r@1"),), patch,
    )  # fmt: skip


def hit_on(read: PlateRead, list_version: int = 7, reason: str = "") -> Hit:
    """`read` matched exactly on version `list_version` of list "demo" (a stolen car)."""
    entry = HotlistEntry(read.vrm, "stolen", 1, "intercept", reason)
    return Hit(read, (HotlistMatch("demo", list_version, entry, "exact"),))
