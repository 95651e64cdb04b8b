"""Ed25519 keys of the centre: generate, load, name by key id, sign and verify.

Key files are PEM (PKCS#8 private, SubjectPublicKeyInfo public), so `openssl pkey` can read
them. A key's id is the first 16 hex digits of the SHA-256 of its raw 32-byte public key: it
is derived, not assigned, so a bundle naming a key id can only mean one key, and two files
holding the same key are recognised as one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.errors import UserError
from edge.files import write_private

KEY_ID_HEX = 16


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: Ed25519PublicKey
    path: Path

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    key: Ed25519PrivateKey
    path: Path

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX]


def generate_keypair(out_dir: Path, name: str) -> tuple[str, Path, Path]:
    """Write `name.key` (private, 0600) and `name.pub` into `out_dir`; refuse to overwrite."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise UserError(f"{path}: already exists; keys are never overwritten")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_private(private_path, private_pem, overwrite=False)
    write_private(public_path, public_pem, overwrite=False)
    public_path.chmod(0o644)  # public by nature: units and auditors read it
    return key_id_of(key.public_key()), private_path, public_path


def load_signing_key(path: Path) -> SigningKey:
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path}: not an Ed25519 private key")
    return SigningKey(key_id_of(key.public_key()), key, path)


def load_public_key(path: Path, where: str = "") -> PublicKey:
    """Load one public key; `where` (e.g. the config key) prefixes any error."""
    label = f"{where}: {path}" if where else str(path)
    data = _read(path, "public key", label)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{label}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserError(f"{label}: not an Ed25519 public key")
    return PublicKey(key_id_of(key), key, path)


def load_trusted_keys(
    paths: list[Path], config_file: str = "", setting: str = "hotlist.trusted_keys"
) -> dict[str, PublicKey]:
    """The keys of a trust list (`setting`: hotlist.trusted_keys, models.trusted_keys …), by
    key id; an error names the config entry."""
    prefix = f"{config_file}: " if config_file else ""
    keys: dict[str, PublicKey] = {}
    where: dict[str, Any] = {}
    for i, path in enumerate(paths):
        key = load_public_key(Path(path), f"{prefix}{setting}[{i}]")
        if key.key_id in keys:  # two copies of one key would defeat rotation
            raise UserError(
                f"{prefix}{setting}[{i}] ({path}) is the same key as "
                f"trusted_keys[{where[key.key_id]}] (key id {key.key_id}): rotation needs "
                "two different keys"
            )
        keys[key.key_id], where[key.key_id] = key, i
    return keys


def _read(path: Path, what: str, label: str | None = None) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{label or path}: {what} file not found") from None
    except OSError as exc:
        raise UserError(f"{label or path}: cannot read the {what}: {exc.strerror}") from None
