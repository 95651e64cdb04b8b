"""The two kinds of record the store keeps, and the table (with its numbering column) of each."""

from __future__ import annotations

from typing import Literal

Kind = Literal["hit", "read"]
KINDS: tuple[Kind, ...] = ("hit", "read")
TABLES: dict[Kind, tuple[str, str]] = {
    "read": ("plate_reads", "read_no"),
    "hit": ("plate_hits", "hit_no"),
}
