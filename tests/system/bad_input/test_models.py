"""Bad model files: each error names the file."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import UserError
from edge.vision.detector import Detector
from edge.vision.recogniser import Recogniser
from edge.vision.runtime import BUNDLED_MODELS, TfliteModel
from tests.support.bad_input import CASES, examples

# ---------------------------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------------------------

KINDS = ("detector", "recogniser")


@examples(ci=10, long=200)
@given(
    kind=st.sampled_from(KINDS),
    how=st.sampled_from(["truncated", "random", "flipped", "other model"]),
    data=st.binary(max_size=2000),
    where=st.floats(0, 1, exclude_max=True),
)
def test_bad_model_files_name_the_file(tmp_path, kind, how, data, where):
    """The manifest beside the file is the real one: any change of bytes fails its sha256."""
    CASES["model"] += 1
    folder = tmp_path / f"m-{CASES['model']}"
    folder.mkdir()
    for suffix in (".tflite", ".json"):
        shutil.copy(BUNDLED_MODELS / f"{kind}{suffix}", folder / f"{kind}{suffix}")
    path = folder / f"{kind}.tflite"
    real = path.read_bytes()
    cut = int(len(real) * where)
    other = "recogniser" if kind == "detector" else "detector"
    path.write_bytes(
        {
            "truncated": real[:cut],
            "random": data,
            "flipped": real[:cut] + bytes([real[cut] ^ 0x10]) + real[cut + 1 :],
            "other model": (BUNDLED_MODELS / f"{other}.tflite").read_bytes(),
        }[how]
    )
    with pytest.raises(UserError, match=rf"^{path}: sha256 .* does not match its manifest"):
        TfliteModel(path, kind=kind)
    shutil.rmtree(folder)


@pytest.mark.parametrize(("stage", "kind"), [(Detector, "recogniser"), (Recogniser, "detector")])
def test_the_other_models_file_with_its_manifest(tmp_path, stage, kind):
    CASES["model"] += 1
    for suffix in (".tflite", ".json"):
        shutil.copy(BUNDLED_MODELS / f"{kind}{suffix}", tmp_path / f"{kind}{suffix}")
    path = tmp_path / f"{kind}.tflite"
    with pytest.raises(UserError, match=f"^{path}: is a '{kind}' model"):
        stage(path)


@examples(ci=3, long=30)
@given(data=st.binary(min_size=0, max_size=300).map(lambda b: b"TFL3" + b))
def test_garbage_with_a_matching_manifest(tmp_path, data):
    """Bytes whose sha256 is in the manifest still fail to load, with the file named."""
    CASES["model"] += 1
    shutil.copy(BUNDLED_MODELS / "recogniser.json", tmp_path / "recogniser.json")
    path = tmp_path / "recogniser.tflite"
    path.write_bytes(data)
    manifest = json.loads(path.with_suffix(".json").read_text())
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=f"^{path}: "):
        TfliteModel(path)
