"""The synthetic generator: valid registrations, true labels, reproducible datasets."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import synth_cmd
from edge.dataset import read_dataset
from edge.errors import UserError
from edge.plates.formats import (
    FORMATS,
    classify,
    display_text,
    random_foreign,
    random_registration,
)
from edge.synth import glyphs, looks
from edge.synth.generate import generate_dataset
from edge.synth.plate import render_plate
from edge.synth.plate_styles import random_style
from edge.synth.scene import Scene, render_crop, render_scene

# The DVLA rules written out independently of edge.plates.formats, as an oracle.
NO_IQ = "A-HJ-PR-Z"
NO_IQZ = "A-HJ-PR-Y"
YEAR_LETTER = "A-HJ-NPRSTV-Y"  # no I, O, Q, U, Z
NUMBER = "[1-9][0-9]{0,2}"
AGE = "(0[2-9]|1[0-9]|2[0-6]|5[1-9]|6[0-9]|7[0-6])"  # March 2002-2026, September 2001-2026
DVLA_RULES = {
    "gb-current": rf"[ABCDEFGHKLMNOPRSVWXY][{NO_IQZ}]{AGE}[{NO_IQ}]{{3}}",
    "gb-prefix": rf"[{YEAR_LETTER}]{NUMBER}[{NO_IQZ}]{{3}}",
    "gb-suffix": rf"[{NO_IQZ}]{{3}}{NUMBER}[{YEAR_LETTER}]",
    "gb-dateless": rf"[{NO_IQZ}]{{1,3}}[1-9][0-9]{{0,3}}|[1-9][0-9]{{0,3}}[{NO_IQZ}]{{1,3}}",
    "gb-ni": rf"[{NO_IQZ}]?(I[ABJLW]|[JOUX]I|[{NO_IQZ}]Z)[1-9][0-9]{{0,3}}",
}
SCENE_SIZE = (640, 480)
SCENE_PLATES = (12.0, 110.0)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_registrations_obey_their_format(fmt: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(400):
        registration = random_registration(rng, fmt)
        assert registration.format == fmt
        assert re.fullmatch(DVLA_RULES[fmt], registration.text), registration
        assert classify(registration.text) == fmt
        assert registration.display.replace(" ", "") == registration.text
        assert display_text(registration.text, fmt) == registration.display


def test_format_mix_follows_the_shares() -> None:
    rng = np.random.default_rng(2)
    formats = [random_registration(rng).format for _ in range(3000)]
    assert 0.65 < formats.count("gb-current") / len(formats) < 0.75
    assert set(formats) == set(FORMATS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AB12CDE", "gb-current"),
        ("A123BCD", "gb-prefix"),
        ("ABC123D", "gb-suffix"),
        ("A1", "gb-dateless"),
        ("1234AB", "gb-dateless"),
        ("ABZ1234", "gb-ni"),
        ("IA1", "gb-ni"),
        ("AB12CDEQ", None),
        ("IQ12ABC", None),
        ("A0BCD", None),
        ("AB01CDE", None),
        ("AB27CDE", None),
        ("AB12CDQ", None),
        ("ZA12BCD", None),
        ("I123ABC", None),
        ("ABC012D", None),
        ("ABC123U", None),
        ("AIG123", None),
        ("AB12 CDE", None),
        ("ab12cde", None),
        ("", None),
    ],
)
def test_classify(text: str, expected: str | None) -> None:
    assert classify(text) == expected


def test_display_text() -> None:
    assert display_text("AB12CDE", "gb-current") == "AB12 CDE"
    assert display_text("1234AB", "gb-dateless") == "1234 AB"
    assert display_text("LLL12", None) == "LLL12"
    with pytest.raises(ValueError, match="not a valid gb-prefix"):
        display_text("AB12CDE", "gb-prefix")


def test_foreign_registrations() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        registration = random_foreign(rng)
        assert registration.format is None
        assert re.fullmatch(r"[A-Z0-9]{5,8}", registration.text)
        assert registration.display.replace(" ", "") == registration.text


def test_uk_face_keeps_confusable_characters_apart() -> None:
    def shape(char: str) -> np.ndarray:
        return cv2.resize(glyphs.glyph_mask(glyphs.UK_FACE, char, 79), (50, 79)).astype(float)

    for a, b in ("B8", "S5", "Z2", "D0", "G6", "I1", "O0", "E3"):
        difference = np.abs(shape(a) - shape(b)).mean() / 255
        assert difference > 0.06, (a, b, difference)
    widths = {c: glyphs.glyph_mask(glyphs.UK_FACE, c, 79).shape[1] for c in "I1A"}
    assert widths["I"] < widths["1"] < widths["A"] == 50
    assert glyphs.FACES[0] == glyphs.UK_FACE and len(glyphs.FACES) > 1


def test_two_row_plates_read_row_one_then_row_two() -> None:
    rng = np.random.default_rng(4)
    registration = random_registration(rng, "gb-current")
    style = dataclasses.replace(
        random_style(rng, registration), design="uk-square", size_mm=(279.0, 203.0)
    )
    plate = render_plate(rng, registration, 203, style)
    first, second = registration.display.split(" ")
    rows = [box[1] for box in plate.char_boxes]
    assert rows == [rows[0]] * len(first) + [rows[-1]] * len(second)
    assert rows[-1] > rows[0] + plate.char_boxes[0][3]  # the second row lies below the first


def _scenes(count: int, **options) -> list:
    return [
        render_scene(
            np.random.default_rng([11, i]), SCENE_SIZE, plate_height=SCENE_PLATES, **options
        )
        for i in range(count)
    ]


def test_scene_boxes_lie_inside_and_apart() -> None:
    scenes = _scenes(24)
    assert sum(not scene.plates for scene in scenes) < 8  # ~10% negatives
    for scene in scenes:
        assert scene.image.shape == (480, 640, 3) and scene.image.dtype == np.uint8
        for plate in scene.plates:
            x, y, w, h = plate.box
            assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= 640 and y + h <= 480
            assert re.fullmatch(r"[A-Z0-9]{2,8}", plate.text)
            assert plate.country == ("GB" if plate.format else "")
        boxes = [p.box for p in scene.plates]
        for i, (ax, ay, aw, ah) in enumerate(boxes):
            for bx, by, bw, bh in boxes[i + 1 :]:
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay


def scene_with_and_without_plates(seed: int) -> tuple[Scene, Scene]:
    """One day scene drawn twice from the same seed: with its plates and without."""
    with_plates, without = (
        render_scene(
            np.random.default_rng([5, seed]),
            SCENE_SIZE,
            plate_height=SCENE_PLATES,
            look="day",
            draw_plates=draw,
        )
        for draw in (True, False)
    )
    return with_plates, without


def test_labels_match_pixels() -> None:
    """The same scene with and without its plates differs inside the labelled boxes only, and
    over most of each box: a box that is offset, too large or too small fails."""
    checked = 0
    for seed in range(10):
        with_plates, without = scene_with_and_without_plates(seed)
        difference = cv2.absdiff(with_plates.image, without.image).max(axis=2).astype(np.float64)
        near_plates = np.zeros(difference.shape, bool)
        for plate in with_plates.plates:
            x, y, w, h = plate.box
            near_plates[max(0, y - 14) : y + h + 14, max(0, x - 14) : x + w + 14] = True
            changed = difference[y : y + h, x : x + w] > 12
            assert changed.mean() > 0.35, plate
            rows, cols = np.nonzero(changed)
            assert rows.min() <= 0.2 * h and rows.max() >= 0.8 * h, plate
            assert cols.min() <= 0.2 * w and cols.max() >= 0.8 * w, plate
            checked += 1
        if with_plates.plates:  # blur and JPEG blocks may spread a change a few pixels
            assert difference[~near_plates].sum() <= 0.03 * difference.sum()
        else:
            assert difference.sum() == 0
    assert checked >= 8


def test_label_boxes_are_tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without blur, noise and JPEG, the changed pixels span each box to within a pixel."""
    sharp = looks.Degradation(1.0, 1.0, 0.0, 0.0, 0.0, 0.0, False, None)
    monkeypatch.setattr(looks, "random_degradation", lambda *_args: sharp)
    checked = 0
    for seed in range(10):
        with_plates, without = scene_with_and_without_plates(seed)
        changed = cv2.absdiff(with_plates.image, without.image).max(axis=2) > 0
        for plate in with_plates.plates:
            x, y, w, h = plate.box
            near = changed[max(0, y - 8) : y + h + 8, max(0, x - 8) : x + w + 8]
            rows, cols = np.nonzero(near)
            left, top = cols.min() + max(0, x - 8), rows.min() + max(0, y - 8)
            right, bottom = cols.max() + max(0, x - 8) + 1, rows.max() + max(0, y - 8) + 1
            assert abs(left - x) <= 1 and abs(right - (x + w)) <= 1, plate
            assert abs(top - y) <= 1 and abs(bottom - (y + h)) <= 1, plate
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("region", ["gb", "foreign"])
def test_region_selects_plate_designs(region: str) -> None:
    plates = [p for scene in _scenes(6, region=region) for p in scene.plates]
    plates += [render_crop(np.random.default_rng([6, i]), region=region) for i in range(10)]
    assert plates
    assert all((p.format is not None) == (region == "gb") for p in plates)


@pytest.mark.parametrize("look", ["ir", "night"])
def test_looks(look: str) -> None:
    for scene in _scenes(3, look=look):
        channels = scene.image.astype(int)
        spread = np.abs(channels[:, :, 0] - channels[:, :, 2]).mean()
        if look == "ir":
            assert spread == 0  # monochrome, stored as three equal channels
        else:
            assert scene.image.mean() < 90  # night is dark


def test_crops_are_plates_with_a_jittered_box() -> None:
    for i in range(30):
        crop = render_crop(np.random.default_rng([8, i]))
        height, width = crop.image.shape[:2]
        x, y, w, h = crop.box
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height and w > 0 and h > 0
        assert 0.6 * height <= h <= height  # padding is at most 20% a side, jitter 10%
        assert re.fullmatch(r"[A-Z0-9]{2,8}", crop.text)


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_generation_is_reproducible(tmp_path: Path) -> None:
    options = {"size": (320, 240), "plate_height": (12.0, 60.0)}
    generate_dataset(tmp_path / "a", 5, seed=3, **options)
    generate_dataset(tmp_path / "b", 5, seed=3, **options)
    generate_dataset(tmp_path / "c", 5, seed=4, **options)
    first, again, other = (_files(tmp_path / name) for name in "abc")
    assert first == again
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first if name.endswith(".jpg"))


def test_crops_mode_writes_labelled_crops(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "crops", 6, seed=9, mode="crops", region="gb")
    dataset = read_dataset(tmp_path / "crops")
    assert [image.file for image in dataset.images] == [f"crop_{i:06d}.png" for i in range(6)]
    for image in dataset.images:
        (plate,) = image.plates
        assert classify(plate.text) is not None and plate.country == "GB"
        assert cv2.imread(str(dataset.path(image))) is not None
    again = tmp_path / "again"
    generate_dataset(again, 6, seed=9, mode="crops", region="gb")
    assert _files(again) == _files(tmp_path / "crops")


def _run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    synth_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["synth", *argv])
    return args.handler(args)


def test_cli_writes_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scenes"
    assert (
        _run_cli(
            "--out",
            str(out),
            "--count",
            "3",
            "--seed",
            "7",
            "--size",
            "320x240",
            "--look",
            "ir",
            "--plate-height",
            "12-60",
        )
        == 0
    )
    assert len(read_dataset(out).images) == 3
    assert re.fullmatch(
        rf"wrote 3 scenes to {re.escape(str(out))} in \d+\.\d s\n", capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--size", "640by480"), "--size: '640by480' is not of the form 640x480"),
        (("--plate-height", "12"), "--plate-height: '12' is not of the form 12-120"),
        (("--plate-height", "90-20"), "8 <= min <= max"),
        (("--count", "0"), "count must be at least 1"),
        (("--seed", "-1"), "seed must be 0 or more"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    base = {"--out": str(tmp_path / "out"), "--count": "2", "--seed": "1"}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    with pytest.raises(UserError, match=re.escape(message)):
        _run_cli(*[item for pair in base.items() for item in pair])
    assert not (tmp_path / "out").exists()


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(UserError, match="not empty"):
        generate_dataset(tmp_path, 1, seed=0, size=(320, 240))
