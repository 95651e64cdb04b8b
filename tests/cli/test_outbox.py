"""`anpr-edge outbox`: the backlog from the real store, and `--retry-now` making a real running
unit (broker down, then back) deliver at once instead of waiting out its back-off."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from edge.records import new_read_id
from edge.store import open_database, transaction
from edge.store.listing import records
from edge.store.reads import ReadStore
from edge.unit.status import process_start_ticks
from tests.support.cli import anpr, start
from tests.support.reads import add_hit, add_read, write_config
from tests.support.status import write_status
from tests.support.unit import Subscriber, wait_for, write_unit_config


@pytest.fixture
def store_config(tmp_path):
    """A store owing 1 hit and 2 reads (1 read delivered), with 3 reads lost to the quota."""
    config = write_config(tmp_path)
    conn = open_database(tmp_path / "state" / "anpr.db")
    store = ReadStore(conn)
    with transaction(conn):
        for _ in range(3):
            store.add_read(
                new_read_id(), "EV1", "2026-01-01T00:00:00.000Z", confidence=0.9,
                direction=None, frames=3, hit=False, payload="x" * 8000,
            )  # fmt: skip
        store.enforce_quota(16 * 1024)
    captured = datetime.now(UTC) - timedelta(minutes=5)
    add_read(store, "AB12CDE", captured)
    add_read(store, "AB12CDF", captured)
    add_read(store, "AB12CDG", captured)
    add_hit(store, "AB12CDG", captured, ["national"])
    (no,) = conn.execute("SELECT read_no FROM plate_reads WHERE vrm = 'AB12CDE'").fetchone()
    with transaction(conn):
        store.mark_delivered("read", [no])
    delivered = records(conn, "read", None, plate="AB12CDE")[0]["delivered_at"]
    conn.close()
    return config, delivered


def test_outbox_reports_the_backlog_from_the_store_without_a_service(store_config, tmp_path):
    config, delivered = store_config
    assert delivered is not None
    result = anpr("outbox", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"outbox of {tmp_path / 'state' / 'anpr.db'}: 1 hit(s), 2 read(s) waiting to be sent"
    )
    assert re.fullmatch(r"  oldest waiting since \S+Z \(\d+ s\)", lines[1])
    assert lines[2] == f"  last delivery: {delivered}"
    assert lines[3] == "  never to be sent (evicted by the storage quota): 3 reads_undelivered"
    assert lines[4].startswith("  anpr-edge is not running (no status file at ")
    data = json.loads(anpr("outbox", "--config", str(config), "--json").stdout)
    assert (data["hits"], data["reads"], data["last_delivered_at"]) == (1, 2, delivered)
    assert 0 <= data["oldest_age_s"] < 60 and data["oldest_stored_at"].endswith("Z")
    assert data["evicted_undelivered"] == {"evicted_reads_undelivered": 3}
    assert data["service"]["running"] is False and data["retry_requested"] is False


def test_retry_now_without_a_running_service_exits_1(store_config, tmp_path):
    config, _ = store_config
    result = anpr("outbox", "--config", str(config), "--retry-now")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "anpr-edge: error: anpr-edge is not running (no status file at "
        f"{tmp_path / 'run' / 'status.json'}); nothing to retry\n"
    )
    doc = write_status(tmp_path, "stopped")
    result = anpr("outbox", "--config", str(config), "--retry-now")
    assert result.returncode == 1
    assert f"stopped at {doc['at']}; nothing to retry" in result.stderr


def test_retry_now_never_signals_a_process_that_is_not_the_unit(store_config, tmp_path):
    config, _ = store_config
    # a live process under the pid the file names, but not the one that wrote it: SIGUSR1
    # would end it (its default action)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        ticks = process_start_ticks(other.pid)
        write_status(tmp_path, "running", pid=other.pid, pid_start_ticks=ticks + 1)
        result = anpr("outbox", "--config", str(config), "--retry-now")
        assert result.returncode == 1 and f"pid {other.pid} gone" in result.stderr
        time.sleep(0.5)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def log_has(path, text: str) -> bool:
    return text in path.read_text()


@pytest.mark.broker
def test_retry_now_makes_the_running_unit_deliver_at_once(tmp_path, broker):
    config = write_unit_config(tmp_path, broker)
    broker.stop()  # the port is kept: the unit buffers and backs off
    log = tmp_path / "unit.log"
    with log.open("w") as err:
        unit = start(
            "run", "--config", str(config), "--source", "synthetic:rate=60",
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    conn = None
    try:
        wait_for(lambda: log_has(log, "cannot reach the broker"), "no connection failure", 120)
        # paho's attempts: now, +1, +3, +7, +15 s, then +30 s (its back-off doubles to 15 s)
        first_failure = time.monotonic()
        conn = open_database(tmp_path / "state" / "anpr.db")
        wait_for(lambda: records(conn, "read", None, True), "nothing buffered", 30)
        result = anpr("outbox", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert re.search(r": \d+ hit\(s\), [1-9]\d* read\(s\) waiting", result.stdout)
        assert f"anpr-edge is running (pid {unit.pid})" in result.stdout
        time.sleep(max(first_failure + 17.5 - time.monotonic(), 0))
        broker.start()
        centre = Subscriber(broker)  # a read counts as delivered once someone subscribes
        owed = {r["read_id"] for r in records(conn, "read", None, True)}
        result = anpr("outbox", "--config", str(config), "--retry-now")
        asked = time.monotonic()
        assert result.returncode == 0, result.stderr
        assert f"asked the service (pid {unit.pid}) to retry delivery now" in result.stdout
        # paho's own next attempt is at +30 s, at least 10 s from here
        wait_for(
            lambda: not owed & {r["read_id"] for r in records(conn, "read", None, True)},
            "the backlog was not delivered at once",
            7,
        )
        assert time.monotonic() - asked < 7 and time.monotonic() - first_failure < 29
        assert log_has(log, "retry requested: connecting to the broker now")
        centre.close()
    finally:
        if conn is not None:
            conn.close()
        unit.terminate()
        unit.wait(60)
    assert unit.returncode == 0, log.read_text()[-3000:]
