"""A running unit found without its status file, and why it cannot write that file.

`anpr-edge status` judges the unit by the status file the service rewrites every few seconds.
When the service cannot write it (a folder it may not write, a read-only file system, a file in
the way), the file says nothing, or something old, while the unit runs on. So when the file
does not show a live unit, the processes are looked at too: an `anpr-edge run` of this
configuration that is alive means "running, but its status file is unwritable", and the
folder, the file system and the unit's user say why.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CONFIG_ENV = "ANPR_EDGE_CONFIG"


@dataclass(frozen=True)
class UnitProcess:
    pid: int
    uid: int
    gids: frozenset[int]
    config: Path | None  # its --config, $ANPR_EDGE_CONFIG or the default; None: unseen


def unit_processes(config_file: Path | None) -> list[UnitProcess]:
    """Live `anpr-edge run` processes (other than this one) of `config_file` (None: the
    default config); one whose config cannot be seen (another user's environment) is taken to
    run the default."""
    found = []
    default = _default_config()
    wanted = Path(config_file).resolve() if config_file else default
    for entry in PROC.glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if not _is_run(argv):
                continue
            config = _config_of(entry, argv)
            uid, gids = _ids(entry)
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        if (config or default) == wanted:  # a config that cannot be seen: the default one
            found.append(UnitProcess(pid, uid, gids, config))
    return found


def _is_run(argv: list[str]) -> bool:
    """`anpr-edge run …`, `…/bin/anpr-edge run …` or `python -m edge run …`."""
    for i, word in enumerate(argv[:-1]):
        named = Path(word).name == "anpr-edge" or (word == "edge" and i and argv[i - 1] == "-m")
        if named:
            return argv[i + 1] == "run"
    return False


def _config_of(entry: Path, argv: list[str]) -> Path | None:
    cwd = Path(os.readlink(entry / "cwd"))
    for i, word in enumerate(argv):
        if word == "--config" and i + 1 < len(argv):
            return (cwd / argv[i + 1]).resolve()
        if word.startswith("--config="):
            return (cwd / word.split("=", 1)[1]).resolve()
    try:
        environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(f"{CONFIG_ENV}="):
            return (cwd / item.split("=", 1)[1]).resolve()
    return _default_config()


def _default_config() -> Path:
    from edge.config.loader import INSTALLED_CONFIG, demo_config_path

    return (INSTALLED_CONFIG if INSTALLED_CONFIG.is_file() else demo_config_path()).resolve()


def _ids(entry: Path) -> tuple[int, frozenset[int]]:
    fields = {}
    for line in (entry / "status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    uid = int(fields["Uid"][1])  # effective
    gids = {int(fields["Gid"][1]), *(int(g) for g in fields.get("Groups", []))}
    return uid, frozenset(gids)


def why_unwritable(path: Path, unit: UnitProcess) -> str | None:
    """Why `unit` cannot write its status file at `path` (write a temporary file beside it,
    then rename it over), as far as can be seen from outside; None if nothing can be seen."""
    folder, temporary = path.parent, path.with_name(f".{path.name}.tmp")
    if not folder.is_dir():
        return f"its folder {folder} does not exist or is not a folder"
    for what, where in (("the status file", path), ("its temporary file", temporary)):
        if where.is_dir():
            return f"{what} {where} is a folder"
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        return f"{folder} is on a read-only file system"
    if unit.uid != 0:
        user = _user(unit.uid)
        if not _may_write(folder.stat(), unit):
            info = folder.stat()
            return (
                f"its folder {folder} (owner {_user(info.st_uid)}, mode "
                f"{stat.S_IMODE(info.st_mode):04o}) is not writable by the unit's user {user}"
            )
        if temporary.exists() and not _may_write(temporary.stat(), unit):
            return f"{temporary} (owner {_user(temporary.stat().st_uid)}) is in its way"
    return None


def _may_write(info: os.stat_result, unit: UnitProcess) -> bool:
    if info.st_uid == unit.uid:
        return bool(info.st_mode & stat.S_IWUSR)
    if info.st_gid in unit.gids:
        return bool(info.st_mode & stat.S_IWGRP)
    return bool(info.st_mode & stat.S_IWOTH)


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
