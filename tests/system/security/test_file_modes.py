"""The unit's files: nothing it writes is open to group or others."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.centre import start_unit, stop_unit
from tests.support.cli import anpr
from tests.support.unit import wait_for, write_unit_config

pytestmark = pytest.mark.broker


# --- the unit's files -------------------------------------------------------------------------


def modes(*roots: Path) -> dict[Path, int]:
    found = {}
    for root in roots:
        found[root] = stat.S_IMODE(root.stat().st_mode)
        for path in root.rglob("*"):
            found[path] = stat.S_IMODE(path.lstat().st_mode)
    return found


def too_open(found: dict[Path, int]) -> list[str]:
    """Files must be 0600 and folders 0700. The one exception is by design: an Ed25519
    *public* key is 0644 (`hotlist keygen` makes it readable for units and auditors), so the
    folder it is made in may be 0755 too; neither may be writable by group or others."""
    bad = []
    for path, mode in sorted(found.items()):
        holds_public = path.is_dir() and any(path.glob("*.pub"))
        if (path.suffix == ".pub" or holds_public) and mode & 0o022 == 0:
            continue
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            bad.append(f"{path}: {mode:04o}, expected {want:04o}")
    return bad


def test_nothing_the_unit_writes_is_open_to_group_or_others(tmp_path, broker):
    """With the permissive umask 022 of a technician's shell (systemd's UMask=0077 is not
    relied on): the store and its -wal/-shm while the unit runs, the status file, a camera
    snapshot, signing keys from `hotlist keygen`, and their folders."""
    old = os.umask(0o022)
    try:
        config = write_unit_config(tmp_path, broker)  # makes keys/ and the store, in-process
    finally:
        os.umask(old)
    state, run, keys = tmp_path / "state", tmp_path / "run", tmp_path / "keys"
    unit = start_unit(config, "--source", "synthetic:rate=60", "--duration", "120", umask=0o022)
    try:
        files = [run / "status.json", state / "anpr.db-wal", state / "anpr.db-shm"]
        wait_for(lambda: all(f.exists() for f in files), "the unit did not start", 60)
        running = modes(state, run)
        snapshot = anpr(
            "camera", "snapshot", str(state / "aim.jpg"), "--config", str(config),
            "--source", "synthetic:look=day,rate=60", "--wait", "0", umask=0o022, process=True,
        )  # fmt: skip
        assert snapshot.returncode == 0, snapshot.stderr
    finally:
        _out, err = stop_unit(unit)
    assert unit.returncode == 0, err[-3000:]
    keygen = anpr(
        "hotlist", "keygen", "--out", str(tmp_path / "signing"), umask=0o022, process=True
    )
    assert keygen.returncode == 0, keygen.stderr
    after = modes(state, run, keys, tmp_path / "signing")
    assert (state / "aim.jpg") in after and (tmp_path / "signing" / "centre.key") in after
    problems = too_open(running) + too_open(after)
    assert problems == [], "\n".join(problems)
