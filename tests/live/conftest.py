"""A real frame of the synthetic road with its plates read by the bundled models, shared by the
live page's tests."""

from __future__ import annotations

import numpy as np
import pytest

from edge.capture.sources.synthetic import SyntheticRoad
from edge.ops.imaging import grey
from edge.records import Frame
from edge.vision.reader import PlateReader, PlateResult


@pytest.fixture(scope="session")
def road_frame() -> tuple[Frame, list[PlateResult]]:
    """The first frame of a busy day road in which the models read a plate."""
    reader = PlateReader.from_files(None, None)
    road = SyntheticRoad(
        seed=3, size=(1456, 1088), fps=15.0, look="day", vehicles_per_minute=90, paced=False
    )
    with road:
        for _ in range(300):
            frame = road.read(1.0)
            assert frame is not None
            results = reader.read(frame.image)
            if results:
                return frame, results
    raise AssertionError("no plate read in 300 frames of the synthetic road")


def grey_of(frame: Frame) -> np.ndarray:
    """The grey picture the pipeline hands over with a frame."""
    return grey(frame.image)
