"""Float weights recovered from the bundled int8 models compute what the int8 models compute.
Needs Keras (the `train` extra, .venv-train): skipped without it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from edge.records import Box
from edge.synth.scene import render_scene
from edge.vision import heatmap
from edge.vision.detector import Detector
from edge.vision.preprocess import letterbox, pack
from training import tflite_weights


def test_the_recovered_detector_finds_what_the_bundled_one_finds(tmp_path):
    out = tmp_path / "detector.weights.h5"
    tflite_weights.recover(str(Detector().model.path), str(out))
    from edge.vision.preprocess import DETECTOR_SIZE
    from training.detector import build_model

    model = build_model(*DETECTOR_SIZE)
    model.load_weights(out)
    bundled = Detector()
    total = 0
    for seed in range(4):
        scene = render_scene(
            np.random.default_rng(seed), (1456, 1088), plate_height=(40, 90), region="gb"
        )
        boxed, _ = letterbox(scene.image)
        x = pack(boxed)[None]
        heat, reg = model.predict(x.astype(np.float32) / 255.0, verbose=0)
        int8_heat, int8_reg = sorted(bundled.model.run(x), key=lambda out: out.shape[-1])
        assert np.corrcoef(heat.ravel(), int8_heat.ravel())[0, 1] > 0.9
        found = [Box(*f[:4]) for f in heatmap.decode(heat[0, ..., 0], reg[0], 0.3)]
        expected = [Box(*f[:4]) for f in heatmap.decode(int8_heat[0, ..., 0], int8_reg[0], 0.3)]
        total += len(expected)
        same = sum(any(e.iou(f) >= 0.7 for f in found) for e in expected)
        assert same >= 0.8 * len(expected) and len(found) <= len(expected) + 1
    assert total >= 2, "the bundled detector finds the scenes' plates"
