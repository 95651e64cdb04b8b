"""Recover float Keras weights of a bundled model from its exported int8 `.tflite`, to fine-tune
a model whose training checkpoint is gone (training/runs/ is not kept).

The converter folded each BatchNormalization into the convolution before it (int8 per-channel
kernel, int32 bias): here each kernel is dequantised into its convolution and the bias goes into
the BatchNormalization's beta, with gamma = sqrt(1 + epsilon), mean 0 and variance 1 (an identity
plus bias at inference). The recovered model reads as the int8 one does, up to quantisation.

The recogniser is a chain, so its convolutions pair up in graph order. The detector branches
(a feature pyramid), so each fused op is paired with its Keras layers by the batch-norm index
the converter kept in the op's output name (`…/batch_normalization_28_1/…`): both count in the
order the layers were created.

    python -m training.tflite_weights edge/models/recogniser.tflite OUT.weights.h5
    python -m training.tflite_weights edge/models/detector.tflite OUT.weights.h5
"""

from __future__ import annotations

import re
import sys

import numpy as np

BN_INDEX = re.compile(r"batch_normalization(?:_(\d+))?(?:_\d+)?/batchnorm")


def _interpreter(tflite_path: str):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=tflite_path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter


def _convolutions(interpreter) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(op name, output tensor name, float kernel in Keras layout, float bias) per convolution."""
    details = {t["index"]: t for t in interpreter.get_tensor_details()}

    def dequantised(index: int) -> np.ndarray:
        t = details[index]
        scales = t["quantization_parameters"]["scales"]
        zeros = t["quantization_parameters"]["zero_points"]
        value = interpreter.get_tensor(index).astype(np.float32)
        axis = t["quantization_parameters"]["quantized_dimension"]
        shape = [1] * value.ndim
        shape[axis] = -1
        return (value - zeros.reshape(shape)) * scales.reshape(shape)

    convs = []
    for op in interpreter._get_ops_details():
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        kernel = dequantised(op["inputs"][1])
        if op["op_name"] == "CONV_2D":
            kernel = kernel.transpose(1, 2, 3, 0)  # OHWI -> HWIO
        else:
            kernel = kernel[0][..., None]  # 1HWC -> HWC1
        name = details[op["outputs"][0]]["name"]
        convs.append((op["op_name"], name, kernel, dequantised(op["inputs"][2])))
    return convs


def _set(conv_layer, bn_layer, kernel: np.ndarray, bias: np.ndarray) -> None:
    if bn_layer is None:  # an output head: a plain convolution with bias
        conv_layer.set_weights([kernel, bias])
        return
    conv_layer.set_weights([kernel])
    gamma = np.full_like(bias, np.sqrt(1.0 + bn_layer.epsilon))
    bn_layer.set_weights([gamma, bias, np.zeros_like(bias), np.ones_like(bias)])


def recover_recogniser(interpreter):
    from keras import layers

    from training.recogniser import build_model

    convs = _convolutions(interpreter)
    model = build_model()
    conv_layers = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    bn_layers = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    if len(conv_layers) != len(convs) or len(bn_layers) != len(convs) - 1:
        raise SystemExit(f"{len(convs)} convolutions, not the recogniser's architecture")
    for i, (_, _, kernel, bias) in enumerate(convs):
        _set(conv_layers[i], bn_layers[i] if i < len(bn_layers) else None, kernel, bias)
    return model


def _creation_index(name: str) -> int:
    match = re.fullmatch(r"batch_normalization(?:_(\d+))?", name)
    if match is None:
        raise SystemExit(f"unexpected batch-norm layer name {name}")
    return int(match.group(1) or 0)


def recover_detector(interpreter):
    from keras import layers

    from edge.vision.preprocess import DETECTOR_SIZE
    from training.detector import build_model

    convs = _convolutions(interpreter)
    model = build_model(*DETECTOR_SIZE)
    bns = sorted(
        (layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)),
        key=lambda layer: _creation_index(layer.name),
    )
    fused = []
    heads = {}
    for _, name, kernel, bias in convs:
        match = BN_INDEX.search(name)
        if match is None:
            heads[kernel.shape[-1]] = (kernel, bias)
        else:
            fused.append((int(match.group(1) or 0), kernel, bias))
    fused.sort(key=lambda item: item[0])
    if len(fused) != len(bns) or sorted(heads) != [1, 4]:
        raise SystemExit(f"{len(convs)} convolutions, not the detector's architecture")
    for bn, (_, kernel, bias) in zip(bns, fused, strict=True):
        conv = bn.input._keras_history.operation  # the convolution that feeds this batch norm
        if tuple(conv.kernel.shape) != kernel.shape:
            raise SystemExit(f"{conv.name}: kernel {tuple(conv.kernel.shape)} but {kernel.shape}")
        _set(conv, bn, kernel, bias)
    _set(model.get_layer("heat"), None, *heads[1])
    _set(model.get_layer("box"), None, *heads[4])
    return model


def recover(tflite_path: str, out_path: str) -> None:
    interpreter = _interpreter(tflite_path)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    model = (recover_detector if "DEPTHWISE_CONV_2D" in ops else recover_recogniser)(interpreter)
    model.save_weights(out_path)
    print(f"recovered {model.name} from {tflite_path} into {out_path}", flush=True)


if __name__ == "__main__":
    recover(sys.argv[1], sys.argv[2])
