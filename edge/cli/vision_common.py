"""What the vision commands share: building a `PlateReader` from the config and options."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli.common import add_config_flag
from edge.config import load_config
from edge.vision.reader import PlateReader


def add_reader_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        choices=("gb", "any"),
        default=None,
        help="plate grammar: gb (UK formats, corrects O/0, B/8 …) or any (any A–Z0–9 string); "
        "default: recognition.region of the config",
    )
    parser.add_argument("--detector", type=Path, help="detector .tflite (default: from config)")
    parser.add_argument("--recogniser", type=Path, help="recogniser .tflite (default: from config)")
    parser.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    add_config_flag(parser)


def reader_from_args(args: argparse.Namespace) -> PlateReader:
    return PlateReader.from_config(
        load_config(args.config),
        detector=args.detector,
        recogniser=args.recogniser,
        threads=args.threads,
        region=args.region,
    )
