"""The CLI shell: exit codes, JSON, help with examples, secrets never printed."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from edge import __version__
from edge.cli import build_parser, main
from tests.conftest import REPO

EXAMPLE = REPO / "firmware_config" / "unit.example.toml"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def all_parsers(parser: argparse.ArgumentParser, path: str = "anpr-edge"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, f"{path} {name}")


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"anpr-edge {__version__}"


def test_every_command_has_help_with_an_example():
    parsers = list(all_parsers(build_parser()))
    assert len(parsers) >= 4
    for path, parser in parsers:
        assert parser.epilog and "example:" in parser.epilog, path
        assert "anpr-edge " in parser.epilog, path


def test_config_check_valid_exits_0():
    result = run_cli("config", "check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert f"{EXAMPLE}: valid" in result.stdout


def test_config_check_invalid_exits_2_with_every_error_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[unit]\nid = "x"\nfoo = 1\n[mqtt]\nport = "a"\n')
    result = run_cli("config", "check", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for key in ("unit.foo", "mqtt.port", "mqtt.host", "hotlist"):
        assert f"{bad}: {key}: " in result.stderr, result.stderr


def test_config_check_json(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[unit]\nid = "x"\n')
    result = run_cli("config", "check", str(bad), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert {e["key"] for e in report["errors"]} == {"hotlist", "mqtt"}
    ok = json.loads(run_cli("config", "check", str(EXAMPLE), "--json").stdout)
    assert ok == {"file": str(EXAMPLE), "valid": True, "errors": []}


def test_config_show_redacts_secrets():
    secret = "s3cret-broker-password"
    result = run_cli(
        "config", "show", str(EXAMPLE), "--json", env={"ANPR_EDGE_MQTT_PASSWORD": secret}
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["config"]["mqtt"]["port"] == 8883
    assert shown["secrets"]["mqtt_password"] == "<set: environment ANPR_EDGE_MQTT_PASSWORD>"
    text = run_cli("config", "show", str(EXAMPLE), env={"ANPR_EDGE_MQTT_PASSWORD": secret})
    assert secret not in text.stdout
    assert 'mqtt.tls.ca = "/run/credentials/anpr-edge.service/mqtt-ca.crt"' in text.stdout


def test_unknown_command_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["no-such-command"])
    assert exited.value.code == 2


def test_group_without_subcommand_is_usage_error(capsys):
    assert main(["config"]) == 2
    assert "check" in capsys.readouterr().err
