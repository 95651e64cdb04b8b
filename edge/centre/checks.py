"""What the consumer checks before storing a message: JSON, the payload's JSON Schema
(docs/schemas, the project's published contract) and that the payload's `unit_id` is the unit
whose topic it came on (the broker's ACL lets a unit publish only under its own id, so a
mismatch is a forged or broken payload)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
KINDS = {"reads": "read", "hits": "hit"}


@dataclass(frozen=True)
class Checked:
    kind: str  # "read" or "hit"
    payload: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    reason: str  # says what is wrong, never the payload's content (personal data)


class Checker:
    def __init__(self, prefix: str, schemas: Path = SCHEMAS):
        self.prefix = prefix
        loaded = {p.name: json.loads(p.read_text()) for p in schemas.glob("*.schema.json")}
        registry = Registry().with_resources(
            (schema["$id"], Resource.from_contents(schema)) for schema in loaded.values()
        )
        self.validators = {
            kind: jsonschema.Draft202012Validator(loaded[f"{kind}.schema.json"],
                                                  registry=registry)
            for kind in ("read", "hit")
        }  # fmt: skip

    def check(self, topic: str, data: bytes) -> Checked | Refused:
        parts = topic.split("/")
        head = self.prefix.split("/")
        if parts[: len(head)] != head or len(parts) != len(head) + 3 or parts[-1] not in KINDS:
            return Refused(f"unexpected topic {topic!r}")
        unit_id, kind = parts[len(head) + 1], KINDS[parts[-1]]
        try:
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return Refused(f"not JSON on {topic}")
        validator = self.validators[kind]
        if not validator.is_valid(payload):  # the common case costs one pass (~1 ms here)
            error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            return Refused(f"not an anpr.{kind}/1 on {topic}: at {where}: {error.validator}")
        if payload.get("unit_id") != unit_id:
            return Refused(f"unit_id differs from the topic's unit on {topic}")
        return Checked(kind, payload)
