"""Real scenes for detector training: zoomed and cut at random, boxes follow the plates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training import real_scenes

SIZE = (512, 384)


def scene_with_plates(boxes):
    image = np.full((720, 1280), 40, dtype=np.uint8)
    for x, y, w, h in boxes:
        image[y : y + h, x : x + w] = 255
    return real_scenes.RealScene(image, tuple(tuple(map(float, b)) for b in boxes))


@pytest.mark.parametrize("seed", range(40))
def test_every_box_returned_lies_on_its_plate(seed):
    scene = scene_with_plates([(100, 500, 90, 24), (700, 300, 160, 40), (1200, 100, 70, 20)])
    image, boxes = real_scenes.sample(scene, np.random.default_rng(seed), SIZE)
    assert image.shape == (SIZE[1], SIZE[0]) and image.dtype == np.uint8
    for x, y, w, h in boxes:
        assert x >= 0 and y >= 0 and x + w <= SIZE[0] + 1e-6 and y + h <= SIZE[1] + 1e-6
        inner = image[round(y) + 1 : round(y + h) - 1, round(x) + 1 : round(x + w) - 1]
        assert inner.size and (inner > 150).mean() > 0.9


def test_a_plate_wholly_in_the_window_is_always_a_target():
    scene = scene_with_plates([(600, 340, 80, 20)])
    seen = 0
    for seed in range(60):
        image, boxes = real_scenes.sample(scene, np.random.default_rng(seed), SIZE)
        _, mask = cv2.threshold(image, 150, 255, cv2.THRESH_BINARY)
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        whole = [s for s in stats[1:] if s[0] > 0 and s[1] > 0 and s[0] + s[2] < SIZE[0]]
        whole = [s for s in whole if s[1] + s[3] < SIZE[1]]
        if whole:
            seen += 1
            assert len(boxes) == 1
    assert seen > 20  # most zooms and cuts keep the plate in view


def test_fitted_is_the_units_letterbox():
    scene = scene_with_plates([(640, 360, 128, 32)])
    image, boxes = real_scenes.fitted(scene, (640, 480))
    assert image.shape == (480, 640)
    ((x, y, w, h),) = boxes
    assert (w, h) == pytest.approx((64, 16))
    assert (x, y) == pytest.approx((320, 60 + 180))
    assert image[round(y) + 2, round(x) + 2] > 200


@pytest.mark.parametrize("seed", range(20))
def test_a_pasted_plate_is_where_its_box_says_and_overlaps_no_other(seed):
    rng = np.random.default_rng(seed)
    source = scene_with_plates([(300, 300, 200, 50), (800, 200, 120, 30)])
    canvas = np.full((SIZE[1], SIZE[0]), 40, dtype=np.uint8)
    canvas[100:130, 100:220] = 255  # a synthetic plate already there
    boxes = real_scenes.paste(canvas, [(100.0, 100.0, 120.0, 30.0)], [source], rng, (12, 60))
    assert len(boxes) == 2 and boxes[0] == (100.0, 100.0, 120.0, 30.0)
    x, y, w, h = boxes[1]
    assert 12 <= h <= 60 and x >= 0 and x + w <= SIZE[0] and y >= 0 and y + h <= SIZE[1]
    assert x + w <= 100 or x >= 220 or y + h <= 100 or y >= 130
    inner = canvas[round(y) + 2 : round(y + h) - 2, round(x) + 2 : round(x + w) - 2]
    assert inner.size and (inner > 150).mean() > 0.9  # the white plate, brightness kept mostly


def test_nothing_is_pasted_when_no_plate_is_large_enough():
    canvas = np.full((SIZE[1], SIZE[0]), 40, dtype=np.uint8)
    tiny = scene_with_plates([(10, 10, 20, 6)])
    rng = np.random.default_rng(0)
    assert real_scenes.paste(canvas, [], [tiny], rng, (12, 60)) == []
    assert (canvas == 40).all()
