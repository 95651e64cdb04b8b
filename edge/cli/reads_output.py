"""How `anpr-edge reads` and `hits` print records: a line each for people, CSV for a
spreadsheet, or JSON for scripts.

- CSV: a header row, then a row per record, nothing else on stdout (the backlog line is for
  people). The record holds no image (the store's listing never selects one), so none can leak
  into a file that is mailed around.
- JSON: one document (`store`, the records, `backlog`); with `--follow`, which never ends, one
  object per line instead (JSON Lines), each flushed as it comes.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import TextIO

FIELDS = {
    "read": (
        "read_id", "vrm", "captured_at", "confidence", "direction", "frames", "hit",
        "stored_at", "delivered", "delivered_at",
    ),
    "hit": ("read_id", "vrm", "captured_at", "lists", "stored_at", "delivered", "delivered_at"),
}  # fmt: skip


def text_line(kind: str, record: dict) -> str:
    state = f"delivered {record['delivered_at']}" if record["delivered"] else "NOT delivered"
    detail = (
        f"{record['direction'] or '-':7} {record['frames']:3} frames  "
        f"{record['confidence']:.2f}{'  HIT' if record['hit'] else ''}"
        if kind == "read"
        else ", ".join(record["lists"])
    )
    return f"{record['captured_at']}  {record['vrm']:9} {detail}  {state}  {record['read_id']}"


def _csv_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


class RecordPrinter:
    """Prints records as they come, in one of the formats: "text", "csv", "json-lines"."""

    def __init__(self, kind: str, form: str, out: TextIO | None = None):
        self.kind, self.form, self.out = kind, form, out or sys.stdout
        self.count = 0
        self._csv = None
        if form == "csv":
            self._csv = csv.writer(self.out, lineterminator="\n")
            self._csv.writerow(FIELDS[kind])

    def print(self, record: dict) -> None:
        self.count += 1
        if self._csv is not None:
            self._csv.writerow([_csv_value(record[name]) for name in FIELDS[self.kind]])
        elif self.form == "json-lines":
            self.out.write(json.dumps(record) + "\n")
        else:
            self.out.write(text_line(self.kind, record) + "\n")

    def flush(self) -> None:
        self.out.flush()
