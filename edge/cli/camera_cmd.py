"""`anpr-edge camera snapshot|test|live`: aim, focus and check the camera (edge.ops.snapshot,
edge.ops.camera_test; `live` in edge.cli.camera_live)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli import camera_live
from edge.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_command,
    add_config_flag,
    add_group,
    add_json_flag,
    add_switch,
    print_json,
)
from edge.errors import UserError

ONE_PROCESS = (
    "A Pi camera opens in one process at a time: stop the service first "
    "(sudo systemctl stop anpr-edge) and start it again afterwards."
)
SOURCE_HELP = (
    "frame source instead of camera.source: picamera2[:N], opencv:URI, images:DIR, "
    "synthetic[:seed=S,look=day|ir|night|mixed,rate=VEHICLES_PER_MIN,fps=F,paced=true|false]"
)


# `anpr-edge camera` alone: what its sub-commands are for
GROUP_HELP = "aim, focus and test the camera"
GROUP_EXAMPLE = (
    "sudo anpr-edge camera live --open\n"
    "anpr-edge camera snapshot /tmp/aim.jpg --overlay\n"
    "anpr-edge camera test --seconds 10"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    group = add_group(subparsers, "camera", help=GROUP_HELP, example=GROUP_EXAMPLE)
    camera_live.register(group)
    snapshot = add_command(group, "snapshot", snapshot_command, note=ONE_PROCESS)
    snapshot.add_argument("out", type=Path, metavar="OUT", help="picture to write (.jpg/.png)")
    add_switch(
        snapshot,
        "--overlay",
        "draw each plate's box, reading and sharpness, and the figures, on the picture",
    )
    snapshot.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="S",
        help="take frames for up to S seconds until one holds a plate (default 5; 0: the first "
        "frame)",
    )
    test = add_command(group, "test", camera_test_command, note=ONE_PROCESS)
    test.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        metavar="N",
        help="how long to measure (default 10)",
    )
    for parser in (snapshot, test):
        add_config_flag(parser)
        parser.add_argument("--source", metavar="SPEC", help=SOURCE_HELP)
        add_json_flag(parser)


def snapshot_command(args: argparse.Namespace) -> int:
    """save one frame with focus and exposure figures (and plates boxed with --overlay)

    Take one frame from the configured camera, read its plates and write it to OUT (.jpg or .png,
    mode 0600: it shows plates). By default it waits up to 5 s for a frame with a plate, since
    focus is judged on plates. Sharpness is the variance of the Laplacian, over the whole frame
    and over each plate: higher is sharper. It depends on the scene, so compare snapshots of the
    same view while turning the focus ring, and keep the setting with the highest plate figure.
    Exposure time and gain are shown when the camera reports them.

    Example:
        anpr-edge camera snapshot /tmp/aim.jpg --overlay
        anpr-edge camera snapshot /tmp/aim.jpg --wait 30 --json
    """
    from edge.config import load_config
    from edge.ops.snapshot import take_snapshot

    if not 0 <= args.wait <= 600:
        raise UserError("--wait must be between 0 and 600 seconds")
    shot = take_snapshot(
        load_config(args.config), args.out, overlay=args.overlay, wait_s=args.wait, spec=args.source
    )
    if args.json:
        print_json(shot.as_json())
        return EXIT_OK
    width, height = shot.size
    print(f"{shot.file}: {width}×{height}, frame {shot.frame_index} of {shot.source}")
    print(f"  sharpness {shot.sharpness:.1f} over the whole frame (higher is sharper)")
    for plate in shot.plates:
        print(
            f"  plate {plate.text} ({plate.confidence:.2f}) at {list(plate.box.as_ints())}: "
            f"sharpness {plate.sharpness:.1f}"
        )
    if not shot.plates:
        print(
            f"  no plate read in {shot.frames_seen} frame(s): focus is best judged on a plate "
            "(try --wait 30 while traffic passes)"
        )
    print(
        f"  brightness {shot.brightness:.0f}/255, {shot.saturated:.1%} clipped white, "
        f"{shot.crushed:.1%} clipped black"
    )
    if shot.exposure_us is not None:
        print(f"  exposure {shot.exposure_us} µs, analogue gain {shot.analogue_gain:g}")
    else:
        print("  exposure and gain: not reported by this source")
    return EXIT_OK


def camera_test_command(args: argparse.Namespace) -> int:
    """measure the camera: fps against camera.fps, dropped and failed frames, exposure

    Take frames for a while (no plate reading) and measure the frame rate against camera.fps,
    frames dropped (gaps in the frame timestamps) and failed (timeouts, unreadable pictures), and
    exposure stability: the mean brightness per frame and its spread, and the exposure time and
    gain when the camera reports them (fixed by config: any spread means the controls are not
    applied). Exit 0 when it passes, 1 listing what failed.

    Example:
        anpr-edge camera test --seconds 10
        anpr-edge camera test --config /etc/anpr-edge/unit.toml --json
    """
    from edge.config import load_config
    from edge.ops.camera_test import run_camera_test

    if not 0 < args.seconds <= 600:
        raise UserError("--seconds must be more than 0 and at most 600")
    result = run_camera_test(load_config(args.config), args.seconds, args.source)
    if args.json:
        print_json(result.as_json())
        return EXIT_OK if result.ok else EXIT_FAILURE
    print(f"camera test of {result.source}")
    pace = "" if result.live else " (not live: as fast as asked; not judged)"
    print(
        f"  {result.frames} frames in {result.seconds:.1f} s: {result.fps:.1f} fps, "
        f"camera.fps {result.configured_fps:g}{pace}"
    )
    print(f"  dropped {result.dropped}, failed {result.failed}")
    level = result.brightness
    print(
        f"  brightness mean {level.mean:.1f}/255, spread ±{level.std:.1f} "
        f"(min {level.min:.1f}, max {level.max:.1f})"
    )
    for name, spread, unit in (
        ("exposure", result.exposure_us, " µs"),
        ("analogue gain", result.analogue_gain, ""),
    ):
        if spread is None:
            print(f"  {name}: not reported by this source")
        else:
            print(
                f"  {name} mean {spread.mean:g}{unit}, spread ±{spread.std:.2g}{unit} "
                f"(min {spread.min:g}, max {spread.max:g})"
            )
    if result.ok:
        print("PASS")
        return EXIT_OK
    for problem in result.problems:
        print(f"  problem: {problem}")
    print(f"FAIL: {len(result.problems)} problem(s)")
    return EXIT_FAILURE
