"""`anpr-edge selftest`: check every part the unit needs, pass or fail with a reason each
(edge.ops.selftest)."""

from __future__ import annotations

import argparse

from edge.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_command,
    add_switch,
    print_json,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "selftest", run, with_config=True, with_json=True)
    add_switch(
        parser,
        "--skip-broker",
        "do not try the broker (e.g. at a bench with no network); reported as skipped",
    )


def run(args: argparse.Namespace) -> int:
    """check models, camera, broker, hotlists, clock, disk and permissions; exit 0 only when all
    pass

    Check every part the unit needs, each pass or fail with a reason: the model files load and
    match their manifests; the camera delivers frames; the broker accepts a connection with the
    configured TLS identity and credentials (as its own client; a broker that binds client ids to
    certificates makes it the unit's, which a running unit gets back within seconds, its session
    intact); the trusted keys load and every hotlist held was signed by one of them; the clock is
    synchronised; there is room on disk for the store's quota (and at least 1 GB); the store and
    its folder are shut to group and others, the config file and TLS key are not world-readable,
    and the state folder is writable. Exit 0 when all pass, 1 when any fails. A Pi camera opens
    in one process at a time: with the service running, the camera check fails as busy.

    Example:
        anpr-edge selftest --config /etc/anpr-edge/unit.toml
        anpr-edge selftest --skip-broker --json
    """
    from edge.config import load_config
    from edge.config.loader import resolve_config_path
    from edge.ops.selftest import run_selftest

    config = load_config(args.config)  # a bad config is bad input: exit 2 with every problem
    result = run_selftest(config, resolve_config_path(args.config), skip_broker=args.skip_broker)
    if args.json:
        print_json(result.as_json())
        return EXIT_OK if result.ok else EXIT_FAILURE
    print(f"selftest of unit {result.unit_id} ({result.config_file})")
    width = max(len(check.name) for check in result.checks)
    for check in result.checks:
        verdict = "SKIP" if check.skipped else ("PASS" if check.ok else "FAIL")
        print(f"  {verdict}  {check.name:<{width}}  {check.reason}")
    failures = result.failures
    if not failures:
        print(f"PASS: all {len(result.checks)} checks")
        return EXIT_OK
    names = ", ".join(check.name for check in failures)
    print(f"FAIL: {len(failures)} of {len(result.checks)} checks ({names})")
    return EXIT_FAILURE
