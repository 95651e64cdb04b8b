"""The bundled int8 models: manifests checked at load, clear errors for bad files, and
accuracy on a fresh synthetic set made with a seed not used in training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.errors import UserError
from edge.synth.scene import render_crop, render_scene
from edge.vision.detector import Detector
from edge.vision.reader import PlateReader
from edge.vision.recogniser import Recogniser
from edge.vision.runtime import BUNDLED_MODELS, TfliteModel, read_manifest

KINDS = ("detector", "recogniser")
FRESH_SEED = 424242  # training uses seeds 1–2 and 1001–1002


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(Detector(threads=1), Recogniser(threads=1), region="gb")


def copy_model(tmp_path: Path, kind: str) -> Path:
    for suffix in (".tflite", ".json"):
        shutil.copy(BUNDLED_MODELS / f"{kind}{suffix}", tmp_path / f"{kind}{suffix}")
    return tmp_path / f"{kind}.tflite"


@pytest.mark.parametrize("kind", KINDS)
def test_bundled_models_are_full_int8_builtin_and_small(kind):
    path = BUNDLED_MODELS / f"{kind}.tflite"
    manifest = read_manifest(path)
    assert path.stat().st_size <= 3 * 1024 * 1024
    assert manifest.input_dtype == "uint8"
    assert all(o["dtype"] == "int8" for o in manifest.data["outputs"])
    assert "FLEX" not in " ".join(manifest.data["ops"]).upper()
    for key in ("training", "metrics", "version", "sha256"):
        assert manifest.data[key], key
    model = TfliteModel(path, threads=1, kind=kind)
    assert model.input_shape == manifest.input_shape


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_model_is_refused_naming_the_file(tmp_path, kind):
    path = copy_model(tmp_path, kind)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(UserError, match=rf"{path}: sha256 .* does not match its manifest"):
        TfliteModel(path, kind=kind)


def test_missing_model_and_missing_manifest(tmp_path):
    """The file typed is named: a missing .tflite (with or without its manifest) is the model's
    error; only a missing manifest beside a present model names the manifest."""
    absent = tmp_path / "absent.tflite"
    with pytest.raises(UserError) as raised:
        TfliteModel(absent)
    assert str(raised.value) == f"{absent}: model file not found"
    path = copy_model(tmp_path, "detector")
    path.unlink()
    with pytest.raises(UserError) as raised:
        TfliteModel(path)
    assert str(raised.value) == f"{path}: model file not found"
    path = copy_model(tmp_path, "recogniser")
    manifest = path.with_suffix(".json")
    manifest.unlink()
    with pytest.raises(UserError) as raised:
        TfliteModel(path)
    assert str(raised.value) == (
        f"{manifest}: manifest of {path} not found (every model needs its manifest beside it, "
        "same name, .json)"
    )


def test_garbage_with_matching_manifest_is_not_loadable(tmp_path):
    path = copy_model(tmp_path, "recogniser")
    path.write_bytes(b"not a flatbuffer" * 100)
    manifest = json.loads(path.with_suffix(".json").read_text())
    import hashlib

    manifest["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=f"{path}: not a loadable TFLite model"):
        TfliteModel(path)


def test_wrong_model_for_the_stage(tmp_path):
    path = copy_model(tmp_path, "detector")
    with pytest.raises(UserError, match="is a 'detector' model, expected 'recogniser'"):
        Recogniser(path)


def test_manifest_shape_mismatch(tmp_path):
    path = copy_model(tmp_path, "detector")
    manifest = json.loads(path.with_suffix(".json").read_text())
    manifest["input"]["shape"] = [1, 10, 10, 1]
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="does not match the manifest's"):
        TfliteModel(path)


def test_recogniser_reads_fresh_synthetic_plates(reader):
    crops = [render_crop(np.random.default_rng([FRESH_SEED, i]), region="gb") for i in range(150)]
    single_row = [c for c in crops if c.box[2] >= 1.7 * c.box[3]]
    right = sum(reader.recogniser.read(c.image, "gb").text == c.text for c in single_row)
    assert right / len(single_row) >= 0.9, f"{right}/{len(single_row)}"


def test_reader_finds_and_reads_plates_in_fresh_scenes(reader):
    found = total = read = 0
    for i in range(25):
        scene = render_scene(
            np.random.default_rng([FRESH_SEED, 1000 + i]),
            (1456, 1088),
            plate_height=(30, 120),
            region="gb",
        )
        results = reader.read(scene.image)
        for plate in scene.plates:
            total += 1
            from edge.records import Box

            hits = [r for r in results if Box(*plate.box).iou(r.detection.box) >= 0.5]
            found += bool(hits)
            read += any(r.text.text == plate.text for r in hits)
    assert total > 0
    assert found / total >= 0.9, f"found {found}/{total}"
    assert read / total >= 0.8, f"read {read}/{total}"
