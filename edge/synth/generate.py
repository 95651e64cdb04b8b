"""Write synthetic datasets (DESIGN.md §1) of road scenes or recogniser crops.

Image i is drawn from its own generator seeded with (seed, i), never from a shared stream: a
dataset is reproducible byte for byte, any image can be regenerated alone, and a caller may
split the indices across processes and get the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.dataset import DatasetWriter, LabelledPlate
from edge.errors import UserError
from edge.progress import Progress
from edge.synth.looks import LOOKS
from edge.synth.scene import REGIONS, render_crop, render_scene

MODES = ("scenes", "crops")
DEFAULT_SCENE_SIZE = (1456, 1088)  # the unit's camera frame
CROP_PLATE_HEIGHT = (12.0, 120.0)
# plate heights for a full-size frame; smaller frames scale them (a 640x480 frame gets 12-110)
FULL_FRAME_PLATE_HEIGHT = (15.0, 250.0)
SMALLEST_PLATE = 12.0


def default_plate_height(mode: str, size: tuple[int, int]) -> tuple[float, float]:
    if mode == "crops":
        return CROP_PLATE_HEIGHT
    scale = size[1] / DEFAULT_SCENE_SIZE[1]
    low, high = FULL_FRAME_PLATE_HEIGHT
    return max(SMALLEST_PLATE, low * scale), max(SMALLEST_PLATE, high * scale)


def _check(
    out: Path,
    count: int,
    seed: int,
    mode: str,
    look: str,
    region: str,
    size: tuple[int, int],
    plate_height: tuple[float, float],
) -> None:
    if count < 1:
        raise UserError(f"count must be at least 1, not {count}")
    if seed < 0:
        raise UserError(f"seed must be 0 or more, not {seed}")
    for name, value, allowed in (
        ("mode", mode, MODES),
        ("look", look, (*LOOKS, "mixed")),
        ("region", region, REGIONS),
    ):
        if value not in allowed:
            raise UserError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    if min(size) < 64:
        raise UserError(f"scene size must be at least 64x64 pixels, not {size[0]}x{size[1]}")
    low, high = plate_height
    if not 8 <= low <= high:
        raise UserError(f"plate height range must satisfy 8 <= min <= max, not {low:g}-{high:g}")
    if mode == "scenes" and high > size[1] / 2:
        raise UserError(f"plate height {high:g} px does not fit a scene {size[1]} px high")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"output folder {out} already exists and is not empty")


def generate_dataset(
    out: str | Path,
    count: int,
    seed: int,
    mode: str = "scenes",
    look: str = "mixed",
    region: str = "mixed",
    size: tuple[int, int] = DEFAULT_SCENE_SIZE,
    plate_height: tuple[float, float] | None = None,
    progress: Progress | None = None,
) -> None:
    """Write `count` images and their labels to the new or empty folder `out`.

    Scenes are `scene_NNNNNN.jpg` of `size` (width, height); crops are `crop_NNNNNN.png`, one
    labelled plate each. `plate_height` defaults to `default_plate_height(mode, size)`.
    """
    out = Path(out)
    plate_height = plate_height or default_plate_height(mode, size)
    _check(out, count, seed, mode, look, region, size, plate_height)
    progress = progress or Progress("synth")
    with DatasetWriter(out) as writer:
        for index in range(count):
            rng = np.random.default_rng([seed, index])
            if mode == "scenes":
                scene = render_scene(rng, size, plate_height=plate_height, look=look, region=region)
                plates = [LabelledPlate(p.text, p.box, p.country) for p in scene.plates]
                writer.add(f"scene_{index:06d}.jpg", scene.image, plates)
            else:
                crop = render_crop(rng, plate_height=plate_height, look=look, region=region)
                plate = LabelledPlate(crop.text, crop.box, crop.country)
                writer.add(f"crop_{index:06d}.png", crop.image, [plate])
            progress.advance()
