"""Writing files that hold personal data or secrets: owner-only (0600), never half-written."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write `data` to `path` with mode 0600 via a temporary file and a rename, so a reader (or
    a crash) sees the old file or the whole new one. With `overwrite=False` an existing file is
    an error (FileExistsError): keys are never silently replaced."""
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if `path` appeared meanwhile
            os.unlink(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
