"""The plate reader the pipeline uses, swappable between two frames, and the checks a set of
models passes before it may read the road: it loads, and it reads its golden images.

The pipeline takes `ReaderHolder.current` once at the start of each frame and uses that reader
for the whole frame; `swap` replaces it with one assignment (atomic in CPython). So a switch
never restarts capture, never splits a frame between two models, and costs the frame being
read nothing: the new reader was loaded and tested beforehand, in the updater's thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from edge.dataset import read_dataset
from edge.errors import RuntimeFailure, UserError
from edge.updates.model_store import ModelPaths
from edge.updates.reasons import Reason, UpdateRejected
from edge.vision.image_files import read_image
from edge.vision.reader import PlateReader

if TYPE_CHECKING:
    from edge.config import Config


@dataclass(frozen=True, eq=False)
class ActiveModels:
    reader: PlateReader
    version: int | None  # the model store's version; None: the base models

    @property
    def label(self) -> str:
        return "base" if self.version is None else f"v{self.version}"


class ReaderHolder:
    def __init__(self, active: ActiveModels):
        self._active = active
        self.swapped_at = time.monotonic()  # when the last swap was made (for its latency)

    @property
    def current(self) -> ActiveModels:
        return self._active

    def swap(self, new: ActiveModels) -> ActiveModels:
        """Make `new` the reader of the next frame; returns the one it replaces."""
        self.swapped_at = time.monotonic()
        old, self._active = self._active, new
        return old


@dataclass(frozen=True)
class GoldenResult:
    images: int
    plates: int
    seconds: float


def load_models(config: Config, paths: ModelPaths) -> ActiveModels:
    """The reader of `paths` as the configuration sets it up (threads, region, threshold).
    Raises UpdateRejected(load-failed) naming the file."""
    try:
        reader = PlateReader.from_config(
            config, detector=paths.detector, recogniser=paths.recogniser
        )
    except (UserError, RuntimeFailure, ValueError, RuntimeError, OSError) as exc:
        raise UpdateRejected(Reason.LOAD_FAILED, str(exc), paths.version) from None
    return ActiveModels(reader, paths.version)


def golden_test(models: ActiveModels, folder: Path | None) -> GoldenResult:
    """Every labelled plate of the golden images must be read exactly (DESIGN §1 dataset:
    plates without text count for nothing). Raises UpdateRejected(golden-failed); messages
    name images, never plates."""
    started = time.monotonic()
    if folder is None:  # the base models have no golden set: the selftest checks them
        return GoldenResult(0, 0, 0.0)
    try:
        dataset = read_dataset(folder)
    except UserError as exc:
        raise UpdateRejected(Reason.GOLDEN_FAILED, str(exc), models.version) from None
    plates = 0
    for image in dataset.images:
        expected = {plate.text for plate in image.plates if plate.text}
        try:
            grey = cv2.cvtColor(read_image(dataset.path(image)), cv2.COLOR_BGR2GRAY)
            read = {result.text.text for result in models.reader.read(grey)}
        except (UserError, ValueError, RuntimeError, cv2.error) as exc:
            raise UpdateRejected(
                Reason.GOLDEN_FAILED, f"{image.file}: {exc}", models.version
            ) from None
        missing = expected - read
        if missing:
            raise UpdateRejected(
                Reason.GOLDEN_FAILED,
                f"golden image {image.file}: {len(missing)} of {len(expected)} plate(s) not "
                f"read as labelled by {models.label}",
                models.version,
            )
        plates += len(expected)
    if plates == 0:
        raise UpdateRejected(
            Reason.GOLDEN_FAILED, "the golden images hold no labelled plate", models.version
        )
    return GoldenResult(len(dataset.images), plates, time.monotonic() - started)


def checked_models(config: Config, paths: ModelPaths) -> tuple[ActiveModels, GoldenResult]:
    """Loaded and golden-tested, or UpdateRejected."""
    models = load_models(config, paths)
    return models, golden_test(models, paths.golden)
