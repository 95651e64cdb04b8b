"""The unit's live page part and its server, for real on loopback: off by default, opened on
request with a token, every route behind it, bound where configured, closed on time and on the
unit's stop."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.live.control import read_session
from edge.live.holder import FrameHolder
from edge.live.page import LivePage, LiveSettings
from edge.stages import Counters
from tests.live.conftest import grey_of
from tests.support.broker import free_port
from tests.support.browser import get
from tests.support.unit import wait_for


@contextmanager
def live_page(tmp_path: Path, **settings) -> Iterator[LivePage]:
    stop = threading.Event()
    page = LivePage(
        LiveSettings(port=free_port(), **settings), FrameHolder(), Counters(), stop,
        tmp_path / "live.json", threading.Event(),
        source_status=lambda: {"exposure_us": 800, "analogue_gain": 4.0},
        health=lambda: {"state": "running", "broker": {"connected": True}, "stages": {}},
    )  # fmt: skip
    page.start()
    try:
        yield page
    finally:
        stop.set()
        page.stop()


def base_of(page: LivePage) -> str:
    return f"http://127.0.0.1:{page.settings.port}/"


def open_on_request(page: LivePage) -> tuple[str, str]:
    page.requested.set()
    wait_for(lambda: page.session is not None, "the page did not open", 5)
    session = read_session(page.control_file)
    assert session is not None and session.open and session.token and session.url
    return session.url, f"anpr_live={session.token}"


def test_off_by_default_and_opened_on_request(tmp_path):
    with live_page(tmp_path) as page:
        time.sleep(1.0)
        assert page.server is None and not page.control_file.exists()
        with pytest.raises(ConnectionRefusedError):
            get(base_of(page))
        url, _ = open_on_request(page)
        assert page.control_file.stat().st_mode & 0o777 == 0o600  # it holds the token
        assert get(url).status == 303
        assert page.server is not None and page.server.server_address[0] == "127.0.0.1"


def test_every_route_needs_the_token_and_only_get_is_answered(tmp_path, road_frame):
    frame, plates = road_frame
    with live_page(tmp_path, enabled=True) as page:
        wait_for(lambda: page.session is not None, "not opened by config", 5)
        base = base_of(page)
        for path in ("", "page.js", "page.css", "frame.jpg", "state.json", "nothing"):
            refused = get(base + path)
            assert refused.status == 401 and b"\xff\xd8" not in refused.body, path
        session = read_session(page.control_file)
        assert session is not None and session.until is None and session.reason == "config"
        first = get(session.url or "")
        assert first.status == 303 and first.headers["Location"] == "/"
        cookie = first.headers["Set-Cookie"].split(";", 1)[0]
        page_html = get(base, cookie)
        assert page_html.status == 200 and b'src="/page.js"' in page_html.body
        assert page_html.headers["Cache-Control"] == "no-store"
        assert "default-src 'self'" in page_html.headers["Content-Security-Policy"]
        assert get(base + "page.js", cookie).status == 200
        assert get(base + "nothing", cookie).status == 404
        assert get(base + "frame.jpg", cookie).status == 503  # asked: frames are held from now
        page.holder.offer(frame, grey_of(frame), plates)
        picture = get(base + "frame.jpg", cookie)
        assert picture.status == 200 and picture.body.startswith(b"\xff\xd8")
        assert picture.headers["Content-Type"] == "image/jpeg"
        state = json.loads(get(base + "state.json", cookie).body)
        shown = state["frame"]
        assert shown["index"] == frame.index and shown["size"] == [1456, 1088]
        assert [p["text"] for p in shown["plates"]] == [p.text.text for p in plates]
        assert all(p["sharpness"] > 0 and p["height_px"] > 0 for p in shown["plates"])
        assert shown["exposure_us"] == 800 and shown["analogue_gain"] == 4.0  # from the source
        assert state["health"]["problems"] == [] and state["session"]["max_fps"] == 6.0
        for method in ("POST", "PUT", "DELETE", "HEAD"):
            assert get(base + "frame.jpg", cookie, method=method).status == 405, method


def test_pages_asking_faster_than_max_fps_share_one_rendering(tmp_path, road_frame):
    frame, plates = road_frame
    with live_page(tmp_path, enabled=True, max_fps=1.0) as page:
        wait_for(lambda: page.session is not None, "not opened by config", 5)
        page.holder.watch()
        page.holder.offer(frame, grey_of(frame), plates)
        first = page.renderer.view()
        page.holder.offer(
            frame, grey_of(frame), plates
        )  # a newer frame, asked for within the second
        assert page.renderer.view() is first and page.renderer.rendered == 1


def test_bound_to_the_configured_address_only(tmp_path):
    with live_page(tmp_path, enabled=True) as page:
        wait_for(lambda: page.server is not None, "not opened", 5)
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(ConnectionRefusedError):
                get(f"http://{other}:{page.settings.port}/")
    with live_page(tmp_path, enabled=True, bind="0.0.0.0") as page:
        wait_for(lambda: page.session is not None, "not opened", 5)  # and answered
        assert page.server is not None and page.server.server_address[0] == "0.0.0.0"
        session = read_session(page.control_file)
        assert session is not None and (session.url or "").startswith("http://127.0.0.1:")


def test_closed_when_its_time_is_up_and_on_the_units_stop(tmp_path):
    with live_page(tmp_path, session_s=2.0) as page:
        url, _ = open_on_request(page)
        wait_for(lambda: page.session is None, "the session did not end", 5)  # all closed
        with pytest.raises(ConnectionRefusedError):
            get(url)
        closed = read_session(page.control_file)
        assert closed is not None and not closed.open and closed.token is None
    with live_page(tmp_path, enabled=True) as page:
        wait_for(lambda: page.server is not None, "not opened", 5)
        page.stop_event.set()
        wait_for(lambda: page.server is None, "the page outlived the unit's stop", 3)


def test_a_port_in_use_is_reported_to_the_cli_not_raised(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with live_page(tmp_path) as page:
            page.settings = LiveSettings(port=port)
            page.requested.set()
            wait_for(lambda: page.control_file.exists(), "no answer", 5)
            session = read_session(page.control_file)
            assert session is not None and not session.open
            assert f"cannot listen on 127.0.0.1:{port}" in (session.error or "")
            assert page.thread is not None and page.thread.is_alive()


def _non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address
