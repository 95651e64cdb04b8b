"""Build the real training set (issue 13, part 1) from public repositories, reproducibly.

    python -m training.real_data build --out /work/data/real-train
    python -m training.real_data build --out /tmp/rt --sources romania   # one source only
    python -m training.real_data sources                                 # what it reads

Every source is a repository snapshot brought to this machine by the search tool's `fetch`
(a bare git directory under /work/.mirror/OWNER+NAME/repo) and read at a pinned commit, never
at whatever the snapshot's HEAD is. For each image the builder:

1. takes the plate boxes from the source's human annotations (COCO or Pascal VOC);
2. hashes it with ../shared/tools/reserved_check.py (`--hash` for the manifest's dhash, then the
   tool's own check) and DROPS every image reserved for independent evaluation;
3. reads each box's text with the teacher (PP-OCRv6 small from the `rapidocr` wheel, on the box
   plus 10 % per side; a box narrower than 1.6 × its height is a two-row plate and is cut into
   its top and bottom halves first, as edge.vision.recogniser does) and keeps a text only when
   every kept character has p >= 0.9 and the text is valid for a country's format;
4. splits by plate, not by image: images that share a plate text (or, for video sources, come
   from one stretch of one video) form a group; whole groups, in the order of a hash of their
   texts, go to `heldout` until it holds about 10 % of the distinct plate texts; a source's own
   `valid` split is kept only where it cannot share plates with its train split (Open Images);
5. writes a DESIGN §1 dataset per split under --out (`train/`, `valid/`, `heldout/`, each with
   `labels.csv`; images copied byte for byte), a contact sheet of the UK-format crops with
   their teacher texts for a person to check, build-report.json with the counts, and the
   manifest training/data/real-train.csv (committed: no image, annotation or code of a source).

Needs the `train` extra's rapidocr (and onnxruntime), OpenCV and Pillow; nothing from the network.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.dataset import HEADER, IMAGE_EXTENSIONS, read_dataset
from edge.plates.formats import classify, display_text
from edge.vision.recogniser import TWO_ROW_ASPECT

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "training" / "data" / "real-train.csv"
MIRROR_ROOT = Path("/work/.mirror")
RESERVED_CHECK = REPO_ROOT.parent / "shared" / "tools" / "reserved_check.py"
CACHE = Path("/work/data/sources")

# Licences under which a shipped (closed) model may be trained (issue 13): SPDX identifiers.
ALLOWED_LICENCES = frozenset(
    {"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "CC0-1.0", "CC-BY-2.0", "CC-BY-4.0"}
)
MANIFEST_COLUMNS = (
    "file",  # path in the built dataset folder (split/source/name)
    "source",  # owner/name@commit
    "path",  # path of the image in the source snapshot
    "sha256",  # of the image bytes (copied unchanged)
    "dhash",  # reserved_check.py --hash
    "licence",  # SPDX expression; "A AND B": annotations under A, image under B
    "origin",  # where the photo itself comes from, for attribution (e.g. openimages:ID)
    "source_split",
    "split",  # train / valid / heldout
    "boxes",  # x,y,w,h per plate, ';'-separated
    "plate_text",  # per plate, ';'-separated, aligned with boxes; empty = unread
    "text_source",  # per plate: teacher / human / file name, or empty
    "teacher_confidence",  # per plate: the lowest character probability of the teacher's read
    "country",  # per plate: ISO 3166 alpha-2 where the source or the format says, else empty
)

TEACHER_MODEL = "PP-OCRv6_rec_small.onnx"
TEACHER_MIN_CHAR_PROB = 0.9  # NOTES, turn 2: 97 % exact on real BR crops at this level
TEACHER_MIN_BOX_HEIGHT = 8  # pixels: below this no character can be read
MARGIN = 0.10  # of the box, per side, as the recogniser's crops
HELDOUT_PERCENT = 10
VIDEO_GAP_S = 5.0  # frames of one video closer than this (s) belong to one group (same cars)
# A later batch's image within this many bits (of 256) of an earlier image's difference hash is
# a copy of it (reserved_check.py's threshold: copies measured 9-20 bits apart, other photos 60+).
NEAR_DUPLICATE_BITS = 32
# The teacher writes separators and spaces between character groups; they are not characters.
SEPARATORS = frozenset(" -.·:•_")
_ALNUM = re.compile(r"[A-Z0-9]+")


# ---------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


@dataclass
class Candidate:
    """One image of a source, with its human boxes, before checks."""

    source: Source
    path: str  # in the snapshot
    local: Path  # extracted copy
    source_split: str
    boxes: list[Box]
    group: str = ""  # extra grouping key for the split (e.g. a video stretch)
    origin: str = ""
    sha256: str = ""
    dhash: str = ""
    texts: list[str] = field(default_factory=list)
    text_sources: list[str] = field(default_factory=list)
    confidences: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    split: str = ""
    file: str = ""


@dataclass(frozen=True)
class Source:
    key: str  # short name, also the folder in the built dataset
    repo: str  # owner/name
    commit: str
    licence: str  # SPDX expression
    # (path in the snapshot, text that must appear in it): the licence as the snapshot states it
    licence_evidence: tuple[tuple[str, str], ...]
    paths: tuple[str, ...]  # what to extract
    read: Callable[[Source, Path], list[Candidate]]
    country: str = ""  # where every plate of the source is from, if known
    valid_is_independent: bool = False  # the source's valid split shares no plates with train
    description: str = ""
    # Sources are added in batches; an earlier batch's images keep the splits and texts they had
    # when it was built alone (see assign_splits), and a later batch drops its copies of them.
    batch: int = 1

    @property
    def ref(self) -> str:
        return f"{self.repo}@{self.commit}"

    @property
    def mirror(self) -> Path:
        return MIRROR_ROOT / self.repo.replace("/", "+") / "repo"


def _read_coco(source: Source, root: Path) -> list[Candidate]:
    """Roboflow COCO exports: LP_Detection/{train,valid}/_annotations.coco.json. Images in the
    folders but not in the JSON have no annotation at all (not negatives) and are left out."""
    found = []
    for split in ("train", "valid"):
        folder = f"LP_Detection/{split}"
        coco = json.loads((root / folder / "_annotations.coco.json").read_text())
        plates = {c["id"] for c in coco["categories"] if c["supercategory"] != "none"}
        boxes: dict[int, list[Box]] = {}
        for a in coco["annotations"]:
            if a["category_id"] in plates:
                x, y, w, h = a["bbox"]
                boxes.setdefault(a["image_id"], []).append(_box(x, y, x + w, y + h))
        for image in coco["images"]:
            name = image["file_name"]
            found.append(
                Candidate(
                    source,
                    f"{folder}/{name}",
                    root / folder / name,
                    split,
                    [b for b in boxes.get(image["id"], []) if b.w > 0 and b.h > 0],
                    # Roboflow keeps the Open Images ID as the name's first part
                    origin=f"openimages:{name.split('_jpg')[0]}",
                )
            )
    return found


def _read_voc_video(source: Source, root: Path) -> list[Candidate]:
    """VoTT Pascal VOC exports of dashcam videos: dataset/{train,valid}/{images,annots}, frames
    named VIDEO.mp4#t=SECONDS.jpg. Consecutive frames show the same cars, so frames of one video
    less than VIDEO_GAP_S apart share a group."""
    found = []
    for split in ("train", "valid"):
        for xml_path in sorted((root / "dataset" / split / "annots").glob("*.xml")):
            tree = ET.parse(xml_path)
            name = tree.findtext("filename") or xml_path.with_suffix(".jpg").name
            boxes = []
            for obj in tree.iter("object"):
                b = obj.find("bndbox")
                if b is None:
                    continue
                x0, y0, x1, y1 = (
                    float(b.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")
                )
                box = _box(x0, y0, x1, y1)
                if box.w > 0 and box.h > 0:
                    boxes.append(box)
            image = root / "dataset" / split / "images" / name
            found.append(Candidate(source, f"dataset/{split}/images/{name}", image, split, boxes))
    # group by video stretch, over both splits (the source split frames of one ride at random)
    by_video: dict[str, list[tuple[float, Candidate]]] = {}
    for c in found:
        video, _, t = Path(c.path).stem.partition("#t=")
        by_video.setdefault(video, []).append((float(t or 0), c))
    for video, frames in by_video.items():
        frames.sort(key=lambda item: item[0])
        stretch, last = 0, -math.inf
        for t, c in frames:
            if t - last > VIDEO_GAP_S:
                stretch += 1
            last = t
            c.group = f"{video}#{stretch}"
    return found


IMAGE_SUFFIXES = frozenset(IMAGE_EXTENSIONS)  # what a DESIGN §1 dataset may hold
_OPEN_IMAGES_ID = re.compile(r"([0-9a-f]{16})_jpg")


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as OpenCV decodes the file (EXIF orientation applied), from the header."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated by 90 degrees
                width, height = height, width
    except OSError:
        return None
    return width, height


def yolo_export(
    base: str, plate_classes: frozenset[int] | None = None
) -> Callable[[Source, Path], list[Candidate]]:
    """A reader of a Roboflow YOLO export: BASE/{train,valid,test}/{images,labels}, one NAME.txt
    per image of `class xc yc w h` lines normalised to the image (or a polygon's points, in a
    segmentation export); the classes that are plates are `plate_classes` (None: all). An image
    whose label file has no plate is a negative; an image without a label file is unannotated
    and left out. Roboflow names a
    photo NAME_ext.rf.HASH.jpg, its augmented copies alike: they share a group, so that copies of
    one photo never straddle splits; an Open Images ID at the front of NAME is the origin."""

    def read(source: Source, root: Path) -> list[Candidate]:
        found = []
        for split in ("train", "valid", "test"):
            folder = root / base / split
            if not (folder / "images").is_dir():
                continue
            for image in sorted((folder / "images").iterdir()):
                label = folder / "labels" / f"{image.stem}.txt"
                if image.suffix.lower() not in IMAGE_SUFFIXES or not label.exists():
                    continue
                size = _image_size(image)
                if size is None:
                    continue
                width, height = size
                boxes = []
                for line in label.read_text().splitlines():
                    if not line.split():
                        continue
                    if plate_classes is not None and int(line.split()[0]) not in plate_classes:
                        continue
                    values = [float(v) for v in line.split()[1:]]
                    if len(values) == 4:
                        xc, yc, w, h = values
                        x0, y0, x1, y1 = xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2
                    elif len(values) >= 6 and len(values) % 2 == 0:
                        x0, x1 = min(values[0::2]), max(values[0::2])
                        y0, y1 = min(values[1::2]), max(values[1::2])
                    else:
                        continue
                    x0, x1 = max(0.0, x0) * width, min(1.0, x1) * width
                    y0, y1 = max(0.0, y0) * height, min(1.0, y1) * height
                    box = _box(x0, y0, x1, y1)
                    if box.w > 0 and box.h > 0:
                        boxes.append(box)
                stem = image.name.split(".rf.")[0]
                opened = _OPEN_IMAGES_ID.fullmatch(stem)
                found.append(
                    Candidate(
                        source,
                        f"{base}/{split}/images/{image.name}",
                        image,
                        split,
                        boxes,
                        group=stem,
                        origin=f"openimages:{opened.group(1)}" if opened else "",
                    )
                )
        return found

    return read


def _read_simanno(source: Source, root: Path) -> list[Candidate]:
    """simanno (the OpenLPR project's annotation tool) SQLite databases: train.db for train/,
    val.db for val/; table `annotations`: filename, imheight, imwidth, isdeleted, isbackground,
    imgareas (a JSON list of {x, y, width, height, lbltxt} in the image's pixels). Deleted rows
    are left out; a background image has no plate (a negative). A box drawn on an image of
    another size than the file's is scaled when the aspect ratio agrees, else the image is left
    out (its orientation is uncertain), as is a file without an image's name."""
    import sqlite3
    from contextlib import closing

    found = []
    for database, folder, split in (("train.db", "train", "train"), ("val.db", "val", "valid")):
        uri = f"file:{root / database}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute(
                "SELECT filename, imwidth, imheight, isbackground, imgareas FROM annotations"
                " WHERE isdeleted = 0 ORDER BY filename"
            ).fetchall()
        for name, width, height, background, areas in rows:
            image = root / folder / name
            if image.suffix.lower() not in IMAGE_SUFFIXES:
                continue  # e.g. an image saved as .bin: a dataset folder holds no such file
            size = _image_size(image) if image.exists() else None
            if size is None or not width or not height:
                continue  # not in the snapshot (files of 4 MiB and more are not brought)
            sx, sy = size[0] / width, size[1] / height
            if abs(sx - sy) > 0.01 * max(sx, sy):
                continue
            boxes = []
            for area in [] if background else json.loads(areas or "[]"):
                if area.get("lbltxt", "plate") != "plate":
                    continue
                x, y = float(area["x"]) * sx, float(area["y"]) * sy
                w, h = float(area["width"]) * sx, float(area["height"]) * sy
                box = _box(max(0.0, x), max(0.0, y), min(size[0], x + w), min(size[1], y + h))
                if box.w > 0 and box.h > 0:
                    boxes.append(box)
            found.append(Candidate(source, f"{folder}/{name}", image, split, boxes))
    return found


def _box(x0: float, y0: float, x1: float, y1: float) -> Box:
    left, top = round(x0), round(y0)
    return Box(left, top, round(x1) - left, round(y1) - top)


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="openimages",
            repo="unknowncz/LP_recognition",
            commit="ecd25180ff577a39e4cf06cabb123771d503422c",
            licence="CC-BY-4.0 AND CC-BY-2.0",
            licence_evidence=(
                ("LP_Detection/README.dataset.txt", "License: CC BY 4.0"),
                (
                    "LP_Detection/train/_annotations.coco.json",
                    "creativecommons.org/licenses/by/4.0",
                ),
            ),
            paths=("LP_Detection/README.dataset.txt", "LP_Detection/train", "LP_Detection/valid"),
            read=_read_coco,
            valid_is_independent=True,
            description=(
                "Roboflow 'Google Licence Plates' v2: Open Images photos (CC BY 2.0, each by its "
                "Flickr author) with plate boxes (CC BY 4.0); mixed countries"
            ),
        ),
        Source(
            key="romania",
            repo="RobertLucian/license-plate-dataset",
            commit="f00f309e4564e7f386fd7641569d861e2910d65f",
            licence="MIT",
            licence_evidence=(("LICENSE", "MIT License"),),
            paths=("LICENSE", "README.md", "dataset"),
            read=_read_voc_video,
            country="RO",
            description="534 Romanian dashcam frames (day and night) with VOC plate boxes",
        ),
        # Batch 2 (2026-12-03): sources found for more real photos; each drops its copies of
        # earlier images (same Open Images ID, or a difference hash within
        # NEAR_DUPLICATE_BITS of one).
        Source(
            key="openlpr",
            repo="faisalthaheem/open-lpr-dataset-plate-detection",
            commit="7251620bb3405a230eea1516a361dd7367818b88",
            licence="Apache-2.0",
            licence_evidence=(
                ("LICENSE", "Apache License"),
                ("LICENSE", "Version 2.0, January 2004"),
            ),
            paths=("LICENSE", "README.md", "train.db", "val.db", "train", "val"),
            read=_read_simanno,
            description=(
                "OpenLPR plate-detection set: ~2,600 photos of cars (mixed countries: UK, "
                "Gulf states, South and South-East Asia, Australia, ...) with reviewed plate "
                "boxes in simanno SQLite databases"
            ),
            batch=2,
        ),
        Source(
            key="openimages-f8vsn",
            repo="TechKhid/LicensePlateDetection",
            commit="3cfcd736d880bb2abe7fddab3d26b73cab1c0f01",
            licence="CC-BY-4.0 AND CC-BY-2.0",
            licence_evidence=(
                ("Lp/README.dataset.txt", "License: CC BY 4.0"),
                ("Lp/README.dataset.txt", "The images have a [CC BY 2.0]"),
                ("Lp/data.yaml", "license: CC BY 4.0"),
            ),
            paths=("Lp",),
            read=yolo_export("Lp", plate_classes=frozenset({0})),  # class 1 is 'vehicle'
            description=(
                "Roboflow 'License Plates' (samrat-sahoo/license-plates-f8vsn v3): 350 Open "
                "Images photos (CC BY 2.0, each by its Flickr author), stretched to 416x416, "
                "with plate boxes (CC BY 4.0); those already in the first source are dropped"
            ),
            batch=2,
        ),
        Source(
            key="br-mercosul",
            repo="robifal/Yolo-placa-v2",
            commit="4aab22ec978cba435ba52fa9455c7792ff3fd42e",
            licence="CC-BY-4.0",
            licence_evidence=(
                ("Placas-dec 2.v1i.yolov11/README.dataset.txt", "License: CC BY 4.0"),
                ("Placas-dec 2.v1i.yolov11/data.yaml", "license: CC BY 4.0"),
            ),
            paths=(
                "Placas-dec 2.v1i.yolov11/README.dataset.txt",
                "Placas-dec 2.v1i.yolov11/README.roboflow.txt",
                "Placas-dec 2.v1i.yolov11/data.yaml",
                "Placas-dec 2.v1i.yolov11/train",
            ),
            read=yolo_export("Placas-dec 2.v1i.yolov11"),  # car and motorcycle plates
            country="BR",
            description=(
                "Roboflow 'Placas-dec 2' (teste-de-placas/placas-dec-2 v1): 442 Brazilian "
                "images stretched to 640x640, frames of a motorcycle ride video and close-ups "
                "of old grey and Mercosur plates, car and motorcycle plate boxes"
            ),
            batch=2,
        ),
        Source(
            key="rxg4e-sample",
            repo="RenanBjj/Python-AI-Yolo-License-Plate-Detector",
            commit="e15727de851b1bf592fbdcdae83db6c201a164f8",
            licence="CC-BY-4.0",
            licence_evidence=(
                ("dataset_placas/README.roboflow.txt", "License: CC BY 4.0"),
                ("dataset_placas/data.yaml", "license: CC BY 4.0"),
            ),
            paths=("dataset_placas",),
            read=yolo_export("dataset_placas"),
            description=(
                "50 photos of Roboflow 'License Plate Recognition' (roboflow-universe-projects/"
                "license-plate-recognition-rxg4e v8) with plate boxes; mixed countries"
            ),
            batch=2,
        ),
    )
}


def extract(source: Source, cache: Path) -> Path:
    """The source's files at its pinned commit, extracted once into the cache."""
    if not (source.mirror / "HEAD").exists():
        raise SystemExit(
            f"{source.repo}: no snapshot at {source.mirror}; bring it with the search tool's "
            f"fetch (github:{source.repo}), then run again"
        )
    check = subprocess.run(
        ["git", f"--git-dir={source.mirror}", "cat-file", "-e", f"{source.commit}^{{commit}}"],
        capture_output=True,
    )
    if check.returncode != 0:
        raise SystemExit(f"{source.repo}: the snapshot lacks commit {source.commit}")
    root = cache / f"{source.repo.replace('/', '+')}@{source.commit}"
    done = root / ".extracted"
    if not done.exists():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        archive = subprocess.run(
            ["git", f"--git-dir={source.mirror}", "archive", source.commit, *source.paths],
            capture_output=True,
        )
        if archive.returncode == 0:
            archives = [archive.stdout]
        else:
            # A snapshot lacks files of 4 MiB and more: archive what it has, name the rest.
            present, missing = _snapshot_files(source)
            (root / ".missing").write_text("".join(f"{path}\n" for path in missing))
            archives = [
                subprocess.run(
                    ["git", f"--git-dir={source.mirror}", "archive", source.commit, "--", *chunk],
                    capture_output=True,
                    check=True,
                ).stdout
                for chunk in (present[i : i + 500] for i in range(0, len(present), 500))
            ]
        for data in archives:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(root, filter="data")
        done.touch()
    for path, text in source.licence_evidence:
        shown = subprocess.run(
            ["git", f"--git-dir={source.mirror}", "show", f"{source.commit}:{path}"],
            capture_output=True,
            text=True,
        ).stdout
        if text not in shown:
            raise SystemExit(f"{source.ref}: {path} no longer says {text!r}; check its licence")
    return root


def _snapshot_files(source: Source) -> tuple[list[str], list[str]]:
    """(files under the source's paths whose content the snapshot has, files it lacks)."""
    git = ["git", f"--git-dir={source.mirror}"]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", source.commit, "--", *source.paths],
        capture_output=True,
        check=True,
    ).stdout.decode()
    entries = []
    for entry in filter(None, listing.split("\0")):
        meta, _, path = entry.partition("\t")
        _mode, kind, sha = meta.split()
        if kind == "blob":
            entries.append((sha, path))
    checked = subprocess.run(
        [*git, "cat-file", "--batch-check"],
        input="".join(f"{sha}\n" for sha, _ in entries),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    present, missing = [], []
    for (_, path), line in zip(entries, checked, strict=True):
        (missing if line.endswith(" missing") else present).append(path)
    return present, missing


# ---------------------------------------------------------------------------------------------
# Reserved photos


def reserved_hashes(paths: list[Path], tool: Path) -> tuple[dict[Path, str], set[Path]]:
    """(dhash of each image by reserved_check.py --hash, images the tool finds reserved)."""
    hashes: dict[Path, str] = {}
    reserved: set[Path] = set()
    for start in range(0, len(paths), 500):
        chunk = [str(p) for p in paths[start : start + 500]]
        out = subprocess.run(
            [sys.executable, str(tool), "--hash", *chunk],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            h, _, p = line.partition("\t")
            hashes[Path(p)] = h
        check = subprocess.run([sys.executable, str(tool), *chunk], capture_output=True, text=True)
        if check.returncode not in (0, 1):
            raise SystemExit(f"{tool} failed: {check.stderr.strip()}")
        for line in check.stdout.splitlines():
            if line.startswith("RESERVED"):
                reserved.add(Path(line.split("): ", 1)[1]))
    return hashes, reserved


# ---------------------------------------------------------------------------------------------
# Teacher


class Teacher:
    """PP-OCRv6 small recogniser from the rapidocr wheel, run with onnxruntime (one thread)."""

    def __init__(self) -> None:
        try:
            import onnxruntime as ort
            import rapidocr
        except ImportError as exc:
            raise SystemExit(
                f"the teacher needs rapidocr 3.10.0 and onnxruntime ({exc}): "
                "pip install 'rapidocr==3.10.0' onnxruntime (both in the train extra)"
            ) from None

        path = Path(rapidocr.__file__).parent / "models" / TEACHER_MODEL
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        chars = self.session.get_modelmeta().custom_metadata_map["character"].splitlines()
        self.charset = ["", *chars, " "]  # CTC blank first, space last (as rapidocr decodes)
        self.model_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()

    def read_line(self, image: np.ndarray) -> tuple[str, list[float]]:
        """One text line: (raw text, probability of each character)."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        width = max(1, math.ceil(48 * w / h))
        resized = cv2.resize(image, (width, 48)).astype(np.float32)
        batch = np.zeros((1, 3, 48, max(320, width)), np.float32)
        batch[0, :, :, :width] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        probs = self.session.run(None, {self.session.get_inputs()[0].name: batch})[0][0]
        best = probs.argmax(axis=1)
        text, confidences, previous = [], [], 0
        for t, index in enumerate(best):
            if index != 0 and index != previous:
                text.append(self.charset[index])
                confidences.append(float(probs[t, index]))
            elif index != 0 and index == previous:  # the same character's run: keep its peak
                confidences[-1] = max(confidences[-1], float(probs[t, index]))
            previous = index
        return "".join(text), confidences

    def read_plate(self, image: np.ndarray, box: Box) -> tuple[str, float, bool]:
        """(A-Z0-9 text or "", lowest character probability, two rows) for a box of an image."""
        crop = plate_crop(image, box)
        if crop is None:
            return "", 0.0, False
        two_rows = box.w < TWO_ROW_ASPECT * box.h
        if two_rows:
            height = crop.shape[0]
            middle, overlap = height // 2, max(1, height // 20)
            lines = [crop[: middle + overlap], crop[middle - overlap :]]
        else:
            lines = [crop]
        text, lowest = "", 1.0
        for line in lines:
            raw, probs = self.read_line(line)
            kept = [(c, p) for c, p in zip(raw, probs, strict=True) if c not in SEPARATORS]
            part = "".join(c for c, _ in kept)
            if not _ALNUM.fullmatch(part):
                # empty, or a character no plate has (lower case: a word off a badge or sign)
                return "", 0.0, two_rows
            text += part
            lowest = min(lowest, *(p for _, p in kept))
        return text, lowest, two_rows


def plate_crop(image: np.ndarray, box: Box) -> np.ndarray | None:
    if box.h < TEACHER_MIN_BOX_HEIGHT:
        return None
    height, width = image.shape[:2]
    mx, my = round(box.w * MARGIN), round(box.h * MARGIN)
    x0, y0 = max(0, box.x - mx), max(0, box.y - my)
    x1, y1 = min(width, box.x + box.w + mx), min(height, box.y + box.h + my)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return image[y0:y1, x0:x1]


# Romanian registrations: county code (1-2 letters; B for Bucharest with 2-3 digits) + 2 digits
# + 3 letters; temporary and diplomatic series are not expected in dashcam traffic.
_RO = re.compile(r"(B\d{2,3}|[A-Z]{2}\d{2})[A-Z]{3}")
# Brazilian registrations: the old grey plates ABC1234 and Mercosur plates ABC1D23.
_BR = re.compile(r"[A-Z]{3}\d[A-Z0-9]\d{2}")
# US states' formats are loose (vanity plates included): 2 to 8 of A-Z and 0-9.
_US = re.compile(r"[A-Z0-9]{2,8}")


def valid_text(text: str, country: str) -> tuple[bool, str]:
    """(valid for a country's format, the country it says). Romanian, Brazilian (old and
    Mercosur) and US plates are checked against their formats where the source says the
    country; otherwise a UK format (edge.plates.formats) is GB for the dated formats, and another
    country's plate needs 4-10 characters with a digit (which keeps out words the teacher reads
    off badges, signs and dealer strips)."""
    if country == "RO":
        return bool(_RO.fullmatch(text)), "RO"
    if country == "BR":
        return bool(_BR.fullmatch(text)), "BR"
    if country == "US":
        return bool(_US.fullmatch(text)), "US"
    if country:
        return 4 <= len(text) <= 10, country
    uk = classify(text)
    if uk in ("gb-current", "gb-prefix", "gb-suffix"):
        return True, "GB"
    ok = 4 <= len(text) <= 10 and any(c.isdigit() for c in text)
    return ok, ""


# ---------------------------------------------------------------------------------------------
# Splits


def assign_splits(images: list[Candidate], pinned: dict[str, str] | None = None) -> None:
    """Group images that share a plate text or a group key (union-find); about HELDOUT_PERCENT
    of the distinct texts go to heldout, whole groups at a time; other images keep the source's
    own valid split where that split is independent of the source's train split.

    `pinned` maps the plate texts of an earlier batch to their splits: a group that shares one
    goes where that plate went (heldout before train before valid), outside the held-out count,
    so that a later batch never moves a plate across splits."""
    pinned = pinned or {}
    parent = list(range(len(images)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, image in enumerate(images):
        keys = [f"text:{t}" for t in image.texts if t]
        if image.group:
            keys.append(f"group:{image.source.key}:{image.group}")
        for key in keys:
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    members: dict[int, list[Candidate]] = {}
    for i, image in enumerate(images):
        members.setdefault(find(i), []).append(image)
    groups = list(members.values())
    # Held out: whole groups in the order of a hash of their smallest text, until the held-out
    # share of distinct plate texts reaches HELDOUT_PERCENT (a hash, not a random draw: the same
    # sources always give the same split).
    texts_of = [sorted({t for image in group for t in image.texts if t}) for group in groups]
    forced: dict[int, str] = {}
    for k, texts in enumerate(texts_of):
        splits = {pinned[t] for t in texts if t in pinned}
        for split in ("heldout", "train", "valid"):
            if split in splits:
                forced[k] = split
                break
    free = [k for k in range(len(groups)) if k not in forced]
    total = len({t for k in free for t in texts_of[k]})
    order = sorted((_rank(texts_of[k][0]), k) for k in free if texts_of[k])
    heldout: set[int] = set()
    taken = 0
    for _, k in order:
        if taken * 100 >= HELDOUT_PERCENT * total:
            break
        heldout.add(k)
        taken += len(texts_of[k])
    for k, group in enumerate(groups):
        for image in group:
            if k in forced:
                image.split = forced[k]
            elif k in heldout:
                image.split = "heldout"
            elif image.source_split == "valid" and image.source.valid_is_independent:
                image.split = "valid"
            else:
                image.split = "train"
        if k not in heldout and k not in forced and len({image.split for image in group}) > 1:
            for image in group:  # a plate seen in both: keep it all in train
                image.split = "train"


def _rank(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _near_duplicate(dhash: str, earlier: list[int]) -> bool:
    """Whether an image's difference hash lies within NEAR_DUPLICATE_BITS of an earlier one's
    (a copy re-encoded, resized or stretched, as reserved_check.py matches reserved photos)."""
    value = int(dhash, 16)
    return any((value ^ other).bit_count() <= NEAR_DUPLICATE_BITS for other in earlier)


# ---------------------------------------------------------------------------------------------
# Contact sheet


def contact_sheets(
    items: list[tuple[np.ndarray, str, str]], out: Path, per_page: int = 80, name: str = "uk"
) -> list[Path]:
    """PNG pages (contact-sheet-NAME-N.png) of (crop, text, caption) tiles, 4 columns, for
    checking teacher texts by eye."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSansMono.ttf", 18)
        small = ImageFont.truetype("DejaVuSansMono.ttf", 11)
    except OSError:
        font = small = ImageFont.load_default()
    tile_w, tile_h, cols = 300, 120, 4
    pages = []
    for page, start in enumerate(range(0, len(items), per_page), 1):
        chunk = items[start : start + per_page]
        rows = math.ceil(len(chunk) / cols)
        sheet = Image.new("RGB", (cols * tile_w, rows * tile_h), "white")
        draw = ImageDraw.Draw(sheet)
        for k, (crop, text, caption) in enumerate(chunk):
            x, y = (k % cols) * tile_w, (k // cols) * tile_h
            scale = min((tile_w - 10) / crop.shape[1], 70 / crop.shape[0])
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            thumb = cv2.cvtColor(cv2.resize(crop, size), cv2.COLOR_BGR2RGB)
            sheet.paste(Image.fromarray(thumb), (x + 5, y + 3))
            draw.text((x + 5, y + 76), f"{start + k + 1}: {text}", fill="black", font=font)
            draw.text((x + 5, y + 100), caption[:44], fill="gray", font=small)
        path = out / f"contact-sheet-{name}-{page}.png"
        sheet.save(path)
        pages.append(path)
    return pages


# ---------------------------------------------------------------------------------------------
# Build


def build(out: Path, keys: list[str], manifest: Path, cache: Path, tool: Path) -> dict:
    started = time.monotonic()
    if not tool.exists():
        raise SystemExit(f"{tool} not found: the reserved check is not optional")
    # earlier batches first: their images win every duplicate, as when they were built alone
    keys = sorted(keys, key=lambda key: (SOURCES[key].batch, key))
    candidates: list[Candidate] = []
    for key in keys:
        source = SOURCES[key]
        root = extract(source, cache)
        found = source.read(source, root)
        print(f"{source.ref}: {len(found)} annotated images", flush=True)
        candidates += found
    report: dict = {"sources": {}, "teacher": {}}
    files_on_disk = {}
    for key in keys:
        source = SOURCES[key]
        root = cache / f"{source.repo.replace('/', '+')}@{source.commit}"
        files_on_disk[key] = sum(
            1 for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )

    hashes, reserved = reserved_hashes([c.local for c in candidates], tool)
    seen: set[str] = set()
    origins: set[str] = set()
    kept_hashes: list[int] = []
    kept: list[Candidate] = []
    for key in keys:
        report["sources"][key] = {
            "source": SOURCES[key].ref,
            "licence": SOURCES[key].licence,
            "image_files": files_on_disk[key],
            "annotated": 0,
            "reserved_dropped": 0,
            "duplicates_dropped": 0,
            "near_duplicates_dropped": 0,
            "unreadable_dropped": 0,
            "kept": 0,
            "plates": 0,
            "teacher_labelled": 0,
        }
    for c in candidates:
        counts = report["sources"][c.source.key]
        counts["annotated"] += 1
        if c.local in reserved:
            counts["reserved_dropped"] += 1
            continue
        c.dhash = hashes.get(c.local, "unreadable")
        if c.dhash == "unreadable":
            counts["unreadable_dropped"] += 1
            continue
        c.sha256 = hashlib.sha256(c.local.read_bytes()).hexdigest()
        if c.sha256 in seen:
            counts["duplicates_dropped"] += 1
            continue
        if c.source.batch > 1 and (
            (c.origin and c.origin in origins) or _near_duplicate(c.dhash, kept_hashes)
        ):
            counts["near_duplicates_dropped"] += 1
            continue
        seen.add(c.sha256)
        if c.origin:
            origins.add(c.origin)
        kept_hashes.append(int(c.dhash, 16))
        kept.append(c)
    print(
        f"reserved check: {sum(s['reserved_dropped'] for s in report['sources'].values())} "
        f"dropped of {len(candidates)}",
        flush=True,
    )

    teacher = Teacher()
    report["teacher"] = {
        "model": TEACHER_MODEL,
        "model_sha256": teacher.model_sha256,
        "min_char_prob": TEACHER_MIN_CHAR_PROB,
    }
    sheet_items: list[tuple[np.ndarray, str, str]] = []
    new_items: list[tuple[np.ndarray, str, str]] = []  # every text read off a later batch
    teacher_started = time.monotonic()
    reads = 0
    for n, c in enumerate(kept, 1):
        image = cv2.imread(str(c.local), cv2.IMREAD_COLOR)
        counts = report["sources"][c.source.key]
        for box in c.boxes:
            counts["plates"] += 1
            text, lowest, two_rows = teacher.read_plate(image, box)
            reads += 1
            ok, country = valid_text(text, c.source.country) if text else (False, "")
            if c.source.batch > 1 and not c.source.country and text.isdigit():
                # From batch 2 on, digits alone are refused where the country is unknown: on
                # the contact sheet they were mostly the big digits of a plate whose letters
                # stand above them (Pakistani, Japanese), read without the letters.
                ok = False
            if text and ok and lowest >= TEACHER_MIN_CHAR_PROB:
                c.texts.append(text)
                c.text_sources.append("teacher")
                c.confidences.append(f"{lowest:.3f}")
                c.countries.append(country)
                counts["teacher_labelled"] += 1
                fmt = classify(text)
                rows_note = " 2-row" if two_rows else ""
                if fmt is not None and c.source.country in ("", "GB"):
                    crop = plate_crop(image, box)
                    caption = f"{fmt} p={lowest:.2f}{rows_note} {Path(c.path).name[:16]}"
                    sheet_items.append((crop, display_text(text, fmt), caption))
                if c.source.batch > 1:
                    caption = (
                        f"{c.source.key[:12]} {country or '--'} {fmt or ''} p={lowest:.2f}"
                        f"{rows_note} {Path(c.path).name[:10]}"
                    )
                    shown = display_text(text, fmt) if fmt else text
                    new_items.append((plate_crop(image, box), shown, caption))
            else:
                c.texts.append("")
                c.text_sources.append("")
                c.confidences.append(f"{lowest:.3f}" if text else "")
                c.countries.append(c.source.country)
        if n % 200 == 0:
            print(f"teacher: {n}/{len(kept)} images", flush=True)
    report["teacher"]["reads"] = reads
    report["teacher"]["seconds"] = round(time.monotonic() - teacher_started, 1)

    pinned: dict[str, str] = {}
    for batch in sorted({c.source.batch for c in kept}):
        members = [c for c in kept if c.source.batch == batch]
        assign_splits(members, pinned)
        for c in members:
            for text in c.texts:
                if text:
                    pinned.setdefault(text, c.split)
    if out.exists():
        for split in ("train", "valid", "heldout"):
            shutil.rmtree(out / split, ignore_errors=True)
        for old in out.glob("contact-sheet-*.png"):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[tuple[str, ...]]] = {"train": [], "valid": [], "heldout": []}
    for c in kept:
        name = Path(c.path).name.replace("#", "_")
        c.file = f"{c.split}/{c.source.key}/{name}"
        target = out / c.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(c.local, target)
        for box, text, country in zip(c.boxes, c.texts, c.countries, strict=True):
            rows[c.split].append(
                (
                    f"{c.source.key}/{name}",
                    text,
                    str(box.x),
                    str(box.y),
                    str(box.w),
                    str(box.h),
                    country,
                )
            )
        report["sources"][c.source.key]["kept"] += 1
    for split, split_rows in rows.items():
        folder = out / split
        folder.mkdir(exist_ok=True)
        with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(sorted(split_rows))
        if any(folder.rglob("*.jpg")):
            read_dataset(folder)  # the project's own reader must accept what we wrote

    write_manifest(manifest, kept)
    pages = contact_sheets(sheet_items, out)
    pages += contact_sheets(new_items, out, name=f"batch{max(SOURCES[k].batch for k in keys)}")
    texts_by_country: dict[str, dict[str, int]] = {}
    for c in kept:
        for text, country in zip(c.texts, c.countries, strict=True):
            if text:
                per_split = texts_by_country.setdefault(c.split, {})
                per_split[country or "unknown"] = per_split.get(country or "unknown", 0) + 1
    split_counts = {
        split: {
            "images": sum(1 for c in kept if c.split == split),
            "plates": sum(len(c.boxes) for c in kept if c.split == split),
            "texts": sum(1 for c in kept if c.split == split for t in c.texts if t),
            "distinct_texts": len({t for c in kept if c.split == split for t in c.texts if t}),
        }
        for split in ("train", "valid", "heldout")
    }
    report.update(
        splits=split_counts,
        uk_format_texts=len(sheet_items),
        texts_by_country=texts_by_country,
        contact_sheets=[p.name for p in pages],
        seconds=round(time.monotonic() - started, 1),
    )
    (out / "build-report.json").write_text(json.dumps(report, indent=2) + "\n")
    check = subprocess.run(
        [sys.executable, str(tool), "--manifest", str(manifest)], capture_output=True, text=True
    )
    report["manifest_check"] = (check.stdout + check.stderr).strip()
    if check.returncode != 0:
        raise SystemExit(f"the manifest names reserved images:\n{report['manifest_check']}")
    return report


def write_manifest(path: Path, images: Iterable[Candidate]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for c in sorted(images, key=lambda c: c.file):
            writer.writerow(
                (
                    c.file,
                    c.source.ref,
                    c.path,
                    c.sha256,
                    c.dhash,
                    c.source.licence,
                    c.origin,
                    c.source_split,
                    c.split,
                    ";".join(f"{b.x},{b.y},{b.w},{b.h}" for b in c.boxes),
                    ";".join(c.texts),
                    ";".join(c.text_sources),
                    ";".join(c.confidences),
                    ";".join(c.countries),
                )
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.real_data",
        description="Build the real training set from pinned public snapshots (issue 13).",
        epilog="example: python -m training.real_data build --out /work/data/real-train",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser(
        "build",
        help="fetch-free build: extract, reserved check, teacher labels, splits, manifest",
        epilog="example: python -m training.real_data build --out /work/data/real-train",
    )
    b.add_argument("--out", type=Path, required=True, help="dataset folder (outside the repo)")
    b.add_argument("--sources", nargs="+", choices=sorted(SOURCES), default=sorted(SOURCES))
    b.add_argument("--manifest", type=Path, default=MANIFEST, help="the manifest to write")
    b.add_argument("--cache", type=Path, default=CACHE, help="where snapshots are extracted")
    b.add_argument("--reserved-check", type=Path, default=RESERVED_CHECK)
    sub.add_parser("sources", help="list the sources, their commits and licences")
    args = parser.parse_args(argv)
    if args.command == "sources":
        for s in SOURCES.values():
            print(f"{s.key:12} {s.ref}  {s.licence}\n             {s.description}")
        return 0
    if args.out.resolve().is_relative_to(REPO_ROOT):
        parser.error("--out must be outside the repository: images are never committed")
    report = build(args.out, args.sources, args.manifest, args.cache, args.reserved_check)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
