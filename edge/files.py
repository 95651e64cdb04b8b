"""The unit's private files and folders: files that hold personal data or secrets written
owner-only (0600) and never half-written; folders that hold them (the store, the status file)
kept shut.

The unit makes its folders owner-only (0700), but a folder that already exists keeps the mode
it had: a `mkdir` by hand or a too-wide umask leaves 0755, and every user can then list the
store's files and watch them change. So when the unit opens such a folder it narrows it, and
says so (as root too: the folder is then usually the service user's). Only a folder of the
unit's own: a shared one (sticky like /tmp, /var/lib, a home…) is never changed, since taking it
from others would break them; that is a warning instead.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o600

SHARED_FOLDERS = frozenset(
    Path(p)
    for p in ("/", "/tmp", "/var", "/var/lib", "/var/tmp", "/var/cache", "/run", "/dev/shm",
              "/home", "/root", "/srv", "/opt", "/etc", "/usr", "/mnt", "/media")
)  # fmt: skip


def narrow_private_folder(folder: Path, what: str, mode: int = 0o700) -> bool:
    """Take from `folder` every permission beyond `mode` (e.g. 0755 → 0700) and log it; True
    if it was changed. A folder shared with others is left as it is, with a warning."""
    folder = Path(folder)
    try:
        info = folder.stat()
    except OSError:
        return False  # not there (yet): whoever makes it makes it owner-only
    current = stat.S_IMODE(info.st_mode)
    extra = current & ~mode & 0o777
    if not extra:
        return False
    shared = current & stat.S_ISVTX or folder.resolve() in SHARED_FOLDERS | _homes()
    if shared:
        log.warning(
            "%s's folder %s is mode %04o and shared with others: not narrowing it; give %s a "
            "folder of its own",
            what,
            folder,
            current,
            what,
        )
        return False
    try:
        folder.chmod(current & ~extra)
    except OSError as exc:
        log.warning("cannot narrow %s's folder %s (mode %04o): %s", what, folder, current, exc)
        return False
    log.warning(
        "%s's folder %s had mode %04o; narrowing to %04o (others must not list it)",
        what,
        folder,
        current,
        current & ~extra,
    )
    return True


def _homes() -> set[Path]:
    """This user's home and $HOME: a store there must not close the home to its group."""
    homes = set()
    for home in (os.environ.get("HOME"), os.path.expanduser("~")):
        if home and home != "~":
            homes.add(Path(home).resolve())
    return homes


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


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a power cut (the folder's own entry
    list is written out)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
