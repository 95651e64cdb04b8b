"""Configuration: valid files load; every bad input is reported with file, key path and value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.config import ConfigError, load_config, load_secrets
from edge.config.loader import demo_config_path
from tests.support.paths import REPO

VALID = """
[unit]
id = "u1"
[hotlist]
trusted_keys = ["a.pub", "b.pub"]
[mqtt]
host = "127.0.0.1"
port = 1883
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "unit.toml"
    path.write_text(text)
    return path


def issues_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize("name", ["demo.toml", "unit.example.toml"])
def test_shipped_configs_are_valid(name):
    config = load_config(REPO / "firmware_config" / name)
    assert config.unit.id
    assert len(config.hotlist.trusted_keys) >= 2


def test_example_unit_uses_mutual_tls_and_the_global_shutter_camera():
    config = load_config(REPO / "firmware_config" / "unit.example.toml")
    assert config.mqtt.tls.enabled and config.mqtt.tls.cert and config.mqtt.tls.key
    assert config.camera.source == "picamera2"
    assert config.camera.resolution == (1456, 1088)


def test_defaults_fill_in_and_demo_is_the_embedded_default(tmp_path, monkeypatch):
    from edge.config import loader

    monkeypatch.delenv("ANPR_EDGE_CONFIG", raising=False)
    # where the unit is installed, /etc/anpr-edge/unit.toml comes first (tested below)
    monkeypatch.setattr(loader, "INSTALLED_CONFIG", tmp_path / "not-installed.toml")
    config = load_config(None)
    assert demo_config_path().name == "demo.toml"
    assert config.camera.source == "synthetic"
    assert config.mqtt.host == "127.0.0.1" and config.mqtt.port == 1883


def test_minimal_file_gets_pi5_defaults(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.camera.resolution == (1456, 1088)
    assert config.mqtt_client_id == "u1"  # the unit id: the certificate's CN
    assert config.recognition.region == "gb"
    # the live aiming page: off, and on loopback when switched on
    assert config.live.enabled is False and config.live.bind == "127.0.0.1"


def test_config_env_variable_selects_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, VALID.replace('"u1"', '"from-env"'))
    monkeypatch.setenv("ANPR_EDGE_CONFIG", str(path))
    assert load_config(None).unit.id == "from-env"


# (replace this, with this) -> key path and words the message must hold
BAD_INPUTS = [
    pytest.param(
        ("port = 1883", 'port = "1883"'),
        "mqtt.port",
        'got "1883"; expected an integer',
        id="wrong-type-string-for-int",
    ),
    pytest.param(
        ("port = 1883", "port = 70000"),
        "mqtt.port",
        "got 70000; expected a value ≤ 65535",
        id="out-of-range-high",
    ),
    pytest.param(
        ("port = 1883", "port = 0"),
        "mqtt.port",
        "got 0; expected a value ≥ 1",
        id="out-of-range-low",
    ),
    pytest.param(
        ('id = "u1"', 'id = "u1"\ncolour = "red"'),
        "unit.colour",
        'unknown key (got "red"); expected one of: id, site',
        id="unknown-key",
    ),
    pytest.param(
        ("[mqtt]", '[mqtt]\n[mqttt]\nhost = "x"\n[mqtt2]'),
        "mqttt",
        "unknown key",
        id="unknown-section",
    ),
    pytest.param(
        ('host = "127.0.0.1"', ""),
        "mqtt.host",
        "required key is missing",
        id="missing-required-key",
    ),
    pytest.param(
        ('[unit]\nid = "u1"', ""), "unit", "required key is missing", id="missing-required-section"
    ),
    pytest.param(
        ('id = "u1"', 'id = "bad id!"'),
        "unit.id",
        'got "bad id!"; expected 1–64 letters',
        id="bad-identifier",
    ),
    pytest.param(
        ("[unit]", '[recognition]\nregion = "fr"\n[unit]'),
        "recognition.region",
        "got \"fr\"; expected one of 'gb' or 'any'",
        id="bad-choice",
    ),
    pytest.param(
        ('trusted_keys = ["a.pub", "b.pub"]', 'trusted_keys = ["a.pub"]'),
        "hotlist.trusted_keys",
        "expected at least 2 item(s)",
        id="too-few-keys",
    ),
    pytest.param(
        ('trusted_keys = ["a.pub", "b.pub"]', 'trusted_keys = ["a.pub", "a.pub"]'),
        "hotlist",
        "hotlist.trusted_keys[1] repeats [0] (a.pub): key rotation needs two different keys",
        id="same-key-twice",
    ),
    pytest.param(
        ("[unit]", "[camera]\nresolution = [1456, 10]\n[unit]"),
        "camera.resolution[1]",
        "got 10; expected a value ≥ 64",
        id="bad-list-item",
    ),
    pytest.param(
        ("[unit]", "[camera]\nroi = [0, 0, 2000, 100]\n[unit]"),
        "camera",
        "roi [0, 0, 2000, 100] must lie inside resolution 1456x1088",
        id="roi-outside",
    ),
    pytest.param(
        ("port = 1883", "port = 1883\ntls = { enabled = true }"),
        "mqtt.tls",
        "mqtt.tls.ca is required when TLS is enabled",
        id="tls-without-ca",
    ),
    pytest.param(
        ("port = 1883", 'port = 1883\ntls = { enabled = false, cert = "c.pem" }'),
        "mqtt.tls",
        "cert and mqtt.tls.key must be given together",
        id="cert-without-key",
    ),
    pytest.param(
        ("[unit]", '[camera]\nsource = "opencv"\n[unit]'),
        "camera",
        "camera.uri is required when camera.source = 'opencv'",
        id="opencv-without-uri",
    ),
    pytest.param(
        ("[unit]", "[camera]\nfps = true\n[unit]"),
        "camera.fps",
        "got true; expected a number",
        id="bool-for-number",
    ),
    pytest.param(
        ("[unit]", '[live]\nbind = "localhost"\n[unit]'),
        "live.bind",
        "got 'localhost'; expected an IP address",
        id="live-bind-not-an-address",
    ),
    pytest.param(
        ("[unit]", "[live]\nport = 80\n[unit]"),
        "live.port",
        "got 80; expected a value ≥ 1024",
        id="live-port-privileged",
    ),
    pytest.param(
        ("[unit]", "[live]\nmax_fps = 60.0\n[unit]"),
        "live.max_fps",
        "got 60.0; expected a value ≤ 15",
        id="live-fps-too-high",
    ),
    pytest.param(
        ("[unit]", "[live]\nenable = true\n[unit]"),
        "live.enable",
        "unknown key",
        id="live-unknown-key",
    ),
    pytest.param(
        ("[unit]", "unit = 3\n[unitx]"), "unit", "got 3; expected a table", id="scalar-for-table"
    ),
]


@pytest.mark.parametrize(("edit", "key", "words"), BAD_INPUTS)
def test_bad_input_names_file_key_value_and_expectation(tmp_path, edit, key, words):
    old, new = edit
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    issues = issues_of(path)
    assert any(issue.startswith(f"{path}: {key}: ") and words in issue for issue in issues), issues


def test_all_errors_are_reported_at_once(tmp_path):
    text = VALID.replace("port = 1883", 'port = 70000\nkeepalive_s = "30"').replace(
        'id = "u1"', 'id = "u1"\nsite = 5'
    )
    keys = {issue.split(": ")[1] for issue in issues_of(write(tmp_path, text))}
    assert keys == {"mqtt.port", "mqtt.keepalive_s", "unit.site"}


def test_bad_toml_syntax_names_line_and_column(tmp_path):
    issues = issues_of(write(tmp_path, VALID.replace("port = 1883", "port = ")))
    assert len(issues) == 1
    assert "invalid TOML" in issues[0] and "line 8, column 8" in issues[0], issues


def test_missing_file(tmp_path):
    assert issues_of(tmp_path / "absent.toml") == [f"{tmp_path / 'absent.toml'}: file not found"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, VALID)
    path.chmod(0)
    assert "cannot read the file: Permission denied" in issues_of(path)[0]


def test_directory_instead_of_file(tmp_path):
    assert "cannot read the file" in issues_of(tmp_path)[0]


def test_not_utf8(tmp_path):
    path = tmp_path / "unit.toml"
    path.write_bytes(VALID.encode() + b'\nsite = "\xff"\n')
    assert "cannot read the file" in issues_of(path)[0]


def test_secret_in_file_is_refused_without_echoing_it(tmp_path):
    text = VALID.replace("port = 1883", 'port = 1883\npassword = "hunter2-secret"')
    issues = issues_of(write(tmp_path, text))
    assert len(issues) == 1
    assert "mqtt.password: secrets are not allowed in the config file" in issues[0]
    assert "hunter2" not in "\n".join(issues)


def test_secrets_from_credentials_beat_environment(tmp_path):
    (tmp_path / "mqtt-password").write_text("from-credential\n")
    secrets = load_secrets(
        {
            "CREDENTIALS_DIRECTORY": str(tmp_path),
            "ANPR_EDGE_MQTT_PASSWORD": "from-env",
            "ANPR_EDGE_MQTT_KEY_PASSPHRASE": "phrase",
        }
    )
    password = secrets["mqtt_password"]
    assert password.value.get_secret_value() == "from-credential"
    assert password.source == "credential mqtt-password"
    assert secrets["mqtt_key_passphrase"].value.get_secret_value() == "phrase"
    assert "from-credential" not in repr(password) and "from-credential" not in password.describe()


def test_missing_secret_says_where_it_would_come_from():
    secret = load_secrets({})["mqtt_password"]
    assert secret.value is None
    assert "credential mqtt-password" in secret.describe()
    assert "ANPR_EDGE_MQTT_PASSWORD" in secret.describe()


def test_the_installed_config_is_the_default_before_the_demo(tmp_path, monkeypatch):
    from edge.config import loader

    installed = tmp_path / "unit.toml"
    monkeypatch.delenv(loader.CONFIG_ENV, raising=False)
    monkeypatch.setattr(loader, "INSTALLED_CONFIG", installed)
    assert loader.resolve_config_path(None) == loader.demo_config_path()
    installed.write_text("")
    assert loader.resolve_config_path(None) == installed  # e.g. under sudo, which drops the env
    monkeypatch.setenv(loader.CONFIG_ENV, str(tmp_path / "other.toml"))
    assert loader.resolve_config_path(None) == tmp_path / "other.toml"
    assert loader.resolve_config_path("given.toml") == Path("given.toml")


def test_a_trusted_key_listed_twice_is_refused(tmp_path):
    from edge.errors import UserError
    from edge.hotlist.signing import generate_keypair, load_trusted_keys

    _, _, public = generate_keypair(tmp_path, "centre")
    copy = tmp_path / "copy.pub"
    copy.write_bytes(public.read_bytes())
    with pytest.raises(
        UserError, match=r"trusted_keys\[1\] .* is the same key as trusted_keys\[0\]"
    ):
        load_trusted_keys([public, copy], "unit.toml")
