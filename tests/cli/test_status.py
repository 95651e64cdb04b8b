"""`anpr-edge status`: what the running unit is doing, and a plain "not running" (exit 1) when
it is not: no status file, stopped, its process gone (or the pid reused), or the file no longer
written. Status files are written by the library's own writer (`HealthReporter.status`, on a
real store) or by the real unit run against the Mosquitto fixture."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.store import open_database, transaction
from edge.store.reads import ReadStore
from edge.unit.health import local_day_start
from edge.unit.status import process_start_ticks, write_status_file
from tests.support.cli import anpr, start
from tests.support.reads import add_hit, add_read, write_config
from tests.support.status import reporter, utc, write_status
from tests.support.unit import wait_for, write_unit_config


@pytest.fixture
def config(tmp_path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def sleeper():
    """A live process of ours, standing in for the service's."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def status(config: Path, *args: str, env: dict | None = None):
    return anpr("status", "--config", str(config), *args, env=env)


def test_no_status_file_means_not_running(config, tmp_path):
    result = status(config)
    assert result.returncode == 1
    assert (
        result.stdout
        == f"anpr-edge is not running (no status file at {tmp_path}/run/status.json)\n"
    )
    as_json = json.loads(status(config, "--json").stdout)
    assert as_json["running"] is False and as_json["state"] == "absent"


def test_a_stopped_unit_says_when_and_shows_what_it_left(config, tmp_path):
    doc = write_status(tmp_path, "stopped", pid=os.getpid())
    result = status(config)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"anpr-edge is not running: stopped at {doc['at']}"
    assert lines[1].startswith("last known (")
    assert "hotlists   local v7, national v412" in result.stdout


def test_a_pid_that_is_gone_means_not_running(config, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: the pid is free
    write_status(tmp_path, "running", pid=gone.pid, pid_start_ticks=12345)
    result = status(config)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert re.fullmatch(
        rf"anpr-edge is not running \(last status \d+ s ago; pid {gone.pid} gone\)", first
    )


def test_a_reused_pid_is_not_the_unit(config, tmp_path, sleeper):
    # the pid is alive, but it is another process than the one that wrote the file
    ticks = process_start_ticks(sleeper.pid)
    assert ticks is not None
    write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks - 100)
    result = status(config, "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["state"] == "gone"


def test_a_file_no_longer_written_means_not_running_even_with_the_pid_alive(
    config, tmp_path, sleeper
):
    old = utc(datetime.now(UTC) - timedelta(seconds=60))
    ticks = process_start_ticks(sleeper.pid)
    write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks, at=old)
    result = status(config)
    assert result.returncode == 1
    assert re.fullmatch(
        r"anpr-edge is not running normally \(last status 6\d s ago, expected every 5 s; "
        rf"pid {sleeper.pid} still exists: hung\?\)",
        result.stdout.splitlines()[0],
    )
    # two intervals late is still running (3 × the interval is the limit)
    recent = utc(datetime.now(UTC) - timedelta(seconds=10))
    write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks, at=recent)
    assert status(config).returncode == 0


def test_a_running_unit_shows_every_figure(config, tmp_path, sleeper):
    conn = open_database(tmp_path / "state" / "anpr.db")
    store = ReadStore(conn)
    captured = datetime.now(UTC) - timedelta(seconds=30)
    add_read(store, "AB12CDE", captured)
    add_hit(store, "AB12CDE", captured, ["national"])
    conn.close()
    ticks = process_start_ticks(sleeper.pid)
    doc = write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks)
    result = status(config)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line[2] != " "}
    assert result.stdout.splitlines()[0] == f"anpr-edge is running (pid {sleeper.pid})"
    assert "exposure 800 µs, gain 4.0" in lines["camera"]
    assert f"last read {doc['last_read_at']}" in lines["reads"]
    assert doc["last_read_at"] == utc(captured)
    assert "1 reads, 1 hits" in result.stdout and doc["today"]["timezone"] in result.stdout
    assert "NOT connected (buffering)" in lines["broker"]
    assert "1 hit(s), 1 read(s) waiting; the oldest for" in lines["outbox"]
    assert "MB free" in lines["disk"] and "clock" in lines and "stages" in lines
    as_json = json.loads(status(config, "--json").stdout)
    assert as_json["running"] is True and as_json["pid"] == sleeper.pid
    assert as_json["status"]["backlog"]["hits"] == 1 and as_json["status"]["today"]["reads"] == 1


def test_a_busy_store_shows_why_and_what_is_held_in_memory(config, tmp_path, sleeper):
    store = {
        "state": "busy",
        "detail": "another connection holds the write lock of /var/lib/anpr-edge/anpr.db",
        "since": utc(datetime.now(UTC) - timedelta(seconds=42)),
        "path": "/var/lib/anpr-edge/anpr.db",
        "free_bytes": 10**9,
        "held": {"hits": 2, "reads": 17},
        "dropped_reads": 0,
        "failed_commits": 40,
        "replaced": 1,
        "replaced_at": utc(datetime.now(UTC) - timedelta(minutes=5)),
    }
    ticks = process_start_ticks(sleeper.pid)
    write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks, store=store)
    result = status(config)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.split()[:1] == ["store"])
    assert re.search(r"BUSY since \S+ \(4[2-9] s ago\): ", line), line
    assert "another connection holds the write lock of /var/lib/anpr-edge/anpr.db" in line
    assert "2 hit(s) and 17 read(s) held in memory" in line
    assert "the file was deleted or replaced 1 time(s)" in line
    assert "DROPPED" not in line


def test_starting_is_running_with_no_figures_yet(config, tmp_path, sleeper):
    from edge.unit.status import bare_status

    doc = bare_status("test-unit", "starting", 5.0)
    doc.update(pid=sleeper.pid, pid_start_ticks=process_start_ticks(sleeper.pid))
    write_status_file(tmp_path / "run" / "status.json", doc)
    result = status(config)
    assert result.returncode == 0
    assert result.stdout.startswith(f"anpr-edge is starting (pid {sleeper.pid})\n")


def test_an_unreadable_status_file_is_a_one_line_error(config, tmp_path):
    path = tmp_path / "run" / "status.json"
    path.parent.mkdir()
    path.write_text("{not json")
    result = status(config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"anpr-edge: error: the status file {path} is not one")


@pytest.fixture
def uk_time(monkeypatch):
    """The process in UK time (the POSIX rule, so no tzdata is needed)."""
    monkeypatch.setenv("TZ", "GMT0BST,M3.5.0/1,M10.5.0")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        ("2026-07-01T12:00:00Z", "2026-06-30T23:00:00Z"),  # BST: midnight is 23:00 UTC
        ("2026-12-01T00:30:00Z", "2026-12-01T00:00:00Z"),  # GMT
        ("2026-03-29T12:00:00Z", "2026-03-29T00:00:00Z"),  # clocks went forward at 01:00
        ("2026-10-25T12:00:00Z", "2026-10-24T23:00:00Z"),  # clocks went back at 02:00 BST
        ("2026-06-30T23:30:00Z", "2026-06-30T23:00:00Z"),  # already 00:30 on 1 July
    ],
)
def test_today_starts_at_local_midnight_across_daylight_saving(uk_time, now, midnight):
    at = datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()
    start, iso, zone = local_day_start(at)
    assert datetime.fromtimestamp(start, UTC) == datetime.fromisoformat(midnight)
    assert iso.startswith(datetime.fromtimestamp(at).strftime("%Y-%m-%dT00:00:00"))
    assert zone in ("GMT", "BST")


def test_today_counts_what_was_stored_since_local_midnight(tmp_path):
    midnight, _, _ = local_day_start(time.time())
    conn = open_database(tmp_path / "state" / "anpr.db")
    times = ((midnight - 60, "YESTERDAY"), (midnight + 1, "TODAY1"), (time.time(), "TODAY2"))
    for stored_at, vrm in times:
        store = ReadStore(conn, clock=lambda stored_at=stored_at: stored_at)
        add_read(store, vrm, datetime.now(UTC))
        with transaction(conn):
            store.add_hit(f"h-{vrm}", vrm, "2026-01-01T00:00:00.000Z", ["x"], "{}")
    conn.close()
    health = reporter(tmp_path)
    try:
        doc = health.status("running", 5.0)
    finally:
        health.close()
    assert doc["today"]["reads"] == 2 and doc["today"]["hits"] == 2
    assert doc["pid"] == os.getpid() and doc["pid_start_ticks"] == process_start_ticks(os.getpid())


@pytest.mark.broker
def test_the_real_unit_writes_status_often_and_a_killed_unit_is_not_running(tmp_path, broker):
    # health to the centre every 30 s; the status file still every 5 s
    config = write_unit_config(tmp_path, broker, health_s=30.0)
    unit = start("run", "--config", str(config), "--source", "synthetic:rate=60")
    path = tmp_path / "run" / "status.json"
    try:
        wait_for(lambda: path.exists() and "fps" in path.read_text(), "no running status", 120)
        first = json.loads(path.read_text())
        assert first["state"] == "running" and first["pid"] == unit.pid
        assert first["status_interval_s"] == 5.0
        assert path.stat().st_mode & 0o777 == 0o600
        wait_for(lambda: json.loads(path.read_text())["at"] != first["at"], "not rewritten", 8)
        result = status(config)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"anpr-edge is running (pid {unit.pid})\n")
        assert "broker     connected" in result.stdout
        assert "synthetic:" in result.stdout and "hotlists   demo v" in result.stdout
        unit.send_signal(signal.SIGKILL)  # no orderly stop: the file still says running
        unit.wait(30)
    finally:
        if unit.poll() is None:
            unit.kill()
        unit.communicate()
    assert json.loads(path.read_text())["state"] == "running"
    result = status(config)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert re.fullmatch(
        rf"anpr-edge is not running \(last status \d+ s ago; pid {unit.pid} gone\)", first
    )


def test_a_status_file_that_is_not_utf8_is_a_one_line_error(config, tmp_path):
    path = tmp_path / "run" / "status.json"
    path.parent.mkdir()
    path.write_bytes(b'{"state": "running", "unit_id": "caf\xe9"}')
    result = status(config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        f"anpr-edge: error: the status file {path} is not one anpr-edge wrote: not UTF-8 text "
        "(byte 0xe9 at offset 36)\n"
    )


@pytest.mark.parametrize("pid", [0, -1, 2**70])
def test_a_pid_that_is_no_process_id_is_refused_not_signalled(config, tmp_path, pid):
    # kill(0) and kill(-1) would reach a whole process group, or every process
    write_status(tmp_path, "running", pid=pid)
    result = status(config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        f"anpr-edge: error: the status file {tmp_path}/run/status.json is not one anpr-edge "
        f"wrote: pid {pid} is not a process id\n"
    )


@pytest.mark.parametrize("ticks", ["1399664", 1399664.5, True, [1]])
def test_a_malformed_pid_start_time_cannot_tell_so_not_running(config, tmp_path, sleeper, ticks):
    # the pid is alive; without a usable start time it might be any later process
    write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks)
    result = status(config)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"anpr-edge: cannot tell whether it is running (the status file records "
        f"pid_start_ticks {ticks!r}, not a whole number, so pid {sleeper.pid} cannot be told "
        "from another process that has its number now)"
    )
    assert json.loads(status(config, "--json").stdout)["state"] == "stale"


def test_a_malformed_figure_is_a_one_line_error(config, tmp_path, sleeper):
    ticks = process_start_ticks(sleeper.pid)
    write_status(tmp_path, "running", pid=sleeper.pid, pid_start_ticks=ticks, backlog=None)
    result = status(config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"anpr-edge: error: the status file {tmp_path}/run/status.json is not one anpr-edge "
        "wrote: a field is missing or malformed (AttributeError: "
    )


@pytest.mark.broker
def test_a_unit_that_cannot_write_its_status_file_is_not_taken_for_stopped(tmp_path, broker):
    config = write_unit_config(tmp_path, broker, health_s=30.0)
    path = tmp_path / "run" / "status.json"
    old = write_status(tmp_path, "stopped", pid=os.getpid())  # an earlier run's last word
    (tmp_path / "run" / ".status.json.tmp").mkdir()  # in the way of every write
    unit = start("run", "--config", str(config), "--source", "synthetic:rate=60")
    try:
        wait_for(lambda: process_start_ticks(unit.pid) is not None, "no unit", 30)
        time.sleep(3)
        result = status(config)
        assert result.returncode == 1
        assert re.fullmatch(
            re.escape(
                f"anpr-edge is running (pid {unit.pid}) but cannot write its status file {path} "
                "(written last "
            )
            + r"\d+ s ago\): "
            + re.escape(f"its temporary file {path.parent / '.status.json.tmp'} is a folder"),
            result.stdout.splitlines()[0],
        )
        assert json.loads(status(config, "--json").stdout)["state"] == "unwritable"
        assert json.loads(path.read_text())["at"] == old["at"]
        time.sleep(6)  # a second failed write: logged once
        unit.send_signal(signal.SIGTERM)
        _, stderr = unit.communicate(timeout=60)
    finally:
        if unit.poll() is None:
            unit.kill()
            unit.communicate()
    warnings = [line for line in stderr.splitlines() if "cannot write the status file" in line]
    assert len(warnings) == 1, stderr
    assert f"cannot write the status file {path}: Is a directory;" in warnings[0]
    # the unit gone, the old file speaks again
    assert status(config).stdout.startswith("anpr-edge is not running: stopped at")
