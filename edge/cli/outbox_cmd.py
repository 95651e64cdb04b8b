"""`anpr-edge outbox`: what the unit still owes the centre, from the store itself (so it works
whether or not the service runs), and `--retry-now` to make the running service try at once
instead of waiting out its reconnection back-off (up to 15 s).

`--retry-now` sends SIGUSR1 to the pid in the status file, once that file shows the service
running and the pid is the same process (see `edge.unit.status`); the service's handler only
sets a flag its publisher acts on. Without a running service it says so and exits 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edge.cli.common import EXIT_OK, add_command, add_switch, print_json
from edge.cli.reads_query import open_store
from edge.times import rfc3339


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "outbox", outbox, with_config=True, with_json=True)
    add_switch(
        parser,
        "--retry-now",
        "ask the running service to reconnect and send now (SIGUSR1); exit 1 when it is "
        "not running",
    )


def outbox(args: argparse.Namespace) -> int:
    """the reads and hits waiting to be sent to the centre, the oldest's age and the last delivery;
    --retry-now makes the running service retry at once

    Example:
        anpr-edge outbox
        anpr-edge outbox --retry-now --json
    """
    from edge.config import load_config
    from edge.store.listing import last_delivered_at
    from edge.store.reads import ReadStore
    from edge.unit.status import read_service_state, request_retry

    config = load_config(args.config)
    path = Path(config.storage.path)
    conn = open_store(path)
    try:
        store = ReadStore(conn)
        backlog, evicted, delivered = store.backlog(), store.counters(), last_delivered_at(conn)
    finally:
        conn.close()
    now = time.time()
    service = read_service_state(Path(config.health.status_file), config.health.interval_s, now)
    if args.retry_now:
        request_retry(service)  # raises (exit 1) when the service is not running
    age = backlog["oldest_age_s"]
    lost = {name: count for name, count in evicted.items() if "undelivered" in name}
    if args.json:
        print_json(
            {
                "store": str(path),
                "hits": backlog["hits"],
                "reads": backlog["reads"],
                "oldest_age_s": age,
                "oldest_stored_at": None if age is None else rfc3339(now - age),
                "last_delivered_at": delivered,
                "evicted_undelivered": lost,
                "service": {
                    "running": service.running,
                    "state": service.state,
                    "pid": service.pid,
                    "detail": service.detail,
                },
                "retry_requested": args.retry_now,
            }
        )
        return EXIT_OK
    waiting = f"{backlog['hits']} hit(s), {backlog['reads']} read(s) waiting to be sent"
    print(f"outbox of {path}: {waiting}")
    if age is not None:
        print(f"  oldest waiting since {rfc3339(now - age)} ({age:.0f} s)")
    print(f"  last delivery: {delivered or 'none of the stored records delivered yet'}")
    if lost:
        print("  never to be sent (evicted by the storage quota): " + _counts(lost))
    print(f"  {service.detail}")
    if args.retry_now:
        print(f"  asked the service (pid {service.pid}) to retry delivery now")
    return EXIT_OK


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name.removeprefix('evicted_')}" for name, count in counts.items())
