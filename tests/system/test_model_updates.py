"""Signed model updates against the real unit (`anpr-edge run` on the synthetic road, real
models, a real Mosquitto): a good bundle switched to between two frames while vehicles pass
(no read lost), every bad bundle refused over MQTT with its reason on the command result topic
and in health, and new models that read worse rolled back by the unit itself."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest

from edge.capture.truth import read_truth, score
from edge.times import parse_rfc3339
from tests.support.cli import anpr
from tests.support.faults import UnitRun
from tests.support.models import (
    ModelCentre,
    degraded_recogniser,
    mislabelled_recogniser,
    misreading_recogniser,
    tampered,
    unloadable_recogniser,
)
from tests.support.unit import (
    Subscriber,
    check_delivery,
    stored,
    validate,
    wait_for,
    write_unit_config,
)

pytestmark = pytest.mark.broker
SWITCHED = re.compile(r"models switched at frame (\d+) \(captured (\S+)\): .* after the swap")


def unit_config(tmp_path, broker, centre: ModelCentre, **models):
    return write_unit_config(
        tmp_path, broker, extra='[logging]\nformat = "json"\n' + centre.config_lines(**models)
    )


def publish(tmp_path, broker, bundle: bytes, name: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_bytes(bundle)
    result = anpr("model", "publish", str(path), "--broker", f"{broker.host}:{broker.port}")
    assert result.returncode == 0, result.stderr


def results(subscriber: Subscriber) -> list[dict]:
    return [r for r in subscriber.of("cmd/result") if r.get("command") == "model-update"]


def test_a_good_bundle_switches_models_between_frames_and_loses_no_read(tmp_path, broker):
    """Unpaced synthetic frames are never dropped, so the same 900 frames read without any
    update (the baseline) and with a switch to the same models re-signed as v2 must give the
    same reads: not one lost or added by the switch."""
    centre = ModelCentre(tmp_path / "centre")
    args = ("--max-frames", "900")
    (tmp_path / "baseline").mkdir()
    baseline_config = unit_config(tmp_path / "baseline", broker, centre)
    with UnitRun(baseline_config, "synthetic:paced=false,rate=60", tmp_path / "baseline",
                 args=args) as baseline:  # fmt: skip
        assert baseline.process.wait(600) == 0, baseline.tail()
    baseline_reads = sorted(read["vrm"] for read in stored(baseline_config, "reads"))
    config = unit_config(tmp_path, broker, centre)
    subscriber = Subscriber(broker)
    truth = tmp_path / "truth.csv"
    args = (*args, "--truth", str(truth))
    with UnitRun(config, "synthetic:paced=false,rate=60", tmp_path, args=args) as unit:
        unit.wait_log("reading frames from", 120)
        wait_for(lambda: subscriber.of("reads"), "no read before the update", 120)
        sent = time.monotonic()
        publish(tmp_path, broker, centre.bundle(2), "models-2")
        unit.wait_log("models switched at frame", 60)
        switched_after_s = time.monotonic() - sent
        code = unit.process.wait(600)
    assert code == 0, unit.tail()
    messages = unit.messages()
    (applied,) = [m for m in messages if m.startswith("model update applied")]
    assert "base → v2" in applied
    (switch,) = [m for m in messages if SWITCHED.search(m)]
    frame = int(SWITCHED.search(switch).group(1))
    at = parse_rfc3339(SWITCHED.search(switch).group(2))
    boundary_ms = float(re.search(r"came ([\d.]+) ms after", switch).group(1))
    reads, _ = check_delivery(config, subscriber)
    assert sorted(read["vrm"] for read in reads) == baseline_reads
    vehicles = read_truth(truth)
    scored = score(vehicles, reads)
    assert scored["duplicated"] == [] and scored["ghost_reads"] == []
    assert scored["read_once_right_ratio"] >= 0.5, scored
    read_plates = {r["vrm"] for r in reads}
    # vehicles in view within a second of the switch: their tracks were open across it (a switch
    # that lands in a gap between vehicles would otherwise leave nothing to check)
    near = timedelta(seconds=1)
    across = [v for v in vehicles if v.complete and v.first_seen - near <= at <= v.last_seen + near]
    assert across, "no vehicle was in view at the switch"
    assert [v.plate for v in across if v.plate not in read_plates] == []  # none lost
    assert all(r["models"]["recogniser"].startswith("anpr-recogniser@") for r in reads)
    (result,) = results(subscriber)
    validate("cmd-result", result)
    assert result["ok"] and result["id"] == "model-v2"
    health = subscriber.of("health")[-1]
    validate("health", health)
    updates = health["model_updates"]
    assert (updates["current"], updates["previous"], updates["applied"]) == (2, None, 1)
    print(json.dumps({
        "switch_frame": frame, "vehicles_in_view_at_switch": len(across),
        "frame_boundary_ms": boundary_ms, "swap_ms": updates["last_switch"]["swap_ms"],
        "verify_stage_load_golden_s": updates["last_switch"]["prepared_s"],
        "publish_to_switch_s": round(switched_after_s, 2), "reads": len(reads),
    }))  # fmt: skip
    subscriber.close()


def test_bad_bundles_over_mqtt_are_refused_with_their_reasons(tmp_path, broker):
    centre = ModelCentre(tmp_path / "centre")
    config = unit_config(tmp_path, broker, centre, max_bundle_mb=4)
    subscriber = Subscriber(broker)
    bad = tmp_path / "bad"
    bundles = [
        ("unknown-key", centre.bundle(3, key="rogue")),
        ("bad-signature", tampered(centre.bundle(3))),
        ("stale-version", centre.bundle(1)),
        ("manifest-mismatch", centre.bundle(4, recogniser=mislabelled_recogniser(bad / "m"))),
        ("truncated", centre.bundle(5)[:300_000]),
        ("oversized", b"{" + b" " * 6_000_000 + b"}"),
        ("load-failed", centre.bundle(6, recogniser=unloadable_recogniser(bad / "l"))),
        ("golden-failed", centre.bundle(7, recogniser=misreading_recogniser(bad / "g"))),
    ]
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        unit.wait_log("reading frames from", 120)
        publish(tmp_path, broker, centre.bundle(2), "good")
        unit.wait_log("models switched at frame", 60)
        for count, (reason, bundle) in enumerate(bundles, start=2):
            publish(tmp_path, broker, bundle, reason)
            wait_for(lambda n=count: len(results(subscriber)) >= n, f"no result for {reason}", 60)
            assert results(subscriber)[-1]["reason"] == reason, results(subscriber)[-1]
        wait_for(lambda: subscriber.of("health")
                 and subscriber.of("health")[-1]["model_updates"]["rejected"].get("golden-failed"),
                 "health without the last rejection")  # fmt: skip
        code, _ = unit.stop()
    assert code == 0, unit.tail()
    updates = subscriber.of("health")[-1]["model_updates"]
    assert updates["rejected"] == {reason: 1 for reason, _ in bundles}
    assert (updates["current"], updates["applied"]) == (2, 1)
    for result in results(subscriber):
        validate("cmd-result", result)
    rejected_lines = [m for m in unit.messages() if m.startswith("model bundle rejected")]
    assert len(rejected_lines) == len(bundles)
    assert all("running v2 kept" in line for line in rejected_lines)
    print(json.dumps({"bad_bundles_refused": len(bundles), "reasons": sorted(updates["rejected"])}))
    subscriber.close()


def test_new_models_that_read_worse_are_rolled_back_by_the_unit(tmp_path, broker):
    centre = ModelCentre(tmp_path / "centre")
    config = unit_config(tmp_path, broker, centre, trial_window_s=12.0, trial_min_reads=4)
    subscriber = Subscriber(broker)
    with UnitRun(config, "synthetic:paced=false,rate=60", tmp_path) as unit:
        unit.wait_log("reading frames from", 120)
        time.sleep(14)  # a trial window of the base models' reads to compare with
        publish(tmp_path, broker, centre.bundle(2, recogniser=degraded_recogniser(tmp_path / "d")),
                "degraded")  # fmt: skip
        unit.wait_log("models switched at frame", 60)
        unit.wait_log("models rolled back from v2 to base", 60)
        unit.wait_log("models switched at frame", 30, count=2)
        code, _ = unit.stop()
    assert code == 0, unit.tail()
    (line,) = [m for m in unit.messages() if m.startswith("models rolled back")]
    assert "degraded" in line and ("mean confidence" in line or "read rate" in line)
    result = results(subscriber)[-1]
    assert (result["ok"], result["reason"], result["id"]) == (False, "degraded", "model-v2")
    state = json.loads((tmp_path / "state" / "models" / "state.json").read_text())
    assert (state["current"], state["rolled_back"], state["highest_seen"]) == (None, [2], 2)
    print(json.dumps({"rolled_back": line}))
    subscriber.close()


def test_a_technician_installs_and_rolls_back_models_while_the_unit_runs(tmp_path, broker):
    centre = ModelCentre(tmp_path / "centre")
    config = unit_config(tmp_path, broker, centre)
    good, bad = tmp_path / "models-2.json", tmp_path / "models-3.json"
    good.write_bytes(centre.bundle(2, roles=("recogniser",)))
    bad.write_bytes(centre.bundle(3, recogniser=misreading_recogniser(tmp_path / "bad")))
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        unit.wait_log("reading frames from", 120)
        refused = anpr("model", "install", str(bad), "--config", str(config), "--json")
        assert refused.returncode == 2
        assert json.loads(refused.stdout)["reason"] == "golden-failed"
        installed = anpr("model", "install", str(good), "--config", str(config), "--json")
        assert installed.returncode == 0, installed.stderr
        assert json.loads(installed.stdout)["installed"] is True
        unit.wait_log("models base → v2 (set by a technician on site)", 30)
        unit.wait_log("models switched at frame", 30)
        status = json.loads(anpr("model", "status", "--config", str(config), "--json").stdout)
        assert (status["current"], status["previous"], status["trial"]) == (2, None, 2)
        rolled = anpr("model", "rollback", "--config", str(config))
        assert rolled.returncode == 0 and "rolled back from v2 to base" in rolled.stdout
        unit.wait_log("models v2 → base (set by a technician on site)", 30)
        unit.wait_log("models switched at frame", 30, count=2)
        again = anpr("model", "rollback", "--config", str(config))
        assert again.returncode == 2 and "nothing to roll back" in again.stderr
        code, _ = unit.stop()
    assert code == 0, unit.tail()
    status = json.loads(anpr("model", "status", "--config", str(config), "--json").stdout)
    assert (status["current"], status["rolled_back"], status["highest_seen"]) == (None, [2], 2)
