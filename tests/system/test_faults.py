"""Faults the roadside brings, on the real unit (`anpr-edge run` as a subprocess on the synthetic
road, the bundled models, its SQLite store and a real Mosquitto): the broker going away again
and again, the unit killed (SIGKILL) at random moments, a full store, a camera that stops or
errors, and a stage that hangs.

The default run (CI) keeps short versions; `make test-faults` runs the long ones
(ANPR_EDGE_LONG_TESTS=1; ANPR_EDGE_FAULT_ROUNDS sets the rounds of the outage and kill tests,
ANPR_EDGE_FAULT_SEED the seed of their random moments). Each test prints its figures (-s)."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.store.database import open_database, transaction
from tests.support.faults import (
    FAIL_FLAG_ENV,
    HANG_FLAG_ENV,
    LONG,
    SEED,
    NotifyRecorder,
    StoreView,
    UnitRun,
    add_fillers,
    fake_picamera2_path,
    fault_config,
    fault_rounds,
    store_path,
    write_road_video,
)
from tests.support.unit import Subscriber, validate, wait_for

pytestmark = pytest.mark.broker

# A hit counts as waiting at a reconnect if it was stored at least this long before the broker
# came back: the writer stamps `stored_at` before its commit (an fsync) and hands the hit to the
# publisher after it; a second covers that on a loaded machine.
COMMITTED_S = 1.0


def received(subscriber: Subscriber, start: int = 0, end: int | None = None) -> list[tuple]:
    """(kind, read_id) of the reads and hits the subscriber got, in arrival order."""
    with subscriber.lock:
        messages = subscriber.messages[start:end]
    return [
        (topic.rsplit("/", 1)[1], payload.get("read_id"))
        for topic, payload, _ in messages
        if topic.endswith(("/reads", "/hits"))
    ]


def check_everything_delivered(store: StoreView, subscriber: Subscriber) -> dict[str, int]:
    """Every read and hit in the store is delivered and reached the subscriber at least once;
    the subscriber got nothing the store does not hold (nothing sent before it was stored)."""
    figures = {}
    for kind, topic in (("read", "reads"), ("hit", "hits")):
        rows = store.rows(kind)
        undelivered = [r.read_id for r in rows.values() if r.delivered_at is None or r.owed]
        assert undelivered == [], f"{kind}s never delivered: {undelivered[:10]}"
        got = {payload["read_id"] for payload in subscriber.of(topic)}
        missing = set(rows) - got
        assert not missing, f"{len(missing)} stored {kind}(s) never reached the subscriber"
        assert got <= set(rows), f"{kind}(s) received but not in the store: {got - set(rows)}"
        figures[f"{kind}s"] = len(rows)
        figures[f"{kind}s_received"] = len(subscriber.of(topic))
    return figures


# --- the store's WAL and other processes ------------------------------------------------


def test_another_process_reading_the_store_never_takes_the_wal_from_the_unit(tmp_path):
    """The unit opens its store several times (one connection per stage). Opening it must not
    drop the locks of the connections already open (closing any descriptor of a file drops
    every POSIX lock the process holds on it): without them, a technician's `anpr-edge reads`
    closing its connection checkpoints and deletes the WAL the unit still writes to, and
    every later commit is lost at the next start (what the outage test first ran into)."""
    path = tmp_path / "anpr.db"
    first = open_database(path)
    second = open_database(path)  # as the writer, publisher and health each open it
    first.execute("CREATE TABLE probe (n)")
    reader = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print(c.execute('SELECT COUNT(*) FROM probe').fetchone()[0]); c.close()"
    )
    counts = []
    for n in range(3):
        with transaction(second):
            second.execute("INSERT INTO probe VALUES (?)", (n,))
        done = subprocess.run([sys.executable, "-c", reader, str(path)], capture_output=True,
                              text=True, check=True)  # fmt: skip
        counts.append(int(done.stdout))
        assert Path(f"{path}-wal").exists(), "another process deleted the unit's WAL"
    assert counts == [1, 2, 3]
    first.close()
    second.close()


# --- the broker goes away, again and again ------------------------------------------------


@dataclass
class Outage:
    stopped_at: float  # time.time(): the broker stopped
    seen: int  # how many messages the subscriber had by then
    back_at: float  # the broker listening again


def test_broker_outages_lose_nothing_and_waiting_hits_go_before_reads(tmp_path, outage_broker):
    """The broker is stopped and restarted several times while the road keeps producing reads.

    Order, precisely: for each outage r, the hits waiting at the reconnect are W_r = the hits
    stored at least COMMITTED_S before the broker came back and not delivered before it
    stopped. After the outage, every hit of W_r must reach the subscriber before any read that
    it had not received before the outage, except for reads the unit had in flight when the
    connection dropped (paho sends those again first, at most the number the unit logs in
    "N message(s) in flight will be re-sent")."""
    rng = random.Random(SEED)
    rounds = fault_rounds(ci=3, long=10)
    config = fault_config(tmp_path, outage_broker)
    store = StoreView(store_path(config))
    subscriber = Subscriber(outage_broker, persistent=True)
    outages: list[Outage] = []
    started = time.monotonic()
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        wait_for(lambda: subscriber.of("reads"), "no read before the first outage", 120)
        for _ in range(rounds):
            time.sleep(rng.uniform(2.0, 5.0))
            stopped_at = time.time()
            outage_broker.stop()
            seen = len(subscriber.messages)
            time.sleep(rng.uniform(5.0, 30.0) if LONG else rng.uniform(3.0, 6.0))
            # keep it down until a hit and a read are waiting (the road is random)
            wait_for(lambda: store.owed("hit") and store.owed("read"), "nothing owed", 120)
            time.sleep(COMMITTED_S + 0.2)
            during = json.loads((tmp_path / "run" / "status.json").read_text())
            assert during["broker"]["connected"] is False and during["stages"]["pipeline"]
            outage_broker.start()
            outages.append(Outage(stopped_at, seen, time.time()))
            back_at = outages[-1].back_at
            wait_for(
                lambda back_at=back_at: (
                    not any(r.owed and r.stored_at < back_at for r in store.rows("hit").values())
                    and not any(
                        r.owed and r.stored_at < back_at for r in store.rows("read").values()
                    )
                ),
                "the backlog of the outage did not drain",
                60,
            )
        wait_for(lambda: store.owed() == 0, "the outbox did not empty", 60)
        code, summary = unit.stop()
        log = unit.messages()
    elapsed = time.monotonic() - started
    assert code == 0, unit.tail()
    assert summary["backlog"] == {"hits": 0, "reads": 0, "oldest_age_s": None}, summary
    figures = check_everything_delivered(store, subscriber)
    for payload in subscriber.of("reads")[:50]:
        validate("read", payload)

    resent = [
        int(m.rsplit("; ", 1)[1].split()[0]) for m in log if m.startswith("connected to broker")
    ]
    assert len(resent) == rounds + 1, f"one connection per outage expected: {resent}"
    hits, reads = store.rows("hit"), store.rows("read")
    report = []
    for r, outage in enumerate(outages):
        before = received(subscriber, 0, outage.seen)
        after = received(subscriber, outage.seen)
        waiting = [
            h
            for h in hits.values()
            if h.stored_at < outage.back_at - COMMITTED_S
            and h.delivered_at > outage.stopped_at
            and ("hits", h.read_id) not in before
        ]
        assert waiting, f"outage {r}: no hit was waiting; the order check would be empty"
        positions = []
        for hit in waiting:
            assert ("hits", hit.read_id) in after, f"outage {r}: waiting hit {hit.read_id} lost"
            positions.append(after.index(("hits", hit.read_id)))
        last_hit = max(positions)
        old_reads = {rid for kind, rid in before if kind == "reads"}
        overtaking = [rid for kind, rid in after[:last_hit] if kind == "reads"]
        overtaking = [rid for rid in overtaking if rid not in old_reads]
        assert len(overtaking) <= resent[r + 1], (
            f"outage {r}: {len(overtaking)} read(s) went before hits waiting since the outage "
            f"({len(waiting)} waiting, {resent[r + 1]} in flight re-sent)"
        )
        drained = [rid for kind, rid in after if kind == "reads" and rid not in old_reads]
        report.append(
            {
                "down_s": round(outage.back_at - outage.stopped_at, 1),
                "hits_waiting": len(waiting),
                "new_reads_received_after": len(drained),
                "reads_before_last_waiting_hit": len(overtaking),
                "resent_in_flight": resent[r + 1],
                "owed_reads_at_restart": sum(
                    1
                    for x in reads.values()
                    if x.stored_at < outage.back_at and x.delivered_at > outage.stopped_at
                ),
            }
        )
    subscriber.close()
    print(json.dumps({"outages": report, **figures, "seconds": round(elapsed)}))


# --- SIGKILL at random moments --------------------------------------------------------------


def test_sigkill_at_random_moments_loses_no_stored_read(tmp_path, outage_broker):
    """The unit is killed with SIGKILL at random moments (seeded) while it reads and publishes,
    and started again on the same store; in about a third of the rounds the broker is down, so
    backlogs build up and are drained (and killed while draining) in later rounds. After each
    kill: `PRAGMA integrity_check` is ok; every read and hit ever seen in the store (sampled
    every 0.1 s while it ran, and just before the kill) is still there; each record is either
    delivered or owed (in the outbox), never neither. At the end, with the broker up, the outbox
    drains to zero and the subscriber has every read_id the store holds."""
    rng = random.Random(SEED + 1)
    rounds = fault_rounds(ci=10, long=50)
    config = fault_config(tmp_path, outage_broker)
    store = StoreView(store_path(config))
    subscriber = Subscriber(outage_broker, persistent=True)
    notify = NotifyRecorder(tmp_path)
    seen: dict[str, set[str]] = {"read": set(), "hit": set()}
    report = {"rounds": rounds, "broker_down": 0, "killed_before_first_read": 0,
              "killed_with_owed": 0, "owed_at_kill": []}  # fmt: skip
    started = time.monotonic()

    def sample() -> None:
        for kind in seen:
            seen[kind] |= store.ids(kind)

    for r in range(rounds):
        down = rng.random() < 0.3
        if down and outage_broker.process is not None:
            outage_broker.stop()
        elif not down and outage_broker.process is None:
            outage_broker.start()
        report["broker_down"] += down
        spawned = time.monotonic()
        reads_at_start = len(store.ids("read"))
        env = {"NOTIFY_SOCKET": notify.path}
        with UnitRun(config, "synthetic:rate=60,paced=false", tmp_path, env=env) as unit:
            notify.wait_field(f"MAINPID={unit.pid}", spawned)
            assert store.integrity() == "ok", f"round {r}, after the restart"
            kill_at = time.monotonic() + rng.uniform(0.0, 8.0 if LONG else 4.0)
            while time.monotonic() < kill_at:
                sample()
                time.sleep(0.1)
            sample()
            unit.kill()
            assert unit.process.returncode == -9
        assert store.integrity() == "ok", f"round {r}"
        for kind in seen:
            lost = seen[kind] - store.ids(kind)
            assert not lost, f"round {r}: {len(lost)} stored {kind}(s) gone after SIGKILL"
        assert store.inconsistencies() == [], f"round {r}"
        owed = store.owed()
        report["killed_with_owed"] += owed > 0
        report["killed_before_first_read"] += reads_at_start == len(store.ids("read"))
        report["owed_at_kill"].append(owed)
    report["reads_stored_in_kill_rounds"] = len(store.ids("read"))
    assert report["reads_stored_in_kill_rounds"] >= 3, "too few reads for the kills to mean much"
    # the last start: with the broker up, everything owed goes out
    if outage_broker.process is None:
        outage_broker.start()
    spawned = time.monotonic()
    with UnitRun(config, "synthetic:rate=60", tmp_path, env={"NOTIFY_SOCKET": notify.path}) as unit:
        notify.wait_field(f"MAINPID={unit.pid}", spawned)
        wait_for(lambda: store.owed() == 0, "the outbox did not drain after the kills", 120)
        # and it works as usual: new reads are stored and delivered
        reads_before = len(store.ids("read"))
        wait_for(lambda: len(store.ids("read")) >= reads_before + 3, "no new reads", 120)
        wait_for(lambda: store.owed() == 0, "the outbox did not drain", 60)
        code, summary = unit.stop()
    notify.close()
    assert code == 0, unit.tail()
    assert summary["backlog"]["hits"] == summary["backlog"]["reads"] == 0
    assert store.integrity() == "ok"
    for kind in seen:
        assert seen[kind] <= store.ids(kind)
    figures = check_everything_delivered(store, subscriber)
    report.update(figures, seconds=round(time.monotonic() - started))
    subscriber.close()
    print(json.dumps(report))


# --- the store fills up ---------------------------------------------------------------------


def health_with(
    subscriber: Subscriber, condition, what: str, timeout_s: float = 60.0, start: int = 0
) -> dict:
    """The first health message (from the `start`-th on) that meets `condition`."""
    found: list[dict] = []

    def check() -> bool:
        found[:] = [h for h in subscriber.of("health")[start:] if condition(h)]
        return bool(found)

    wait_for(check, what, timeout_s)
    return found[0]


def test_a_full_store_evicts_the_oldest_delivered_reads_never_hits_and_keeps_running(
    tmp_path, broker
):
    """A 16 MB quota (the least the config allows) on a store already over it: the unit's
    housekeeping (at start, then every minute) evicts delivered reads, oldest first, while
    older undelivered reads, and hits and the reads of hits however old, stay; health (MQTT
    and the status file) counts the evictions; the unit keeps reading and delivering.
    The long version also fills it again while running and waits for the next housekeeping."""
    rng = random.Random(SEED + 2)
    quota = 16 * 1024 * 1024
    config = fault_config(tmp_path, broker, quota_mb=16)
    path = store_path(config)
    store = StoreView(path)
    # the oldest: undelivered reads (owed: evicted only after every delivered read)
    owed = add_fillers(path, rng, count=200, delivered=False, age_s=3 * 86400)
    # then delivered reads with a hit among every 25, until the store is 3 MB over its quota
    delivered: dict[str, list[tuple[int, str]]] = {"read": [], "hit_read": [], "hit": []}
    while store.used_bytes() < quota + 3 * 1024 * 1024:
        batch = add_fillers(path, rng, count=500, delivered=True, hit_every=25, age_s=2 * 86400)
        for kind, made in batch.items():
            delivered[kind] += made
    over_by = store.used_bytes() - quota
    hit_reads = {rid for _, rid in delivered["hit_read"]}
    hit_ids = {rid for _, rid in delivered["hit"]}
    subscriber = Subscriber(broker)
    started = time.monotonic()
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        first = health_with(subscriber, lambda h: h["evicted"], "no eviction in health")
        evicted = first["evicted"]
        assert set(evicted) == {"evicted_reads_delivered"}, evicted
        reads = store.rows("read")
        gone = [no for no, rid in delivered["read"] if rid not in reads]
        assert len(gone) == evicted["evicted_reads_delivered"] > 0
        # the oldest delivered reads went, and only they
        assert gone == [no for no, _ in delivered["read"][: len(gone)]]
        assert hit_reads <= set(reads) and hit_ids <= store.ids("hit")
        assert {rid for _, rid in owed["read"]} <= set(reads)
        assert store.used_bytes() <= quota
        assert first["stages"] == dict.fromkeys(first["stages"], True)
        # it keeps running: its own reads (none of the fillers) are stored and delivered
        fillers = {rid for made in (owed, delivered) for part in made.values() for _, rid in part}
        wait_for(
            lambda: len([r for r in subscriber.of("reads") if r["read_id"] not in fillers]) >= 3,
            "no new reads delivered after the eviction",
            90,
        )
        status = json.loads((tmp_path / "run" / "status.json").read_text())
        assert status["state"] == "running"
        assert status["evicted"]["evicted_reads_delivered"] >= len(gone)
        grown = 0
        if LONG:  # fill it again while it runs; the housekeeping a minute after start evicts
            more = add_fillers(path, rng, count=1500, delivered=True, age_s=86400)
            grown = len(more["read"])
            before = evicted["evicted_reads_delivered"]
            later = health_with(
                subscriber,
                lambda h: h["evicted"].get("evicted_reads_delivered", 0) > before,
                "no second eviction while running",
                90,
            )
            assert set(later["evicted"]) == {"evicted_reads_delivered"}, later["evicted"]
            assert later["stages"] == dict.fromkeys(later["stages"], True)
            frames = later["frames"]
            health_with(subscriber, lambda h: h["frames"] > frames + 15, "frames stopped")
        code, summary = unit.stop()
    assert code == 0, unit.tail()
    assert summary["errors"] == 0
    reads = store.rows("read")
    # never a hit, nor the read of a hit; never one of the unit's own (newer) reads
    assert hit_reads <= set(reads) and hit_ids <= store.ids("hit")
    own = {r["read_id"] for r in subscriber.of("reads")} - fillers
    assert own <= set(reads)
    # what went is the oldest non-hit reads, in order (the owed ones only once delivered)
    non_hit = sorted(no for made in (owed, delivered) for no, _ in made["read"])
    gone = [no for no in non_hit if no not in {r.no for r in reads.values()}]
    if LONG:
        assert gone == non_hit[: len(gone)]
    counted = store.counters()
    assert counted["evicted_reads_delivered"] == len(
        [no for made in (owed, delivered) for no, rid in made["read"] if rid not in reads]
    )
    final = json.loads((tmp_path / "run" / "status.json").read_text())
    assert final["state"] == "stopped" and final["evicted"] == counted
    subscriber.close()
    print(json.dumps({"over_quota_mb": round(over_by / 2**20, 2), "evicted_at_start":
                      evicted, "evicted_total": counted, "grown_while_running": grown,
                      "hits_kept": len(hit_ids), "hit_reads_kept": len(hit_reads),
                      "seconds": round(time.monotonic() - started)}))  # fmt: skip


# --- the camera ----------------------------------------------------------------------------


def retry_delays(messages: list[str]) -> list[tuple[bool, float]]:
    """Each failed camera attempt, from 'camera: …; retrying in N s': (whether frames had
    come since the previous failure, the back-off N)."""
    return [
        (m.startswith("camera: no frame from"), float(m.rsplit("retrying in ", 1)[1].split()[0]))
        for m in messages
        if m.startswith("camera: ") and "retrying in" in m
    ]


def test_a_camera_that_is_missing_then_stops_is_reported_and_retried_with_back_off(
    tmp_path, broker
):
    """An OpenCV stream (here a path where a video appears later, played once per connection)
    that is not there at start, then delivers, then stops: each failure is logged and counted
    in health (`camera_stalls`), the attempts back off (1, 2, 4 … s; back to 1 s after frames
    came), every stage stays alive and the watchdog keeps being fed, frames flow whenever the
    camera does."""
    config = fault_config(tmp_path, broker, hits_every=6)
    camera = tmp_path / "camera.avi"
    notify = NotifyRecorder(tmp_path)
    subscriber = Subscriber(broker)
    env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"}
    with UnitRun(config, f"opencv:{camera}", tmp_path, env=env) as unit:
        ready = notify.wait_field("READY=1", 0.0)
        unit.wait_log("retrying in 4 s", 30)
        missing = health_with(subscriber, lambda h: h["camera_stalls"] >= 2, "no stall counted")
        assert missing["frames"] == 0 and missing["source"]["connected"] is False
        assert missing["stages"] == dict.fromkeys(missing["stages"], True)
        attempts = [delay for _, delay in retry_delays(unit.messages())]
        assert attempts[:3] == [1.0, 2.0, 4.0]
        # and it waits as it says: attempts at about 0, 1, 3, 7 … s
        assert len(attempts) <= 2 + math.log2(1 + time.monotonic() - ready), attempts
        write_road_video(camera)
        delivering = health_with(subscriber, lambda h: h["frames"] > 0, "no frames", 40)
        assert delivering["source"]["reconnects"] >= len(attempts) - 1
        # played to its end, the "stream" stops; it comes back at the next attempt (1 s)
        unit.wait_log("stopped sending frames", 30, count=2)
        stalls = delivering["camera_stalls"]
        camera.unlink()  # now it stops for good
        unit.wait_log("retrying in 2 s", 30, count=2)
        stopped = health_with(
            subscriber, lambda h: h["camera_stalls"] > stalls + 1, "no stall counted", 30
        )
        assert stopped["stages"] == dict.fromkeys(stopped["stages"], True)
        fed = notify.times("WATCHDOG=1", ready)
        code, summary = unit.stop()
    notify.close()
    assert code == 0, unit.tail()
    delays = retry_delays(unit.messages())
    # doubling from 1 s after each time frames came (1, 2, 4 …, at most 30)
    runs: list[list[float]] = []
    for after_frames, delay in delays:
        if after_frames or not runs:
            runs.append([])
        runs[-1].append(delay)
    for run in runs:
        assert run == [min(2.0**i, 30.0) for i in range(len(run))], delays
    assert len(runs) >= 3  # missing at start, then once per end of the video, then gone
    final = json.loads((tmp_path / "run" / "status.json").read_text())
    warnings = [m for m in unit.messages() if m.startswith("capture: camera")]
    assert len(warnings) == final["camera_stalls"] >= stopped["camera_stalls"]
    assert final["state"] == "stopped" and summary["frames"] >= 30
    # the watchdog was fed all along (a camera being retried is not a hung unit)
    assert fed and max(b - a for a, b in zip([ready, *fed], fed, strict=False)) < 2.0
    subscriber.close()
    print(json.dumps({"retry_delays": [d for _, d in delays],
                      "camera_stalls": final["camera_stalls"], "frames": summary["frames"],
                      "watchdog_feeds": len(fed)}))  # fmt: skip


def test_a_hung_capture_stops_the_watchdog_while_the_other_stages_live(tmp_path, broker):
    """The Pi camera wedges inside capture_request() (the picamera2 fake on the unit's
    PYTHONPATH, blocking while a flag file exists): the capture stage stops beating, the unit
    logs it, health shows capture dead and the other stages alive, and WATCHDOG=1 stops (so
    systemd would restart the unit) while STATUS= and health go on; when the camera comes
    back, feeding resumes."""
    flag = tmp_path / "hang"
    config = fault_config(
        tmp_path, broker, hits_every=6,
        camera_extra="resolution = [640, 480]\ncapture_timeout_s = 1.0\n",
    )  # fmt: skip
    notify = NotifyRecorder(tmp_path)
    subscriber = Subscriber(broker)
    env = {
        "NOTIFY_SOCKET": notify.path,
        "WATCHDOG_USEC": "1000000",  # fed every 0.5 s while all is well
        "PYTHONPATH": str(fake_picamera2_path(tmp_path)),
        HANG_FLAG_ENV: str(flag),
    }
    with UnitRun(config, "picamera2", tmp_path, env=env) as unit:
        ready = notify.wait_field("READY=1", 0.0)
        health_with(subscriber, lambda h: h["frames"] > 20, "no frames from the fake camera")
        flag.touch()
        hung = time.monotonic()
        unit.wait_log("stage capture silent", 15)
        reported = time.monotonic()
        time.sleep(4.0)
        quiet_until = time.monotonic()
        during = [h for h in subscriber.of("health") if h["stages"]["capture"] is False]
        flag.unlink()
        released = time.monotonic()
        unit.wait_log("stage capture is running again", 15)
        back = notify.wait_field("WATCHDOG=1", released, 10)
        after = health_with(
            subscriber, lambda h: h["stages"]["capture"] and h["frames"] > during[-1]["frames"],
            "no frames after the camera came back",
        )  # fmt: skip
        code, _summary = unit.stop()
    notify.close()
    assert code == 0, unit.tail()
    fed_before = notify.times("WATCHDOG=1", ready, hung)
    assert len(fed_before) >= 3
    last_feed = max(notify.times("WATCHDOG=1", ready, reported))
    # capture's allowance is capture_timeout_s + 1 = 2 s; the supervisor looks every 0.5 s
    assert last_feed - hung <= 2.0 + 1.0, "the watchdog was fed long after capture hung"
    assert notify.times("WATCHDOG=1", reported, quiet_until) == []
    statuses = [f for at, f in notify.fields(reported, quiet_until) if f.startswith("STATUS=")]
    assert len(statuses) >= 3, "the main thread should keep telling systemd how it is"
    assert len(during) >= 2, "health should keep going out while capture is hung"
    for health in during:
        assert health["stages"] == {
            "capture": False, "pipeline": True, "writer": True, "publisher": True
        }  # fmt: skip
    assert during[-1]["frames"] == during[0]["frames"]
    silent = next(m for m in unit.messages() if m.startswith("stage capture silent"))
    assert "(camera stalled); not feeding the watchdog" in silent
    assert after["stages"] == dict.fromkeys(after["stages"], True)
    subscriber.close()
    print(json.dumps({"last_feed_after_hang_s": round(last_feed - hung, 2),
                      "reported_after_s": round(reported - hung, 2),
                      "feeding_again_after_s": round(back - released, 2),
                      "health_while_hung": len(during)}))  # fmt: skip


def test_a_camera_error_stops_the_unit_in_order_for_systemd_to_restart(tmp_path, broker):
    """The Pi camera raises (libcamera failed a request): the capture stage's error stops the
    unit in order, exit status 1 (systemd's Restart=on-failure starts it again), with the
    traceback logged, what it had read stored and delivered, and the status file "stopped";
    started again with the camera back, it runs."""
    flag = tmp_path / "fail"
    config = fault_config(
        tmp_path, broker, hits_every=6, camera_extra="resolution = [640, 480]\n"
    )  # fmt: skip
    subscriber = Subscriber(broker)
    env = {"PYTHONPATH": str(fake_picamera2_path(tmp_path)), FAIL_FLAG_ENV: str(flag)}
    with UnitRun(config, "picamera2", tmp_path, env=env) as unit:
        health_with(subscriber, lambda h: h["frames"] > 10, "no frames from the fake camera")
        flag.touch()
        try:
            code = unit.process.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail("the unit kept running after its camera failed:\n" + unit.tail())
        errors = [e for e in unit.log() if e.get("level") == "ERROR"]
    assert code == 1, unit.tail()
    assert any("stage capture stopped by an unexpected error" in e["message"] for e in errors)
    assert any("Camera frontend has timed out!" in e.get("traceback", "") for e in errors)
    summary = json.loads(unit.out_path.read_text())
    assert summary["exit_code"] == 1 and summary["errors"] == 1
    assert summary["backlog"] == {"hits": 0, "reads": 0, "oldest_age_s": None}
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "stopped"
    assert subscriber.of("status")[-1]["state"] == "offline"
    flag.unlink()
    before = len(subscriber.of("health"))
    with UnitRun(config, "picamera2", tmp_path, env=env, name="restarted") as unit:
        health_with(
            subscriber, lambda h: h["frames"] > 10 and h["errors"] == 0,
            "the restarted unit reads no frames", start=before,
        )  # fmt: skip
        code, _summary = unit.stop()
    assert code == 0, unit.tail()
    subscriber.close()
