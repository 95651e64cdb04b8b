"""Private folders narrowed when the unit opens them (edge.files), never a shared one."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from edge.files import narrow_private_folder
from edge.unit.status import StatusFile


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_wide_folder_of_the_units_own_is_narrowed_and_logged(tmp_path, caplog):
    folder = tmp_path / "state"
    folder.mkdir()
    folder.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="edge.files"):
        assert narrow_private_folder(folder, "the store") is True
    assert mode(folder) == 0o700
    assert caplog.messages == [
        f"the store's folder {folder} had mode 0755; narrowing to 0700 (others must not list it)"
    ]
    caplog.clear()
    assert narrow_private_folder(folder, "the store") is False  # already right: no word
    assert caplog.messages == []


def test_a_shared_folder_is_never_narrowed(tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    with caplog.at_level(logging.WARNING, logger="edge.files"):
        assert narrow_private_folder(shared, "the store") is False
    assert mode(shared) == 0o1777
    assert caplog.messages == [
        f"the store's folder {shared} is mode 1777 and shared with others: not narrowing it; "
        "give the store a folder of its own"
    ]


def test_the_status_folder_is_narrowed_at_the_first_write(tmp_path, caplog):
    folder = tmp_path / "run"
    folder.mkdir()
    folder.chmod(0o757)
    status = StatusFile(folder / "status.json")
    with caplog.at_level(logging.WARNING, logger="edge.files"):
        status.write({"state": "starting"})
    # systemd's RuntimeDirectoryMode=0750: the group may list it, others nothing
    assert mode(folder) == 0o750
    assert mode(folder / "status.json") == 0o600
    assert caplog.messages == [
        f"the status file's folder {folder} had mode 0757; narrowing to 0750 (others must not "
        "list it)"
    ]
