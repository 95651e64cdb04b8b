"""A signed hotlist bundle: the signed envelope of every update (edge.envelope: the exact
payload bytes, gzip-compressed when large, and their Ed25519 signature) with the schema
`anpr.hotlist-bundle/1`, checked against `hotlist.trusted_keys`.

The list, kind and versions are inside the signed payload (`edge.hotlist.payload`); the
envelope's unsigned fields only say how to check it. Verification order: size, envelope shape,
key id trusted, signature, then (while streaming) the payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.envelope import (
    EnvelopeRejected,
    EnvelopeRules,
    SignedPayload,
    envelope_limit,
    exact_keys,
    open_signed,
    wrap_signed,
)
from edge.hotlist.payload import (
    CHANGE_COLUMNS,
    ENTRY_COLUMNS,
    PAYLOAD_SCHEMA,
    compress,
    encode_payload,
)
from edge.hotlist.rejections import BundleRejected, Reason
from edge.hotlist.signing import PublicKey, SigningKey

__all__ = ["SignedPayload", "envelope_limit", "open_envelope", "seal", "wrap"]

BUNDLE_SCHEMA = "anpr.hotlist-bundle/1"
COMPRESS_ABOVE_BYTES = 64 * 1024  # "compressed when large": small deltas stay readable
LIST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_VERSION = 2**53 - 1  # exact in every JSON implementation


def resolve_compression(payload: bytes, requested: str = "auto") -> str:
    """'gzip' or 'none': as requested, or for 'auto' gzip when the payload is large."""
    if requested == "auto":
        return "gzip" if len(payload) > COMPRESS_ABOVE_BYTES else "none"
    return requested


def seal(payload: bytes, key: SigningKey, compression: str = "auto") -> bytes:
    """Sign an uncompressed payload and wrap it in an envelope (gzip when large, or as told)."""
    compression = resolve_compression(payload, compression)
    return wrap(compress(payload) if compression == "gzip" else payload, key, compression)


def wrap(carried: bytes, key: SigningKey, compression: str) -> bytes:
    """Sign payload bytes as they will be carried (already gzip-compressed if `compression`
    says so) and wrap them in an envelope."""
    return wrap_signed(carried, key, compression, BUNDLE_SCHEMA)


def open_envelope(
    data: bytes, trusted: dict[str, PublicKey], max_payload_bytes: int
) -> SignedPayload:
    """Check the envelope and its signature. Raises BundleRejected; changes nothing."""
    rules = EnvelopeRules(
        BUNDLE_SCHEMA, max_payload_bytes, "hotlist.trusted_keys", "hotlist.max_bundle_mb"
    )
    try:
        return open_signed(data, trusted, rules)
    except EnvelopeRejected as rejected:
        if rejected.code == "truncated":  # hotlists have no code of their own for it
            raise BundleRejected(
                Reason.MALFORMED, f"not a JSON bundle envelope ({rejected.detail})"
            ) from None
        raise BundleRejected(Reason(rejected.code), rejected.detail) from None


def snapshot_payload(list_id: str, version: int, issued_at: str, entries: list[list]) -> bytes:
    """An uncompressed snapshot payload; `entries` must already be sorted by vrm."""
    header = {
        "schema": PAYLOAD_SCHEMA,
        "kind": "snapshot",
        "list": list_id,
        "version": version,
        "issued_at": issued_at,
        "entries": len(entries),
        "columns": ENTRY_COLUMNS,
    }
    return encode_payload(header, entries)


def delta_payload(
    list_id: str, version: int, base_version: int, issued_at: str, changes: list[list]
) -> bytes:
    counts = {op: sum(1 for c in changes if c[0] == op) for op in ("add", "update", "remove")}
    header = {
        "schema": PAYLOAD_SCHEMA,
        "kind": "delta",
        "list": list_id,
        "version": version,
        "base_version": base_version,
        "issued_at": issued_at,
        "adds": counts["add"],
        "updates": counts["update"],
        "removes": counts["remove"],
        "columns": CHANGE_COLUMNS,
    }
    return encode_payload(header, changes)


@dataclass(frozen=True)
class PayloadHeader:
    kind: str  # snapshot | delta
    list_id: str
    version: int
    issued_at: str
    base_version: int | None  # deltas only
    counts: dict[str, int]  # snapshot: entries; delta: adds, updates, removes


def check_header(header: dict) -> PayloadHeader:
    """Validate the payload's first line. Raises BundleRejected (malformed / wrong-type)."""
    kind = header.get("kind")
    if kind not in ("snapshot", "delta"):
        raise BundleRejected(
            Reason.MALFORMED, f"header.kind: got {kind!r}; expected 'snapshot' or 'delta'"
        )
    counts = ("entries",) if kind == "snapshot" else ("adds", "updates", "removes")
    numbers = ("version", *counts) + (("base_version",) if kind == "delta" else ())
    try:
        exact_keys(header, {"schema", "kind", "list", "issued_at", "columns", *numbers}, "header")
    except EnvelopeRejected as rejected:
        raise BundleRejected(Reason.MALFORMED, rejected.detail) from None
    for key in ("schema", "list", "issued_at"):
        if not isinstance(header[key], str):
            raise BundleRejected(Reason.WRONG_TYPE, f"header.{key}: expected a string")
    for key in numbers:
        if type(header[key]) is not int:
            raise BundleRejected(Reason.WRONG_TYPE, f"header.{key}: expected an integer")
        if not (0 if key in counts else 1) <= header[key] <= MAX_VERSION:
            raise BundleRejected(Reason.MALFORMED, f"header.{key}: got {header[key]}; out of range")
    if header["schema"] != PAYLOAD_SCHEMA:
        raise BundleRejected(
            Reason.MALFORMED,
            f"header.schema: got {header['schema']!r}; expected {PAYLOAD_SCHEMA!r}",
        )
    if not LIST_ID.fullmatch(header["list"]):
        raise BundleRejected(Reason.MALFORMED, "header.list: not a valid list id")
    expected_columns = ENTRY_COLUMNS if kind == "snapshot" else CHANGE_COLUMNS
    if header["columns"] != expected_columns:
        raise BundleRejected(Reason.MALFORMED, f"header.columns: expected {expected_columns}")
    if kind == "delta" and header["base_version"] >= header["version"]:
        raise BundleRejected(Reason.MALFORMED, "header: base_version must be below version")
    try:
        datetime.fromisoformat(header["issued_at"]).astimezone(UTC)
        if not header["issued_at"].endswith("Z"):
            raise ValueError
    except ValueError:
        raise BundleRejected(
            Reason.MALFORMED, "header.issued_at: expected an RFC 3339 UTC time ending in Z"
        ) from None
    return PayloadHeader(
        kind,
        header["list"],
        header["version"],
        header["issued_at"],
        header.get("base_version"),
        {key: header[key] for key in counts},
    )
