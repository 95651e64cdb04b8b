"""The CLI shell: exit codes, JSON, help with examples, secrets never printed."""

from __future__ import annotations

import argparse
import json

import pytest

from edge import __version__
from edge.cli import build_parser, main
from tests.support.cli import anpr
from tests.support.paths import REPO

EXAMPLE = REPO / "firmware_config" / "unit.example.toml"


def all_parsers(parser: argparse.ArgumentParser, path: str = "anpr-edge"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, f"{path} {name}")


def test_version():
    result = anpr("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"anpr-edge {__version__}"


def test_every_command_has_help_with_an_example():
    parsers = list(all_parsers(build_parser()))
    assert len(parsers) >= 4
    for path, parser in parsers:
        assert parser.epilog and "example:" in parser.epilog, path
        assert "anpr-edge " in parser.epilog, path


def test_config_check_schema_only_of_the_example_exits_0():
    result = anpr("config", "check", str(EXAMPLE), "--schema-only")
    assert result.returncode == 0, result.stderr
    assert f"{EXAMPLE}: valid" in result.stdout


def test_config_check_names_every_missing_file_with_its_key(tmp_path):
    """The example names systemd credentials and keys that exist only on an installed unit:
    here each is missing, and named (exit 1); a model path typed wrong names the .tflite."""
    config = tmp_path / "unit.toml"
    model = tmp_path / "models" / "detector.tflite"
    config.write_text(
        EXAMPLE.read_text().replace("[models]\n", f'[models]\ndetector = "{model}"\n', 1)
    )
    result = anpr("config", "check", str(config))
    assert result.returncode == 1 and result.stdout == ""
    credential = "/run/credentials/anpr-edge.service"
    hint = (
        "; it is a systemd credential, present only while the anpr-edge service runs, and no "
        "LoadCredential= in the installed unit names its source"
    )
    assert result.stderr.splitlines() == [
        f"{config}: models.detector: {model}: no such file",
        f"{config}: models.detector: {model.with_suffix('.json')}: no such file (the manifest "
        "of detector.tflite, beside it)",
        f"{config}: mqtt.tls.ca: {credential}/mqtt-ca.crt: no such file{hint}",
        f"{config}: mqtt.tls.cert: {credential}/mqtt-client.crt: no such file{hint}",
        f"{config}: mqtt.tls.key: {credential}/mqtt-client.key: no such file{hint}",
        f"{config}: hotlist.trusted_keys[0]: /etc/anpr-edge/keys/centre-2026.pub: public key "
        "file not found",
        f"{config}: hotlist.trusted_keys[1]: /etc/anpr-edge/keys/centre-2027.pub: public key "
        "file not found",
        f"{config}: 7 missing or unusable file(s)",
    ]
    report = json.loads(anpr("config", "check", str(config), "--json").stdout)
    assert report["valid"] is False and len(report["errors"]) == 7
    assert report["errors"][0] == {
        "file": str(config),
        "key": "models.detector",
        "message": f"models.detector: {model}: no such file",
    }


def test_config_check_is_valid_when_every_file_is_there(tmp_path):
    from edge.hotlist.signing import generate_keypair
    from tests.support.security import TestCA

    keys = [generate_keypair(tmp_path / "keys", name)[2] for name in ("a", "b")]
    ca = TestCA(tmp_path / "tls")
    unit = ca.issue("unit-1")
    config = tmp_path / "unit.toml"
    config.write_text(
        '[unit]\nid = "u1"\n'
        f'[hotlist]\ntrusted_keys = ["{keys[0]}", "{keys[1]}"]\n'
        '[mqtt]\nhost = "broker.example"\n'
        f'tls = {{ ca = "{ca.cert_path}", cert = "{unit.cert}", key = "{unit.key}" }}\n'
        f'[storage]\npath = "{tmp_path / "anpr.db"}"\n'
    )
    result = anpr("config", "check", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{config}: valid"
    assert result.stderr == ""
    ok = json.loads(anpr("config", "check", str(config), "--json").stdout)
    assert ok == {"file": str(config), "valid": True, "errors": []}
    unit.key.chmod(0o644)  # still valid, with a warning
    result = anpr("config", "check", str(config))
    assert result.returncode == 0 and result.stdout.startswith(f"{config}: valid\n")
    assert result.stderr == (
        f"{config}: warning: mqtt.tls.key: {unit.key}: is mode 0644: group or others can read "
        "the unit's private key (chmod 600)\n"
    )


def test_config_check_invalid_exits_2_with_every_error_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[unit]\nid = "x"\nfoo = 1\n[mqtt]\nport = "a"\n')
    result = anpr("config", "check", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for key in ("unit.foo", "mqtt.port", "mqtt.host", "hotlist"):
        assert f"{bad}: {key}: " in result.stderr, result.stderr


def test_config_check_json(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[unit]\nid = "x"\n')
    result = anpr("config", "check", str(bad), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert {e["key"] for e in report["errors"]} == {"hotlist", "mqtt"}
    ok = json.loads(anpr("config", "check", str(EXAMPLE), "--schema-only", "--json").stdout)
    assert ok == {"file": str(EXAMPLE), "valid": True, "errors": []}


def test_config_show_redacts_secrets():
    secret = "s3cret-broker-password"
    result = anpr("config", "show", str(EXAMPLE), "--json", env={"ANPR_EDGE_MQTT_PASSWORD": secret})
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["config"]["mqtt"]["port"] == 8883
    assert shown["secrets"]["mqtt_password"] == "<set: environment ANPR_EDGE_MQTT_PASSWORD>"
    text = anpr("config", "show", str(EXAMPLE), env={"ANPR_EDGE_MQTT_PASSWORD": secret})
    assert secret not in text.stdout
    assert 'mqtt.tls.ca = "/run/credentials/anpr-edge.service/mqtt-ca.crt"' in text.stdout


def test_unknown_command_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["no-such-command"])
    assert exited.value.code == 2


def test_group_without_subcommand_is_usage_error(capsys):
    assert main(["config"]) == 2
    assert "check" in capsys.readouterr().err
