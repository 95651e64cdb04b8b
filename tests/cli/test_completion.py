"""`anpr-edge completion bash`: the script is generated from the parser, the committed copy
(systemd/anpr-edge.bash-completion, installed by the installer) is what the command prints now,
and real bash completes with it."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from edge.cli import build_parser
from edge.ops.completion import bash_script
from tests.support.cli import anpr
from tests.support.paths import REPO

COMMITTED = REPO / "systemd" / "anpr-edge.bash-completion"
BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="bash is not installed")


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    result = anpr("completion", "bash")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "anpr-edge"
    path.write_text(result.stdout)
    return path


def complete(script: Path, line: str) -> list[str]:
    """What bash offers for `line` (the cursor at its end) with the script loaded."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    program = (
        f'source "{script}"\n'
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_anpr_edge\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run([BASH, "-c", program], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return [word for word in result.stdout.splitlines() if word]


def test_the_committed_script_is_what_the_command_prints(script):
    assert COMMITTED.read_text() == script.read_text(), (
        "systemd/anpr-edge.bash-completion is stale: regenerate it with "
        "`anpr-edge completion bash > systemd/anpr-edge.bash-completion`"
    )


@needs_bash
def test_bash_accepts_the_script(script):
    result = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@needs_bash
@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("anpr-edge ca", ["camera"]),
        ("anpr-edge se", ["selftest"]),
        ("anpr-edge camera ", ["live", "snapshot", "test"]),
        ("anpr-edge camera snapshot --ov", ["--overlay"]),
        ("anpr-edge camera test --", ["--help", "--seconds", "--config", "--source", "--json"]),
        ("anpr-edge selftest --config /etc/anpr-edge/unit.toml --sk", ["--skip-broker"]),
        ("anpr-edge recognise --region ", ["gb", "any"]),
        ("anpr-edge completion ", ["bash"]),
        ("anpr-edge --ver", ["--version"]),
    ],
)
def test_bash_completes_commands_options_and_choices(script, line, offered):
    assert complete(script, line) == offered


@needs_bash
def test_a_value_or_a_file_is_left_to_bash(script):
    # an option's value without choices, or a file argument: nothing of ours, so bash's own
    # file-name completion (`complete -o default`) takes over
    assert complete(script, "anpr-edge selftest --config ") == []
    assert complete(script, "anpr-edge camera snapshot ") == []


def test_the_script_follows_the_parser_it_is_given():
    parser = argparse.ArgumentParser(prog="tool")
    commands = parser.add_subparsers()
    lamp = commands.add_parser("lamp")
    lamp.add_argument("--colour", choices=("red", "amber"))
    lamp.add_argument("--dim", action="store_true")
    text = bash_script(parser, prog="tool")
    assert '"") REPLY="lamp" ;;' in text
    assert '"lamp") REPLY="-h --help --colour --dim" ;;' in text
    assert '"lamp:--colour") REPLY="red amber" ;;' in text
    assert '"lamp:--dim")' not in text  # a flag takes no value
    assert text.rstrip().endswith("complete -o default -F _anpr_edge tool")
    assert bash_script(build_parser()).count("camera snapshot") >= 3
