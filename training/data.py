"""Training arrays made from the synthetic generator, in worker processes, cached on disk.

Each sample i is drawn from its own generator seeded with (seed, i), so a set is the same bytes
whatever the number of workers. TensorFlow is not imported here: workers are spawned clean.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np

from edge.vision.ctc import CHARSET
from edge.vision.preprocess import recogniser_input
from edge.vision.recogniser import TWO_ROW_ASPECT

MAX_LABEL = 10
CACHE = Path(__file__).resolve().parent / "cache"


def _crop_sample(args: tuple[int, int]) -> tuple[np.ndarray, str]:
    from edge.synth.scene import render_crop

    seed, index = args
    # Half UK, half other countries' designs: the unit reads UK plates, and the foreign half
    # teaches the recogniser fonts and layouts that the UK face alone would not.
    region = "gb" if index % 2 == 0 else "foreign"
    for attempt in range(100):
        crop = render_crop(np.random.default_rng([seed, index, attempt]), region=region)
        # Two-row (square) plates: a CTC over columns cannot read row 1 then row 2.
        if crop.box[2] >= 1.7 * crop.box[3]:
            return recogniser_input(crop.image), crop.text
    raise RuntimeError(f"no single-row plate in 100 attempts (seed {seed}, index {index})")


def _row_samples(args: tuple[int, int]) -> list[tuple[np.ndarray, str]]:
    """Both rows of one two-row UK plate, cut exactly as the recogniser cuts them at run time
    (edge.vision.recogniser: the crop's halves with a small overlap), each labelled with its
    own row: the display's first group on top, the second below."""
    from edge.plates.formats import display_text
    from edge.synth import looks
    from edge.synth.plate_styles import random_style
    from edge.synth.scene import random_plate_registration, render_crop

    seed, index = args
    for attempt in range(1000):
        # Replay the crop's first draws (look, registration, style) to skip single-row plates
        # without rendering them: 92 % of UK plates are.
        rng = np.random.default_rng([seed, index, attempt])
        looks.choose_look(rng, "mixed")
        if not random_style(rng, random_plate_registration(rng, "gb")).two_rows:
            continue
        crop = render_crop(np.random.default_rng([seed, index, attempt]), region="gb")
        height, width = crop.image.shape[:2]
        if width >= TWO_ROW_ASPECT * height or " " not in display_text(crop.text, crop.format):
            continue
        top_text, bottom_text = display_text(crop.text, crop.format).split(" ", 1)
        middle, overlap = height // 2, max(1, height // 20)
        return [
            (recogniser_input(crop.image[: middle + overlap]), top_text),
            (recogniser_input(crop.image[middle - overlap :]), bottom_text.replace(" ", "")),
        ]
    raise RuntimeError(f"no two-row plate in 1000 attempts (seed {seed}, index {index})")


def recogniser_arrays(
    count: int, seed: int, workers: int = 2, rows: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 N×48×160, labels int32 N×MAX_LABEL padded with 0, lengths int32 N).
    With `rows`, the rows of `count` // 2 two-row plates instead of whole plates."""
    name = "recogniser_rows" if rows else "recogniser_v2"
    path = CACHE / f"{name}_s{seed}_n{count}.npz"
    if path.exists():
        data = np.load(path)
        return data["images"], data["labels"], data["lengths"]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        if rows:
            jobs = [(seed, i) for i in range(count // 2)]
            samples = [s for pair in pool.map(_row_samples, jobs, chunksize=64) for s in pair]
            count = len(samples)
        else:
            jobs = [(seed, i) for i in range(count)]
            samples = pool.map(_crop_sample, jobs, chunksize=256)
    images = np.stack([image for image, _ in samples])
    labels = np.zeros((count, MAX_LABEL), dtype=np.int32)
    lengths = np.zeros(count, dtype=np.int32)
    for i, (_, text) in enumerate(samples):
        text = text[:MAX_LABEL]
        labels[i, : len(text)] = [CHARSET.index(c) + 1 for c in text]
        lengths[i] = len(text)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=labels, lengths=lengths)
    print(f"made {count} crops (seed {seed}) in {time.monotonic() - started:.0f}s", flush=True)
    return images, labels, lengths


def decode_label(label: np.ndarray, length: int) -> str:
    return "".join(CHARSET[v - 1] for v in label[:length])


def _scene_sample(
    args: tuple[int, int, int, int, str, int],
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    from edge.synth.scene import render_scene
    from edge.vision.preprocess import to_grey

    seed, index, width, height, region, max_plate = args
    if region == "half":  # alternate UK and foreign scenes
        region = "gb" if index % 2 == 0 else "foreign"
    scene = render_scene(
        np.random.default_rng([seed, index]),
        (width, height),
        plate_height=(7, max_plate),
        region=region,
    )
    return to_grey(scene.image), [plate.box for plate in scene.plates]


def detector_arrays(
    count: int,
    seed: int,
    size: tuple[int, int],
    workers: int = 2,
    region: str = "mixed",
    max_plate: int = 110,
) -> tuple[np.ndarray, list[list[tuple[int, int, int, int]]]]:
    """(grey scenes uint8 N×H×W, boxes per scene) for detector training."""
    width, height = size
    tag = "" if (region, max_plate) == ("mixed", 110) else f"_{region}_h{max_plate}"
    path = CACHE / f"detector_s{seed}_n{count}_{width}x{height}{tag}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=False)
        boxes = [[tuple(b) for b in data["boxes"][data["owner"] == i]] for i in range(count)]
        return data["images"], boxes
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        jobs = [(seed, i, width, height, region, max_plate) for i in range(count)]
        samples = pool.map(_scene_sample, jobs, chunksize=64)
    images = np.stack([image for image, _ in samples])
    boxes = [list(b) for _, b in samples]
    owner = np.array([i for i, b in enumerate(boxes) for _ in b], dtype=np.int32)
    flat = np.array([box for b in boxes for box in b], dtype=np.int32).reshape(-1, 4)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, boxes=flat, owner=owner)
    print(f"made {count} scenes (seed {seed}) in {time.monotonic() - started:.0f}s", flush=True)
    return images, boxes
