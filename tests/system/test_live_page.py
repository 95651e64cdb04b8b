"""Issue 17's "done means": headless Chromium (Debian's package) against the real unit on the
synthetic road. `anpr-edge camera live` opens the page and prints its address with a token;
the page loads with it, shows a frame with plates boxed and read, keeps refreshing, and is
refused without the token. Set ANPR_EDGE_DOCS_SCREENSHOT=1 to write docs/live-page.png."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal

import cv2
import numpy as np
import pytest

from tests.support.broker import free_port
from tests.support.browser import chromium, get, needs_chromium
from tests.support.cli import anpr, start
from tests.support.paths import REPO
from tests.support.unit import wait_for, write_unit_config

pytestmark = [pytest.mark.broker, needs_chromium]
TRIES = 12  # page loads until one catches a plate in view and a read (a vehicle a second here)


def plate_rows(dom: str) -> list[str]:
    return re.findall(r'<tr data-plate="([A-Z0-9]*)"', dom)


def last_reads(dom: str) -> list[str]:
    return re.findall(r'<li data-vrm="([A-Z0-9]+)"><img src="data:image/jpeg;base64,', dom)


def green_box_pixels(png) -> int:
    """Pixels of the overlay's box colour (BGR 0, 220, 0) in the screenshot."""
    picture = cv2.imread(str(png))
    b, g, r = (picture[..., i].astype(int) for i in range(3))
    return int(((g > 180) & (r < 60) & (b < 60)).sum())


def test_the_live_page_in_chromium(tmp_path, broker):
    port = free_port()
    config = write_unit_config(tmp_path, broker, look="day", extra=f"[live]\nport = {port}\n")
    with open(tmp_path / "unit.out", "w") as out, open(tmp_path / "unit.err", "w") as err:
        unit = start(
            "run", "--config", str(config), "--source", "synthetic:rate=60", stdout=out, stderr=err
        )  # fmt: skip
        try:
            status = tmp_path / "run" / "status.json"
            wait_for(lambda: '"running"' in _text(status), "the unit did not start", 120)
            base, token = check_the_page(tmp_path, config, port)
        finally:
            unit.send_signal(signal.SIGTERM)
            try:
                unit.wait(60)
            finally:
                if unit.poll() is None:
                    unit.kill()
    log = (tmp_path / "unit.err").read_text()
    assert unit.returncode == 0, log[-3000:]
    assert "live page open" in log and "live page closed: the unit stopped" in log
    assert token not in log  # the token is never logged
    with pytest.raises(ConnectionRefusedError):
        get(base)  # the unit is gone, and its page with it


def _text(path) -> str:
    return path.read_text() if path.exists() else ""


def check_the_page(tmp_path, config, port: int) -> tuple[str, str]:
    """Off until asked; then the page with the token, in Chromium; refused without it."""
    with pytest.raises(ConnectionRefusedError):
        get(f"http://127.0.0.1:{port}/")  # off by default: nothing listens
    opened = anpr("camera", "live", "--config", str(config), "--json", process=True)
    assert opened.returncode == 0, opened.stderr
    session = json.loads(opened.stdout)
    url = session["url"]
    assert url.startswith(f"http://127.0.0.1:{port}/?token=") and session["until"]
    base, token = url.split("?token=")

    dom = ""
    for _ in range(TRIES):  # a read is listed only once its vehicle has gone: it may take a load
        dom = chromium(tmp_path, url, dump_dom=True)
        if plate_rows(dom) and last_reads(dom):
            break
    assert plate_rows(dom), dom[-3000:]  # a plate in view, read, with its figures
    assert last_reads(dom), dom[-3000:]  # the last reads, each with its patch
    shown = re.search(r'id="frames-shown" data-count="(\d+)"', dom)
    assert shown and int(shown.group(1)) >= 3, dom[-2000:]  # the frame refreshes on its own
    assert 'id="health" class="badge' in dom and "broker" in dom  # health at a glance

    shot = tmp_path / "live.png"
    for _ in range(TRIES):
        chromium(tmp_path, url, screenshot=shot)
        if green_box_pixels(shot) > 100:
            break
    picture = cv2.imread(str(shot))
    assert picture is not None and float(np.std(picture)) > 20  # not blank
    assert green_box_pixels(shot) > 100  # a plate boxed on the frame
    if os.environ.get("ANPR_EDGE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "live-page.png")

    # without the token: refused, no image, in the browser and on the wire
    refused = chromium(tmp_path, base, dump_dom=True)
    assert "a token is needed" in refused and "<img" not in refused
    assert get(base + "frame.jpg").status == 401
    wrong = get(base + "frame.jpg?token=" + "x" * len(token))
    assert wrong.status == 403 and not wrong.body.startswith(b"\xff\xd8")
    assert get(base + "state.json", cookie=f"anpr_live={token}x").status == 403
    assert get(base, method="POST").status == 405
    # a new `camera live` makes a new token; the old one stops working at once
    again = anpr("camera", "live", "--config", str(config), "--json", process=True)
    renewed = json.loads(again.stdout)
    assert renewed["token"] != token
    assert get(url).status == 403 and get(renewed["url"]).status == 303
    return base, renewed["token"]
