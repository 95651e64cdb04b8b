"""Secrets the unit needs but never keeps in its config file.

Each secret is read from a systemd credential (`LoadCredential=NAME:…` puts it in
`$CREDENTIALS_DIRECTORY/NAME`, readable only by the service) or, failing that, from an environment
variable (for development). Values are wrapped in `SecretStr`, whose `str()` and `repr()` are
masked, so a log line or `config show` cannot leak them by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr


@dataclass(frozen=True)
class SecretSpec:
    name: str
    credential: str
    env: str
    what: str


SECRET_SPECS = (
    SecretSpec("mqtt_password", "mqtt-password", "ANPR_EDGE_MQTT_PASSWORD", "broker password"),
    SecretSpec(
        "mqtt_key_passphrase",
        "mqtt-key-passphrase",
        "ANPR_EDGE_MQTT_KEY_PASSPHRASE",
        "passphrase of the TLS client key",
    ),
)


@dataclass(frozen=True)
class Secret:
    spec: SecretSpec
    value: SecretStr | None
    source: str  # where it came from, safe to show: "credential mqtt-password", "not set"

    def describe(self) -> str:
        return f"<{'set' if self.value else 'not set'}: {self.source}>"


def load_secrets(env: Mapping[str, str] | None = None) -> dict[str, Secret]:
    """Every known secret, credential first, then environment; missing ones are `value=None`."""
    env = os.environ if env is None else env
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    found: dict[str, Secret] = {}
    for spec in SECRET_SPECS:
        found[spec.name] = _load_one(spec, env, Path(cred_dir) if cred_dir else None)
    return found


def _load_one(spec: SecretSpec, env: Mapping[str, str], cred_dir: Path | None) -> Secret:
    if cred_dir is not None:
        path = cred_dir / spec.credential
        if path.is_file():
            # A trailing newline is an editor's, not part of the secret.
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
            return Secret(spec, SecretStr(value), f"credential {spec.credential}")
    if env.get(spec.env):
        return Secret(spec, SecretStr(env[spec.env]), f"environment {spec.env}")
    return Secret(spec, None, f"not set (credential {spec.credential} or environment {spec.env})")
