"""The commands in the documentation agree with the real `anpr-edge` parser (README.md and
docs/*.md).

- every command and sub-command is documented as `anpr-edge <command path>`, and its `--help`
  ends with an `example:` section of `anpr-edge …` lines;
- every `anpr-edge …` command written in the docs (in shell and console blocks, and in inline
  code) and every example in a `--help` names a real command path and only real options of it:
  it is parsed by the real parser (`build_parser().parse_args`), and each `--option` must be
  one that path defines, spelled out (argparse would accept an abbreviation; the docs must not
  use one).

What counts as a command: in ```sh / ```bash / ```shell and unlabelled blocks every line; in
```console blocks only lines starting with the prompt `$ ` (the rest is output); inline code
spans anywhere. Within a line, `anpr-edge` (or a path ending in `/anpr-edge`) must be in command
position (after `sudo`, its options, `env`, `nice`, variable assignments, `(`, `|`, `;`, `&&`
…), so `journalctl -u anpr-edge` or `install -g anpr-edge` are not commands of ours; pipes and
redirections end the command, comments are dropped. Lines holding a shell placeholder (`<URL …>`)
or a variable (`$VAR`, `${…}`, `$(…)`) are skipped: they cannot be parsed without guessing the
value, and a documented command with a made-up value proves nothing. Upper-case placeholders
written as arguments (`VRM`, `ID`) parse like any value, so those lines are checked."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.cli import build_parser
from tests.support.docs import DOCS, fenced_blocks, without_blocks
from tests.support.paths import REPO

SHELL_LANGS = {"", "sh", "bash", "shell"}


OPERATORS = set("();<>|&")


REDIRECTS = {">", ">>", "<", "&>", ">&", "<<", "<<<", "2>", "&>>"}


PLACEHOLDER = re.compile(r"<[A-Za-z][^<>]*>|\$[A-Za-z_{(]")


SUDO_VALUE_OPTIONS = {"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"}


# --- the parser -------------------------------------------------------------------------------


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator:
    """(command path, parser) for the root and every sub-command, depth first."""
    yield path, parser
    for name, sub in subcommands(parser).items():
        yield from walk(sub, (*path, name))


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


COMMANDS = list(walk(build_parser()))


PATHS = [path for path, _ in COMMANDS if path]


def check_argv(argv: list[str], complete: bool = True) -> str | None:
    """None if the real parser takes `argv` (the words after `anpr-edge`) with only options the
    command path defines; else what is wrong. `complete=False` for a command named in prose
    (`anpr-edge hotlist sign`): its required arguments may be left out, nothing else."""
    parser, path = build_parser(), []
    allowed = options(parser)
    rest = list(argv)
    while rest and rest[0] in subcommands(parser):
        parser = subcommands(parser)[rest[0]]
        path.append(rest.pop(0))
        allowed |= options(parser)
    for word in rest:
        if word == "--":
            break
        if word.startswith("-") and len(word) > 1 and not re.fullmatch(r"-\d[\d.]*", word):
            name = word.split("=", 1)[0]
            if name not in allowed:
                where = " ".join(["anpr-edge", *path])
                return f"{where} has no option {name} (options: {', '.join(sorted(allowed))})"
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            if exc.code:
                lines = errors.getvalue().strip().splitlines()
                message = lines[-1] if lines else f"exit {exc.code}"
                if complete or "the following arguments are required" not in message:
                    return message
    return None


# --- commands in text ---------------------------------------------------------------------------


def tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def is_operator(token: str) -> bool:
    return bool(token) and set(token) <= OPERATORS


def invocations(line: str) -> list[list[str]]:
    """The argument lists of every `anpr-edge` command on a shell line."""
    words = tokens(line)
    # `2>/dev/null` lexes as "2", ">": the descriptor number belongs to the redirection
    words = [
        w
        for i, w in enumerate(words)
        if not (w.isdigit() and i + 1 < len(words) and words[i + 1] in REDIRECTS)
    ]
    segments, current, skip_next = [], [], False
    for word in words:
        if skip_next:  # the target of a redirection
            skip_next = False
            continue
        if is_operator(word):
            segments.append(current)
            current = []
            skip_next = word in REDIRECTS or (word.endswith(">") and word not in ("<(", ">("))
            continue
        current.append(word)
    segments.append(current)
    found = []
    for segment in segments:
        i = 0
        while i < len(segment):
            word = segment[i]
            if word == "sudo":
                i += 1
                while i < len(segment) and segment[i].startswith("-"):
                    i += 2 if segment[i] in SUDO_VALUE_OPTIONS else 1
            elif word in ("env", "nice", "time", "exec") or re.fullmatch(r"[A-Za-z_]\w*=.*", word):
                i += 1
            else:
                break
        if i < len(segment) and (segment[i] == "anpr-edge" or segment[i].endswith("/anpr-edge")):
            found.append(segment[i + 1 :])
    return found


@dataclass(frozen=True)
class Written:
    file: str
    line: int
    text: str
    inline: bool = False  # named in prose, not a command line to run

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def written_commands(doc: Path) -> list[Written]:
    text = doc.read_text(encoding="utf-8")
    name = str(doc.relative_to(REPO))
    found = []
    for lang, start, body in fenced_blocks(text):
        if lang not in SHELL_LANGS and lang != "console":
            continue
        joined: list[tuple[int, str]] = []
        for offset, line in enumerate(body):
            if joined and joined[-1][1].endswith("\\"):
                joined[-1] = (joined[-1][0], joined[-1][1][:-1] + " " + line.strip())
            else:
                joined.append((start + offset, line.strip()))
        for number, line in joined:
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            found.append(Written(name, number, line))
    prose = without_blocks(text)
    for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", prose):
        span = " ".join(match.group(1).split())
        number = prose.count("\n", 0, match.start()) + 1
        found.append(Written(name, number, span, inline=True))
    return [w for w in found if "anpr-edge" in w.text]


ALL_WRITTEN = [w for doc in DOCS for w in written_commands(doc)]


# --- (a) every command documented, every --help with an example -------------------------------


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_appears_in_the_docs(path: tuple[str, ...]) -> None:
    pattern = re.compile(r"anpr-edge " + re.escape(" ".join(path)) + r"(?![\w-])")
    assert any(pattern.search(doc.read_text(encoding="utf-8")) for doc in DOCS), (
        f"`anpr-edge {' '.join(path)}` appears in none of "
        f"{', '.join(str(d.relative_to(REPO)) for d in DOCS)}"
    )


@pytest.mark.parametrize(
    "path,parser", COMMANDS, ids=[" ".join(p) or "anpr-edge" for p, _ in COMMANDS]
)
def test_every_help_ends_with_examples(path: tuple[str, ...], parser) -> None:
    text = parser.format_help().rstrip()
    _head, marker, tail = text.rpartition("\nexample:\n")
    assert marker, f"`anpr-edge {' '.join(path)} --help` has no example: section"
    lines = tail.splitlines()
    assert all(line.startswith("  ") for line in lines), (
        f"`anpr-edge {' '.join(path)} --help`: something follows its example: section"
    )
    assert any(line.strip().startswith("anpr-edge ") for line in lines), (
        f"`anpr-edge {' '.join(path)} --help`: no `anpr-edge …` line under example:"
    )


# --- (d) every documented command parses ------------------------------------------------------


def test_the_docs_contain_commands_to_check() -> None:
    """Guards the extraction itself: if it silently found nothing, every check below would pass."""
    checked = [w for w in ALL_WRITTEN if invocations(w.text)]
    assert len(checked) > 50
    files = {w.file for w in checked}
    assert {"README.md", "docs/operator-guide.md", "docs/protocol.md", "docs/install.md"} <= files


@pytest.mark.parametrize("written", ALL_WRITTEN, ids=str)
def test_documented_commands_name_real_commands_and_options(written: Written) -> None:
    if PLACEHOLDER.search(written.text):
        pytest.skip("shell placeholder or variable: cannot be parsed without guessing its value")
    for argv in invocations(written.text):
        if {"-h", "--help", "--version"} & set(argv):
            continue
        problem = check_argv(argv, complete=not written.inline)
        assert problem is None, f"{written}\n  → {problem}"


HELP_EXAMPLES = [
    (" ".join(path), line.strip())
    for path, parser in COMMANDS
    for line in (parser.epilog or "").splitlines()
    if "anpr-edge" in line
]


@pytest.mark.parametrize("path,line", HELP_EXAMPLES, ids=[line for _, line in HELP_EXAMPLES])
def test_help_examples_parse(path: str, line: str) -> None:
    found = invocations(line)
    assert found, f"`anpr-edge {path} --help`: example {line!r} does not run anpr-edge"
    for argv in found:
        problem = check_argv(argv)
        assert problem is None, f"`anpr-edge {path} --help` example {line!r}\n  → {problem}"


@pytest.mark.parametrize(
    "line,expected",
    [
        ("anpr-edge status --config x.toml --json", [["status", "--config", "x.toml", "--json"]]),
        ("sudo -u anpr-edge anpr-edge reads --limit 3  # a comment", [["reads", "--limit", "3"]]),
        (
            "anpr-edge completion bash > /usr/share/bash-completion/completions/anpr-edge",
            [["completion", "bash"]],
        ),
        ("source <(anpr-edge completion bash)", [["completion", "bash"]]),
        ("anpr-edge reads --plate 'AB12*' 2>/dev/null | head", [["reads", "--plate", "AB12*"]]),
        ("journalctl -u anpr-edge -f", []),
        ("sudo install -m 0640 -g anpr-edge k.pub /etc/anpr-edge/keys/", []),
    ],
)
def test_command_extraction(line: str, expected: list[list[str]]) -> None:
    assert invocations(line) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["hotlist", "sing", "x.csv"],  # no such command
        ["status", "--conf", "x.toml"],  # an abbreviation argparse would take
        ["reads", "--retry-now"],  # an option of another command
        ["camera", "snapshot"],  # a required argument missing
        ["hotlist", "publish", "b.json", "--broker", "h:1", "--retain", "--no-retain", "--x"],
    ],
)
def test_check_argv_finds_mistakes(argv: list[str]) -> None:
    assert check_argv(argv) is not None


def test_a_command_named_in_prose_may_leave_out_required_arguments() -> None:
    assert check_argv(["hotlist", "sign"], complete=False) is None
    assert check_argv(["hotlist", "sing"], complete=False) is not None
    assert check_argv(["hotlist", "sign", "--kye", "k"], complete=False) is not None
