"""The unit killed (SIGKILL) at random moments: no stored read is lost."""

from __future__ import annotations

import json
import random
import time

import pytest

from tests.support.delivery import check_everything_delivered
from tests.support.faults import (
    LONG,
    SEED,
    NotifyRecorder,
    StoreView,
    UnitRun,
    fault_config,
    fault_rounds,
    store_path,
)
from tests.support.unit import Subscriber, wait_for

pytestmark = pytest.mark.broker


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
