"""The documents the docs tests read, and their fenced code blocks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tests.support.paths import REPO

DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
PROTOCOL = REPO / "docs" / "protocol.md"
GUIDE = REPO / "docs" / "operator-guide.md"
SCHEMAS = REPO / "docs" / "schemas"


def fenced_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, first line number, lines with the fence's indent removed)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)", lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, lang = opening.groups()
        body, start = [], i + 2
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        yield lang.lower(), start, body
        i += 1


def without_blocks(text: str) -> str:
    """The text with fenced blocks blanked out (line numbers kept)."""
    out, fence = [], None
    for line in text.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and marker:
            fence = marker.group(1)
            out.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


JSON_EXAMPLES = [
    (f"{doc.relative_to(REPO)}:{start}", "\n".join(body))
    for doc in (PROTOCOL, GUIDE)
    for lang, start, body in fenced_blocks(doc.read_text(encoding="utf-8"))
    if lang == "json"
]
