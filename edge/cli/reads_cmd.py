"""`anpr-edge reads` and `anpr-edge hits`: what the unit has stored, and whether the centre has
it (DESIGN §6). Read-only; safe while the service runs (the store is in WAL mode)."""

from __future__ import annotations

import argparse

from edge.cli.common import EXIT_OK, add_command, add_config_flag, add_json_flag, print_json
from edge.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    for kind, plural, example in (
        ("read", "reads", "anpr-edge reads --json --limit 20"),
        ("hit", "hits", "anpr-edge hits --undelivered --json"),
    ):
        parser = add_command(
            subparsers,
            plural,
            help=f"the stored {plural}, newest first, with their delivery state",
            example=example,
            handler=lambda args, kind=kind: show(args, kind),
        )
        parser.add_argument("--limit", type=int, default=100, help="at most N (default 100)")
        parser.add_argument(
            "--undelivered", action="store_true", help="only those the broker has not acknowledged"
        )
        add_config_flag(parser)
        add_json_flag(parser)


def show(args: argparse.Namespace, kind: str) -> int:
    from edge.config import load_config
    from edge.store.database import open_database
    from edge.store.reads import ReadStore

    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    config = load_config(args.config)
    conn = open_database(config.storage.path)
    try:
        store = ReadStore(conn)
        records = store.records(kind, args.limit, args.undelivered)  # type: ignore[arg-type]
        backlog = store.backlog()
    finally:
        conn.close()
    plural = f"{kind}s"
    if args.json:
        print_json({"store": str(config.storage.path), plural: records, "backlog": backlog})
        return EXIT_OK
    if not records:
        print(f"no {plural} stored in {config.storage.path}")
    for record in records:
        state = f"delivered {record['delivered_at']}" if record["delivered"] else "NOT delivered"
        detail = (
            f"{record['direction'] or '-':7} {record['frames']:3} frames  "
            f"{record['confidence']:.2f}{'  HIT' if record['hit'] else ''}"
            if kind == "read"
            else ", ".join(record["lists"])
        )
        print(f"{record['captured_at']}  {record['vrm']:9} {detail}  {state}  {record['read_id']}")
    print(f"waiting to be sent: {backlog['hits']} hit(s), {backlog['reads']} read(s)")
    return EXIT_OK
