"""The signed envelope shared by every update the centre sends a unit (hotlists, models,
configuration): a JSON object around the exact payload bytes and their Ed25519 signature.

```
{"schema": "anpr.hotlist-bundle/1", "key_id": "3f9c…", "alg": "ed25519",
 "compression": "gzip", "payload": "<base64>", "signature": "<base64, 64 bytes>"}
```

The signature is over the payload bytes exactly as carried (the compressed bytes when
`compression` is gzip), so the unit checks it before decompressing or parsing anything the
centre did not sign, and any tool can verify it with a stock Ed25519 library. What the payload
means is the caller's business (edge.hotlist.bundle, edge.updates.model_bundle,
edge.updates.config_bundle); each has its own schema name and trust list, so a key trusted for
hotlists can never sign a model. Verification order: size, envelope shape, key id trusted,
signature. A rejection is an `EnvelopeRejected` with a code every caller shares: `oversized`,
`truncated` (the document ends early: a cut transfer), `malformed`, `wrong-type`,
`unknown-key`, `bad-signature`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from edge.hotlist.signing import PublicKey, SigningKey

ENVELOPE_KEYS = frozenset({"schema", "key_id", "alg", "compression", "payload", "signature"})


class EnvelopeRejected(Exception):
    """An envelope was refused; `code` is one of the module's codes, `detail` says why."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


@dataclass(frozen=True, eq=False)
class SignedPayload:
    """An envelope whose signature checked out: the payload bytes are the centre's."""

    key_id: str
    compression: str
    payload: bytes


@dataclass(frozen=True)
class EnvelopeRules:
    """What one kind of update expects: its schema, its size bound and the config keys named
    in messages (`keys_setting`: the trust list; `size_setting`: the bound)."""

    schema: str
    max_payload_bytes: int
    keys_setting: str
    size_setting: str

    @property
    def max_envelope_bytes(self) -> int:
        return envelope_limit(self.max_payload_bytes)


def envelope_limit(max_payload_bytes: int) -> int:
    """The largest envelope that can hold a payload of `max_payload_bytes` (base64: 4/3)."""
    return max_payload_bytes * 4 // 3 + 4096


def wrap_signed(carried: bytes, key: SigningKey, compression: str, schema: str) -> bytes:
    """Sign payload bytes as they will be carried and wrap them in an envelope."""
    envelope = {
        "schema": schema,
        "key_id": key.key_id,
        "alg": "ed25519",
        "compression": compression,
        "payload": base64.b64encode(carried).decode("ascii"),
        "signature": base64.b64encode(key.sign(carried)).decode("ascii"),
    }
    return json.dumps(envelope, indent=1).encode("ascii") + b"\n"


def open_signed(data: bytes, trusted: dict[str, PublicKey], rules: EnvelopeRules) -> SignedPayload:
    """Check the envelope and its signature. Raises EnvelopeRejected; changes nothing."""
    if len(data) > rules.max_envelope_bytes:
        raise EnvelopeRejected(
            "oversized",
            f"bundle of {len(data)} bytes exceeds the limit for "
            f"{rules.max_payload_bytes // (1024 * 1024)} MB of payload ({rules.size_setting})",
        )
    try:
        envelope = json.loads(data)
    except (ValueError, RecursionError) as exc:
        if data.strip() and not data.rstrip().endswith(b"}"):
            raise EnvelopeRejected(
                "truncated", f"the bundle ends after {len(data)} bytes, mid-document"
            ) from None
        raise EnvelopeRejected("malformed", f"not a JSON bundle envelope ({exc})") from None
    if not isinstance(envelope, dict):
        raise EnvelopeRejected("malformed", "the bundle is not a JSON object")
    exact_keys(envelope, ENVELOPE_KEYS, "envelope")
    for key in sorted(ENVELOPE_KEYS):
        if not isinstance(envelope[key], str):
            raise EnvelopeRejected("wrong-type", f"envelope.{key}: expected a string")
    if envelope["schema"] != rules.schema or envelope["alg"] != "ed25519":
        raise EnvelopeRejected(
            "malformed",
            f"unsupported bundle schema {envelope['schema']!r} / alg {envelope['alg']!r}; "
            f"expected {rules.schema!r} / 'ed25519'",
        )
    if envelope["compression"] not in ("gzip", "none"):
        raise EnvelopeRejected(
            "malformed",
            f"envelope.compression: got {envelope['compression']!r}; expected 'gzip' or 'none'",
        )
    signer = trusted.get(envelope["key_id"])
    if signer is None:
        raise EnvelopeRejected(
            "unknown-key",
            f"signed with key {envelope['key_id']!r}, which is not in {rules.keys_setting}",
        )
    payload = _base64(envelope["payload"], "payload")
    signature = _base64(envelope["signature"], "signature")
    if len(signature) != 64 or not signer.verify(signature, payload):
        raise EnvelopeRejected(
            "bad-signature", f"the signature does not match the payload for key {signer.key_id}"
        )
    return SignedPayload(signer.key_id, envelope["compression"], payload)


def exact_keys(obj: dict, expected: set[str] | frozenset[str], where: str) -> None:
    """Raise `malformed` naming the keys missing from or unexpected in `obj`."""
    missing, extra = expected - obj.keys(), obj.keys() - expected
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {sorted(missing)}")
        if extra:
            parts.append(f"unexpected {sorted(extra)}")
        raise EnvelopeRejected("malformed", f"{where}: {'; '.join(parts)}")


def _base64(text: str, field: str) -> bytes:
    # What base64.b64decode(text, validate=True) does, without its ASCII copy of `text` first
    # (a2b_base64 reads an ASCII str in place, and refuses any other with ValueError): the
    # payload's text is ~130 % of the bundle, so the copy was the peak of opening a large one.
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise EnvelopeRejected("malformed", f"envelope.{field}: not valid base64") from None
