"""Bad frames and image files: any size, odd arrays, wrong dtypes, corrupt files and files that
claim huge or zero dimensions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import UserError
from edge.vision.detector import Detector
from edge.vision.evaluate import load_image
from edge.vision.reader import PlateReader
from edge.vision.recogniser import Recogniser
from tests.support.bad_input import CASES, examples

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(Detector(threads=1), Recogniser(threads=1), region="gb")


@examples(ci=8, long=60)
@given(
    height=st.integers(1, 700),
    width=st.integers(1, 900),
    channels=st.sampled_from([None, 1, 3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_size_of_uint8_frame_reads(reader, height, width, channels, seed):
    CASES["image"] += 1
    shape = (height, width) if channels is None else (height, width, channels)
    image = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    for result in reader.read(image):
        assert result.text.text
    assert isinstance(reader.recogniser.read(image).text, str)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((1, 20000, 3), np.uint8), id="very-wide"),
        pytest.param(np.zeros((8000, 2, 3), np.uint8), id="very-tall"),
        pytest.param(np.zeros((50, 50, 4), np.uint8), id="bgra"),
        *[
            pytest.param(
                image,
                id=name,
            )
            for name, image, error, raises in [
                (
                    "zero-size",
                    np.zeros((0, 0, 3), np.uint8),
                    "cv2.error (!_src.empty())",
                    cv2.error,
                ),
                (
                    "zero-width",
                    np.zeros((10, 0, 3), np.uint8),
                    "cv2.error (!_src.empty())",
                    cv2.error,
                ),
                (
                    "2-channel",
                    np.zeros((50, 50, 2), np.uint8),
                    "cv2.error (bad channels)",
                    cv2.error,
                ),
                ("bool", np.zeros((50, 50), bool), "cv2.error (resize func != 0)", cv2.error),
                (
                    "1-d",
                    np.zeros(50, np.uint8),
                    "ValueError (not enough values to unpack)",
                    ValueError,
                ),
            ]
        ],
    ],
)
def test_odd_frames_to_the_reader(reader, image):
    CASES["image"] += 1
    try:
        results = reader.read(image)
    except UserError:
        return
    assert isinstance(results, list)


@pytest.mark.parametrize(
    "dtype",
    [
        pytest.param(
            dtype,
            id=np.dtype(dtype).name,
        )
        for dtype, error, raises in [
            (np.float32, "TypeError (np.bincount: cannot cast float32 to int64)", TypeError),
            (
                np.uint16,
                "ValueError from the interpreter (UINT16, expected UINT8) when flat",
                ValueError,
            ),
        ]
    ],
)
def test_wrong_dtype_crops_to_the_recogniser(reader, dtype):
    """A crop of another dtype than uint8: a UserError, or a reading."""
    CASES["image"] += 1
    crop = np.full((48, 160, 3), 128, dtype)  # flat: passed on without the uint8 stretch
    try:
        text = reader.recogniser.read(crop).text
    except UserError:
        return
    assert isinstance(text, str)


def a_jpeg() -> bytes:
    image = np.random.default_rng(3).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


@examples(ci=20, long=300)
@given(
    how=st.sampled_from(["random", "truncated", "flipped", "empty"]),
    data=st.binary(max_size=400),
    where=st.floats(0, 1, exclude_max=True),
)
def test_corrupt_image_files(tmp_path, how, data, where):
    CASES["image file"] += 1
    jpeg = a_jpeg()
    cut = int(len(jpeg) * where)
    content = {
        "random": data,
        "truncated": jpeg[:cut],
        "flipped": jpeg[:cut] + bytes([jpeg[cut] ^ 0xFF]) + jpeg[cut + 1 :],
        "empty": b"",
    }[how]
    path = tmp_path / "frame.jpg"
    path.write_bytes(content)
    try:
        image = load_image(path)
    except UserError as error:
        assert str(path) in str(error)
        return
    assert image.ndim == 3 and image.shape[2] == 3 and image.size > 0


@pytest.mark.parametrize(("width", "height"), [(65500, 65500), (1, 60000), (0, 10)])
def test_image_files_claiming_huge_or_zero_dimensions(tmp_path, width, height):
    """A PNG header claiming a huge (or zero) size, with no pixel data behind it."""
    import struct
    import zlib

    CASES["image file"] += 1
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
    png += struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    path = tmp_path / "huge.png"
    path.write_bytes(png)
    # over 50 megapixels: refused from the header, before any decoding (edge.vision.image_files)
    expected = "declares" if width * height > 50_000_000 else "not a readable image"
    with pytest.raises(UserError, match=f"{path}: {expected}"):
        load_image(path)
