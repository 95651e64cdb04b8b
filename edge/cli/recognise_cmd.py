"""`anpr-edge recognise IMAGE…`: find and read the plates in image files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edge.cli.common import EXIT_OK, EXIT_USAGE, add_command, fail, print_json
from edge.cli.vision_common import add_reader_flags, reader_from_args
from edge.errors import UserError
from edge.vision.evaluate import load_image


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "recognise", run, with_json=True)
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    add_reader_flags(parser)


def run(args: argparse.Namespace) -> int:
    """find and read the plates in image files

    Example:
        anpr-edge recognise car1.jpg car2.png --region gb --json
    """
    reader = reader_from_args(args)
    results: list[dict[str, Any]] = []
    failed = False
    for path in args.images:
        try:
            plates = reader.read(load_image(path))
        except UserError as exc:
            failed = True
            fail(str(exc))
            results.append({"file": str(path), "plates": [], "error": str(exc)})
            continue
        results.append(
            {
                "file": str(path),
                "plates": [
                    {
                        "text": p.text.text,
                        "confidence": round(p.text.confidence, 4),
                        "char_confidences": [round(c, 4) for c in p.text.char_confidences],
                        "box": list(p.detection.box.as_ints()),
                        "detector_score": round(p.detection.score, 4),
                        "format": p.text.format,
                        "alternatives": [[t, round(c, 4)] for t, c in p.text.alternatives],
                    }
                    for p in plates
                ],
            }
        )
    if args.json:
        print_json(results)
    else:
        for result in results:
            reads = ", ".join(
                f"{p['text']} ({p['confidence']:.2f}, {p['format'] or 'no format'}) at {p['box']}"
                for p in result["plates"]
            )
            print(f"{result['file']}: {reads or result.get('error') or 'no plate'}")
    return EXIT_USAGE if failed else EXIT_OK
