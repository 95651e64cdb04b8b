"""The unit killed (SIGKILL, as a power cut) at random moments of model updates: it starts on
a working version every time.

Each round starts the real unit on the synthetic road, publishes the next model bundle
(mostly good; every fourth one a model that does not load, or one that reads its golden images
wrong), and kills the unit at a random moment of the next 1.2 s: while it verifies, stages,
loads, reads the golden images, writes the state, swaps the reader, or ends a 1 s trial and
prunes old versions. After each kill, the version the state file names must load and read its
golden images, and no half-staged version may be named. The next round's start proves the unit
comes up (READY, reading frames) on it. 3 rounds in the normal run, 20 with
ANPR_EDGE_LONG_TESTS=1 (ANPR_EDGE_FAULT_ROUNDS overrides)."""

from __future__ import annotations

import json
import random
import re
import time

import pytest

from edge.config import load_config
from edge.updates.model_start import base_paths
from edge.updates.model_store import ModelStore
from edge.updates.readers import checked_models
from tests.support.cli import anpr
from tests.support.faults import SEED, NotifyRecorder, UnitRun, fault_rounds
from tests.support.models import ModelCentre, misreading_recogniser, unloadable_recogniser
from tests.support.unit import write_unit_config

pytestmark = pytest.mark.broker
KILL_WITHIN_S = 1.2
STARTED_ON = re.compile(r"models (base|v\d+): ")


def test_sigkill_during_model_updates_always_leaves_a_working_version(tmp_path, broker):
    rng = random.Random(SEED + 16)
    rounds = fault_rounds(ci=3, long=20)
    centre = ModelCentre(tmp_path / "centre")
    config_path = write_unit_config(
        tmp_path,
        broker,
        extra='[logging]\nformat = "json"\n'
        + centre.config_lines(trial_window_s=1.0, trial_min_reads=100_000),
    )
    config = load_config(config_path)
    store = ModelStore(config.model_store_dir)
    bad = [
        unloadable_recogniser(tmp_path / "bad-load"),
        misreading_recogniser(tmp_path / "bad-golden"),
    ]
    notify = NotifyRecorder(tmp_path)
    report: dict = {"rounds": rounds, "killed_after": {}, "started_on": [], "fallbacks": 0}
    for r in range(rounds):
        version = r + 2
        recogniser = bad[r // 4 % 2] if r % 4 == 3 else None
        bundle = tmp_path / f"models-{version}.json"
        bundle.write_bytes(centre.bundle(version, recogniser=recogniser))
        spawned = time.monotonic()
        env = {"NOTIFY_SOCKET": notify.path}
        with UnitRun(config_path, "synthetic:rate=60", tmp_path, env=env) as unit:
            notify.wait_field(f"MAINPID={unit.pid}", spawned)  # READY: it runs on its models
            unit.wait_log("reading frames from", 60)
            started_on = next(m for m in unit.messages() if STARTED_ON.match(m))
            report["started_on"].append(STARTED_ON.match(started_on).group(1))
            published = anpr("model", "publish", str(bundle), "--broker",
                             f"{broker.host}:{broker.port}")  # fmt: skip
            assert published.returncode == 0, published.stderr
            time.sleep(rng.uniform(0.0, KILL_WITHIN_S))
            unit.kill()
            assert unit.process.returncode == -9
            reached = _last_step(unit.messages())
            report["killed_after"][reached] = report["killed_after"].get(reached, 0) + 1
            report["fallbacks"] += sum("cannot run" in m for m in unit.messages())
        state = store.read()
        assert store.has(state.current), f"round {r}: v{state.current} named but not on disk"
        models, golden = checked_models(config, store.paths(state.current, base_paths(config)))
        assert models.version == state.current
        assert state.current is None or golden.plates >= 5, f"round {r}"
    # the last start: up on a working version, reading, and stopping cleanly
    spawned = time.monotonic()
    with UnitRun(
        config_path, "synthetic:rate=60", tmp_path, env={"NOTIFY_SOCKET": notify.path}
    ) as unit:
        notify.wait_field(f"MAINPID={unit.pid}", spawned)
        unit.wait_log("reading frames from", 60)
        unit.wait_log("read ", 60)
        code, summary = unit.stop()
    notify.close()
    assert code == 0, unit.tail()
    assert summary["errors"] == 0
    final = store.read()
    report.update(final_version=final.current, highest_seen=final.highest_seen,
                  rolled_back=list(final.rolled_back))  # fmt: skip
    print(json.dumps(report))


STEPS = (
    ("verified (key", "verified"),
    ("staged in", "staged"),
    ("model update applied", "switched"),
    ("passed their trial", "trial passed"),
    ("model bundle rejected", "refused"),
    ("models switched at frame", "frame boundary"),
)


def _last_step(messages: list[str]) -> str:
    """The last update step the unit logged before it was killed."""
    reached = "before any step was logged"
    for message in messages:
        for prefix, name in STEPS:
            if prefix in message:
                reached = name
    return reached
