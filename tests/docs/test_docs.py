"""The documentation agrees with the code: README.md and docs/*.md against the real `anpr-edge`
parser, the JSON Schemas in docs/schemas and the unit's health figures.

- every command and sub-command is documented as `anpr-edge <command path>`, and its `--help`
  ends with an `example:` section of `anpr-edge …` lines;
- every `anpr-edge …` command written in the docs (in shell and console blocks, and in inline
  code) and every example in a `--help` names a real command path and only real options of it:
  it is parsed by the real parser (`build_parser().parse_args`), and each `--option` must be
  one that path defines, spelled out (argparse would accept an abbreviation; the docs must not
  use one);
- every schema file is linked from docs/protocol.md, and every ```json block of protocol.md and
  operator-guide.md parses, and validates against its schema when it carries a `schema` key;
- the operator guide's health table names every key the unit publishes and writes, and no other.

What counts as a command: in ```sh / ```bash / ```shell and unlabelled blocks every line; in
```console blocks only lines starting with the prompt `$ ` (the rest is output); inline code
spans anywhere. Within a line, `anpr-edge` (or a path ending in `/anpr-edge`) must be in command
position (after `sudo`, its options, `env`, `nice`, variable assignments, `(`, `|`, `;`, `&&`
…), so `journalctl -u anpr-edge` or `install -g anpr-edge` are not commands of ours; pipes and
redirections end the command, comments are dropped. Lines holding a shell placeholder (`<URL …>`)
or a variable (`$VAR`, `${…}`, `$(…)`) are skipped: they cannot be parsed without guessing the
value, and a documented command with a made-up value proves nothing. Upper-case placeholders
written as arguments (`VRM`, `ID`) parse like any value, so those lines are checked.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from edge.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
PROTOCOL = REPO / "docs" / "protocol.md"
GUIDE = REPO / "docs" / "operator-guide.md"
SCHEMAS = REPO / "docs" / "schemas"

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


def fenced_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, first line number, lines with the fence's indent removed)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)", lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, lang = opening.groups()
        body, start = [], i + 2
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        yield lang.lower(), start, body
        i += 1


def without_blocks(text: str) -> str:
    """The text with fenced blocks blanked out (line numbers kept)."""
    out, fence = [], None
    for line in text.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and marker:
            fence = marker.group(1)
            out.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


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


# --- (b), (c) schemas and example payloads ----------------------------------------------------


def schema_files() -> list[Path]:
    return sorted(SCHEMAS.glob("*.json"))


@pytest.mark.parametrize("schema", schema_files(), ids=lambda p: p.name)
def test_every_schema_is_linked_from_the_protocol(schema: Path) -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    assert f"](schemas/{schema.name})" in text, (
        f"docs/protocol.md does not link schemas/{schema.name}"
    )


def _registry() -> Registry:
    resources = []
    for path in schema_files():
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _schema_ids() -> dict[str, dict]:
    """Payload `schema` value → the schema file that describes it (found from its
    `properties.schema.const`, at the root or, for the hotlist payload's headers, in $defs)."""
    found: dict[str, dict] = {}

    def consts(node) -> Iterator[str]:
        if isinstance(node, dict):
            value = node.get("properties", {}).get("schema", {})
            if isinstance(value, dict) and "const" in value:
                yield value["const"]
            for child in node.values():
                yield from consts(child)
        elif isinstance(node, list):
            for child in node:
                yield from consts(child)

    for path in schema_files():
        contents = json.loads(path.read_text(encoding="utf-8"))
        for const in consts(contents):
            found.setdefault(const, contents)
    return found


JSON_EXAMPLES = [
    (f"{doc.relative_to(REPO)}:{start}", "\n".join(body))
    for doc in (PROTOCOL, GUIDE)
    for lang, start, body in fenced_blocks(doc.read_text(encoding="utf-8"))
    if lang == "json"
]


def test_the_protocol_shows_an_example_of_every_payload() -> None:
    shown = set()
    for where, text in JSON_EXAMPLES:
        value = json.loads(text)
        if where.startswith("docs/protocol.md") and isinstance(value, dict) and "schema" in value:
            shown.add(value["schema"])
    assert set(_schema_ids()) <= shown


@pytest.mark.parametrize("where,text", JSON_EXAMPLES, ids=[where for where, _ in JSON_EXAMPLES])
def test_json_examples_parse_and_validate(where: str, text: str) -> None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"{where}: a ```json block that is not JSON ({exc}); trim in ```text instead")
    if not (isinstance(value, dict) and "schema" in value):
        return
    schemas = _schema_ids()
    assert value["schema"] in schemas, f"{where}: no schema in docs/schemas for {value['schema']!r}"
    validator = jsonschema.Draft202012Validator(schemas[value["schema"]], registry=_registry())
    problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not problems, f"{where}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in problems
    )


# --- the health table -------------------------------------------------------------------------


def documented_health_keys() -> set[str]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## What each health field means", 1)[1].split("\n## ", 1)[0]
    keys = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            keys |= set(re.findall(r"`([a-z_]+)`", first_cell))
    return keys


def test_the_health_table_lists_every_key(tmp_path: Path) -> None:
    from edge.stages import Counters, Stage
    from edge.store.database import open_database
    from edge.unit.health import HealthReporter

    conn = open_database(tmp_path / "anpr.db")
    try:
        reporter = HealthReporter(
            "u1",
            Counters(),
            conn,
            tmp_path / "anpr.db",
            [Stage("capture", 5.0)],
            lambda: False,
            lambda: {},
        )
        published = set(reporter.snapshot())
        written = set(reporter.status("running", 5.0))
    finally:
        conn.close()
    schema = set(json.loads((SCHEMAS / "health.schema.json").read_text())["properties"])
    # the keys the running service adds (edge.unit.service: `extra`), as captured in the docs
    captured = set()
    for _where, text in JSON_EXAMPLES:
        value = json.loads(text)
        if isinstance(value, dict) and value.get("schema") == "anpr.health/1":
            captured |= set(value)
    assert {"hotlist_sync", "broker", "source", "state"} <= captured, "no captured health example"
    documented = documented_health_keys()
    actual = published | written | schema | captured | {"stopped_at"}
    assert not actual - documented, f"missing from the health table: {sorted(actual - documented)}"
    assert not documented - actual, (
        f"in the health table, not in the unit: {sorted(documented - actual)}"
    )


# --- links --------------------------------------------------------------------------------------


def anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in without_blocks(doc.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            found.add(text.replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", [GUIDE, PROTOCOL], ids=lambda p: p.name)
def test_links_point_at_files_and_headings(doc: Path) -> None:
    text = without_blocks(doc.read_text(encoding="utf-8"))
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file) if file else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{doc.name}: broken links: {broken}"
