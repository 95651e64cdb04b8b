"""`anpr-edge eval DATASET`: detection and reading metrics on a labelled dataset (DESIGN §2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli.common import EXIT_OK, add_command, print_json
from edge.cli.vision_common import add_reader_flags, reader_from_args
from edge.dataset import read_dataset
from edge.progress import for_command
from edge.vision.evaluate import by_height, evaluate
from edge.vision.report import write_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "eval", run, with_json=True)
    parser.add_argument("dataset", type=Path, metavar="DATASET")
    parser.add_argument("--report", type=Path, metavar="DIR", help="write an HTML report here")
    add_reader_flags(parser)


def run(args: argparse.Namespace) -> int:
    """measure detection and reading on a labelled dataset (folder with labels.csv)

    Example:
        anpr-edge eval /data/uk-test --region gb --json
        anpr-edge eval ../shared/datasets/real-dev/br --region any --report /tmp/br-report
    """
    dataset = read_dataset(args.dataset)
    reader = reader_from_args(args)
    with for_command(args, "eval", len(dataset.images), "images") as progress:
        result, tally = evaluate(dataset, reader, progress)
    if args.report:
        write_report(args.report, args.dataset, result, tally)
    if args.json:
        print_json(result)
        return EXIT_OK
    print(
        f"{args.dataset}: {result['images']} images, {result['plates']} plates, "
        f"region {result['region']}"
    )
    for key in ("detection", "read", "ocr", "ms_per_image", "ms_per_plate"):
        values = ", ".join(f"{name} {value}" for name, value in result[key].items())
        print(f"  {key}: {values}")
    for row in by_height(tally):
        print(
            f"  height {row['height_px']:>8} px: {row['plates']:5d} plates, detected "
            f"{row['detected']:.3f}, read {row['read_exact']:.3f}, ocr {row['ocr_exact']:.3f}"
        )
    if args.report:
        print(f"  report: {args.report / 'index.html'}")
    return EXIT_OK
