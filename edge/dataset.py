"""Labelled image datasets (DESIGN.md §1): a folder of images and `labels.csv`.

One row per plate (`file,plate_text,x,y,w,h,country`); an image with no row is a negative. The
reader checks everything a later stage would trip over and says where: the file, the line and
the field. The writer encodes by file extension: `.png` is lossless (crops for the recogniser,
where every pixel is signal) and `.jpg` is JPEG at a fixed quality of 95 (scenes: several times
smaller than PNG, visually lossless, and libjpeg's output is deterministic, so a seed still
gives the same bytes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType

import cv2
import numpy as np

from edge.errors import UserError

LABELS_FILE = "labels.csv"
HEADER = ("file", "plate_text", "x", "y", "w", "h", "country")
REQUIRED_COLUMNS = ("file", "plate_text", "x", "y", "w", "h")  # country may be left out
IMAGE_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".png")
JPEG_QUALITY = 95
PNG_COMPRESSION = 3  # zlib level: close to the smallest files at a fraction of level 9's time
_PLATE_TEXT = re.compile(r"[A-Z0-9]*")
_COUNTRY = re.compile(r"([A-Z]{2})?")

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class LabelledPlate:
    text: str  # A-Z0-9, or "" when the plate is boxed but unreadable
    box: Box  # x, y, w, h in pixels
    country: str  # ISO 3166 alpha-2, or ""


@dataclass(frozen=True)
class ImageLabels:
    file: str  # relative to the dataset folder, with forward slashes
    plates: tuple[LabelledPlate, ...]  # empty for a negative


@dataclass(frozen=True)
class Dataset:
    folder: Path
    images: tuple[ImageLabels, ...]  # sorted by file

    def path(self, image: ImageLabels) -> Path:
        return self.folder / image.file


def _image_files(folder: Path) -> list[str]:
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
    )


def read_dataset(folder: str | Path) -> Dataset:
    """Read and check a dataset; raises UserError naming the file, line and field at fault."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"dataset folder {folder} does not exist or is not a folder")
    images = _image_files(folder)
    labels_path = folder / LABELS_FILE
    if not images and not labels_path.exists():
        raise UserError(f"dataset folder {folder} is empty: no images and no {LABELS_FILE}")
    if not labels_path.is_file():
        raise UserError(f"{labels_path} is missing (every dataset needs it, even with no rows)")
    plates: dict[str, list[LabelledPlate]] = {name: [] for name in images}
    for file, plate in _read_rows(labels_path, set(images)):
        plates[file].append(plate)
    if not images:
        raise UserError(f"dataset folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return Dataset(folder, tuple(ImageLabels(name, tuple(plates[name])) for name in images))


def _read_rows(labels_path: Path, images: set[str]) -> Iterable[tuple[str, LabelledPlate]]:
    try:
        text = labels_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{labels_path}: cannot be read as UTF-8 text ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise UserError(
            f"{labels_path} line 1: missing column {', '.join(missing)} "
            f"(the header is {','.join(HEADER)})"
        )
    for row in reader:
        where = f"{labels_path} line {reader.line_num}"
        yield _parse_row(row, where, images)


def _parse_row(
    row: dict[str, str | None], where: str, images: set[str]
) -> tuple[str, LabelledPlate]:
    def field(name: str) -> str:
        return (row.get(name) or "").strip()

    file = field("file")
    if not file:
        raise UserError(f"{where}, field file: empty")
    if PurePosixPath(file).is_absolute() or ".." in PurePosixPath(file).parts:
        raise UserError(f"{where}, field file: {file!r} must be a path inside the dataset folder")
    if file not in images:
        raise UserError(f"{where}, field file: {file!r} is not an image in the dataset folder")
    text = field("plate_text")
    if not _PLATE_TEXT.fullmatch(text):
        raise UserError(
            f"{where}, field plate_text: {text!r} must hold only A-Z and 0-9 (no spaces)"
        )
    numbers = []
    for name in ("x", "y", "w", "h"):
        value = field(name)
        try:
            number = int(value)
        except ValueError:
            raise UserError(f"{where}, field {name}: {value!r} is not an integer") from None
        if name in ("w", "h") and number <= 0:
            raise UserError(f"{where}, field {name}: {number} must be positive")
        numbers.append(number)
    # Hand-drawn boxes may start a pixel or two outside the frame (real-dev has x = -1); a box
    # that does not reach into the image at all is a mistake.
    for name, start, size in (("x", numbers[0], numbers[2]), ("y", numbers[1], numbers[3])):
        if start + size <= 0:
            raise UserError(f"{where}, field {name}: {start} puts the box outside the image")
    country = field("country")
    if not _COUNTRY.fullmatch(country):
        raise UserError(f"{where}, field country: {country!r} must be two letters A-Z or empty")
    x, y, w, h = numbers
    return file, LabelledPlate(text, (x, y, w, h), country)


class DatasetWriter:
    """Write images as they come and `labels.csv` at the end.

    The labels file is written last, so an interrupted run leaves a folder that `read_dataset`
    refuses rather than one whose labels name images that were never written.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._rows: list[tuple[str, ...]] = []

    def add(self, file: str, image: np.ndarray, plates: Sequence[LabelledPlate]) -> None:
        suffix = PurePosixPath(file).suffix.lower()
        if suffix in (".jpg", ".jpeg"):
            ok, encoded = cv2.imencode(suffix, image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        elif suffix == ".png":
            ok, encoded = cv2.imencode(
                ".png", image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]
            )
        else:
            raise ValueError(f"{file}: write .jpg or .png images, not {suffix or 'no extension'}")
        if not ok:
            raise RuntimeError(f"{file}: OpenCV could not encode the image")
        target = self.folder / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encoded.tobytes())
        for plate in plates:
            if not _PLATE_TEXT.fullmatch(plate.text):
                raise ValueError(f"{file}: plate text {plate.text!r} is not A-Z0-9")
            x, y, w, h = plate.box
            self._rows.append((file, plate.text, str(x), str(y), str(w), str(h), plate.country))

    def close(self) -> None:
        with open(self.folder / LABELS_FILE, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(self._rows)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


def write_dataset(
    folder: str | Path, items: Iterable[tuple[str, np.ndarray, Sequence[LabelledPlate]]]
) -> None:
    """Write (file name, BGR image, plates) items as a dataset in `folder`."""
    with DatasetWriter(folder) as writer:
        for file, image, plates in items:
            writer.add(file, image, plates)
