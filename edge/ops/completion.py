"""Bash completion for `anpr-edge`, generated from the command's own argparse parser.

Walking the parser (sub-commands, their options, which options take a value and their
choices) means the script cannot drift from the commands: a test compares the committed copy,
`systemd/anpr-edge.bash-completion`, with what `anpr-edge completion bash` prints now.

The script holds the command tree as `case` tables keyed by the command path ("camera
snapshot"). At the cursor it offers the sub-commands of the path typed so far, its options
after a `-`, an option's choices after that option, and a positional's choices; everything
else (a file, a number) falls back to bash's own file-name completion (`complete -o default`).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

FUNCTION = "_anpr_edge"
# Words written into the script unquoted: anything else (a space, a quote) is left out.
WORD = re.compile(r"^[A-Za-z0-9_.:/+=@%,-]+$")


@dataclass(frozen=True)
class CommandNode:
    path: str  # "" for the top level, else e.g. "camera snapshot"
    commands: tuple[str, ...]
    options: tuple[str, ...]
    values: tuple[tuple[str, tuple[str, ...]], ...]  # options taking a value, with choices
    positional_choices: tuple[str, ...]


def walk(parser: argparse.ArgumentParser, path: str = "") -> list[CommandNode]:
    commands: list[str] = []
    options: list[str] = []
    values: list[tuple[str, tuple[str, ...]]] = []
    positional: list[str] = []
    children: list[CommandNode] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands.append(name)
                children += walk(sub, f"{path} {name}".strip())
        elif action.option_strings:
            options += action.option_strings
            if action.nargs != 0:
                choices = _words(action.choices)
                values += [(option, choices) for option in action.option_strings]
        elif action.choices:
            positional += _words(action.choices)
    node = CommandNode(
        path, tuple(commands), tuple(options), tuple(values), tuple(dict.fromkeys(positional))
    )
    return [node, *children]


def _words(choices) -> tuple[str, ...]:
    return tuple(str(c) for c in (choices or ()) if WORD.match(str(c)))


def bash_script(parser: argparse.ArgumentParser, prog: str = "anpr-edge") -> str:
    nodes = walk(parser)
    regenerate = f"{prog} completion bash > systemd/{prog}.bash-completion"
    lines = [
        f"# bash completion for {prog}, generated from its argparse parser by",
        f"# `{prog} completion bash`: do not edit. Regenerate with",
        f"#   {regenerate}",
        "",
        f"{FUNCTION}_commands() {{",
        '    case "$1" in',
        *_cases((n.path, n.commands) for n in nodes if n.commands),
        '        *) REPLY="" ;;',
        "    esac",
        "}",
        "",
        f"{FUNCTION}_options() {{",
        '    case "$1" in',
        *_cases((n.path, n.options) for n in nodes),
        '        *) REPLY="" ;;',
        "    esac",
        "}",
        "",
        "# Succeeds when option $2 of command $1 takes a value; REPLY: its choices, if any.",
        f"{FUNCTION}_value() {{",
        '    case "$1:$2" in',
        *_cases((f"{n.path}:{option}", choices) for n in nodes for option, choices in n.values),
        '        *) REPLY=""; return 1 ;;',
        "    esac",
        "}",
        "",
        f"{FUNCTION}_positionals() {{",
        '    case "$1" in',
        *_cases((n.path, n.positional_choices) for n in nodes if n.positional_choices),
        '        *) REPLY="" ;;',
        "    esac",
        "}",
        "",
        *MAIN.replace("FUNCTION", FUNCTION).splitlines(),
        "",
        f"complete -o default -F {FUNCTION} {prog}",
    ]
    return "\n".join(lines) + "\n"


def _cases(rows) -> list[str]:
    return [f'        "{key}") REPLY="{" ".join(words)}" ;;' for key, words in rows]


MAIN = r"""FUNCTION() {
    local cur="${COMP_WORDS[COMP_CWORD]}" path="" word i value=0 REPLY=""
    # The command path typed so far: known sub-command names, skipping options and their values.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if ((value)); then
            value=0
            continue
        fi
        case "$word" in
            -*=*) continue ;;
            -*)
                FUNCTION_value "$path" "$word" && value=1
                continue
                ;;
        esac
        FUNCTION_commands "$path"
        if [[ " $REPLY " == *" $word "* ]]; then
            path="${path:+$path }$word"
        fi
    done
    COMPREPLY=()
    if ((value)); then
        # after an option that takes a value: its choices, else file names (-o default)
        FUNCTION_value "$path" "${COMP_WORDS[COMP_CWORD - 1]}"
    elif [[ "$cur" == -* ]]; then
        FUNCTION_options "$path"
    else
        FUNCTION_commands "$path"
        [[ -n "$REPLY" ]] || FUNCTION_positionals "$path"
    fi
    if [[ -n "$REPLY" ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
    fi
    return 0
}"""
