"""`anpr-edge config check|show`: validate a configuration file and show the effective config."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edge.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_group,
    add_json_flag,
    add_switch,
    print_json,
)
from edge.cli.config_remote_cmd import register_remote
from edge.config import Config, ConfigError, load_config, load_secrets
from edge.config.loader import resolve_config_path
from edge.ops.config_files import file_problems

# `anpr-edge config` alone: what its sub-commands are for
GROUP_HELP = "check or show the unit configuration; sign and publish remote configurations"
GROUP_EXAMPLE = "anpr-edge config check /etc/anpr-edge/unit.toml"


def register(subparsers: argparse._SubParsersAction) -> None:
    group = add_group(subparsers, "config", help=GROUP_HELP, example=GROUP_EXAMPLE)
    check = add_command(group, "check", check_command)
    show = add_command(group, "show", show_command)
    register_remote(group)
    for parser in (check, show):
        parser.add_argument(
            "path",
            nargs="?",
            help="config file (default: $ANPR_EDGE_CONFIG, else /etc/anpr-edge/unit.toml if "
            "installed, else the demo config)",
        )
        add_json_flag(parser)
    add_switch(
        check,
        "--schema-only",
        "check the file alone, not the files it names (e.g. before the models, TLS files "
        "and keys are in place)",
    )


def check_command(args: argparse.Namespace) -> int:
    """validate a configuration file and the files it names (models, TLS files, trusted keys); exit
    0 if valid, 2 listing every problem in the file, 1 listing every missing or unusable file

    Example:
        anpr-edge config check /etc/anpr-edge/unit.toml
        anpr-edge config check firmware_config/unit.example.toml --schema-only --json
    """
    file = str(resolve_config_path(args.path))
    try:
        config = load_config(args.path)
    except ConfigError as exc:
        if args.json:
            issues = [{"file": i.file, "key": i.key, "message": i.message} for i in exc.issues]
            print_json({"file": file, "valid": False, "errors": issues})
        else:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            print(f"{file}: {len(exc.issues)} problem(s)", file=sys.stderr)
        return EXIT_USAGE
    problems = [] if args.schema_only else file_problems(config)
    errors = [p for p in problems if not p.warning]
    warnings = [p for p in problems if p.warning]
    if args.json:
        report = {
            "file": file,
            "valid": not errors,
            "errors": [{"file": file, "key": p.key, "message": p.message} for p in errors],
        }
        if warnings:  # a good config's document stays as it always was
            report["warnings"] = [
                {"file": file, "key": p.key, "message": p.message} for p in warnings
            ]
        print_json(report)
        return EXIT_FAILURE if errors else EXIT_OK
    for problem in errors:
        print(f"{file}: {problem}", file=sys.stderr)
    for problem in warnings:
        print(f"{file}: warning: {problem}", file=sys.stderr)
    if errors:
        print(f"{file}: {len(errors)} missing or unusable file(s)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{file}: valid")
    print(f"  {summary(config)}")
    return EXIT_OK


def summary(config: Config) -> str:
    cam, mqtt = config.camera, config.mqtt
    scheme = "mqtts" if mqtt.tls.enabled else "mqtt"
    identity = "mutual TLS" if mqtt.tls.cert else ("TLS" if mqtt.tls.enabled else "no TLS")
    return (
        f"unit {config.unit.id} camera {config.unit.camera_id}: {cam.source} "
        f"{cam.resolution[0]}x{cam.resolution[1]} @ {cam.fps:g} fps, "
        f"region {config.recognition.region}, "
        f"broker {scheme}://{mqtt.host}:{mqtt.port} ({identity}), "
        f"{len(config.hotlist.lists)} hotlist(s), {len(config.hotlist.trusted_keys)} trusted keys, "
        f"store {config.storage.path}"
    )


def show_command(args: argparse.Namespace) -> int:
    """print the effective configuration with defaults filled in, secrets redacted

    Example:
        anpr-edge config show firmware_config/demo.toml --json
    """
    file = str(resolve_config_path(args.path))
    config = load_config(args.path)
    effective = config.model_dump(mode="json")
    secrets = {name: secret.describe() for name, secret in load_secrets().items()}
    if args.json:
        print_json({"file": file, "config": effective, "secrets": secrets})
        return EXIT_OK
    print(f"# effective configuration of {file}")
    for key, value in _flatten(effective):
        print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    print("# secrets (never shown; set through a systemd credential or the environment)")
    for name, description in secrets.items():
        print(f"{name} = {description}")
    return EXIT_OK


def _flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        rows += _flatten(value, path) if isinstance(value, dict) else [(path, value)]
    return rows
