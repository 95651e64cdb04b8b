"""Load a unit configuration file into a `Config`, reporting every problem at once.

Each problem names the file, the key path (`mqtt.port`), the value found and what was expected,
because the person reading it is a technician at the roadside, not the author of the schema.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from edge.config.schema import Config
from edge.errors import UserError

CONFIG_ENV = "ANPR_EDGE_CONFIG"
# Where systemd/install.sh puts the unit's config: the default for a technician's commands, so
# `sudo anpr-edge status` (sudo drops $ANPR_EDGE_CONFIG) looks at the installed unit.
INSTALLED_CONFIG = Path("/etc/anpr-edge/unit.toml")
# Key names that would hold a secret: never allowed in a config file (see edge.config.secrets).
SECRET_KEY = re.compile(r"(password|passphrase|secret|token|private)", re.IGNORECASE)
PATTERN_MEANINGS = {
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$": "1–64 letters, digits, '_' or '-', starting with a "
    "letter or digit",
    r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$": "topic levels of letters, digits, '_' or '-' joined "
    "by '/', with no wildcard and no leading or trailing '/'",
}


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: {self.message}"
            if self.key
            else f"{self.file}: {self.message}"
        )


class ConfigError(UserError):
    """One or more problems in a configuration file; `issues` lists them all."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


def demo_config_path() -> Path:
    """The embedded demo configuration: inside the installed package, else in the source tree."""
    embedded = resources.files("edge") / "_embedded" / "demo.toml"
    if embedded.is_file():
        return Path(str(embedded))
    return Path(__file__).resolve().parents[2] / "firmware_config" / "demo.toml"


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    """`--config` if given, else `$ANPR_EDGE_CONFIG`, else the installed unit's config when
    there is one, else the embedded demo config."""
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    if INSTALLED_CONFIG.is_file():
        return INSTALLED_CONFIG
    return demo_config_path()


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, parse and validate a configuration file. Raises `ConfigError` listing every problem."""
    file = resolve_config_path(path)
    return validate_config(read_config_data(file), str(file))


def read_config_data(file: Path) -> dict[str, Any]:
    """The file's TOML as a dict, unvalidated (a signed partial configuration is merged into
    it before validation: edge.updates.config_update). Raises `ConfigError`."""
    name = str(file)
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(name, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([ConfigIssue(name, "", f"cannot read the file: {reason}")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigIssue(name, "", f"invalid TOML: {exc}")]) from None


def validate_config(data: dict[str, Any], name: str) -> Config:
    """`data` as a `Config`, or `ConfigError` naming `name`, the key path, value and
    expectation of every problem."""
    issues = [ConfigIssue(name, key, message) for key, message in _secret_keys(data)]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        issues += [
            ConfigIssue(name, _key_path(e["loc"]), _describe(e))
            for e in exc.errors()
            if not _is_secret_loc(e["loc"])  # reported above, without its value
        ]
        config = None
    if issues or config is None:  # (no issues: the model validated)
        raise ConfigError(issues)
    return config


def _secret_keys(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            found += _secret_keys(value, path)
        elif SECRET_KEY.search(key):
            found.append(
                (
                    path,
                    "secrets are not allowed in the config file (value not shown); "
                    "provide it through the environment or a systemd credential: "
                    "see `anpr-edge config show` for the names",
                )
            )
    return found


def _is_secret_loc(loc: tuple[Any, ...]) -> bool:
    return bool(loc) and isinstance(loc[-1], str) and bool(SECRET_KEY.search(loc[-1]))


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _value(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _describe(error: Mapping[str, Any]) -> str:
    kind, ctx, loc = error["type"], error.get("ctx") or {}, error["loc"]
    got = f"got {_value(error.get('input'))}"
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc[:-1]))
        return f"unknown key ({got}); expected one of: {allowed}"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    expected = {
        "int_type": "an integer",
        "float_type": "a number",
        "string_type": "a string (in quotes)",
        "bool_type": "true or false",
        "list_type": "a list [..]",
        "tuple_type": "a list [..]",
        "model_type": "a table",
        "dict_type": "a table",
        "path_type": "a path string",
        "greater_than": f"a value > {ctx.get('gt')}",
        "greater_than_equal": f"a value ≥ {ctx.get('ge')}",
        "less_than": f"a value < {ctx.get('lt')}",
        "less_than_equal": f"a value ≤ {ctx.get('le')}",
        "literal_error": f"one of {ctx.get('expected')}",
        "string_pattern_mismatch": PATTERN_MEANINGS.get(str(ctx.get("pattern")), "a valid name"),
        "string_too_short": f"at least {ctx.get('min_length')} character(s)",
        "too_short": f"at least {ctx.get('min_length')} item(s)",
        "too_long": f"at most {ctx.get('max_length')} item(s)",
    }.get(kind)
    if expected is None:
        return f"{got}; {error['msg']}"
    return f"{got}; expected {expected}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows in the table at `loc`, for 'did you mean' style messages."""
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)
