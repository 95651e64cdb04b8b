"""LiteRT's start-up banner is kept off stderr; everything else written there still shows."""

from __future__ import annotations

import subprocess
import sys

BANNER = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )


def test_the_runtime_prints_its_banner_when_left_alone():
    # the control: without the filter this runtime does print it, so the next test can fail
    done = run_python(
        "from edge.vision.runtime import bundled_model, interpreter_class\n"
        "cls, _ = interpreter_class()\n"
        "cls(model_path=str(bundled_model('detector')), num_threads=1).allocate_tensors()\n"
    )
    assert BANNER in done.stderr


def test_loading_both_models_prints_nothing():
    done = run_python(
        "from edge.vision.detector import Detector\n"
        "from edge.vision.recogniser import Recogniser\n"
        "Detector(); Recogniser(); print('loaded')\n"
    )
    assert done.stdout == "loaded\n"
    assert done.stderr == ""


def test_other_lines_written_while_a_model_loads_are_kept_in_order():
    done = run_python(
        "import os, sys\n"
        "from edge.vision.runtime import without_runtime_banner\n"
        "with without_runtime_banner():\n"
        "    os.write(2, b'WARNING: first\\n')\n"
        f"    os.write(2, b'{BANNER}\\n')\n"
        "    print('ERROR: second', file=sys.stderr)\n"
        "print('third', file=sys.stderr)\n"
    )
    assert done.stderr == "WARNING: first\nERROR: second\nthird\n"
