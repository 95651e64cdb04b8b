"""Conventions every command follows.

- help text with at least one example, from the handler's docstring (`add_command`);
- `--json` for scripting where a command prints data (`print_json`);
- exit 0 success, 1 runtime failure, 2 bad usage or bad input;
- one-line error messages, no tracebacks for user errors (see `edge.cli.main`).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    handler: Handler | None = None,
    *,
    help: str | None = None,
    example: str | None = None,
    note: str = "",
    with_config: bool = False,
    with_json: bool = False,
) -> argparse.ArgumentParser:
    """Add a sub-command whose `--help` ends with a worked example.

    Help, description and example come from the handler's docstring (see `command_text`), so a
    command says what it does once, where it is done; `help`/`example` are given here only for
    a command without a handler of its own (a group) or one handler serving several commands.
    `note` ends the description (e.g. that the running service needs a restart);
    `with_config` and `with_json` add the usual --config and --json options.
    """
    text = command_text(handler, help=help, example=example)
    description = text.description
    if note:
        description = f"{description.rstrip('.')}. {note}"
    examples = "\n".join(f"  {line}" for line in text.example.splitlines())
    parser = subparsers.add_parser(
        name,
        help=text.help,
        description="\n\n".join(textwrap.fill(part) for part in description.split("\n\n")),
        epilog=f"example:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    if with_config:
        add_config_flag(parser)
    if with_json:
        add_json_flag(parser)
    return parser


@dataclass(frozen=True)
class CommandText:
    help: str
    description: str
    example: str


def command_text(
    handler: Handler | None, *, help: str | None = None, example: str | None = None
) -> CommandText:
    """A command's texts from its handler's docstring: the first paragraph is the one-line help,
    any further paragraphs the description (else the help), and the lines after `Example:` the
    example commands, one per line."""
    doc = inspect.cleandoc(getattr(handler, "__doc__", None) or "")
    prose, _, examples = doc.partition("Example:")
    paragraphs = [" ".join(part.split()) for part in prose.split("\n\n") if part.strip()]
    help = help or (paragraphs[0] if paragraphs else "")
    example = example or _joined_continuations(inspect.cleandoc(examples))
    if not help or not example:
        raise ValueError(f"command handler {handler!r} needs a docstring with help and Example:")
    return CommandText(help, "\n\n".join(paragraphs[1:]) or help, example)


def _joined_continuations(examples: str) -> str:
    """One command per line: an indented line continues the one before it (docstrings keep
    to the line length; a pasted example must not)."""
    lines: list[str] = []
    for line in examples.splitlines():
        if line[:1].isspace() and lines:
            lines[-1] += " " + line.strip()
        elif line.strip():
            lines.append(line.strip())
    return "\n".join(lines)


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


def add_switch(parser: argparse._ActionsContainer, name: str, help: str) -> None:
    """An option that is off unless given (`--overlay`, `--follow` …)."""
    parser.add_argument(name, action="store_true", help=help)


def add_json_flag(parser: argparse._ActionsContainer) -> None:
    add_switch(parser, "--json", "print one JSON document to stdout")


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
