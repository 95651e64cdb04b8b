"""Export a trained Keras model as a full-integer int8 `.tflite` with its manifest (DESIGN §5).

Full integer means int8 weights and activations and a uint8 input with scale 1/255 and zero point
0, so camera pixels go straight in. Built-in ops only: the file must load in any TFLite/LiteRT
runtime with no Flex delegate. The exported file is checked before it is accepted: it loads in
ai-edge-litert, has no float ops in the graph body, and gives no NaN on real inputs (a converter
path that leaves variable ops returns all NaN silently).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np


def convert_int8(model: Any, representative: Iterable[np.ndarray]) -> bytes:
    import tensorflow as tf

    samples = [np.asarray(s, dtype=np.float32)[None] for s in representative]

    def dataset():
        for sample in samples:
            yield [sample]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.int8
    return converter.convert()


def check_int8_model(content: bytes, sample_uint8: np.ndarray) -> dict[str, Any]:
    """Load in LiteRT, run one real input, refuse NaN or float inputs; return the I/O details."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    if inp["dtype"] != np.uint8:
        raise ValueError(f"exported input is {inp['dtype']}, expected uint8")
    interpreter.set_tensor(inp["index"], sample_uint8[None].astype(np.uint8))
    interpreter.invoke()
    outputs = []
    for out in interpreter.get_output_details():
        value = interpreter.get_tensor(out["index"])
        if out["dtype"] != np.int8:
            raise ValueError(f"output {out['name']} is {out['dtype']}, expected int8")
        if not np.all(np.isfinite(value.astype(np.float32))):
            raise ValueError(f"output {out['name']} has NaN or inf")
        scale, zero_point = out["quantization"]
        outputs.append(
            {
                "name": out["name"],
                "shape": [int(v) for v in out["shape"]],
                "dtype": "int8",
                "scale": float(scale),
                "zero_point": int(zero_point),
            }
        )
    scale, zero_point = inp["quantization"]
    return {
        "input": {
            "shape": [int(v) for v in inp["shape"]],
            "dtype": "uint8",
            "scale": float(scale),
            "zero_point": int(zero_point),
        },
        "outputs": outputs,
        "ops": sorted(_op_names(content)),
    }


def _op_names(content: bytes) -> set[str]:
    """The graph's own ops, read with no delegate applied (XNNPACK would fold them away)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    plain = Interpreter(
        model_content=content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    try:
        return {op["op_name"] for op in plain._get_ops_details()}
    except AttributeError:  # a runtime without the introspection helper
        return set()


def write_model(
    out_dir: Path,
    kind: str,
    content: bytes,
    io: dict[str, Any],
    *,
    version: str,
    training: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `{kind}.tflite` and its manifest `{kind}.json`."""
    import tensorflow as tf

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{kind}.tflite"
    model_path.write_bytes(content)
    manifest = {
        "name": f"anpr-{kind}",
        "kind": kind,
        "version": version,
        "file": model_path.name,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "input": io["input"],
        "outputs": io["outputs"],
        "ops": io["ops"],
        "quantisation": "full-int8 (int8 weights and activations, uint8 input, built-in ops)",
        "training": {
            **training,
            "tensorflow": tf.__version__,
            "python": platform.python_version(),
            "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "metrics": metrics,
        **(extra or {}),
    }
    manifest_path = out_dir / f"{kind}.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return model_path
