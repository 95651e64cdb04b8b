"""`python -m edge.centre`: run one process of the reference consumer group (docs/fleet.md).

    python -m edge.centre --host broker.example --port 8883 --ca ca.crt \\
        --cert ingest-1.crt --key ingest-1.key --dsn "host=/run/postgresql dbname=anpr"

Stops in order on SIGTERM or SIGINT: the batch in hand is stored and acknowledged, the
session stays at the broker."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from edge.centre.consumer import Consumer, ConsumerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edge.centre",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=8883)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--dsn", required=True, help="libpq connection string")
    parser.add_argument("--client-id", default="anpr.centre.ingest")
    parser.add_argument("--prefix", default="anpr/v1")
    parser.add_argument("--group", default="centre", help="the shared subscription's group")
    parser.add_argument(
        "--no-share",
        action="store_true",
        help="a plain subscription: one process takes everything (docs/fleet.md)",
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--stats-file", type=Path)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = ConsumerSettings(
        args.host, args.port, args.ca, args.cert, args.key, args.client_id, args.dsn,
        prefix=args.prefix, group=None if args.no_share else args.group, batch=args.batch,
        stats_file=args.stats_file,
    )  # fmt: skip
    Consumer(settings, stop).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
