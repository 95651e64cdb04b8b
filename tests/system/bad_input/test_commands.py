"""Bad MQTT commands: random bytes and JSON end in a command or a clear rejection."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.uplink.commands import Command, Rejected, parse_command
from tests.support.bad_input import CASES, examples, json_scalars, json_values

# ---------------------------------------------------------------------------------------------
# MQTT commands
# ---------------------------------------------------------------------------------------------


def check_command(payload: bytes, retained: bool) -> None:
    CASES["command"] += 1
    result = parse_command(payload, retained)
    assert isinstance(result, Command | Rejected)
    if isinstance(result, Rejected):
        assert isinstance(result.reason, str) and result.reason
    else:
        assert not retained and result.name in ("ping", "health", "retry")


@examples(ci=100, long=2000)
@given(payload=st.binary(max_size=5000), retained=st.booleans())
def test_commands_from_random_bytes(payload, retained):
    check_command(payload, retained)


command_objects = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.sampled_from(["anpr.cmd/1", "anpr.cmd/2"]) | json_values,
        "id": st.from_regex(r"[A-Za-z0-9._-]{1,70}", fullmatch=True) | json_values,
        "command": st.sampled_from(["ping", "health", "retry", "reboot"]) | json_scalars,
        "args": st.just({}) | json_values,
    },
).flatmap(
    lambda known: st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(
        lambda extra: {**extra, **known}
    )
)


@examples(ci=100, long=2000)
@given(body=command_objects | json_values, retained=st.booleans())
def test_commands_from_json(body, retained):
    check_command(json.dumps(body).encode(), retained)


@pytest.mark.parametrize("value", [[], {}], ids=["list", "object"])
def test_a_command_that_is_a_list_or_object(value):
    body = {"schema": "anpr.cmd/1", "id": "a", "command": value}
    check_command(json.dumps(body).encode(), False)


def test_a_deeply_nested_command():
    check_command(b"[" * 3000, False)
