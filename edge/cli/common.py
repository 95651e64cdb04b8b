"""Conventions every command follows.

- help text with at least one example (`add_command(..., example=...)`);
- `--json` for scripting where a command prints data (`print_json`);
- exit 0 success, 1 runtime failure, 2 bad usage or bad input;
- one-line error messages, no tracebacks for user errors (see `edge.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    example: str,
    handler: Handler | None = None,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Add a sub-command whose `--help` ends with a worked example."""
    examples = "\n".join(f"  {line}" for line in example.strip().splitlines())
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=f"example:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def add_group(
    subparsers: argparse._SubParsersAction, name: str, *, help: str, example: str
) -> argparse._SubParsersAction:
    """Add a command that only holds sub-commands (e.g. `config check`, `config show`)."""
    parser = add_command(subparsers, name, help=help, example=example)
    parser.set_defaults(handler=lambda _args: _usage(parser))
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def add_json_flag(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document to stdout")


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="unit configuration file (default: $ANPR_EDGE_CONFIG, else /etc/anpr-edge/unit.toml "
        "if installed, else the embedded demo config)",
    )


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def fail(message: str) -> None:
    """Print a one-line error to stderr."""
    print(f"anpr-edge: error: {message}", file=sys.stderr)
