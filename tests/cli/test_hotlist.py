"""`anpr-edge hotlist …` and `anpr-edge bench hotlist`: the forms, JSON keys and exit codes of
DESIGN §6, run as a technician and the centre would (a real store, a real broker)."""

from __future__ import annotations

import json
import os
import stat
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.support.broker import free_port
from tests.support.cli import anpr
from tests.support.hotlist import Centre, write_config

CSV = (
    "vrm,category,priority,action,reason,expires_at\n"
    "AB12 CDE,stolen,1,intercept,reported stolen,\n"
    "bd51smr,No-Insurance,4,monitor,,2031-01-01T00:00:00Z\n"
)
MATCH_KEYS = {"list", "version", "vrm", "kind", "distance", "category", "priority", "action"}


def run(*args: str) -> tuple[int, str, str]:
    result = anpr(*args)
    return result.returncode, result.stdout, result.stderr


def run_json(*args: str) -> tuple[int, dict]:
    code, out, _ = run(*args, "--json")
    return code, json.loads(out)


def sign_args(csv: str, key: str, version: int, out: str, base: int | None = None) -> list[str]:
    """`hotlist sign` of list "national": a snapshot, or with `base` a delta."""
    args = ["hotlist", "sign", csv, "--key", key, "--list", "national", "--version", str(version)]
    return [*args, *(["--base", str(base)] if base is not None else []), "--out", out]


@pytest.fixture
def site(tmp_path, capsys):
    """Keys made with `keygen`, a config trusting them, a signed snapshot v1 of CSV."""
    keys = tmp_path / "keys"
    for name in ("a", "b"):
        code, out = run_json("hotlist", "keygen", "--out", str(keys), "--name", f"centre-{name}")
        assert code == 0 and len(out["key_id"]) == 16
    centre = Centre(tmp_path / "other")  # keys this unit does not trust
    config = write_config(tmp_path, [keys / "centre-a.pub", keys / "centre-b.pub"])
    (tmp_path / "v1.csv").write_text(CSV)
    code, out = run_json(
        *sign_args(
            str(tmp_path / "v1.csv"), str(keys / "centre-a.key"), 1, str(tmp_path / "v1.json")
        )
    )
    assert code == 0 and out["kind"] == "snapshot" and out["lines"] == 2
    return tmp_path, keys, config, centre


def test_keygen_writes_an_owner_only_private_key_and_never_overwrites(tmp_path, capsys):
    code, out, _ = run("hotlist", "keygen", "--out", str(tmp_path))
    assert code == 0 and "key_id: " in out
    assert stat.S_IMODE(os.stat(tmp_path / "centre.key").st_mode) == 0o600
    code, _, err = run("hotlist", "keygen", "--out", str(tmp_path))
    assert code == 2 and "already exists" in err


def test_apply_status_check_export(site, capsys):
    folder, _, config, _ = site
    assert stat.S_IMODE(os.stat(folder / "v1.json").st_mode) == 0o600
    code, out = run_json("hotlist", "apply", str(folder / "v1.json"), "--config", str(config))
    assert code == 0 and out["applied"] and out["version"] == 1
    code, out = run_json("hotlist", "status", "--config", str(config))
    (listed,) = out["lists"]
    assert {k: listed[k] for k in ("list", "version", "entries", "local")} == {
        "list": "national",
        "version": 1,
        "entries": 2,
        "local": False,
    }
    assert listed["issued_at"].endswith("Z")
    code, out = run_json("hotlist", "check", "A812CDE", "--config", str(config))
    (match,) = out["matches"]
    assert match.keys() >= MATCH_KEYS
    assert (match["vrm"], match["kind"], match["distance"]) == ("AB12CDE", "fuzzy", 1)
    code, out = run_json("hotlist", "export", "--config", str(config))
    assert [e["vrm"] for e in out["entries"]] == ["AB12CDE", "BD51SMR"]
    assert {"list", "vrm", "category", "priority", "action", "reason", "expires_at"} <= out[
        "entries"
    ][1].keys()
    assert out["entries"][1]["category"] == "no-insurance"
    assert out["entries"][1]["expires_at"] == "2031-01-01T00:00:00Z"


def test_apply_rejections_exit_2_with_the_reason(site, capsys):
    folder, _, config, centre = site
    assert run_json("hotlist", "apply", str(folder / "v1.json"), "--config", str(config))[0] == 0
    code, out = run_json("hotlist", "apply", str(folder / "v1.json"), "--config", str(config))
    assert code == 2 and out["applied"] is False and out["reason"] == "stale-version"
    (folder / "rogue.json").write_bytes(
        centre.snapshot("national", 2, [["A1", "x", 1, "y", "", None]], key="rogue")
    )
    code, out, err = run("hotlist", "apply", str(folder / "rogue.json"), "--config", str(config))
    assert code == 2 and "(unknown-key)" in err and "Traceback" not in err
    code, _, err = run("hotlist", "apply", str(folder / "missing.json"), "--config", str(config))
    assert code == 2 and "file not found" in err


def test_delta_signed_from_a_change_csv(site, capsys):
    folder, keys, config, _ = site
    run_json("hotlist", "apply", str(folder / "v1.json"), "--config", str(config))
    (folder / "d.csv").write_text(
        "op,vrm,category,priority,action\nadd,CD34EFG,firearms,1,intercept\nremove,BD51SMR,,,\n"
    )
    code, out = run_json(
        *sign_args(
            str(folder / "d.csv"), str(keys / "centre-b.key"), 2, str(folder / "d.json"), base=1
        )
    )
    assert code == 0 and out["kind"] == "delta" and out["base_version"] == 1
    code, out = run_json("hotlist", "apply", str(folder / "d.json"), "--config", str(config))
    assert code == 0 and out["changed"] == {"adds": 1, "updates": 0, "removes": 1}


def test_bad_csv_rows_name_file_line_and_field(site, capsys):
    folder, keys, _, _ = site
    bad = folder / "bad.csv"
    bad.write_text(
        "vrm,category,priority,action\nAB12CDE,stolen,1,intercept\n"
        "AB#12,stolen,1,intercept\nCD34EFG,stolen,high,intercept\n"
        "ab12cde,drugs,2,monitor\n"
    )
    sign_bad = sign_args(str(bad), str(keys / "centre-a.key"), 3, str(folder / "x.json"))
    code, _, err = run(*sign_bad)
    assert code == 2 and "Traceback" not in err
    assert f"{bad}: line 3: field vrm" in err
    assert f"{bad}: line 4: field priority: got 'high'" in err
    assert not (folder / "x.json").exists()
    bad.write_text("vrm,category,prority,action\n")
    code, _, err = run(*sign_bad)
    assert code == 2 and "line 1: unknown column 'prority'" in err
    (folder / "dup.csv").write_text("vrm,category,priority,action\nAB12CDE,a,1,b\nab12 cde,a,1,b\n")
    code, _, err = run("hotlist", "import", str(folder / "dup.csv"), "--list", "site")
    assert code == 2 and "line 3: field vrm: AB12CDE is already on line 2" in err


def test_local_import_is_marked_local(site, capsys, monkeypatch):
    folder, _, config, _ = site
    monkeypatch.setenv("ANPR_EDGE_CONFIG", str(config))  # no --config: the environment's
    (folder / "local.csv").write_text("vrm,category,priority,action\nZZ99ZZZ,watch,3,monitor\n")
    code, out = run_json("hotlist", "import", str(folder / "local.csv"), "--list", "site")
    assert code == 0 and out["local"] is True and out["version"] == 1
    code, out = run_json("hotlist", "check", "ZZ99ZZZ")
    assert [(m["list"], m["local"], m["kind"]) for m in out["matches"]] == [("site", True, "exact")]
    code, out = run_json("hotlist", "status")
    assert [(row["list"], row["local"]) for row in out["lists"]] == [("site", True)]
    code, _, err = run("hotlist", "import", str(folder / "local.csv"), "--list", "national")
    assert code == 2 and "receives from the centre" in err
    code, _, _ = run("hotlist", "remove", "--list", "site")
    assert code == 0 and run_json("hotlist", "status")[1]["lists"] == []


def test_check_refuses_what_is_not_a_plate(site, capsys):
    _, _, config, _ = site
    code, _, err = run("hotlist", "check", "AB#12", "--config", str(config))
    assert code == 2 and "AB#12" in err


@pytest.mark.broker
def test_publish_retains_snapshots_and_refuses_retained_deltas(site, capsys, broker):
    folder, keys, _, _ = site
    code, out = run_json(
        "hotlist",
        "publish",
        str(folder / "v1.json"),
        "--broker",
        f"{broker.host}:{broker.port}",
    )
    assert code == 0 and out["topic"] == "anpr/v1/hotlists/national/snapshot"
    assert out["retained"] is True
    assert retained_payload(broker, out["topic"]) == (folder / "v1.json").read_bytes()
    (folder / "d.csv").write_text("op,vrm\nremove,AB12CDE\n")
    run(
        *sign_args(
            str(folder / "d.csv"), str(keys / "centre-a.key"), 2, str(folder / "d.json"), base=1
        )
    )
    code, _, err = run(
        "hotlist",
        "publish",
        str(folder / "d.json"),
        "--broker",
        f"{broker.host}:{broker.port}",
        "--retain",
    )
    assert code == 2 and "--retain is for snapshots" in err


def test_publish_to_an_absent_broker_is_a_runtime_failure(site, capsys):
    folder, _, _, _ = site
    code, _, err = run(
        "hotlist",
        "publish",
        str(folder / "v1.json"),
        "--broker",
        f"127.0.0.1:{free_port()}",
        "--timeout",
        "2",
    )
    assert code == 1 and "cannot connect" in err


def test_bench_hotlist_prints_the_design_keys():
    # a process of its own: its resident memory (rss_mb) is one of the figures
    result = anpr(
        "bench", "hotlist", "--entries", "3000", "--reads", "50", "--false-hit-reads", "200",
        "--recogniser-crops", "80", "--json", process=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["entries"] == 3000
    for key in ("exact_us", "fuzzy_us"):
        assert out[key]["median"] > 0 and out[key]["p99"] >= out[key]["median"]
    assert out["apply_s"] >= 0 and out["rss_mb"] > 0
    assert out["apply_peak_added_mb"] >= 0  # the apply's own peak (not NaN: it was measured)
    assert 0 <= out["false_hits"]["confusions"]["rate"] <= 1
    gated = out["false_hits"]["confusions_gated"]
    assert gated["sure_confidence"] == 0.99 and 0 <= gated["rate"] <= 1
    recovery = out["misread_recovery"]["confusions"]
    assert recovery["crops"] == 80 and recovery["misreads"] >= 0
    assert 0 <= recovery["within_policy_and_unsure"] <= recovery["within_policy"] <= 1


def retained_payload(broker, topic: str) -> bytes:
    got: list[bytes] = []
    arrived = threading.Event()

    def on_message(client, userdata, message):
        got.append(message.payload)
        arrived.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="test-reader", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert arrived.wait(10), "no retained message"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def test_a_missing_trusted_key_names_the_config_entry(site, capsys):
    folder, keys, config, _ = site
    (keys / "centre-b.pub").unlink()
    code, _, err = run("hotlist", "apply", str(folder / "v1.json"), "--config", str(config))
    assert code == 2
    assert (
        f"{config}: hotlist.trusted_keys[1]: {keys / 'centre-b.pub'}: public key file "
        "not found" in err
    )
