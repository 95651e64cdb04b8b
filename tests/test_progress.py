"""Progress lines: drawn on a terminal with a count and an estimate, never into pipes or JSON."""

from __future__ import annotations

import io
import os
import pty
import subprocess

from edge.progress import CLEAR_LINE, Progress, shown
from tests.support.cli import anpr, start


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_gives_share_count_rate_and_time_left():
    clock = FakeClock()
    progress = Progress("eval", 200, "images", clock=clock)
    clock.now += 10
    progress.advance(50)
    line = progress.line()
    assert line.startswith("eval: [######------------------]  25% 50/200 images")
    assert "5.0/s" in line and "about 0:30 left" in line


def test_phased_work_shows_the_phase_and_its_clock():
    clock = FakeClock()
    progress = Progress("hotlist sign", clock=clock)
    progress.phase("reading the CSV", 1000, "lines")
    clock.now += 4
    progress.update(400)
    assert "reading the CSV" in progress.line() and "about 0:06 left" in progress.line()
    progress.phase("compressing and signing 19000205 bytes")
    clock.now += 75
    assert progress.line() == "hotlist sign: compressing and signing 19000205 bytes 1:15"


def test_a_disabled_progress_writes_nothing():
    stream = io.StringIO()
    with Progress("eval", 10, enabled=False, stream=stream) as progress:
        for _ in range(10):
            progress.advance()
    assert stream.getvalue() == ""


def test_an_enabled_progress_draws_then_clears_its_line():
    stream = io.StringIO()
    with Progress("synth", 3, "scenes", enabled=True, stream=stream) as progress:
        progress.advance()
    text = stream.getvalue()
    assert text.startswith(CLEAR_LINE + "synth: [")
    assert text.endswith(CLEAR_LINE)


def test_shown_only_on_a_terminal_and_never_with_json():
    leader, follower = pty.openpty()
    try:
        with os.fdopen(os.dup(follower), "w") as terminal:
            assert shown(False, terminal)
            assert not shown(True, terminal)
    finally:
        os.close(leader)
        os.close(follower)
    assert not shown(False, io.StringIO())


def run_synth(tmp_path, name: str, *extra: str, terminal: bool) -> tuple[int, str]:
    """`anpr-edge synth` with stderr on a pseudo-terminal or a pipe; (exit code, stderr). A real
    process either way: what it writes on stderr from its start to its end is the point."""
    args = ["synth", "--out", str(tmp_path / name)]
    args += ["--count", "4", "--seed", "3", "--size", "320x240", *extra]
    if not terminal:
        done = anpr(*args, process=True, timeout=120)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    try:
        process = start(*args, stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        caught = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            caught += chunk
        return process.wait(timeout=120), caught.decode("utf-8", "replace")
    finally:
        os.close(leader)


def test_synth_shows_progress_on_a_terminal(tmp_path):
    code, stderr = run_synth(tmp_path, "a", terminal=True)
    assert code == 0
    assert "synth: [" in stderr and "/4 scenes" in stderr
    assert stderr.endswith(CLEAR_LINE)


def test_synth_is_quiet_into_a_pipe(tmp_path):
    code, stderr = run_synth(tmp_path, "b", terminal=False)
    assert (code, stderr) == (0, "")
