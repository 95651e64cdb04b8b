"""The remote allow-list and the update trust lists in the schema: what the centre may never
change, and what a configuration must give to take updates at all."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from edge.config import ConfigError, load_config
from edge.config.schema import REMOTE_KEYS, Config
from edge.errors import UserError
from edge.updates.config_bundle import build_config_payload, merged, not_allowed
from tests.support.hotlist import write_config


def field_annotation(key: str):
    section, name = key.split(".")
    model: type[BaseModel] = typing.get_type_hints(Config)[section]
    return typing.get_type_hints(model, include_extras=True)[name]


@pytest.mark.parametrize("key", sorted(REMOTE_KEYS))
def test_no_remote_key_is_a_path_tls_or_trust_setting(key):
    section, name = key.split(".")
    assert section not in ("unit", "mqtt", "remote_config")  # identity, broker, trust
    assert "trusted_keys" not in name and "path" not in name and "dir" not in name
    assert "Path" not in str(field_annotation(key)), f"{key} is a path"


def test_the_allow_list_names_real_keys_and_refuses_the_rest():
    for key in REMOTE_KEYS:
        field_annotation(key)  # raises KeyError for a key the schema does not have
    assert not_allowed({"recognition": {"hit_min_frames": 4}}) == []
    assert not_allowed({"mqtt": {"host": "x"}, "hotlist": {"trusted_keys": []}}) == [
        "hotlist.trusted_keys", "mqtt.host"
    ]  # fmt: skip
    assert not_allowed({"mqtt": 1}) == ["mqtt (expected a table)"]
    with pytest.raises(UserError, match=r"not allowed remotely: mqtt\.tls"):
        build_config_payload(1, {"mqtt": {"tls": {"enabled": False}}}, "2026-12-03T00:00:00Z")
    assert merged({"recognition": {"region": "gb"}}, {"recognition": {"hit_min_frames": 4}}) == {
        "recognition": {"region": "gb", "hit_min_frames": 4}
    }


@pytest.mark.parametrize("section", ["models", "remote_config"])
def test_an_update_trust_list_needs_two_different_keys_or_none(tmp_path, section):
    base = write_config(tmp_path, [tmp_path / "a.pub", tmp_path / "b.pub"])
    text = base.read_text()
    one = tmp_path / "one.toml"
    one.write_text(text + f'[{section}]\ntrusted_keys = ["{tmp_path}/k.pub"]\n')
    with pytest.raises(ConfigError, match=f"{section}.trusted_keys: at least two keys"):
        load_config(one)
    twice = tmp_path / "twice.toml"
    twice.write_text(
        text + f'[{section}]\ntrusted_keys = ["{tmp_path}/k.pub", "{tmp_path}/k.pub"]\n'
    )
    with pytest.raises(ConfigError, match="repeats"):
        load_config(twice)
    assert load_config(Path(base)).models.trusted_keys == []


def test_config_check_loads_every_trust_list(tmp_path):
    from edge.hotlist.signing import generate_keypair
    from tests.support.cli import anpr

    hotlist = [generate_keypair(tmp_path / "keys", name)[2] for name in ("a", "b")]
    config = write_config(tmp_path, hotlist)
    config.write_text(
        config.read_text()
        + f'[models]\ntrusted_keys = ["{hotlist[0]}", "{tmp_path}/missing.pub"]\n'
        + f'[remote_config]\ntrusted_keys = ["{tmp_path}/gone-a.pub", "{hotlist[1]}"]\n'
    )
    result = anpr("config", "check", str(config), "--json")
    keys = [error["key"] for error in json.loads(result.stdout)["errors"]]
    assert result.returncode == 1
    assert keys == ["models.trusted_keys[1]", "remote_config.trusted_keys[0]"]
