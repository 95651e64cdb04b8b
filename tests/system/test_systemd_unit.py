"""systemd/anpr-edge.service is a valid, hardened notify service (checked by systemd itself)."""

from __future__ import annotations

import configparser
import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

UNIT = REPO / "systemd" / "anpr-edge.service"
EXAMPLE = REPO / "firmware_config" / "unit.example.toml"
needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def unit_with_local_binary(tmp_path: Path, text: str | None = None) -> Path:
    """verify fails when ExecStart's binary is absent: point it at this checkout's entry point."""
    text = UNIT.read_text() if text is None else text
    local = Path(sys.executable).with_name("anpr-edge")
    if not local.exists():
        local = Path(sys.executable)
    copy = tmp_path / "anpr-edge.service"
    copy.write_text(text.replace("/opt/anpr-edge/venv/bin/anpr-edge", str(local)))
    return copy


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_systemd
def test_systemd_analyze_verify_passes_without_warnings(tmp_path):
    result = verify(unit_with_local_binary(tmp_path))
    # verify exits 0 on unknown keys and only warns: its output must be empty too.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" and result.stdout.strip() == ""


@needs_systemd
def test_verify_would_catch_a_misspelt_key(tmp_path):
    typo = UNIT.read_text().replace("WatchdogSec=", "WatchdogSecs=")
    result = verify(unit_with_local_binary(tmp_path, typo))
    assert "Unknown key 'WatchdogSecs'" in result.stderr


@needs_systemd
def test_hardening_exposure_is_low(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit_with_local_binary(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0


def test_service_is_notify_with_watchdog_and_dedicated_user():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    service = parser["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["User"] == "anpr-edge" and service["StateDirectory"] == "anpr-edge"
    assert service["CapabilityBoundingSet"] == ""
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert service[option] == "yes", option
    assert service["ProtectSystem"] == "strict"
    assert service["UMask"] == "0077"


def unit_values(key: str) -> list[str]:
    """Every value of a key that may repeat (configparser keeps only the last)."""
    prefix = f"{key}="
    lines = UNIT.read_text().splitlines()
    return [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]


@functools.cache
def syscalls(name: str) -> frozenset[str]:
    """A system call, or a @set expanded by systemd itself (nested sets included)."""
    if not name.startswith("@"):
        return frozenset([name])
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()[1:]
    items = [line.strip() for line in listing if line.strip() and not line.strip().startswith("#")]
    return frozenset().union(*(syscalls(item) for item in items))


@needs_systemd
def test_syscall_filter_allows_the_clock_check_and_nothing_else_privileged():
    """In order: the allow list, minus `~` lines, plus later lines (systemd's own semantics)."""
    values = unit_values("SystemCallFilter")
    assert not values[0].startswith("~")
    allowed: set[str] = set()
    for index, value in enumerate(values):
        names = set().union(*(syscalls(name) for name in value.lstrip("~").split()))
        if index == 0:
            allowed = names
        elif value.startswith("~"):
            allowed -= names
        else:
            allowed |= names
    # edge.unit.health.ClockState reads the kernel's sync flag (glibc: adjtimex or clock_adjtime)
    assert {"adjtimex", "clock_adjtime"} <= allowed
    assert allowed & syscalls("@privileged") == {"adjtimex", "clock_adjtime", "clock_adjtime64"}
    assert allowed & syscalls("@resources") == set()
    # ProtectClock=yes would add a filter of its own that denies all of @clock, adjtimex too.
    assert unit_values("ProtectClock") == ["no"]


def test_every_credential_path_in_the_example_config_is_loaded_by_the_unit():
    loaded = {value.split(":", 1)[0] for value in unit_values("LoadCredential")}
    prefix = "/run/credentials/anpr-edge.service/"
    wanted = set(re.findall(re.escape(prefix) + r"([^\"]+)", EXAMPLE.read_text()))
    assert wanted == {"mqtt-ca.crt", "mqtt-client.crt", "mqtt-client.key"}
    assert wanted <= loaded
