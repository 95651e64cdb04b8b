"""The unit's secrets: none reaches any output."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.centre import GRANTED_QOS1, UNIT, stored, tls_unit_config
from tests.support.cli import anpr
from tests.support.security import CentreBroker, Client, TestCA, mosquitto_passwd, signed_snapshot

pytestmark = pytest.mark.broker


# --- the unit's secrets -----------------------------------------------------------------------


def password_broker(folder: Path, ca: TestCA, user: str, password: str) -> CentreBroker:
    """A TLS broker that also checks a password (the committed config takes the identity from
    the certificate and ignores passwords, so this one is the test's own)."""
    broker = CentreBroker(folder, ca)
    passwords = folder / "passwords"
    mosquitto_passwd(passwords, user, password)
    server = ca.issue("127.0.0.1", server_ip="127.0.0.1")
    broker.config.write_text(
        f"user {'root' if os.geteuid() == 0 else 'mosquitto'}\n"
        f"listener {broker.port} 127.0.0.1\ncafile {ca.cert_path}\n"
        f"certfile {server.cert}\nkeyfile {server.key}\nrequire_certificate true\n"
        f"password_file {passwords}\nallow_anonymous false\npersistence false\n"
        f"log_dest file {broker.log}\nlog_type all\n"
    )
    return broker


def test_no_secret_reaches_any_output(tmp_path, ca):
    password, passphrase = f"pw-{secrets.token_hex(12)}", f"kp-{secrets.token_hex(12)}"
    (tmp_path / "broker").mkdir()
    broker = password_broker(tmp_path / "broker", ca, UNIT, password)
    broker.start()
    watcher = Client(broker, ca.cert_path, ca.issue("watcher"), "watcher")
    watcher.client.username_pw_set(UNIT, password)
    try:
        assert watcher.connect() == 0 and watcher.subscribe("#") == GRANTED_QOS1
        identity = ca.issue(UNIT, passphrase=passphrase)  # an encrypted client key
        assert b"ENCRYPTED" in identity.key.read_bytes()
        config = tls_unit_config(
            tmp_path / "unit", broker, ca.cert_path, identity,
            extra='[logging]\nlevel = "DEBUG"\n', mqtt_extra=f'username = "{UNIT}"\n',
        )  # fmt: skip
        env = {"ANPR_EDGE_MQTT_PASSWORD": password, "ANPR_EDGE_MQTT_KEY_PASSPHRASE": passphrase}
        outputs: dict[str, subprocess.CompletedProcess] = {}
        outputs["run"] = anpr(
            "run", "--config", str(config), "--source", "synthetic:paced=false,rate=60",
            "--max-frames", "150", "--json", env=env, process=True,
        )  # fmt: skip
        assert outputs["run"].returncode == 0, outputs["run"].stderr[-3000:]
        reads = stored(config, "reads")
        assert reads and all(r["delivered"] for r in reads)  # so both secrets were used
        outputs["config show --json"] = anpr(
            "config", "show", str(config), "--json", env=env, process=True
        )
        outputs["config show"] = anpr("config", "show", str(config), env=env, process=True)
        shown = json.loads(outputs["config show --json"].stdout)
        assert shown["config"]["logging"]["level"] == "DEBUG", shown  # the most verbose
        assert "environment ANPR_EDGE_MQTT_PASSWORD" in json.dumps(shown)
        outputs["selftest"] = anpr(
            "selftest", "--config", str(config), "--json", env=env, process=True
        )
        checks = {c["name"]: c for c in json.loads(outputs["selftest"].stdout)["checks"]}
        assert checks["broker"]["ok"], checks["broker"]
        # the same two secrets as systemd credentials ($CREDENTIALS_DIRECTORY), not variables
        credentials = tmp_path / "credentials"
        credentials.mkdir(mode=0o700)
        (credentials / "mqtt-password").write_text(password + "\n")
        (credentials / "mqtt-key-passphrase").write_text(passphrase)
        from_credentials = {**{name: "" for name in env}, "CREDENTIALS_DIRECTORY": str(credentials)}
        outputs["selftest, credentials"] = anpr(
            "selftest", "--config", str(config), "--json", env=from_credentials, process=True
        )
        checks = json.loads(outputs["selftest, credentials"].stdout)["checks"]
        assert next(c for c in checks if c["name"] == "broker")["ok"], checks
        outputs["config show, credentials"] = anpr(
            "config", "show", str(config), env=from_credentials, process=True
        )
        assert "credential mqtt-password" in outputs["config show, credentials"].stdout
        # the centre's tool takes the same two secrets (here with the same test identity)
        bundle = signed_snapshot(tmp_path / "unit", "demo", int(time.time()) + 1000)
        outputs["hotlist publish"] = anpr(
            "hotlist", "publish", str(bundle), "--broker", f"127.0.0.1:{broker.port}",
            "--ca", str(ca.cert_path), "--cert", str(identity.cert), "--key", str(identity.key),
            "--username", UNIT, "--client-id", "centre-test", env=env, process=True,
        )  # fmt: skip
        assert outputs["hotlist publish"].returncode == 0, outputs["hotlist publish"].stderr
        # and where it fails: a wrong password, a wrong passphrase
        wrong = {**env, "ANPR_EDGE_MQTT_PASSWORD": password[::-1]}
        outputs["selftest, wrong password"] = anpr(
            "selftest", "--config", str(config), "--json", env=wrong, process=True
        )
        checks = json.loads(outputs["selftest, wrong password"].stdout)["checks"]
        assert not next(c for c in checks if c["name"] == "broker")["ok"]
        outputs["run, wrong password"] = anpr(
            "run", "--config", str(config), "--source", "synthetic:paced=false",
            "--max-frames", "30", env=wrong, process=True,
        )  # fmt: skip
        assert "Not authorized" in outputs["run, wrong password"].stderr
        wrong = {**env, "ANPR_EDGE_MQTT_KEY_PASSPHRASE": passphrase[::-1]}
        outputs["run, wrong passphrase"] = anpr(
            "run", "--config", str(config), "--source", "synthetic:paced=false",
            "--max-frames", "10", env=wrong, process=True,
        )  # fmt: skip
        # checked before the unit starts: bad input, named (no `PEM lib`, no retry loop)
        assert outputs["run, wrong passphrase"].returncode == 2
        assert outputs["run, wrong passphrase"].stderr.splitlines()[-1] == (
            f"anpr-edge: error: mqtt.tls.key: {identity.key}: the passphrase does not open it "
            "(wrong mqtt-key-passphrase?)"
        )
    finally:
        watcher.close()
        broker.stop()
    texts = {f"{name} {stream}": getattr(result, stream)
             for name, result in outputs.items() for stream in ("stdout", "stderr")}  # fmt: skip
    texts["status file"] = (tmp_path / "unit" / "run" / "status.json").read_text()
    for message in watcher.received():  # everything the unit and the tools published
        texts[f"MQTT {message.topic}"] = message.payload.decode("utf-8", "replace")
    assert any(name.endswith("/reads") for name in texts)
    for path in (tmp_path / "unit" / "state").rglob("*"):  # the store, its WAL, the spool
        if path.is_file():
            texts[f"file {path.name}"] = path.read_bytes().decode("latin-1")
    for value in (password, passphrase, password[::-1], passphrase[::-1]):
        leaked = [name for name, text in texts.items() if value in text]
        assert leaked == [], f"a secret appears in: {leaked}"
