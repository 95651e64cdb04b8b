"""Signed partial configurations against the real unit and a real Mosquitto: one accepted
restarts the unit (exit 75, as systemd would see it) onto the merged configuration, which is
confirmed after it ran; refused ones (not allowed, invalid, unknown key, bad signature, stale)
change nothing; a start that does not last brings back the last good configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.hotlist.signing import generate_keypair, load_signing_key
from edge.updates.config_bundle import PAYLOAD_SCHEMA, seal_config
from tests.support.cli import anpr
from tests.support.faults import UnitRun
from tests.support.models import tampered
from tests.support.unit import Subscriber, validate, wait_for, write_unit_config

pytestmark = pytest.mark.broker


def sign(tmp_path: Path, version: int, toml: str, key: Path, name: str = "") -> Path:
    stem = name or f"config-{version}"
    settings, out = tmp_path / f"{stem}.toml", tmp_path / f"{stem}.json"
    settings.write_text(toml)
    result = anpr("config", "sign", str(settings), "--key", str(key), "--version",
                  str(version), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def unchecked(tmp_path: Path, version: int, settings: dict, key) -> Path:
    """A bundle the centre's tool would refuse to make (so the unit's own check is tested)."""
    payload = {"schema": PAYLOAD_SCHEMA, "version": version, "issued_at": "2026-12-03T12:00:00Z",
               "settings": settings}  # fmt: skip
    out = tmp_path / f"unchecked-{version}.json"
    out.write_bytes(seal_config(json.dumps(payload).encode(), key))
    return out


def publish(broker, bundle: Path) -> None:
    result = anpr("config", "publish", str(bundle), "--broker", f"{broker.host}:{broker.port}")
    assert result.returncode == 0, result.stderr


def results(subscriber: Subscriber) -> list[dict]:
    return [r for r in subscriber.of("cmd/result") if r.get("command") == "config-update"]


def test_remote_configuration_applied_by_restart_refused_or_undone(tmp_path, broker):
    keys = tmp_path / "config-keys"
    private = {name: generate_keypair(keys, f"config-{name}")[1] for name in ("a", "b", "rogue")}
    trusted = json.dumps([str(keys / "config-a.pub"), str(keys / "config-b.pub")])
    config = write_unit_config(
        tmp_path,
        broker,
        extra='[logging]\nformat = "json"\n'
        f"[remote_config]\ntrusted_keys = {trusted}\nconfirm_after_s = 3.0\n",
    )
    subscriber = Subscriber(broker)
    good = sign(tmp_path, 1, "[recognition]\nhit_min_frames = 4\n", private["a"])
    with UnitRun(config, "synthetic:rate=60", tmp_path) as unit:
        unit.wait_log("reading frames from", 120)
        publish(broker, good)
        assert unit.process.wait(60) == 75, unit.tail()  # systemd: RestartForceExitStatus=75
    assert any("configuration v1 accepted (recognition.hit_min_frames)" in m
               for m in unit.messages())  # fmt: skip
    key_a = load_signing_key(private["a"])
    refused = [
        ("not-allowed", unchecked(tmp_path, 2, {"mqtt": {"host": "evil.example"}}, key_a)),
        ("invalid-config", sign(tmp_path, 3, "[recognition]\nhit_min_frames = 99\n", private["a"])),
        ("unknown-key", sign(tmp_path, 4, "[hotlist]\nfuzzy = false\n", private["rogue"])),
        ("bad-signature", tmp_path / "tampered.json"),
        ("stale-version", sign(tmp_path, 2, "[hotlist]\nfuzzy = false\n", private["b"], "old")),
    ]
    (tmp_path / "tampered.json").write_bytes(
        tampered(sign(tmp_path, 5, "[hotlist]\nfuzzy = false\n", private["a"]).read_bytes())
    )
    with UnitRun(config, "synthetic:rate=60", tmp_path, name="unit-2") as unit:
        unit.wait_log("with remote v1 (pending", 120)
        unit.wait_log("remote configuration v1 confirmed", 30)
        for count, (reason, bundle) in enumerate(refused, start=2):
            publish(broker, bundle)
            wait_for(lambda n=count: len(results(subscriber)) >= n, f"no result for {reason}")
            assert results(subscriber)[-1]["reason"] == reason, results(subscriber)[-1]
        publish(broker, sign(tmp_path, 6, "[recognition]\nhit_min_frames = 5\n", private["b"]))
        assert unit.process.wait(60) == 75, unit.tail()
    with UnitRun(config, "synthetic:rate=60", tmp_path, name="unit-3") as unit:
        unit.wait_log("with remote v6 (pending", 120)
        unit.kill()  # a crash (or a power cut) before v6 was confirmed
    with UnitRun(config, "synthetic:rate=60", tmp_path, name="unit-4") as unit:
        unit.wait_log("reading frames from", 120)
        assert any("remote configuration v6 undone (start-failed)" in m for m in unit.messages())
        assert any("with remote v1" in m for m in unit.messages())
        wait_for(lambda: results(subscriber)[-1].get("reason") == "start-failed",
                 "the undone configuration was not announced")  # fmt: skip
        code, _ = unit.stop()
    assert code == 0, unit.tail()
    for result in results(subscriber):
        validate("cmd-result", result)
    assert [r["ok"] for r in results(subscriber)] == [True, *[False] * 5, True, False]
    shown = anpr("config", "remote", "--config", str(config), "--json")
    assert shown.returncode == 0, shown.stderr
    remote = json.loads(shown.stdout)
    assert (remote["current"], remote["pending"], remote["rolled_back"]) == (1, None, [6])
    assert remote["settings"] == {"recognition": {"hit_min_frames": 4}}
    print(json.dumps({"config_bundles_refused": len(refused), "undone": "start-failed"}))
    subscriber.close()
