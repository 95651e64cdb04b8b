"""The service's supervision: the systemd notify protocol over the test's own socket, and the
watchdog fed only while every stage makes progress (a hung camera stops it, recovery resumes)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
import time

import pytest

from edge.config import load_config
from edge.unit import supervisor
from edge.unit.console import CLEAR_LINE, setup_logging
from edge.unit.notify import Notifier
from edge.unit.service import RunOptions, run_unit
from tests.support.camera import FakePicamera2
from tests.support.unit import wait_for, write_unit_config


class Listener:
    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except TimeoutError:
                continue

    def fields(self, since: float = 0.0) -> list[str]:
        return [f for at, m in list(self.messages) if at >= since for f in m.split("\n")]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_notify_speaks_the_datagram_protocol_to_a_path_and_an_abstract_socket(tmp_path):
    for address in (str(tmp_path / "notify"), f"@anpr-test-{os.getpid()}"):
        listener = Listener(address)
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "4000000"})
        assert notifier.enabled and notifier.watchdog_interval_s == 2.0
        assert notifier.ready("reading") and notifier.watchdog() and notifier.status("12 fps")
        assert notifier.stopping()
        wait_for(lambda listener=listener: len(listener.messages) == 4, "datagrams not received")
        listener.close()
        assert listener.messages[0][1] == f"READY=1\nSTATUS=reading\nMAINPID={os.getpid()}"
        assert [m for _, m in listener.messages[1:]] == [
            "WATCHDOG=1",
            "STATUS=12 fps",
            "STOPPING=1\nSTATUS=stopping",
        ]


def test_notify_is_quiet_without_systemd_and_counts_failures(tmp_path):
    assert not Notifier.from_environment({}).ready("x")
    other_pid = Notifier.from_environment(
        {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "100", "WATCHDOG_PID": "1"}
    )
    assert other_pid.watchdog_interval_s is None  # the watchdog is another process's
    gone = Notifier(str(tmp_path / "nobody-listens"))
    assert gone.watchdog() is False and gone.watchdog() is False
    assert gone.failures == 2


@pytest.mark.broker
def test_the_watchdog_starves_while_the_camera_hangs_and_resumes_after(
    tmp_path, broker, monkeypatch
):
    config_path = write_unit_config(
        tmp_path,
        broker,
        source="picamera2",
        camera_extra="resolution = [320, 240]\ncapture_timeout_s = 0.5\n",
    )
    config = load_config(config_path)
    monkeypatch.setattr("edge.capture.sources.picamera.import_picamera2", lambda: PacedFake)
    monkeypatch.setattr(supervisor, "TICK_S", 0.1)
    address = str(tmp_path / "notify")
    listener = Listener(address)
    stop = threading.Event()
    result: dict = {}
    runner = threading.Thread(
        target=lambda: result.update(
            run_unit(config, RunOptions(), stop=stop, notifier=Notifier(address, 400_000))
        )
    )
    runner.start()
    try:
        wait_for(lambda: "READY=1" in listener.fields(), "no READY", 60)
        time.sleep(1.0)
        assert "WATCHDOG=1" in listener.fields()
        camera = FakePicamera2.instances[-1]
        camera.hang.set()  # the sensor wedges inside capture_request
        time.sleep(2.0)  # capture_timeout_s + 1 s of silence: the stage counts as hung
        starved_from = time.monotonic()
        time.sleep(1.5)
        assert "WATCHDOG=1" not in listener.fields(starved_from)
        status = json.loads((tmp_path / "run" / "status.json").read_text())
        assert status["stages"]["capture"] is False and status["stages"]["pipeline"] is True
        camera.hang.clear()
        camera.unhang.set()
        resumed_from = time.monotonic()
        wait_for(lambda: "WATCHDOG=1" in listener.fields(resumed_from), "watchdog not resumed")
    finally:
        stop.set()
        camera = FakePicamera2.instances[-1]
        camera.unhang.set()
        runner.join(60)
        listener.close()
    assert not runner.is_alive() and result["exit_code"] == 0
    assert "STOPPING=1" in listener.fields()


class PacedFake(FakePicamera2):
    """The fake camera at a sensor's pace (60 fps) rather than as fast as Python can loop."""

    def capture_request(self):
        time.sleep(1 / 60)
        return super().capture_request()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_a_live_status_line_on_a_terminal_and_plain_lines_otherwise(tty, monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = Terminal() if tty else io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        status = setup_logging("INFO", "text", stream)
        status.show("0:00:05  15.0 fps  reads 3")
        logging.getLogger("edge.track.pipeline").info("read AB12CDE")
        status.clear()
    finally:
        root.handlers[:], _ = before
        root.setLevel(before[1])
    text = stream.getvalue()
    if tty:
        assert text.startswith(CLEAR_LINE + "0:00:05")
        assert CLEAR_LINE in text and "read AB12CDE\n0:00:05  15.0 fps  reads 3" in text
    else:
        assert "\x1b" not in text and "fps" not in text
        assert text.endswith("INFO edge.track.pipeline: read AB12CDE\n")


def test_json_logs_are_one_object_per_line(monkeypatch):
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        setup_logging("INFO", "json", stream)
        logging.getLogger("edge.unit.service").info("stopped after %d s", 3)
    finally:
        root.handlers[:], _ = before
        root.setLevel(before[1])
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "stopped after 3 s" and entry["level"] == "INFO"
