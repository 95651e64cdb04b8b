"""Where a systemd credential comes from, for commands run beside the service.

The installed unit hands the TLS identity to the service with `LoadCredential=NAME:SOURCE`;
the config then names `/run/credentials/anpr-edge.service/NAME`, which exists only inside the
running service. A technician's `selftest` (run as root, usually with the service stopped so
the camera is free) reads the same files from their SOURCE in /etc/anpr-edge/tls instead, as
the unit file says, so it tests exactly the identity the service will present.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CREDENTIALS = Path("/run/credentials")
UNIT_FILES = (
    Path("/etc/systemd/system/anpr-edge.service"),
    Path("/etc/systemd/system/anpr-edge.service.d"),
)


def load_credentials(unit_files: Iterable[Path] = UNIT_FILES) -> dict[str, Path]:
    """NAME → SOURCE of every `LoadCredential=` in the unit file and its drop-ins (later ones
    win, as in systemd)."""
    files: list[Path] = []
    for path in unit_files:
        files += sorted(path.glob("*.conf")) if path.is_dir() else [path] if path.is_file() else []
    found: dict[str, Path] = {}
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            key, _, value = line.strip().partition("=")
            if key.strip() == "LoadCredential" and ":" in value:
                name, _, source = value.strip().partition(":")
                found[name] = Path(source)
    return found


def resolve(path: Path | None, sources: dict[str, Path]) -> Path | None:
    """`path` itself if it exists or is no credential; else the credential's SOURCE when the
    unit file names one."""
    if path is None or path.exists() or CREDENTIALS not in path.parents:
        return path
    return sources.get(path.name, path)
