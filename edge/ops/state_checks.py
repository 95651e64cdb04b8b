"""The selftest's checks of the unit's state on disk: hotlists, free space, permissions.

Nothing here changes the state it looks at: the store is opened read-only (opening it the
usual way, `edge.store.database.open_database`, would narrow a too-wide file mode and so hide
the very problem the permissions check reports), and a missing store is not created.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from edge.config import Config
from edge.hotlist.store import HotlistStore
from edge.hotlist.unit import trusted_keys
from edge.ops.checks import CheckResult, failed, passed, with_credential_sources
from edge.tls_check import SECRET_MODE_BITS

MB = 1024 * 1024
MIN_FREE_BYTES = 1_000_000_000  # 1 GB: logs, the OS and updates need room beside the store
SIDECARS = ("-wal", "-shm")


def open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5.0)


def check_hotlists(config: Config, config_file: str = "") -> CheckResult:
    """The trusted keys load; every list held from the centre was signed by one of them and
    holds as many entries as its header says; every configured list is held."""
    keys = trusted_keys(config, config_file)  # a UserError names the config entry
    store = Path(config.storage.hotlist_file)
    if not store.is_file() and Path(config.storage.path).is_file():
        store = Path(config.storage.path)  # lists of an older version, not moved out yet
    if not store.is_file():
        return failed("hotlists", f"no hotlist file at {store}: the unit has not run here yet")
    conn = open_read_only(store)
    try:
        held = HotlistStore(conn).lists()
        counts = dict(
            conn.execute("SELECT list_no, COUNT(*) FROM hotlist_entries GROUP BY list_no")
        )
        numbers = dict(conn.execute("SELECT list_id, list_no FROM hotlist_lists"))
    finally:
        conn.close()
    problems = []
    for info in held:
        label = f"{info.list_id} v{info.version}"
        if not info.local and info.key_id not in keys:
            problems.append(
                f"{label} was signed by key {info.key_id or '(none recorded)'}, which is not "
                "among hotlist.trusted_keys"
            )
        rows = counts.get(numbers[info.list_id], 0)
        if rows != info.entries:
            problems.append(f"{label} holds {rows} entries but its header records {info.entries}")
    missing = sorted(set(config.hotlist.lists) - {info.list_id for info in held})
    if missing:
        problems.append(f"not held yet (never synced from the centre): {', '.join(missing)}")
    if problems:
        return failed("hotlists", f"{store}: " + "; ".join(problems))
    lists = ", ".join(
        f"{i.list_id} v{i.version} ({i.entries} entries, "
        f"{'local' if i.local else 'key ' + str(i.key_id)})"
        for i in held
    )
    return passed("hotlists", f"{len(keys)} trusted keys load; held: {lists or 'none'}")


def check_disk(config: Config) -> CheckResult:
    """Free space for the store to reach its quota, and never under 1 GB."""
    store = Path(config.storage.path)
    folder = _existing(store.parent)
    used = sum(_size(store.with_name(store.name + s)) for s in ("", *SIDECARS))
    quota = config.storage.quota_mb * MB
    need = max(quota - used, MIN_FREE_BYTES)
    free = shutil.disk_usage(folder).free
    reason = (
        f"{folder}: {_gb(free)} free; needs {_gb(need)} (the store, {used / 1e6:.1f} MB now, may "
        f"grow to its {config.storage.quota_mb} MB quota; never less than {_gb(MIN_FREE_BYTES)})"
    )
    return passed("disk", reason) if free >= need else failed("disk", reason)


def check_permissions(config: Config, config_file: Path) -> CheckResult:
    """The store (personal data) and its folder shut to group and others, the config file and
    TLS key not world-readable, and the state folder writable by whoever runs this."""
    store = Path(config.storage.path)
    folder = store.parent
    problems = []
    if not folder.is_dir():
        problems.append(f"state folder {folder} does not exist (storage.path)")
    else:
        if _mode(folder) & 0o066:
            can = " and ".join(
                w for bits, w in ((0o044, "list"), (0o022, "change")) if _mode(folder) & bits
            )
            problems.append(
                f"state folder {folder} is mode {_mode(folder):04o}: group or others can {can} "
                "it (chmod 700)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            problems.append(f"state folder {folder} is not writable by this user")
    for path in (store, *(store.with_name(store.name + s) for s in SIDECARS)):
        if path.exists() and _mode(path) & 0o077:
            problems.append(
                f"{path} is mode {_mode(path):04o}: group or others can read personal data "
                "(chmod 600)"
            )
    tls_key = with_credential_sources(config).mqtt.tls.key
    if tls_key and Path(tls_key).is_file() and _mode(Path(tls_key)) & SECRET_MODE_BITS:
        problems.append(
            f"TLS key {tls_key} is mode {_mode(Path(tls_key)):04o}: group or others can read "
            "the unit's private key (chmod 600)"
        )
    for what, path in [("config file", config_file)]:
        if path.exists() and _mode(path) & 0o006:
            can = " and ".join(w for bit, w in ((4, "read"), (2, "change")) if _mode(path) & bit)
            problems.append(
                f"{what} {path} is mode {_mode(path):04o}: others can {can} it (chmod o-rw)"
            )
    if problems:
        return failed("permissions", "; ".join(problems))
    shown = ", ".join(f"{p} {_mode(p):04o}" for p in (store, folder, config_file) if p.exists())
    return passed("permissions", f"{shown}; state folder writable")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _gb(size: float) -> str:
    return f"{size / 1e9:.1f} GB"
