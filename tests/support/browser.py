"""Helpers for the live page's tests (no tests here): Debian's headless Chromium, and a plain
HTTP GET that shows exactly what the server answered (no redirect followed, no cookie kept)."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (tools/bootstrap.sh installs it): the live "
    "page's browser test needs it",
)
BROWSER_S = 90.0


def chromium(
    folder: Path, url: str, *, dump_dom: bool = False, screenshot: Path | None = None,
    budget_ms: int = 5000, size: tuple[int, int] = (1400, 860),
) -> str:  # fmt: skip
    """Load `url` in headless Chromium for `budget_ms` of (virtual) time, then print its DOM
    (returned) or save a screenshot. A fresh profile each time: no cookie carried over."""
    assert CHROMIUM is not None
    profile = folder / f"chromium-profile-{len(list(folder.glob('chromium-profile-*')))}"
    argv = [
        CHROMIUM, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        "--disable-extensions", f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
        f"--virtual-time-budget={budget_ms}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
    if dump_dom:
        argv.append("--dump-dom")
    if screenshot is not None:
        argv.append(f"--screenshot={screenshot}")
    result = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=BROWSER_S, cwd=folder
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def get(url: str, cookie: str | None = None, method: str = "GET") -> Answer:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()
