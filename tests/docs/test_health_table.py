"""The operator guide's health table names every key the unit publishes and writes, and no other."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.docs import GUIDE, JSON_EXAMPLES, SCHEMAS

# --- the health table -------------------------------------------------------------------------


def documented_health_keys() -> set[str]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## What each health field means", 1)[1].split("\n## ", 1)[0]
    keys = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            keys |= set(re.findall(r"`([a-z_]+)`", first_cell))
    return keys


def test_the_health_table_lists_every_key(tmp_path: Path) -> None:
    from edge.stages import Counters, Stage
    from edge.store.database import open_database
    from edge.unit.health import HealthReporter

    conn = open_database(tmp_path / "anpr.db")
    try:
        reporter = HealthReporter(
            "u1",
            Counters(),
            conn,
            tmp_path / "anpr.db",
            [Stage("capture", 5.0)],
            lambda: False,
            lambda: {},
        )
        published = set(reporter.snapshot())
        written = set(reporter.status("running", 5.0))
    finally:
        conn.close()
    schema = set(json.loads((SCHEMAS / "health.schema.json").read_text())["properties"])
    # the keys the running service adds (edge.unit.service: `extra`), as captured in the docs
    captured = set()
    for _where, text in JSON_EXAMPLES:
        value = json.loads(text)
        if isinstance(value, dict) and value.get("schema") == "anpr.health/1":
            captured |= set(value)
    assert {"hotlist_sync", "broker", "source", "state"} <= captured, "no captured health example"
    documented = documented_health_keys()
    actual = published | written | schema | captured | {"stopped_at"}
    assert not actual - documented, f"missing from the health table: {sorted(actual - documented)}"
    assert not documented - actual, (
        f"in the health table, not in the unit: {sorted(documented - actual)}"
    )
