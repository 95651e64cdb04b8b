"""`anpr-edge bench`: how fast the unit's stages run on this machine."""

from __future__ import annotations

import argparse

from edge.cli.common import EXIT_OK, add_command, add_config_flag, add_json_flag, print_json
from edge.cli.vision_common import reader_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "bench",
        help="time the recogniser per plate and the detector per 1456×1088 frame, one thread",
        example="anpr-edge bench --json",
        handler=run,
    )
    parser.add_argument("--frames", type=int, default=40, help="frames to time (default 40)")
    parser.add_argument("--plates", type=int, default=300, help="plate crops to time (default 300)")
    add_config_flag(parser)
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from edge.vision.bench import bench_vision

    args.detector = args.recogniser = args.region = None
    args.threads = 1
    result = bench_vision(reader_from_args(args), frames=args.frames, plates=args.plates)
    if args.json:
        print_json(result)
        return EXIT_OK
    rec, det = result["recogniser_ms"], result["detector_ms"]
    print(
        f"machine: {result['machine']['cpu']} ({result['machine']['arch']}), "
        f"{result['runtime']}, 1 thread"
    )
    print(
        f"recogniser: median {rec['median']} ms, p90 {rec['p90']} ms per plate ({rec['n']} plates)"
    )
    print(
        f"detector:   median {det['median']} ms, p90 {det['p90']} ms per "
        f"{result['frame'][0]}×{result['frame'][1]} frame ({det['n']} frames)"
    )
    return EXIT_OK
