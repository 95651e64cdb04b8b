"""Load a `.tflite` model with its manifest and run it.

The runtime is `ai-edge-litert` (the maintained TFLite runtime; 6–25× faster than the last
`tflite-runtime` on int8 models here), else `tflite_runtime` when only that is installed. A model
is loaded only if its bytes match the sha256 of its manifest and its input matches the manifest's
shape and dtype: a truncated copy or a model swapped for another fails at start-up with a message
naming the file, never with wrong plates at the roadside.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import RuntimeFailure, UserError

BUNDLED_MODELS = Path(__file__).resolve().parents[1] / "models"
MANIFEST_KEYS = ("name", "version", "sha256", "input", "outputs", "quantisation")
# What LiteRT's C++ logger prints at INFO level for every model it loads. It has no Python switch
# (TF_CPP_MIN_LOG_LEVEL does not reach it), so the load runs with stderr caught and every other
# line (warnings, errors, other threads' logs) is written on afterwards.
RUNTIME_BANNER = re.compile(
    rb"INFO: (Created TensorFlow Lite XNNPACK delegate for CPU|Initialized TensorFlow Lite runtime)"
)
_stderr_lock = threading.Lock()


@cache
def interpreter_class() -> tuple[type, str]:
    """The Interpreter class of the installed runtime and the runtime's name and version."""
    try:
        from importlib.metadata import version

        from ai_edge_litert import interpreter as litert

        return litert.Interpreter, f"ai-edge-litert {version('ai-edge-litert')}"
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter as tflite  # type: ignore[import-not-found]

        return tflite.Interpreter, f"tflite-runtime {getattr(tflite, '__version__', '?')}"
    except ImportError:
        raise RuntimeFailure(
            "no TFLite runtime is installed: pip install ai-edge-litert (or tflite-runtime)"
        ) from None


@dataclass(frozen=True)
class Manifest:
    """What DESIGN §5 says ships beside every model file."""

    path: Path
    name: str
    version: str
    sha256: str
    input_shape: tuple[int, ...]
    input_dtype: str
    output_names: tuple[str, ...]
    charset: str | None
    data: dict[str, Any]


def manifest_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_manifest(model_path: Path) -> Manifest:
    path = manifest_path(model_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{path}: manifest of {model_path} not found (every model needs its manifest beside "
            "it, same name, .json)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: manifest must be a JSON object")
    missing = [key for key in MANIFEST_KEYS if key not in data]
    if missing:
        raise UserError(f"{path}: manifest lacks {', '.join(missing)}")
    try:
        return Manifest(
            path=path,
            name=str(data["name"]),
            version=str(data["version"]),
            sha256=str(data["sha256"]),
            input_shape=tuple(int(v) for v in data["input"]["shape"]),
            input_dtype=str(data["input"]["dtype"]),
            output_names=tuple(str(o["name"]) for o in data["outputs"]),
            charset=data.get("charset"),
            data=data,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: malformed manifest field: {exc}") from None


class TfliteModel:
    """One loaded model. Not thread-safe: each stage owns its own instance."""

    def __init__(self, model_path: Path, threads: int = 1, kind: str | None = None):
        self.path = Path(model_path)
        # the model first: a path typed wrong is about the .tflite, not its manifest
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"{self.path}: model file not found") from None
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read model: {exc.strerror or exc}") from None
        self.manifest = read_manifest(self.path)
        digest = hashlib.sha256(content).hexdigest()
        if digest != self.manifest.sha256:
            raise UserError(
                f"{self.path}: sha256 {digest[:12]}… does not match its manifest "
                f"({self.manifest.sha256[:12]}…): the file is corrupt or not this model"
            )
        if kind is not None and self.manifest.data.get("kind") != kind:
            raise UserError(
                f"{self.path}: is a {self.manifest.data.get('kind')!r} model, expected {kind!r}"
            )
        cls, self.runtime = interpreter_class()
        try:
            with without_runtime_banner():
                self._interpreter = cls(model_content=content, num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"{self.path}: not a loadable TFLite model: {exc}") from None
        self._input = self._interpreter.get_input_details()[0]
        shape, dtype = tuple(int(v) for v in self._input["shape"]), self._input["dtype"]
        if shape != self.manifest.input_shape or np.dtype(dtype).name != self.manifest.input_dtype:
            raise UserError(
                f"{self.path}: input {shape} {np.dtype(dtype).name} does not match the manifest's "
                f"{self.manifest.input_shape} {self.manifest.input_dtype}"
            )
        by_name = {d["name"]: d for d in self._interpreter.get_output_details()}
        try:
            self._outputs = [by_name[name] for name in self.manifest.output_names]
        except KeyError as exc:
            raise UserError(f"{self.path}: has no output {exc} named in its manifest") from None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.manifest.input_shape

    @property
    def version(self) -> str:
        return f"{self.manifest.name}@{self.manifest.version}"

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run one input; returns the outputs dequantised to float32, in manifest order."""
        self._interpreter.set_tensor(self._input["index"], batch)
        self._interpreter.invoke()
        return [_dequantise(self._interpreter.get_tensor(d["index"]), d) for d in self._outputs]


@contextmanager
def without_runtime_banner() -> Iterator[None]:
    """Catch what is written on file descriptor 2 meanwhile; give back all but RUNTIME_BANNER.
    The catch is an anonymous memory file: no temporary folder needed under systemd's sandbox."""
    with _stderr_lock:
        try:
            sys.stderr.flush()
            sink = os.memfd_create("anpr-edge-stderr")
        except (AttributeError, OSError):  # not Linux, or no descriptor to spare: harmless
            yield
            return
        saved = os.dup(2)
        os.dup2(sink, 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught = os.pread(sink, os.fstat(sink).st_size, 0)
            os.close(sink)
            for line in caught.splitlines(keepends=True):
                if not RUNTIME_BANNER.match(line):
                    os.write(2, line)


def _dequantise(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if values.dtype in (np.int8, np.uint8) and scale:
        return (values.astype(np.float32) - zero_point) * scale
    return values.astype(np.float32)


def bundled_model(kind: str) -> Path:
    return BUNDLED_MODELS / f"{kind}.tflite"
