"""The dataset format of DESIGN.md §1: the writer's output reads back, bad input is named."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.dataset import (
    HEADER,
    ImageLabels,
    LabelledPlate,
    read_dataset,
    write_dataset,
)
from edge.errors import UserError


def _image(value: int) -> np.ndarray:
    image = np.full((40, 60, 3), value, np.uint8)
    image[10:20, 5:50] = 255 - value
    return image


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A valid dataset: two labelled images and a negative."""
    write_dataset(
        tmp_path,
        [
            ("a.png", _image(30), [LabelledPlate("AB12CDE", (5, 10, 45, 10), "GB")]),
            (
                "b.jpg",
                _image(90),
                [LabelledPlate("X1", (0, 0, 3, 4), ""), LabelledPlate("", (7, 8, 9, 10), "")],
            ),
            ("neg.png", _image(150), []),
        ],
    )
    return tmp_path


def _write_labels(folder: Path, *lines: str) -> None:
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_round_trip(folder: Path) -> None:
    dataset = read_dataset(folder)
    assert dataset.folder == folder
    assert dataset.images == (
        ImageLabels("a.png", (LabelledPlate("AB12CDE", (5, 10, 45, 10), "GB"),)),
        ImageLabels(
            "b.jpg", (LabelledPlate("X1", (0, 0, 3, 4), ""), LabelledPlate("", (7, 8, 9, 10), ""))
        ),
        ImageLabels("neg.png", ()),
    )
    header = (folder / "labels.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "file,plate_text,x,y,w,h,country" == ",".join(HEADER)
    assert np.array_equal(cv2.imread(str(dataset.path(dataset.images[0]))), _image(30))


def test_country_column_is_optional_and_extra_columns_are_ignored(folder: Path) -> None:
    _write_labels(folder, "file,plate_text,x,y,w,h,notes", "a.png,AB12CDE,1,2,3,4,hello")
    (image,) = (i for i in read_dataset(folder).images if i.plates)
    assert image.plates == (LabelledPlate("AB12CDE", (1, 2, 3, 4), ""),)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("file,plate_text,x,y,w,country", "a.png,AB12CDE,1,2,3,GB"), "line 1: missing column h"),
        (
            ("file,plate_text,x,y,w,h,country", "a.png,AB12CDE,1,2,3,4,GB", "a.png,AB,1,two,3,4,"),
            "line 3, field y: 'two' is not an integer",
        ),
        (
            ("file,plate_text,x,y,w,h,country", "a.png,AB,1,2,0,4,"),
            "line 2, field w: 0 must be positive",
        ),
        (
            ("file,plate_text,x,y,w,h,country", "a.png,AB,-3,2,3,4,"),
            "line 2, field x: -3 puts the box outside the image",
        ),
        (("file,plate_text,x,y,w,h,country", "a.png,AB 12,1,2,3,4,"), "line 2, field plate_text"),
        (("file,plate_text,x,y,w,h,country", "a.png,ab12,1,2,3,4,"), "line 2, field plate_text"),
        (
            ("file,plate_text,x,y,w,h,country", "gone.jpg,AB12,1,2,3,4,"),
            "line 2, field file: 'gone.jpg' is not an image",
        ),
        (("file,plate_text,x,y,w,h,country", "../a.png,AB12,1,2,3,4,"), "line 2, field file"),
        (("file,plate_text,x,y,w,h,country", "a.png,AB12,1,2,3,4,GBR"), "line 2, field country"),
    ],
)
def test_bad_labels_are_named(folder: Path, lines: tuple[str, ...], expected: str) -> None:
    _write_labels(folder, *lines)
    with pytest.raises(UserError) as error:
        read_dataset(folder)
    assert str(folder / "labels.csv") in str(error.value)
    assert expected in str(error.value)


def test_missing_labels_file(folder: Path) -> None:
    (folder / "labels.csv").unlink()
    with pytest.raises(UserError, match=r"labels\.csv is missing"):
        read_dataset(folder)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_dataset(tmp_path / "nowhere")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is empty"):
        read_dataset(tmp_path)


def test_labels_without_images(tmp_path: Path) -> None:
    _write_labels(tmp_path, "file,plate_text,x,y,w,h,country")
    with pytest.raises(UserError, match="holds no images"):
        read_dataset(tmp_path)


def test_writer_refuses_text_outside_the_charset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not A-Z0-9"):
        write_dataset(tmp_path, [("a.png", _image(0), [LabelledPlate("AB-12", (0, 0, 1, 1), "")])])
    assert not (tmp_path / "labels.csv").exists()  # no labels for an interrupted dataset


def test_box_starting_just_outside_the_image_is_kept(folder: Path) -> None:
    _write_labels(folder, "file,plate_text,x,y,w,h,country", "a.png,AB12CDE,-1,2,30,10,GB")
    dataset = read_dataset(folder)
    plates = [p for image in dataset.images for p in image.plates]
    assert [p.box for p in plates] == [(-1, 2, 30, 10)]
