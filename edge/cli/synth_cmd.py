"""`anpr-edge synth`: write a synthetic dataset of road scenes or plate crops."""

from __future__ import annotations

import argparse
import re
import time

from edge.cli.common import EXIT_OK, add_command, add_switch
from edge.errors import UserError
from edge.progress import for_command
from edge.synth.generate import DEFAULT_SCENE_SIZE, default_plate_height, generate_dataset
from edge.synth.looks import LOOKS
from edge.synth.scene import REGIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "synth", run)
    parser.add_argument("--out", required=True, metavar="DIR", help="new or empty output folder")
    parser.add_argument("--count", required=True, type=int, metavar="N", help="images to write")
    parser.add_argument(
        "--seed", required=True, type=int, metavar="S", help="same seed, same bytes"
    )
    add_switch(parser, "--crops", "plate crops for the recogniser instead of scenes")
    parser.add_argument("--look", default="mixed", choices=[*LOOKS, "mixed"])
    parser.add_argument(
        "--region",
        default="mixed",
        choices=list(REGIONS),
        help="gb: UK plates only; foreign: other designs only; mixed: 75%% UK",
    )
    width, height = DEFAULT_SCENE_SIZE
    parser.add_argument(
        "--size", metavar="WxH", help=f"scene size in pixels (default {width}x{height})"
    )
    parser.add_argument(
        "--plate-height",
        metavar="MIN-MAX",
        help="plate heights in pixels (default: 12-120 for crops, 15-250 scaled to the scene)",
    )


def _parse_pair(value: str, separator: str, option: str) -> tuple[int, int]:
    match = re.fullmatch(rf"\s*(\d+)\s*{separator}\s*(\d+)\s*", value)
    if not match:
        example = "640x480" if separator == "x" else "12-120"
        raise UserError(f"{option}: {value!r} is not of the form {example}")
    return int(match.group(1)), int(match.group(2))


def run(args: argparse.Namespace) -> int:
    """write a synthetic labelled dataset (road scenes, or plate crops with --crops)

    Example:
        anpr-edge synth --out /tmp/scenes --count 200 --seed 7
        anpr-edge synth --out /tmp/crops --count 5000 --seed 1 --crops --region gb
    """
    mode = "crops" if args.crops else "scenes"
    size = _parse_pair(args.size, "x", "--size") if args.size else DEFAULT_SCENE_SIZE
    if args.plate_height:
        low, high = _parse_pair(args.plate_height, "-", "--plate-height")
        plate_height = (float(low), float(high))
    else:
        plate_height = default_plate_height(mode, size)
    started = time.perf_counter()
    with for_command(args, "synth", args.count, mode) as progress:
        generate_dataset(
            args.out,
            args.count,
            args.seed,
            mode=mode,
            look=args.look,
            region=args.region,
            size=size,
            plate_height=plate_height,
            progress=progress,
        )
    seconds = time.perf_counter() - started
    print(f"wrote {args.count} {mode} to {args.out} in {seconds:.1f} s")
    return EXIT_OK
