"""The real-data builder's annotation readers, split pinning and formats, on tiny made-up sources
(no snapshot, no teacher, no network)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import real_data
from training.real_data import Box, Candidate, Source


def _source(key: str, read, batch: int = 1) -> Source:
    return Source(
        key=key,
        repo=f"example/{key}",
        commit="0" * 40,
        licence="MIT",
        licence_evidence=(),
        paths=(),
        read=read,
        batch=batch,
    )


def _image(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))


def test_yolo_export_reads_plate_classes_polygons_negatives_and_groups(tmp_path):
    base = tmp_path / "ds"
    name = "0123456789abcdef_jpg.rf.aaaa.jpg"
    _image(base / "train" / "images" / name, 200, 100)
    (base / "train" / "labels").mkdir(parents=True)
    (base / "train" / "labels" / f"{Path(name).stem}.txt").write_text(
        "0 0.5 0.5 0.2 0.1\n"  # a plate: 40x10 at (80, 45)
        "1 0.5 0.5 0.9 0.9\n"  # a vehicle: not a plate
        "0 0.1 0.2 0.3 0.2 0.3 0.4 0.1 0.4\n"  # a polygon: its bounding box
    )
    _image(base / "valid" / "images" / "empty_png.rf.bbbb.jpg", 64, 48)
    (base / "valid" / "labels").mkdir(parents=True)
    (base / "valid" / "labels" / "empty_png.rf.bbbb.txt").write_text("")
    _image(base / "test" / "images" / "unlabelled.jpg", 64, 48)  # no label file: left out

    read = real_data.yolo_export("ds", plate_classes=frozenset({0}))
    found = read(_source("yolo", read), tmp_path)
    assert [(c.path, c.source_split) for c in found] == [
        (f"ds/train/images/{name}", "train"),
        ("ds/valid/images/empty_png.rf.bbbb.jpg", "valid"),
    ]
    plate, negative = found
    assert plate.boxes == [Box(80, 45, 40, 10), Box(20, 20, 40, 20)]
    assert plate.group == "0123456789abcdef_jpg"
    assert plate.origin == "openimages:0123456789abcdef"
    assert negative.boxes == [] and negative.origin == ""


def test_simanno_reads_boxes_scaled_and_skips_deleted_missing_and_rotated(tmp_path):
    _image(tmp_path / "train" / "a.jpg", 200, 100)
    _image(tmp_path / "train" / "half.jpg", 400, 200)  # annotated at half size
    _image(tmp_path / "train" / "turned.jpg", 100, 200)  # annotated as 200x100: uncertain
    _image(tmp_path / "train" / "gone.jpg", 200, 100)  # deleted in the database
    _image(tmp_path / "val" / "b.png", 200, 100)
    _image(tmp_path / "val" / "c.jpg", 200, 100)
    (tmp_path / "val" / "c.jpg").rename(tmp_path / "val" / "c.bin")  # an image by content only
    plate = {"x": 10, "y": 20, "width": 50, "height": 12, "lbltxt": "plate"}
    rows = {
        "train.db": [
            ("a.jpg", 100, 200, 0, 0, json.dumps([plate, {**plate, "lbltxt": "car"}])),
            ("half.jpg", 100, 200, 0, 0, json.dumps([plate])),
            ("turned.jpg", 100, 200, 0, 0, json.dumps([plate])),
            ("gone.jpg", 100, 200, 1, 0, json.dumps([plate])),
            ("absent.jpg", 100, 200, 0, 0, json.dumps([plate])),  # not in the snapshot
        ],
        "val.db": [
            ("b.png", 100, 200, 0, 1, "[]"),  # a background image: a negative
            ("c.bin", 100, 200, 0, 0, json.dumps([plate])),
        ],
    }
    for database, entries in rows.items():
        with sqlite3.connect(tmp_path / database) as db:
            db.execute(
                "CREATE TABLE annotations (filename TEXT, imheight INTEGER, imwidth INTEGER,"
                " isdeleted INTEGER, isbackground INTEGER, imgareas TEXT)"
            )
            db.executemany("INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?)", entries)

    found = real_data._read_simanno(_source("simanno", real_data._read_simanno), tmp_path)
    assert {c.path: (c.source_split, c.boxes) for c in found} == {
        "train/a.jpg": ("train", [Box(10, 20, 50, 12)]),
        "train/half.jpg": ("train", [Box(20, 40, 100, 24)]),
        "val/b.png": ("valid", []),
    }


def _labelled(source: Source, name: str, *texts: str, source_split: str = "train") -> Candidate:
    c = Candidate(source, name, Path(name), source_split, [Box(0, 0, 10, 5)] * len(texts))
    c.texts = list(texts)
    return c


def test_a_later_batch_never_moves_a_plate_across_splits():
    first = _source("first", None)
    second = _source("second", None, batch=2)
    old = [_labelled(first, f"old{i}", f"OLD{i:03d}") for i in range(100)]
    real_data.assign_splits(old)
    pinned = {c.texts[0]: c.split for c in old}
    heldout_text = next(t for t, split in pinned.items() if split == "heldout")
    train_text = next(t for t, split in pinned.items() if split == "train")
    new = [
        _labelled(second, "seen-heldout", heldout_text),
        _labelled(second, "seen-train", train_text, "NEW999"),
        *(_labelled(second, f"new{i}", f"NEW{i:03d}") for i in range(100)),
    ]
    real_data.assign_splits(new, pinned)
    split_of = {c.path: c.split for c in new}
    assert split_of["seen-heldout"] == "heldout"
    assert split_of["seen-train"] == "train"
    fresh = [c for c in new if c.path.startswith("new")]
    share = sum(c.split == "heldout" for c in fresh) / len(fresh)
    assert 0.05 <= share <= 0.15  # the later batch's own plates get their own held-out share


def test_without_pins_the_split_is_as_before():
    first = _source("first", None)
    images = [_labelled(first, f"img{i}", f"TXT{i:03d}") for i in range(60)]
    again = [_labelled(first, f"img{i}", f"TXT{i:03d}") for i in range(60)]
    real_data.assign_splits(images)
    real_data.assign_splits(again, {})
    assert [c.split for c in images] == [c.split for c in again]


@pytest.mark.parametrize(
    ("text", "country", "valid"),
    [
        ("ABC1234", "BR", True),  # old grey plate
        ("ABC1D23", "BR", True),  # Mercosur
        ("AB1C234", "BR", False),
        ("ABCD123", "BR", False),
        ("7ABC123", "US", True),
        ("GOVOLS", "US", True),  # vanity
        ("A", "US", False),
        ("ABCDE12345", "US", False),
    ],
)
def test_brazilian_and_us_formats(text, country, valid):
    assert real_data.valid_text(text, country) == (valid, country)


def test_near_duplicates_by_difference_hash():
    base = int("f0" * 32, 16)
    earlier = [base]
    assert real_data._near_duplicate(f"{base ^ ((1 << 20) - 1):064x}", earlier)  # 20 bits off
    assert not real_data._near_duplicate(f"{base ^ ((1 << 60) - 1):064x}", earlier)
