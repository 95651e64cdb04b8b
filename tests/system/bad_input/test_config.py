"""Bad config files: TOML-ish text and wrong values for known keys end in a ConfigError or a
valid config."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from edge.config import ConfigError, load_config
from tests.support.bad_input import CASES, examples

# ---------------------------------------------------------------------------------------------
# Config files
# ---------------------------------------------------------------------------------------------

VALID_CONFIG = {
    "unit": {"id": "u1"},
    "hotlist": {"trusted_keys": ["a.pub", "b.pub"]},
    "mqtt": {"host": "127.0.0.1", "port": 1883},
}


KNOWN_KEYS = [
    ("unit", "id"),
    ("hotlist", "trusted_keys"),
    ("hotlist", "lists"),
    ("mqtt", "host"),
    ("mqtt", "port"),
    ("mqtt", "tls"),
    ("camera", "source"),
    ("camera", "resolution"),
    ("storage", "path"),
    ("recognition", "region"),
]


def toml_string(text: str) -> str:
    """A TOML basic string: control characters, DEL, quote and backslash escaped."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '\x7f"\\' else c for c in text)
    return f'"{escaped}"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml_containers(children):
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=6), children, max_size=3
    )


toml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    toml_containers,
    max_leaves=6,
)


def load_or_config_error(path: Path):
    CASES["config"] += 1
    try:
        return load_config(path)
    except ConfigError as error:
        assert error.issues
        for issue in error.issues:
            assert issue.file == str(path)
            if issue.key == "":  # a whole-file problem: unreadable or not TOML (with its line)
                assert issue.message.startswith(("invalid TOML", "cannot read")), issue
        return None


@examples(ci=60, long=1000)
@given(text=st.text(alphabet=st.sampled_from("[]{}=\"'.,#\n \tabcport1-_\\"), max_size=120))
def test_toml_ish_text(tmp_path, text):
    path = tmp_path / "unit.toml"
    path.write_text(text, encoding="utf-8")
    load_or_config_error(path)


@examples(ci=60, long=1000)
@given(key=st.sampled_from(KNOWN_KEYS), value=toml_values)
def test_random_values_for_known_keys(tmp_path, key, value):
    table, name = key
    data = json.loads(json.dumps(VALID_CONFIG))
    data.setdefault(table, {})[name] = value
    text = "".join(
        f"[{t}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items())
        for t, keys in data.items()
    )
    path = tmp_path / "unit.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
        CASES["config"] += 1
    except ConfigError as error:
        CASES["config"] += 1
        assert all(issue.file == str(path) for issue in error.issues)
        # The key path is the issue's key, or (a rule across keys of a table, such as two
        # different trusted keys) the table's, with the message naming the key path.
        assert any(
            issue.key.startswith(f"{table}.{name}")
            or (issue.key == table and f"{table}.{name}" in issue.message)
            for issue in error.issues
        ), error
