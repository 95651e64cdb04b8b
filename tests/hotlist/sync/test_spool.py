"""Hotlist bundles are never dropped (issue 12, point 3): each is acknowledged only once it is
in the spool beside the store, and applied from there in order, with a real Mosquitto and a
real SQLite store. Mosquitto 2.0.11 sends every queued QoS 1 message at once after a
reconnect, whatever Receive Maximum the unit asked for: a burst must be flow-controlled, not
dropped."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from edge.config import load_config
from edge.hotlist.index import IndexHolder
from edge.hotlist.sync import HotlistSync
from edge.hotlist.unit import make_sync
from tests.support.hotlist import V1, Unit, entry, wait_for, write_config
from tests.support.paths import REPO

pytestmark = pytest.mark.broker
BURST = 50


def deltas(centre, first: int, count: int) -> list[bytes]:
    """`count` signed deltas in a row, first → first + 1 → …, each adding one plate."""
    return [
        centre.delta("national", v + 1, v, [["add", *entry(f"BU{v:03d}RST")]])
        for v in range(first, first + count)
    ]


def applied_versions(caplog) -> list[int]:
    return [
        int(record.getMessage().split(" v")[1].split(" ")[0])
        for record in caplog.records
        if record.name == "edge.hotlist.apply" and "national delta" in record.getMessage()
    ]


def test_fifty_deltas_queued_while_offline_all_apply_in_order(unit, centre, publish, caplog):
    caplog.set_level(logging.INFO)
    publish(centre.snapshot("national", 1, V1))
    wait_for(lambda: unit.version() == 1, "snapshot v1 applied")
    unit.stop()
    for bundle in deltas(centre, 1, BURST):
        publish(bundle)
    unit.start()  # the broker sends all 50 at once on the resumed session
    wait_for(lambda: unit.version() == 1 + BURST, f"all {BURST} deltas applied", 60)
    status = unit.sync.status()
    assert status["applied"] == BURST and status["rejected"] == {} and status["errors"] == 0
    assert status["spool"] == {"files": 0, "bytes": 0, "held_back": 0}
    assert applied_versions(caplog) == list(range(2, 2 + BURST))
    assert len(unit.holder.current.lists["national"]) == len(V1) + BURST
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "dropped" not in said and "NOT acknowledged" not in said


def locked(path: str) -> sqlite3.Connection:
    """Another writer of the store (a technician's `anpr-edge hotlist apply`, a sqlite3
    shell) holding its write lock until `rollback()`."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_a_full_spool_holds_bundles_back_unacknowledged_then_fetches_them(
    tmp_path, broker, centre, publish, caplog
):
    """The store is locked by another writer while 10 deltas arrive; the spool (bounded at 3
    here) takes what fits, the rest stay unacknowledged at the broker, loudly; when the lock
    goes, everything applies, in order, and nothing was lost."""
    caplog.set_level(logging.INFO)
    unit = Unit(write_config(tmp_path, centre.trusted_paths, port=broker.port))
    try:
        publish(centre.snapshot("national", 1, V1))
        wait_for(lambda: unit.version() == 1, "snapshot v1 applied")
        unit.stop()
        small = HotlistSync(
            replace(unit.sync.settings, spool_max_files=3),
            unit.sync.broker,
            unit.sync.trusted,
            unit.holder,
            threading.Event(),
        )
        unit.sync, unit.stop_event = small, small.stop_event
        lock = locked(small.settings.store_path)
        try:
            small.start()
            wait_for(small.connected.is_set, "the sync did not connect")
            for bundle in deltas(centre, 1, 10):
                publish(bundle)
            wait_for(lambda: small.status()["spool"]["held_back"] > 0, "nothing held back")
            wait_for(lambda: "hotlist store busy" in caplog.text, "the lock was not noticed")
            assert small.status()["spool"]["files"] == 3
            assert unit.version() == 1
        finally:
            lock.rollback()
            lock.close()
        wait_for(lambda: unit.version() == 11, "all 10 deltas applied after the lock", 60)
        status = small.status()
        assert status["rejected"] == {} and status["errors"] == 0
        assert status["spool"]["files"] == 0 and status["spool"]["held_back"] >= 1
        assert applied_versions(caplog) == list(range(2, 12))
        assert "NOT acknowledged" in caplog.text
    finally:
        unit.stop()


CHILD = """
import sys, threading, time
from edge.config import load_config
from edge.hotlist.index import IndexHolder
from edge.hotlist.unit import make_sync
sync = make_sync(load_config(sys.argv[1]), IndexHolder(), threading.Event())
sync.start()
assert sync.wait_ready(30)
while not sync.connected.is_set():
    time.sleep(0.05)
print(sync.settings.store_path, flush=True)
time.sleep(600)
"""


def test_a_spooled_bundle_survives_a_kill_and_applies_at_the_next_start(
    tmp_path, broker, centre, publish
):
    """Acknowledged and spooled, then the process is killed before the apply (the store was
    locked): the next start applies it from the spool, with no broker to send it again."""
    config = write_config(tmp_path, centre.trusted_paths, port=broker.port)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(config)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env=dict(os.environ),
    )  # fmt: skip
    try:
        store = child.stdout.readline().strip()
        assert store, "the sync did not start"
        lock = locked(store)
        publish(centre.snapshot("national", 5, V1))
        spool = Path(store).resolve().parent / "hotlist-spool"
        wait_for(lambda: list(spool.glob("*.national.snapshot")), "the bundle was not spooled")
        assert oct(spool.stat().st_mode & 0o777) == "0o700"
        (spooled,) = spool.glob("*.national.snapshot")
        assert oct(spooled.stat().st_mode & 0o777) == "0o600"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
    lock.rollback()
    lock.close()
    broker.stop()  # nothing can come from the broker now: only the spool has it
    holder, stop = IndexHolder(), threading.Event()
    sync = make_sync(load_config(config), holder, stop)
    sync.start()
    try:
        wait_for(lambda: holder.versions().get("national") == 5, "not applied from the spool")
        assert sync.status()["spool"]["files"] == 0 and sync.status()["applied"] == 1
        assert list(spool.iterdir()) == []
    finally:
        stop.set()
        sync.join(20)
