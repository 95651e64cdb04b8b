"""Real crops for recogniser training (training/real_crops.py): cut as the unit cuts them,
labelled plates only, augmented within bounds. No TensorFlow, no teacher, no /work/data."""

from __future__ import annotations

import cv2
import numpy as np

from edge.records import Box
from edge.vision.ctc import CHARSET
from edge.vision.preprocess import recogniser_input
from edge.vision.reader import crop
from training import real_crops


def _dataset(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    (tmp_path / "labels.csv").write_text(
        "file,plate_text,x,y,w,h,country\n"
        "a.png,AB12CDE,40,50,160,36,GB\n"
        "a.png,,10,200,60,14,\n"  # no text: detection only
        "a.png,ab-1,40,120,100,30,\n"  # not A-Z0-9: left out
        "a.png,XY51ABC,220,100,60,50,GB\n"  # two rows: needs the teacher, not asked for
    )
    return image


def test_only_plates_with_text_and_single_rows_without_teacher(tmp_path):
    _dataset(tmp_path)
    plates = real_crops.load(tmp_path, two_rows=False, log=lambda _: None)
    assert [(p.text, p.row) for p in plates] == [("AB12CDE", -1)]


def test_plain_sample_is_the_units_crop(tmp_path):
    image = _dataset(tmp_path)
    (plate,) = real_crops.load(tmp_path, two_rows=False, log=lambda _: None)
    unit = recogniser_input(crop(image, Box(40, 50, 160, 36)))
    assert np.array_equal(real_crops.sample(plate), unit)


def test_augmented_arrays(tmp_path):
    _dataset(tmp_path)
    plates = real_crops.load(tmp_path, two_rows=False, log=lambda _: None)
    rng = np.random.default_rng(1)
    images, labels, lengths = real_crops.arrays(plates, rng, np.zeros(8, dtype=int))
    assert images.shape == (8, 48, 160) and images.dtype == np.uint8
    assert lengths.tolist() == [7] * 8
    assert labels.shape == (8, 10)
    assert "".join(CHARSET[v - 1] for v in labels[0, :7]) == "AB12CDE"
    assert len({image.tobytes() for image in images}) > 1  # drawn afresh
