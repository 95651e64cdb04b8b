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
import time

import cv2
import numpy as np
import pytest

from tests.support.broker import free_port
from tests.support.browser import chromium, get, needs_chromium
from tests.support.cli import anpr, start
from tests.support.paths import REPO
from tests.support.unit import wait_for, write_unit_config

pytestmark = [pytest.mark.broker, needs_chromium]
TRIES = 8  # page loads until one catches a plate in view (a vehicle a second on this road)


def plate_rows(dom: str) -> list[str]:
    return re.findall(r'<tr data-plate="([A-Z0-9]*)"', dom)


def green_box_pixels(png) -> int:
    """Pixels of the overlay's box colour (BGR 0, 220, 0) in the screenshot."""
    picture = cv2.imread(str(png))
    b, g, r = (picture[..., i].astype(int) for i in range(3))
    return int(((g > 180) & (r < 60) & (b < 60)).sum())


def test_the_live_page_in_chromium(tmp_path, broker):
    port = free_port()
    config = write_unit_config(tmp_path, broker, look="day", extra=f"[live]\nport = {port}\n")
    unit = start(
        "run", "--config", str(config), "--source", "synthetic:rate=60",
        stdout=open(tmp_path / "unit.out", "w"), stderr=open(tmp_path / "unit.err", "w"),
    )  # fmt: skip
    try:
        status = tmp_path / "run" / "status.json"
        wait_for(lambda: status.exists() and '"running"' in status.read_text(), "no start", 120)
        # off by default: nothing listens until asked
        with pytest.raises(ConnectionRefusedError):
            get(f"http://127.0.0.1:{port}/")
        opened = anpr("camera", "live", "--config", str(config), "--json", process=True)
        assert opened.returncode == 0, opened.stderr
        session = json.loads(opened.stdout)
        url = session["url"]
        assert url.startswith(f"http://127.0.0.1:{port}/?token=") and session["until"]
        base, token = url.split("?token=")

        dom, shot = "", tmp_path / "live.png"
        for _ in range(TRIES):
            dom = chromium(tmp_path, url, dump_dom=True)
            if plate_rows(dom):
                break
        assert plate_rows(dom), dom[-3000:]  # a plate in view, read, with its figures
        assert re.search(r'<li data-vrm="[A-Z0-9]+"><img src="data:image/jpeg;base64,', dom)
        shown = int(re.search(r'id="frames-shown" data-count="(\d+)"', dom).group(1))
        assert shown >= 3, dom[-2000:]  # the frame refreshes on its own
        assert "all well" in dom or "broker" in dom  # health at a glance

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
        again = json.loads(
            anpr("camera", "live", "--config", str(config), "--json", process=True).stdout
        )
        assert again["token"] != token
        assert get(url).status == 403 and get(again["url"]).status == 303
    finally:
        unit.send_signal(signal.SIGTERM)
        try:
            unit.wait(60)
        finally:
            if unit.poll() is None:
                unit.kill()
    assert unit.returncode == 0, (tmp_path / "unit.err").read_text()[-3000:]
    log = (tmp_path / "unit.err").read_text()
    assert "live page open" in log and "live page closed" in log
    assert token not in log  # the token is never logged
    time.sleep(0)  # (the unit is gone: nothing listens again)
    with pytest.raises(ConnectionRefusedError):
        get(base)
