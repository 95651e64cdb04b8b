"""Every schema file in docs/schemas is linked from docs/protocol.md, and every ```json block of
protocol.md and operator-guide.md parses, and validates against its schema when it carries a
`schema` key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from tests.support.docs import JSON_EXAMPLES, PROTOCOL, SCHEMAS

# --- (b), (c) schemas and example payloads ----------------------------------------------------


def schema_files() -> list[Path]:
    return sorted(SCHEMAS.glob("*.json"))


@pytest.mark.parametrize("schema", schema_files(), ids=lambda p: p.name)
def test_every_schema_is_linked_from_the_protocol(schema: Path) -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    assert f"](schemas/{schema.name})" in text, (
        f"docs/protocol.md does not link schemas/{schema.name}"
    )


def _registry() -> Registry:
    resources = []
    for path in schema_files():
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _schema_ids() -> dict[str, dict]:
    """Payload `schema` value → the schema file that describes it (found from its
    `properties.schema.const`, at the root or, for the hotlist payload's headers, in $defs)."""
    found: dict[str, dict] = {}

    def consts(node) -> Iterator[str]:
        if isinstance(node, dict):
            value = node.get("properties", {}).get("schema", {})
            if isinstance(value, dict) and "const" in value:
                yield value["const"]
            for child in node.values():
                yield from consts(child)
        elif isinstance(node, list):
            for child in node:
                yield from consts(child)

    for path in schema_files():
        contents = json.loads(path.read_text(encoding="utf-8"))
        for const in consts(contents):
            found.setdefault(const, contents)
    return found


def test_the_protocol_shows_an_example_of_every_payload() -> None:
    shown = set()
    for where, text in JSON_EXAMPLES:
        value = json.loads(text)
        if where.startswith("docs/protocol.md") and isinstance(value, dict) and "schema" in value:
            shown.add(value["schema"])
    assert set(_schema_ids()) <= shown


@pytest.mark.parametrize("where,text", JSON_EXAMPLES, ids=[where for where, _ in JSON_EXAMPLES])
def test_json_examples_parse_and_validate(where: str, text: str) -> None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"{where}: a ```json block that is not JSON ({exc}); trim in ```text instead")
    if not (isinstance(value, dict) and "schema" in value):
        return
    schemas = _schema_ids()
    assert value["schema"] in schemas, f"{where}: no schema in docs/schemas for {value['schema']!r}"
    validator = jsonschema.Draft202012Validator(schemas[value["schema"]], registry=_registry())
    problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not problems, f"{where}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in problems
    )
