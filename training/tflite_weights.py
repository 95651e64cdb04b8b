"""Recover float Keras weights of the recogniser from its exported int8 `.tflite`, to fine-tune a
bundled model whose training checkpoint is gone (training/runs/ is not kept).

The converter folded each BatchNormalization into its convolution (int8 per-channel kernel,
int32 bias): here each kernel is dequantised into the Conv2D and the bias goes into the
BatchNormalization's beta, with gamma = sqrt(1 + epsilon), mean 0 and variance 1 (an identity
plus bias at inference). The recovered model reads as the int8 one does, up to quantisation.

    python -m training.tflite_weights edge/models/recogniser.tflite OUT.weights.h5
"""

from __future__ import annotations

import sys

import numpy as np


def recover(tflite_path: str, out_path: str) -> None:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from keras import layers

    from training.recogniser import build_model

    interpreter = Interpreter(
        model_path=tflite_path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
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

    convs = [
        (dequantised(op["inputs"][1]), dequantised(op["inputs"][2]))
        for op in interpreter._get_ops_details()
        if op["op_name"] == "CONV_2D"
    ]
    model = build_model()
    conv_layers = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    bn_layers = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    if len(conv_layers) != len(convs) or len(bn_layers) != len(convs) - 1:
        raise SystemExit(f"{tflite_path}: {len(convs)} convolutions, not this architecture's")
    for i, (kernel, bias) in enumerate(convs):
        kernel = kernel.transpose(1, 2, 3, 0)  # TFLite OHWI -> Keras HWIO
        if i < len(bn_layers):
            conv_layers[i].set_weights([kernel])
            bn = bn_layers[i]
            gamma = np.full_like(bias, np.sqrt(1.0 + bn.epsilon))
            bn.set_weights([gamma, bias, np.zeros_like(bias), np.ones_like(bias)])
        else:  # the logits: a plain convolution with bias
            conv_layers[i].set_weights([kernel, bias])
    model.save_weights(out_path)
    print(f"recovered {len(convs)} convolutions of {tflite_path} into {out_path}", flush=True)


if __name__ == "__main__":
    recover(sys.argv[1], sys.argv[2])
