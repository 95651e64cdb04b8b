"""`anpr-edge reads` and `anpr-edge hits`: what the unit has stored, and whether the centre has
it (DESIGN §6). Read-only; safe while the service runs (the store is in WAL mode).

`--follow` tails the store: it polls every `POLL_S` for records numbered above the newest it has
printed. The cursor and each batch are read in one read transaction, so a record stored between
the two queries is neither skipped nor printed twice. It stops on Ctrl-C or SIGTERM (exit 0: the
normal end of a tail) or after `--follow-seconds`.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.cli.common import (
    EXIT_OK,
    add_command,
    add_config_flag,
    add_json_flag,
    add_switch,
    print_json,
)
from edge.cli.reads_output import RecordPrinter, text_line
from edge.cli.reads_query import open_store, parse_limit, parse_plate, parse_since
from edge.errors import UserError
from edge.store.kinds import Kind

POLL_S = 0.5


# (kind, command, example)
_COMMANDS: tuple[tuple[Kind, str, str], ...] = (
    (
        "read",
        "reads",
        "anpr-edge reads --since 2h --plate 'AB12*' --limit 20\n"
        "anpr-edge reads --follow\n"
        "anpr-edge reads --since 2026-03-01T00:00 --limit 100000 --csv > reads.csv",
    ),
    ("hit", "hits", "anpr-edge hits --undelivered --json\nanpr-edge hits --follow"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    for kind, plural, example in _COMMANDS:
        parser = add_command(
            subparsers,
            plural,
            help=f"the stored {plural}, newest first, with their delivery state (--follow: "
            "then each new one as it is stored)",
            example=example,
            handler=functools.partial(show, kind=kind),
        )
        parser.add_argument("--limit", type=int, default=100, help="at most N (default 100)")
        add_switch(parser, "--undelivered", "only those the broker has not acknowledged")
        parser.add_argument(
            "--since",
            metavar="WHEN",
            help="only those captured since WHEN: an age (30s, 15m, 2h, 1d) or a time "
            "(2026-03-01T14:00; local time unless it ends in Z or an offset)",
        )
        parser.add_argument(
            "--plate",
            metavar="VRM",
            help="only this registration (spaces and case ignored); * matches any characters, "
            "? one (quote it from the shell: 'AB12*')",
        )
        add_switch(
            parser,
            "--follow",
            "after the newest --limit (oldest first), print each new one as it is stored, "
            "until Ctrl-C or SIGTERM",
        )
        parser.add_argument(
            "--follow-seconds",
            type=float,
            metavar="S",
            help="follow for S seconds, then stop (implies --follow)",
        )
        add_config_flag(parser)
        form = parser.add_mutually_exclusive_group()
        add_json_flag(form)
        add_switch(form, "--csv", "CSV with a header row to stdout (no images)")


def show(args: argparse.Namespace, kind: Kind) -> int:
    from edge.config import load_config
    from edge.store.listing import records
    from edge.store.reads import ReadStore

    args.limit = parse_limit(args.limit)
    if args.follow_seconds is not None and not args.follow_seconds > 0:  # also NaN
        raise UserError(f"--follow-seconds: got {args.follow_seconds:g}; expected more than 0")
    filters: dict[str, Any] = {
        "since": parse_since(args.since) if args.since else None,
        "plate": parse_plate(args.plate) if args.plate else None,
    }
    config = load_config(args.config)
    path = Path(config.storage.path)
    conn = open_store(path)
    try:
        if args.follow or args.follow_seconds is not None:
            return follow(conn, kind, args, filters, path)
        found = records(conn, kind, args.limit, args.undelivered, **filters)
        backlog = ReadStore(conn).backlog()
    finally:
        conn.close()
    plural = f"{kind}s"
    if args.json:
        print_json({"store": str(path), plural: found, "backlog": backlog})
        return EXIT_OK
    if args.csv:
        printer = RecordPrinter(kind, "csv")
        for record in found:
            printer.print(record)
        return EXIT_OK
    if not found:
        print(f"no {plural} stored in {path}{' that match' if _filtered(args) else ''}")
    for record in found:
        print(text_line(kind, record))
    print(f"waiting to be sent: {backlog['hits']} hit(s), {backlog['reads']} read(s)")
    return EXIT_OK


def follow(
    conn: sqlite3.Connection, kind: Kind, args: argparse.Namespace, filters: dict, path: Path
) -> int:
    from edge.store.listing import last_no, records

    form = "csv" if args.csv else "json-lines" if args.json else "text"
    printer = RecordPrinter(kind, form)
    if form == "text":
        print(f"following new {kind}s in {path} (Ctrl-C to stop)", file=sys.stderr)
    deadline = None if args.follow_seconds is None else time.monotonic() + args.follow_seconds
    with _stop_on_signals() as stop:
        with _read_transaction(conn):
            cursor = last_no(conn, kind)
            recent = records(conn, kind, args.limit, args.undelivered, **filters)
        for record in reversed(recent):  # oldest first, as new ones will follow
            printer.print(record)
        printer.flush()
        while not stop.wait(POLL_S):
            with _read_transaction(conn):
                new = records(conn, kind, None, args.undelivered, after=cursor, **filters)
                cursor = last_no(conn, kind)
            for record in new:
                printer.print(record)
            printer.flush()
            if deadline is not None and time.monotonic() >= deadline:
                break
    return EXIT_OK


def _filtered(args: argparse.Namespace) -> bool:
    return bool(args.since or args.plate or args.undelivered)


@contextmanager
def _read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One snapshot of the store for the queries inside (WAL: the writer is not held up)."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM end the tail cleanly (the batch in hand is printed first)."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda _signum, _frame: stop.set()) for sig in signals}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
