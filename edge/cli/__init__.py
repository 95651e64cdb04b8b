"""The `anpr-edge` command: a thin shell over the library.

Each command lives in its own module with a `register(subparsers)` function; this module only
assembles them and maps errors to exit codes (see `edge.cli.common`).
"""

from __future__ import annotations

import argparse
import os
import sys

from edge import __version__
from edge.cli import (
    bench_cmd,
    camera_cmd,
    completion_cmd,
    config_cmd,
    eval_cmd,
    hotlist_cmd,
    model_cmd,
    outbox_cmd,
    reads_cmd,
    recognise_cmd,
    run_cmd,
    selftest_cmd,
    status_cmd,
    synth_cmd,
)
from edge.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail
from edge.errors import RuntimeFailure, UserError

COMMAND_MODULES = [
    config_cmd,
    run_cmd,
    status_cmd,
    reads_cmd,
    outbox_cmd,
    synth_cmd,
    recognise_cmd,
    eval_cmd,
    bench_cmd,
    hotlist_cmd,
    model_cmd,
    camera_cmd,
    selftest_cmd,
    completion_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anpr-edge",
        description="Roadside ANPR unit: run it, check it, test it.",
        epilog="example:\n  anpr-edge config check firmware_config/unit.example.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"anpr-edge {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except UserError as exc:
        fail(str(exc))
        return EXIT_USAGE
    except RuntimeFailure as exc:
        fail(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
