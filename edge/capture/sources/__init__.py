"""Frame sources behind one interface (`base.FrameSource`), chosen by `camera.source` or by
`anpr-edge run --source SPEC`:

- `picamera2` or `picamera2:N` (camera connector N);
- `opencv:URI` (rtsp://…, /dev/video0, 0, or a video file);
- `images:DIR` (a folder, in name order);
- `synthetic` or `synthetic:KEY=VALUE,…` with keys `seed`, `look` (day, ir, night, mixed),
  `rate` (vehicles per minute), `fps`, `paced` (true: real time; false: as fast as processed).
"""

from __future__ import annotations

from pathlib import Path

from edge.capture.sources.base import ClockCheck, FrameSource, SourceStalled, never_synced
from edge.capture.truth import TruthRecorder
from edge.config import Config
from edge.errors import UserError

__all__ = ["FrameSource", "SourceStalled", "make_source", "parse_spec"]

KINDS = ("picamera2", "opencv", "images", "synthetic")
SYNTHETIC_KEYS = {"seed": int, "look": str, "rate": float, "fps": float, "paced": bool}
DEFAULT_RATE = 30.0  # vehicles per minute: a busy road


def parse_spec(spec: str) -> tuple[str, str]:
    kind, _, rest = spec.partition(":")
    if kind not in KINDS:
        raise UserError(f"--source {spec!r}: expected one of {', '.join(KINDS)}[:…]")
    if kind in ("opencv", "images") and not rest:
        raise UserError(f"--source {spec!r}: {kind} needs a location, e.g. {kind}:PATH")
    return kind, rest


def _synthetic_options(text: str) -> dict:
    options: dict = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in SYNTHETIC_KEYS:
            raise UserError(
                f"--source synthetic:{text}: expected KEY=VALUE with keys "
                f"{', '.join(SYNTHETIC_KEYS)}"
            )
        kind = SYNTHETIC_KEYS[key]
        try:
            if kind is bool:
                if value not in ("true", "false"):
                    raise ValueError(value)
                options[key] = value == "true"
            else:
                options[key] = kind(value)
        except ValueError:
            raise UserError(
                f"--source synthetic: {key}={value!r} is not a {kind.__name__}"
            ) from None
    if options.get("look", "ir") not in ("day", "ir", "night", "mixed"):
        raise UserError("--source synthetic: look must be day, ir, night or mixed")
    return options


def make_source(
    config: Config,
    spec: str | None = None,
    *,
    truth: Path | None = None,
    clock_synced: ClockCheck = never_synced,
) -> FrameSource:
    camera = config.camera
    kind, rest = parse_spec(spec) if spec else (camera.source, camera.uri)
    if truth is not None and kind != "synthetic":
        raise UserError("--truth needs the synthetic source (camera.source or --source synthetic)")
    if kind == "synthetic":
        from edge.capture.sources.synthetic import SyntheticRoad

        options = _synthetic_options(rest if spec else "")
        fps = options.get("fps", camera.fps)
        return SyntheticRoad(
            seed=options.get("seed", camera.seed),
            size=camera.resolution,
            fps=fps,
            look=options.get("look", camera.look),
            vehicles_per_minute=options.get("rate", DEFAULT_RATE),
            paced=options.get("paced", True),
            truth=TruthRecorder(truth, fps) if truth is not None else None,
            clock_synced=clock_synced,
        )
    if kind == "images":
        from edge.capture.sources.images import ImageFolder

        return ImageFolder(Path(rest), camera.fps, clock_synced)
    if kind == "opencv":
        from edge.capture.sources.opencv import OpenCvSource

        return OpenCvSource(
            rest, fps=camera.fps, resolution=camera.resolution, clock_synced=clock_synced
        )
    from edge.capture.sources.picamera import PiCamera

    camera_num = camera.camera_num
    if spec and rest:
        if not rest.isdigit():
            raise UserError(f"--source picamera2:{rest}: expected a camera number")
        camera_num = int(rest)
    return PiCamera(
        camera_num=camera_num,
        resolution=camera.resolution,
        fps=camera.fps,
        exposure_us=camera.exposure_us,
        analogue_gain=camera.analogue_gain,
        roi=camera.roi,
        clock_synced=clock_synced,
    )
