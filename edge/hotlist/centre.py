"""The centre's side of bundles: turn a CSV into a signed snapshot or delta (`hotlist sign`).

A unit never runs this; it is here so that the whole loop (sign → publish → sync → apply) is
usable and testable with one tool, and so that the format has one writer to agree with its one
reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.errors import UserError
from edge.files import write_private
from edge.hotlist.bundle import (
    LIST_ID,
    MAX_VERSION,
    delta_payload,
    resolve_compression,
    seal,
    snapshot_payload,
)
from edge.hotlist.csv_import import read_changes, read_entries, wire_entries
from edge.hotlist.signing import SigningKey
from edge.progress import Progress


@dataclass(frozen=True)
class SignedBundle:
    path: Path
    kind: str
    list_id: str
    version: int
    base_version: int | None
    key_id: str
    lines: int  # entries (snapshot) or changes (delta)
    bytes: int
    compression: str


def sign_csv(
    csv_path: Path,
    key: SigningKey,
    *,
    list_id: str,
    version: int,
    base_version: int | None,
    issued_at: str,
    out: Path,
    compression: str = "auto",
    progress: Progress | None = None,
) -> SignedBundle:
    """Read `csv_path` (entries for a snapshot; changes with an `op` column when
    `base_version` is given), sign it and write the bundle to `out` (0600: personal data)."""
    if not LIST_ID.fullmatch(list_id):
        raise UserError(
            f"--list {list_id!r}: expected 1–64 letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    if not 1 <= version <= MAX_VERSION:
        raise UserError(f"--version {version}: expected 1 … {MAX_VERSION}")
    if base_version is not None and not 1 <= base_version < version:
        raise UserError(f"--base {base_version}: expected 1 … {version - 1} (below --version)")
    progress = progress or Progress("")
    if base_version is None:
        entries = read_entries(csv_path, progress)
        progress.phase("building the payload")
        lines = wire_entries(entries)
        payload = snapshot_payload(list_id, version, issued_at, lines)
    else:
        changes = read_changes(csv_path, progress)
        progress.phase("building the payload")
        lines = [[op, vrm] if row is None else [op, *row] for op, vrm, row, _ in changes]
        payload = delta_payload(list_id, version, base_version, issued_at, lines)
    progress.phase(f"compressing and signing {len(payload)} bytes")
    compression = resolve_compression(payload, compression)
    bundle = seal(payload, key, compression)
    progress.phase("writing")
    try:
        write_private(out, bundle)
    except OSError as exc:
        raise UserError(f"{out}: cannot write the bundle: {exc.strerror}") from None
    return SignedBundle(
        out,
        "snapshot" if base_version is None else "delta",
        list_id,
        version,
        base_version,
        key.key_id,
        len(lines),
        len(bundle),
        compression,
    )
