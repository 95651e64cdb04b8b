"""`anpr-edge completion bash`: print the shell completion script (edge.ops.completion)."""

from __future__ import annotations

import argparse
import sys

from edge.cli.common import EXIT_OK, add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "completion", run)
    parser.add_argument("shell", choices=("bash",), help="the shell (bash)")


def run(args: argparse.Namespace) -> int:
    """print the bash completion script, generated from the commands themselves

    Print a bash completion script for anpr-edge, generated from its own commands and options. The
    installer puts it in bash-completion's folder; to try it in this shell: source <(anpr-edge
    completion bash)

    Example:
        anpr-edge completion bash > /usr/share/bash-completion/completions/anpr-edge
        source <(anpr-edge completion bash)
    """
    from edge.cli import build_parser
    from edge.ops.completion import bash_script

    sys.stdout.write(bash_script(build_parser()))
    return EXIT_OK
