"""Nothing can make the running unit lose a read at its store (issue 12): a national hotlist
applied over MQTT and by a technician's CLI while it reads at 30 fps, another process holding
the store's write lock for a minute, the store deleted under it, and a full file system mid-run
and at start.

Each test runs the real unit (`anpr-edge run` on the synthetic road, real models, real SQLite,
a real Mosquitto with a persistent subscriber) and checks the same three things: every read and
hit the unit produced (its own counters, in the `--json` summary) reached the subscriber, the
store holds nothing undelivered, and the unit never exited unasked; plus what health said."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import load_config
from edge.devtools.demo import ensure_keys, hot_plates
from edge.devtools.hotlist_snapshot import make_snapshot
from tests.support.cli import anpr
from tests.support.faults import LONG, StoreView, UnitRun, fault_config, store_path
from tests.support.unit import Subscriber, wait_for

pytestmark = pytest.mark.broker

ROAD = "synthetic:rate=60"
LOCK_HELD_S = 60.0
SNAPSHOT_ENTRIES = 4_000_000 if LONG else 2_000_000


def status_of(config: Path) -> dict:
    path = Path(load_config(config).health.status_file)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def store_state(config: Path) -> dict:
    return status_of(config).get("store") or {}


def received_ids(subscriber: Subscriber, topic: str) -> set[str]:
    return {payload["read_id"] for payload in subscriber.of(topic)}


def check_produced_all_delivered(summary: dict, subscriber: Subscriber, store: StoreView) -> dict:
    """Every read and hit the unit produced reached the subscriber; the store owes nothing
    and holds nothing the subscriber did not get."""
    figures = {}
    for kind, topic in (("read", "reads"), ("hit", "hits")):
        produced = summary[topic]
        wait_for(
            lambda t=topic, n=produced: len(received_ids(subscriber, t)) >= n,
            f"{produced} {topic} at the subscriber",
            60,
        )
        got = received_ids(subscriber, topic)
        assert len(got) == produced, f"{topic}: produced {produced}, received {len(got)}"
        assert store.ids(kind) <= got
        figures[topic] = {"produced": produced, "stored": len(store.ids(kind)),
                          "delivered": len(got)}  # fmt: skip
    assert store.owed() == 0
    assert summary["store"]["dropped_reads"] == 0
    return figures


def drain_and_stop(unit: UnitRun, store: StoreView, config: Path) -> tuple[int, dict]:
    wait_for(
        lambda: store.owed() == 0 and not any((store_state(config).get("held") or {}).values()),
        "the outbox drained",
        120,
    )
    assert unit.process.poll() is None, "the unit exited unasked:\n" + unit.tail()
    return unit.stop()


def publish_retained(broker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-centre")
    client.connect(broker.host, broker.port)
    client.loop_start()
    info = client.publish(topic, payload, qos=1, retain=True)
    info.wait_for_publish(60)
    assert info.is_published()
    client.disconnect()
    client.loop_stop()


def test_national_snapshots_over_mqtt_and_the_cli_never_stop_the_reads(tmp_path, broker):
    """A multi-million-entry snapshot applied by the CLI and another over MQTT, one after the
    other, while the unit reads at 30 fps: the lists live in their own file, so the reads'
    commits never wait for them, and the unit ends holding the MQTT one."""
    config = fault_config(tmp_path, broker, fps=30.0)
    unit_config = load_config(config)
    hot = tuple(hot_plates(unit_config, every=2))
    key = ensure_keys(unit_config)
    base = int(time.time()) + 10
    by_cli, _ = make_snapshot(tmp_path, SNAPSHOT_ENTRIES, 5, list_id="demo", version=base,
                              signing_key=key, include=hot)  # fmt: skip
    by_mqtt, _ = make_snapshot(tmp_path, SNAPSHOT_ENTRIES, 6, list_id="demo",
                               version=base + 1, signing_key=key, include=hot)  # fmt: skip
    store = StoreView(store_path(config))
    subscriber = Subscriber(broker, persistent=True)
    with UnitRun(config, ROAD, tmp_path) as unit:
        wait_for(lambda: subscriber.of("reads"), "a first read", 120)
        started = time.monotonic()
        # a second process beside the running unit, as a technician's command would be
        applied = anpr("hotlist", "apply", str(by_cli), "--config", str(config), process=True)
        assert applied.returncode == 0, applied.stderr
        cli_s = time.monotonic() - started
        topic = f"{unit_config.mqtt.topic_prefix}/hotlists/demo/snapshot"
        publish_retained(broker, topic, by_mqtt.read_bytes())
        wait_for(
            lambda: status_of(config).get("hotlists", {}).get("demo") == base + 1,
            "the unit holding the snapshot sent over MQTT",
            300,
        )
        mqtt_s = time.monotonic() - started - cli_s
        time.sleep(5)  # reads after the swap are matched against the new list
        code, summary = drain_and_stop(unit, store, config)
    assert code == 0, unit.tail()
    figures = check_produced_all_delivered(summary, subscriber, store)
    assert summary["hits"] > 0
    print(f"\nsnapshots of {SNAPSHOT_ENTRIES:,}: CLI apply {cli_s:.0f} s, over MQTT "
          f"{mqtt_s:.0f} s; {figures}; {summary['fps']} fps")  # fmt: skip
    subscriber.close()


def test_a_foreign_write_lock_held_for_a_minute_loses_nothing(tmp_path, broker):
    """Another process (a sqlite3 shell, a backup) holds the store's write lock for 60 s: the
    unit keeps reading, holds reads and hits in memory, says `busy` in its status, and
    writes and delivers them all once the lock is gone."""
    config = fault_config(tmp_path, broker, fps=30.0)
    store = StoreView(store_path(config))
    subscriber = Subscriber(broker, persistent=True)
    states: list[dict] = []
    with UnitRun(config, ROAD, tmp_path) as unit:
        wait_for(lambda: subscriber.of("reads"), "a first read", 120)
        lock = sqlite3.connect(store.path, timeout=30, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        lock.execute("CREATE TABLE zz (x)")
        held_until = time.monotonic() + LOCK_HELD_S
        while time.monotonic() < held_until:
            assert unit.process.poll() is None, "the unit exited unasked:\n" + unit.tail()
            states.append(store_state(config))
            time.sleep(1.0)
        lock.execute("ROLLBACK")
        lock.close()
        wait_for(lambda: store_state(config).get("state") == "ok", "store ok again", 30)
        code, summary = drain_and_stop(unit, store, config)
    assert code == 0, unit.tail()
    busy = [s for s in states if s.get("state") == "busy"]
    assert len(busy) >= LOCK_HELD_S / 2, f"status said busy {len(busy)} times: {states[-3:]}"
    most = max(s["held"]["reads"] + s["held"]["hits"] for s in busy)
    assert most > 0, "nothing was held in memory while the lock was held"
    assert "another connection holds the write lock" in busy[-1]["detail"]
    figures = check_produced_all_delivered(summary, subscriber, store)
    print(f"\nlock held {LOCK_HELD_S:.0f} s: at most {most} records held in memory; {figures}")
    subscriber.close()


def test_the_store_deleted_mid_run_is_reported_and_replaced_losing_nothing(tmp_path, broker):
    config = fault_config(tmp_path, broker, fps=30.0)
    path = store_path(config)
    store = StoreView(path)
    subscriber = Subscriber(broker, persistent=True)
    with UnitRun(config, ROAD, tmp_path) as unit:
        wait_for(lambda: len(subscriber.of("reads")) >= 3, "three reads", 120)
        os.unlink(path)
        deleted = time.monotonic()
        wait_for(lambda: store_state(config).get("replaced") == 1, "the deletion reported", 10)
        noticed_s = time.monotonic() - deleted
        wait_for(lambda: len(subscriber.of("reads")) >= 8, "reads after the deletion", 120)
        code, summary = drain_and_stop(unit, store, config)
    assert code == 1, "the exit code must say the store was lost during the run"
    assert summary["store"]["replaced"] == 1
    assert any("was deleted while the unit ran" in m for m in unit.messages())
    assert store.integrity() == "ok"
    figures = check_produced_all_delivered(summary, subscriber, store)
    print(f"\nstore deleted: noticed after {noticed_s:.1f} s; {figures}")
    subscriber.close()


# --- a full file system ---------------------------------------------------------------------


@pytest.fixture
def small_state(tmp_path):
    """The unit's state folder on a 24 MB tmpfs of its own (root only)."""
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited file system needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs",
                              str(folder)], capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system to its last byte with a filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def small_config(tmp_path: Path, broker) -> Path:
    config = fault_config(tmp_path, broker, fps=30.0)
    text = config.read_text().replace("[storage]\n", "[storage]\nmin_free_mb = 2\n", 1)
    config.write_text(text)
    return config


def test_a_full_file_system_mid_run_is_an_alarm_and_loses_nothing(tmp_path, broker, small_state):
    config = small_config(tmp_path, broker)
    store = StoreView(store_path(config))
    subscriber = Subscriber(broker, persistent=True)
    states: list[dict] = []
    with UnitRun(config, ROAD, tmp_path) as unit:
        wait_for(lambda: len(subscriber.of("reads")) >= 3, "three reads", 120)
        filler = fill(small_state)
        until = time.monotonic() + 30
        while time.monotonic() < until:
            assert unit.process.poll() is None, "the unit exited unasked:\n" + unit.tail()
            states.append(store_state(config))
            time.sleep(1.0)
        filler.unlink()
        code, summary = drain_and_stop(unit, store, config)
    assert code == 0, unit.tail()
    alarms = {s.get("state") for s in states} & {"disk full", "disk low"}
    assert alarms, f"health never said the disk was full or low: {states[-3:]}"
    figures = check_produced_all_delivered(summary, subscriber, store)
    print(f"\nfull file system for 30 s: health said {sorted(alarms)}; {figures}")
    subscriber.close()


def test_a_start_on_a_full_file_system_waits_and_says_why(tmp_path, broker, small_state):
    config = small_config(tmp_path, broker)
    store = StoreView(store_path(config))
    filler = fill(small_state)
    subscriber = Subscriber(broker, persistent=True)
    with UnitRun(config, ROAD, tmp_path) as unit:
        unit.wait_log(f"no space left on {small_state}", 60)
        time.sleep(6)  # a retry or more
        assert unit.process.poll() is None, "the unit exited instead of waiting:\n" + unit.tail()
        assert "no space left" in status_of(config).get("waiting", "")
        filler.unlink()
        wait_for(lambda: len(subscriber.of("reads")) >= 3, "reads once there is space", 120)
        code, summary = drain_and_stop(unit, store, config)
    assert code == 0, unit.tail()
    figures = check_produced_all_delivered(summary, subscriber, store)
    print(f"\nstart on a full file system: waited, then {figures}")
    subscriber.close()
