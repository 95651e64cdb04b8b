"""The signed partial configuration: settings the centre may change remotely, in the same
envelope as every update (edge.envelope, schema `anpr.config-bundle/1`), signed by a key of
`remote_config.trusted_keys`.

```
{"schema": "anpr.config-payload/1", "version": 3, "issued_at": "2026-12-03T19:00:00Z",
 "settings": {"recognition": {"hit_min_frames": 4}, "hotlist": {"fuzzy": false}}}
```

`settings` is the whole remote part: each bundle replaces the one before (a key it leaves out
takes the value of the file on the unit again). Only keys of the schema's allow-list
(`edge.config.schema.REMOTE_KEYS`) may appear; anything else (the broker's address, TLS
material, a trust list, a path) is refused as `not-allowed` before anything else is looked at.
Values are checked by the schema itself, merged into the unit's file, before anything is
written (`invalid-config`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from edge.config.schema import REMOTE_KEYS
from edge.envelope import EnvelopeRejected, EnvelopeRules, exact_keys, open_signed, wrap_signed
from edge.errors import UserError
from edge.hotlist.signing import PublicKey, SigningKey
from edge.updates.reasons import Reason, UpdateRejected

BUNDLE_SCHEMA = "anpr.config-bundle/1"
PAYLOAD_SCHEMA = "anpr.config-payload/1"
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_VERSION = 2**53 - 1
RULES = EnvelopeRules(
    BUNDLE_SCHEMA, MAX_PAYLOAD_BYTES, "remote_config.trusted_keys", "64 KB (a configuration)"
)


@dataclass(frozen=True)
class ConfigBundle:
    version: int
    issued_at: str
    key_id: str
    settings: dict[str, dict[str, Any]] = field(compare=False)

    @property
    def keys(self) -> list[str]:
        return sorted(f"{section}.{key}" for section, keys in self.settings.items() for key in keys)


def not_allowed(settings: Any) -> list[str]:
    """The keys of `settings` (section → key → value) outside the allow-list; a value that
    is not such a two-level table is named too."""
    if not isinstance(settings, dict):
        return ["settings (expected a table of sections)"]
    bad = []
    for section, keys in settings.items():
        if not isinstance(keys, dict):
            bad.append(f"{section} (expected a table)")
            continue
        bad += [f"{section}.{key}" for key in keys if f"{section}.{key}" not in REMOTE_KEYS]
    return sorted(bad)


def build_config_payload(version: int, settings: dict[str, Any], issued_at: str) -> bytes:
    """The payload the centre signs; UserError naming keys the unit would refuse."""
    if not 1 <= version <= MAX_VERSION:
        raise UserError(f"--version {version}: expected 1 … {MAX_VERSION}")
    bad = not_allowed(settings)
    if bad:
        raise UserError(
            f"not allowed remotely: {', '.join(bad)}; allowed: {', '.join(sorted(REMOTE_KEYS))}"
        )
    body = {"schema": PAYLOAD_SCHEMA, "version": version, "issued_at": issued_at}
    return json.dumps({**body, "settings": settings}, separators=(",", ":")).encode()


def seal_config(payload: bytes, key: SigningKey) -> bytes:
    return wrap_signed(payload, key, "none", BUNDLE_SCHEMA)


def open_config_bundle(data: bytes, trusted: dict[str, PublicKey]) -> ConfigBundle:
    """Envelope, signature, payload shape and the allow-list. Raises UpdateRejected."""
    try:
        signed = open_signed(data, trusted, RULES)
        if signed.compression != "none":
            raise EnvelopeRejected("malformed", "envelope.compression: expected 'none'")
        try:
            body = json.loads(signed.payload)
        except (ValueError, RecursionError) as exc:
            raise EnvelopeRejected("malformed", f"payload: not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise EnvelopeRejected("malformed", "payload: expected a JSON object")
        exact_keys(body, frozenset({"schema", "version", "issued_at", "settings"}), "payload")
        if body["schema"] != PAYLOAD_SCHEMA:
            raise EnvelopeRejected("malformed", f"payload.schema: expected {PAYLOAD_SCHEMA!r}")
        if type(body["version"]) is not int or not isinstance(body["issued_at"], str):
            raise EnvelopeRejected("wrong-type", "payload.version, payload.issued_at")
        if not 1 <= body["version"] <= MAX_VERSION:
            raise EnvelopeRejected("malformed", "payload.version: out of range")
    except EnvelopeRejected as rejected:
        raise UpdateRejected.from_envelope(rejected) from None
    bad = not_allowed(body["settings"])
    if bad:
        raise UpdateRejected(
            Reason.NOT_ALLOWED,
            f"configuration v{body['version']} changes {', '.join(bad)}: not in the "
            "remote allow-list (edge.config.schema.REMOTE_KEYS)",
            body["version"],
        )
    return ConfigBundle(body["version"], body["issued_at"], signed.key_id, body["settings"])


def merged(base: dict[str, Any], settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The unit's file data with `settings` laid over it, section by section (copies)."""
    data = {key: dict(value) if isinstance(value, dict) else value for key, value in base.items()}
    for section, keys in settings.items():
        data[section] = {**data.get(section, {}), **keys}
    return data
