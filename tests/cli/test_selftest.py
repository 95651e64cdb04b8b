"""`anpr-edge selftest` against the real Mosquitto fixture (plain, TLS, mutual TLS), the real
models, a real signed hotlist in a real SQLite store, and the failing cases, each with its
reason. The clock's synchronisation is the host's (adjtimex): tests that need every check to
pass stand in a synchronised clock at that edge; one test takes the host's own verdict."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from edge.cli import main
from edge.hotlist.signing import generate_keypair
from edge.store.database import open_database
from edge.unit.health import ClockState
from edge.vision.runtime import BUNDLED_MODELS
from tests.support.broker import free_port
from tests.support.cli import anpr
from tests.support.tls import make_ca_and_server
from tests.support.unit import unit_config

pytestmark = pytest.mark.broker
CHECKS = [
    "model detector", "model recogniser", "camera", "broker", "hotlists", "clock", "disk",
    "permissions",
]  # fmt: skip


class SyncedClock:
    """The kernel's clock verdict (adjtimex), as on a unit whose NTP has synchronised."""

    def __call__(self) -> bool:
        return True


@pytest.fixture
def synced(monkeypatch):
    monkeypatch.setattr("edge.ops.checks.ClockState", SyncedClock)


def selftest(config: Path, *options: str) -> tuple[int, dict[str, dict]]:
    result = anpr("selftest", "--config", str(config), "--json", *options)
    code, report = result.returncode, json.loads(result.stdout)
    assert [check["name"] for check in report["checks"]] == CHECKS
    assert report["ok"] == (code == 0)
    return code, {check["name"]: check for check in report["checks"]}


def failing(checks: dict[str, dict]) -> set[str]:
    return {name for name, check in checks.items() if not check["ok"]}


def test_every_check_passes_on_a_healthy_unit(tmp_path, broker, synced, capsys):
    config = unit_config(tmp_path, broker.port)
    code, checks = selftest(config)
    assert code == 0, {n: c["reason"] for n, c in checks.items() if not c["ok"]}
    assert "sha256 and input" in checks["model detector"]["reason"]
    assert "3 frames of 728×544" in checks["camera"]["reason"]
    assert f"mqtt://127.0.0.1:{broker.port}: connected" in checks["broker"]["reason"]
    assert "2 trusted keys load; held: demo v" in checks["hotlists"]["reason"]
    assert main(["selftest", "--config", str(config)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == f"selftest of unit test-unit ({config})"
    assert [line.split()[0] for line in table[1:-1]] == ["PASS"] * len(CHECKS)
    assert table[-1] == f"PASS: all {len(CHECKS)} checks"


def test_the_clock_check_is_the_kernels_verdict(tmp_path, broker):
    config = unit_config(tmp_path, broker.port)
    result = anpr("selftest", "--config", str(config), "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    synced = ClockState()()
    assert checks["clock"]["ok"] is synced
    assert ("not synchronised" in checks["clock"]["reason"]) is not synced
    assert failing(checks) <= {"clock"}
    assert result.returncode == (0 if synced else 1)


def test_broker_over_tls_passes_and_an_unknown_ca_fails(tmp_path, tls_broker, synced, capsys):
    port, ca = tls_broker
    config = unit_config(tmp_path, port, tls=f'{{ enabled = true, ca = "{ca}" }}')
    code, checks = selftest(config)
    assert code == 0, checks["broker"]
    assert f"mqtts://127.0.0.1:{port}: connected" in checks["broker"]["reason"]
    (tmp_path / "other").mkdir()
    other_ca = make_ca_and_server(tmp_path / "other")["ca"]  # a CA the broker never used
    config.write_text(config.read_text().replace(str(ca), str(other_ca)))
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"broker"}
    assert checks["broker"]["reason"] == (
        f"mqtts://127.0.0.1:{port}: the broker's certificate is not signed by the CA in "
        f"{other_ca} (mqtt.tls.ca): self-signed certificate in certificate chain"
    )


def test_broker_with_mutual_tls_needs_the_units_certificate(tmp_path, mtls_broker, synced, capsys):
    port, ca, cert, key = mtls_broker
    key.chmod(0o600)
    identity = f'{{ enabled = true, ca = "{ca}", cert = "{cert}", key = "{key}" }}'
    config = unit_config(tmp_path, port, tls=identity)
    code, checks = selftest(config)
    assert code == 0, checks["broker"]
    assert "TLS with the unit's client certificate" in checks["broker"]["reason"]
    config.write_text(config.read_text().replace(identity, f'{{ enabled = true, ca = "{ca}" }}'))
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"broker"}
    # paho only sees no CONNACK; the explanation names the refusal
    assert checks["broker"]["reason"] == (
        f"mqtts://127.0.0.1:{port}: the broker 127.0.0.1:{port} refused our certificate "
        "(TLSV13_ALERT_CERTIFICATE_REQUIRED): it requires a client certificate (mqtt.tls.cert, "
        "mqtt.tls.key)"
    )


def test_a_tls_key_group_or_others_can_read_fails_permissions(
    tmp_path,
    mtls_broker,
    synced,
    capsys,
):
    port, ca, cert, key = mtls_broker
    key.chmod(0o640)
    identity = f'{{ enabled = true, ca = "{ca}", cert = "{cert}", key = "{key}" }}'
    code, checks = selftest(unit_config(tmp_path, port, tls=identity))
    assert code == 1 and failing(checks) == {"permissions"}
    assert checks["permissions"]["reason"] == (
        f"TLS key {key} is mode 0640: group or others can read the unit's private key (chmod 600)"
    )


def test_a_missing_tls_file_is_named_with_its_config_key(tmp_path, synced, capsys):
    ca = tmp_path / "tls" / "force-ca.crt"
    config = unit_config(tmp_path, free_port(), tls=f'{{ enabled = true, ca = "{ca}" }}')
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"broker"}
    assert checks["broker"]["reason"] == f"mqtt.tls.ca: {ca}: no such file"


def test_a_corrupt_model_copy_fails_the_model_check_naming_the_file(
    tmp_path, broker, synced, capsys
):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("detector.tflite", "detector.json"):
        shutil.copy(BUNDLED_MODELS / name, models / name)
    model = models / "detector.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    config = unit_config(tmp_path, broker.port, extra=f'[models]\ndetector = "{model}"\n')
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"model detector"}
    reason = checks["model detector"]["reason"]
    assert str(model) in reason and "does not match its manifest" in reason


def test_a_closed_broker_port_fails_the_broker_check_and_can_be_skipped(tmp_path, synced, capsys):
    port = free_port()  # nothing listens there
    config = unit_config(tmp_path, port)
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"broker"}
    assert checks["broker"]["reason"] == (
        f"mqtt://127.0.0.1:{port} (mqtt.host, mqtt.port): cannot connect: Connection refused"
    )
    code, checks = selftest(config, "--skip-broker")
    assert code == 0 and checks["broker"]["skipped"]


def test_a_world_readable_store_fails_permissions_and_is_left_as_found(
    tmp_path, broker, synced, capsys
):
    config = unit_config(tmp_path, broker.port)
    store = tmp_path / "state" / "anpr.db"
    open_database(store).close()  # as the unit's first start makes it
    store.chmod(0o644)
    config.chmod(0o644)
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"permissions"}
    reason = checks["permissions"]["reason"]
    assert f"{store} is mode 0644: group or others can read personal data" in reason
    assert f"config file {config} is mode 0644: others can read it" in reason
    assert stat.S_IMODE(store.stat().st_mode) == 0o644  # reported, not silently narrowed
    code = main(["selftest", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 1 and out.splitlines()[-1] == "FAIL: 1 of 8 checks (permissions)"


def test_a_list_signed_by_a_key_no_longer_trusted_fails_the_hotlist_check(
    tmp_path, broker, synced, capsys
):
    config = unit_config(tmp_path, broker.port)
    # the centre rotated both keys, and the unit's config followed: the held list is stale
    new = [generate_keypair(tmp_path / "new", name)[2] for name in ("c", "d")]
    text = config.read_text()
    for old, replacement in zip(("centre-a.pub", "centre-b.pub"), new, strict=True):
        text = text.replace(f"{tmp_path / 'keys' / old}", str(replacement))
    config.write_text(text)
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"hotlists"}
    assert "which is not among hotlist.trusted_keys" in checks["hotlists"]["reason"]


def test_a_camera_that_gives_no_frames_fails_the_camera_check(tmp_path, broker, synced, capsys):
    empty = tmp_path / "frames"
    empty.mkdir()
    config = unit_config(tmp_path, broker.port, camera=f'source = "images"\nuri = "{empty}"')
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"camera"}
    assert (
        checks["camera"]["reason"] == f"{empty}: no images (.jpg, .jpeg, .png, .bmp, .tif, .tiff)"
    )


def test_too_little_disk_for_the_store_quota_fails_the_disk_check(tmp_path, broker, synced, capsys):
    if shutil.disk_usage(tmp_path).free >= 10**12:
        pytest.skip("more than 1 TB free here: no quota the schema allows can exceed it")
    config = unit_config(tmp_path, broker.port)
    config.write_text(config.read_text().replace("quota_mb = 64", "quota_mb = 1000000"))
    code, checks = selftest(config)
    assert code == 1 and failing(checks) == {"disk"}
    assert "may grow to its 1000000 MB quota" in checks["disk"]["reason"]


def test_a_bad_config_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[unit]\nid = "x"\n[mqtt]\nhost = "h"\nport = 70000\n')
    assert main(["selftest", "--config", str(bad)]) == 2
    assert "mqtt.port" in capsys.readouterr().err
