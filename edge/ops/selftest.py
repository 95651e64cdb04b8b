"""`anpr-edge selftest`: every part the unit needs, checked in turn, each pass or fail with a
reason, so a technician leaves a unit knowing it works (or exactly what does not).

A check that raises is reported as that check's failure with the error's one-line message (the
library's errors name the file, key or address): one broken part never stops the others from
being checked. The checks are in `checks` (what the unit runs on) and `state_checks` (what it
keeps on disk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.config import Config
from edge.errors import RuntimeFailure, UserError
from edge.ops.checks import (
    CheckResult,
    check_broker,
    check_camera,
    check_clock,
    check_model,
    failed,
)
from edge.ops.state_checks import check_disk, check_hotlists, check_permissions


@dataclass(frozen=True)
class SelfTest:
    config_file: str
    unit_id: str
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "config": self.config_file,
            "unit_id": self.unit_id,
            "checks": [check.as_json() for check in self.checks],
        }


def run_selftest(config: Config, config_file: Path, *, skip_broker: bool = False) -> SelfTest:
    steps: list[tuple[str, Callable[[], CheckResult]]] = [
        ("model detector", lambda: check_model(config, "detector")),
        ("model recogniser", lambda: check_model(config, "recogniser")),
        ("camera", lambda: check_camera(config)),
        ("broker", lambda: check_broker(config)),
        ("hotlists", lambda: check_hotlists(config, str(config_file))),
        ("clock", check_clock),
        ("disk", lambda: check_disk(config)),
        ("permissions", lambda: check_permissions(config, config_file)),
    ]
    results = []
    for name, step in steps:
        if name == "broker" and skip_broker:
            results.append(CheckResult(name, True, "skipped (--skip-broker)", skipped=True))
            continue
        results.append(_run(name, step))
    return SelfTest(str(config_file), config.unit.id, tuple(results))


def _run(name: str, step: Callable[[], CheckResult]) -> CheckResult:
    try:
        return step()
    except Exception as exc:  # a selftest reports every failure; it never stops at one
        lines = str(exc).strip().splitlines()
        message = lines[0] if lines else ""
        if not isinstance(exc, UserError | RuntimeFailure):  # a library's own error type
            message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return failed(name, message)
