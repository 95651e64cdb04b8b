"""`anpr-edge run`: the unit itself (edge.unit.service), as systemd or a person starts it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from edge.cli.common import EXIT_OK, add_command, print_json
from edge.errors import UserError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "run", run, with_config=True, with_json=True)
    parser.add_argument(
        "--source",
        metavar="SPEC",
        help="frame source instead of camera.source: picamera2[:N], opencv:URI, images:DIR, "
        "synthetic[:seed=S,look=day|ir|night|mixed,rate=VEHICLES_PER_MIN,fps=F,paced=true|false]",
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument(
        "--truth",
        metavar="CSV",
        help="synthetic source: write vehicle_id,plate,first_frame,last_frame of every vehicle "
        "shown",
    )


def run(args: argparse.Namespace) -> int:
    """run the unit: capture, read, group, check hotlists, store, publish (until SIGTERM/SIGINT,
    --duration or the end of the source)

    Example:
        anpr-edge run --config /etc/anpr-edge/unit.toml
        anpr-edge run --source synthetic:look=ir,rate=40 --duration 60 --truth truth.csv
    """
    from edge.config.loader import resolve_config_path
    from edge.unit.console import setup_logging
    from edge.unit.service import RunOptions, Unit
    from edge.updates.config_update import effective_config

    if args.duration is not None and args.duration <= 0:
        raise UserError("--duration must be more than 0 seconds")
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError("--max-frames must be at least 1")
    # the file, with the centre's signed partial configuration merged in when there is one
    remote = effective_config(args.config)
    config = remote.config
    status_line = setup_logging(config.logging.level, config.logging.format)
    check_tls_at_start(config)
    options = RunOptions(
        source=args.source,
        duration_s=args.duration,
        max_frames=args.max_frames,
        truth=Path(args.truth) if args.truth else None,
        config_file=str(resolve_config_path(args.config)),
        remote=remote,
    )
    summary = Unit(config, options, status_line=status_line).run()
    if args.json:
        print_json(summary)
    else:
        print_summary(summary, sys.stdout)
    return summary["exit_code"] or EXIT_OK


def check_tls_at_start(config) -> None:
    """Unusable TLS files stop the run here, each named with its config key (paho would say
    `[Errno 2]` or `PEM lib` and retry for ever); a key others can read is a warning."""
    from edge.ops.config_files import tls_problems

    problems = tls_problems(config)
    for problem in problems:
        if problem.warning:
            log.warning("%s", problem)
    errors = [str(problem) for problem in problems if not problem.warning]
    if errors:
        raise UserError("; ".join(errors))


def print_summary(summary: dict, out) -> None:
    backlog, delivered = summary["backlog"], summary["delivered"]
    print(
        f"\nsummary: {summary['frames']} frames in {summary['seconds']:.0f} s "
        f"({summary['fps']} fps; {summary['frames_dropped']} dropped; the detector ran on "
        f"{summary['motion_ratio']:.0%} of frames)",
        file=out,
    )
    print(
        f"  {summary['reads']} reads and {summary['hits']} hits; delivered to the broker: "
        f"{delivered['reads']} reads, {delivered['hits']} hits; still buffered: "
        f"{backlog['reads']} reads, {backlog['hits']} hits",
        file=out,
    )
    store = summary.get("store") or {}
    held = store.get("held") or {}
    if held.get("hits") or held.get("reads"):
        print(
            f"  the store could not take {held['hits']} hit(s) and {held['reads']} read(s) "
            f"({store['state']}: {store['detail']}); kept in {store['path']}.held.jsonl for the "
            "next start",
            file=out,
        )
    if store.get("dropped_reads"):
        print(
            f"  READS LOST: {store['dropped_reads']} (the store was unavailable too long)", file=out
        )
    if store.get("replaced"):
        print(
            f"  the store {store['path']} was deleted or replaced during the run "
            f"({store['replaced']} time(s), last at {store['replaced_at']}); what was owed was "
            "carried into a fresh store",
            file=out,
        )
    latency = summary.get("hit_latency_ms")
    if latency:
        print(
            f"  hit latency (plate first read → broker PUBACK): median {latency['median']} ms, "
            f"p99 {latency['p99']} ms",
            file=out,
        )
    sync = summary.get("hotlist_sync") or {}
    rejected = sync.get("rejected") or {}
    if sync.get("applied") or rejected or sync.get("errors"):
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(rejected.items()))
        print(
            f"  hotlist bundles: {sync.get('applied', 0)} applied, "
            f"{sum(rejected.values())} rejected{f' ({reasons})' if reasons else ''}, "
            f"{sync.get('errors', 0)} failed to apply"
            + (" (see `hotlist bundle rejected` in the log)" if rejected else ""),
            file=out,
        )
    unreadable = summary.get("unreadable_images") or 0
    if unreadable and not summary["frames"]:
        print(
            f"  no frame read: all {unreadable} image file(s) were unreadable (each named in a "
            "warning above)",
            file=out,
        )
    elif unreadable:
        print(
            f"  {unreadable} image file(s) unreadable and skipped (each named in a warning above)",
            file=out,
        )
    print(
        f"  memory {summary['rss_mb']} MB resident (peak {summary['peak_rss_mb']} MB); "
        f"{summary['errors']} error(s)",
        file=out,
    )
