"""Links in README.md and docs/*.md point at files that exist and headings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.docs import GUIDE, PROTOCOL, without_blocks

# --- links --------------------------------------------------------------------------------------


def anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in without_blocks(doc.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            found.add(text.replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", [GUIDE, PROTOCOL], ids=lambda p: p.name)
def test_links_point_at_files_and_headings(doc: Path) -> None:
    text = without_blocks(doc.read_text(encoding="utf-8"))
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file) if file else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{doc.name}: broken links: {broken}"
