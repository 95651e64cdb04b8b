"""A held frame rendered for the page: the snapshot's figures, the picture scaled with its
plates boxed, plate heights judged against what the models need."""

from __future__ import annotations

import cv2
import numpy as np

from edge.live.holder import HeldFrame
from edge.live.view import NATIVE_PLATE_PX, PAGE_WIDTH, render, size_verdict
from edge.ops import imaging
from tests.live.conftest import grey_of


def test_the_figures_are_the_snapshots_and_the_picture_is_scaled_and_boxed(road_frame):
    frame, plates = road_frame
    grey = grey_of(frame)
    view = render(HeldFrame(7, frame, grey, tuple(plates), 0.0))
    assert view.sequence == 7 and view.frame_index == frame.index
    assert view.frame_size == (1456, 1088)
    assert view.sharpness == imaging.sharpness(frame.image)  # as `camera snapshot` says it
    assert view.brightness == imaging.brightness(frame.image)
    assert (view.saturated, view.crushed) == imaging.clipped_shares(frame.image)
    for shown, plate in zip(view.plates, plates, strict=True):
        assert shown.text == plate.text.text and shown.box == plate.detection.box.as_ints()
        assert shown.sharpness == imaging.sharpness(frame.image, plate.detection.box)
    picture = cv2.imdecode(np.frombuffer(view.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[1] == PAGE_WIDTH and picture.shape[0] > 1088 * PAGE_WIDTH / 1456
    b, g, r = (picture[..., i].astype(int) for i in range(3))
    assert ((g > 180) & (r < 60) & (b < 60)).sum() > 50  # the green plate boxes
    # a known frame sharpness (worked out less often: the dearest figure) is taken as given
    assert render(HeldFrame(8, frame, grey, (), 0.0), 12.5).sharpness == 12.5


def test_plate_heights_are_judged_against_what_the_models_need():
    assert NATIVE_PLATE_PX == 40  # a 48-pixel recogniser input, the plate padded 10 % a side
    verdicts = [size_verdict(h) for h in (12, 20, 39, 40, 100, 101)]
    assert verdicts == ["too small", "small", "small", "good", "good", "too large"]
