"""Train the plate recogniser: a small pure-conv CTC network on 48×160 grey crops.

Pure convolution (no LSTM/GRU: Keras 3 recurrent layers crash the int8 converter) with max
pooling that halves the height four times and the width twice, ending in 40 columns of scores
over blank + 36 characters. About 0.4 M parameters: it converts to full int8 without loss and
runs well under a millisecond per plate.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edge.vision.preprocess import RECOGNISER_PACK, pack
from training import data
from training.common import (
    Schedule,
    add_fine_tune_options,
    freeze_batch_norm,
    run_script,
    step_clock,
)

SEQUENCE = 40
CLASSES = 1 + len(data.CHARSET)


def build_model(batch_size: int | None = None):
    import keras
    from keras import layers

    def conv(x, filters, kernel=(3, 3), padding="same"):
        x = layers.Conv2D(filters, kernel, padding=padding, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    # 48×160 grey packed 2×2 into 4 channels (edge.vision.preprocess.pack)
    inputs = keras.Input((24, 80, 4), batch_size=batch_size, name="crop")
    x = conv(inputs, 48)  # 24×80
    x = layers.MaxPooling2D((2, 2))(x)  # 12×40
    x = conv(x, 64)
    x = conv(x, 80)
    x = layers.MaxPooling2D((2, 1))(x)  # 6×40
    x = conv(x, 112)
    x = conv(x, 112)
    x = layers.MaxPooling2D((2, 1))(x)  # 3×40
    x = conv(x, 144, kernel=(3, 1), padding="valid")  # 1×40
    x = conv(x, 144, kernel=(1, 3))  # context across neighbouring columns
    x = layers.Conv2D(CLASSES, (1, 1), name="logits")(x)
    outputs = layers.Reshape((SEQUENCE, CLASSES), name="sequence")(x)
    return keras.Model(inputs, outputs, name="anpr_recogniser")


def augment(tf, images):
    """Cheap per-batch photometric changes on top of the generator's: inversion, gain, noise."""
    x = tf.cast(images, tf.float32) / 255.0
    batch = tf.shape(x)[0]
    invert = tf.cast(tf.random.uniform([batch, 1, 1, 1]) < 0.08, tf.float32)
    x = invert * (1.0 - x) + (1.0 - invert) * x
    gain = tf.random.uniform([batch, 1, 1, 1], 0.7, 1.2)
    bias = tf.random.uniform([batch, 1, 1, 1], -0.15, 0.15)
    x = x * gain + bias + tf.random.normal(tf.shape(x), stddev=0.03)
    return tf.clip_by_value(x, 0.0, 1.0)


def exact_accuracy(model, images, labels, lengths) -> float:
    from edge.vision.ctc import greedy_decode, softmax

    packed = pack(images, RECOGNISER_PACK).astype(np.float32) / 255.0
    logits = model.predict(packed, batch_size=256, verbose=0)
    right = 0
    for i in range(len(images)):
        text = greedy_decode(softmax(logits[i])).text
        right += text == data.decode_label(labels[i], int(lengths[i]))
    return right / len(images)


def train(args: argparse.Namespace) -> None:
    import keras
    import tensorflow as tf

    if args.threads:  # before any op runs: the machine's other cores belong to others
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    images, labels, lengths = data.recogniser_arrays(args.samples, args.seed, args.workers)
    val = data.recogniser_arrays(2000, args.seed + 1000, args.workers)
    if args.row_samples:  # rows of two-row plates, mixed into every batch
        rows = data.recogniser_arrays(args.row_samples, args.seed + 1, args.workers, rows=True)
        row_val = data.recogniser_arrays(1000, args.seed + 1001, args.workers, rows=True)
    real = real_val = None
    if args.real:  # real crops (training.real_crops), augmented afresh in every batch
        from training import real_crops

        real = real_crops.load(Path(args.real))
        if args.real_valid:  # watched only, never selected on
            real_val = real_crops.arrays(real_crops.load(Path(args.real_valid)), None)
    model = build_model()
    if args.init:  # fine-tune a previous model's weights
        model.load_weights(args.init)
    if args.freeze_bn:
        freeze_batch_norm(model)
    print(f"recogniser parameters: {model.count_params()}", flush=True)
    schedule = keras.optimizers.schedules.CosineDecay(
        args.lr / 2, args.steps, alpha=0.02, warmup_target=args.lr, warmup_steps=300
    )
    optimiser = keras.optimizers.Adam(schedule)

    @tf.function
    def step(x, y, y_len):
        with tf.GradientTape() as tape:
            logits = model(augment(tf, x), training=True)
            loss = tf.reduce_mean(
                tf.nn.ctc_loss(
                    labels=y,
                    logits=logits,
                    label_length=y_len,
                    logit_length=tf.fill([tf.shape(x)[0]], SEQUENCE),
                    logits_time_major=False,
                    blank_index=0,
                )
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimiser.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    rng = np.random.default_rng(args.seed)
    out = Path(args.workdir)
    out.mkdir(parents=True, exist_ok=True)
    started, history = time.monotonic(), []
    row_batch = round(args.batch * args.row_share) if args.row_samples else 0
    real_batch = round(args.batch * args.real_share) if real else 0
    for i in range(1, args.steps + 1):
        pick = rng.integers(0, len(images), args.batch - row_batch - real_batch)
        x, y, y_len = images[pick], labels[pick], lengths[pick]
        if row_batch:
            more = rng.integers(0, len(rows[0]), row_batch)
            x, y, y_len = (
                np.concatenate([a, b[more]]) for a, b in zip((x, y, y_len), rows, strict=True)
            )
        if real_batch:
            more = real_crops.arrays(real, rng, rng.integers(0, len(real), real_batch))
            x, y, y_len = (np.concatenate([a, b]) for a, b in zip((x, y, y_len), more, strict=True))
        loss = float(step(pack(x, RECOGNISER_PACK), y, y_len))
        if i % 100 == 0:
            clock = step_clock(i, args.steps, time.monotonic() - started)
            print(f"step {i} loss {loss:.3f} {clock}", flush=True)
        if i % args.eval_every == 0 or i == args.steps:
            accuracy = exact_accuracy(model, *val)
            record = {"step": i, "loss": loss, "val_exact": accuracy}
            if row_batch:
                record["val_rows_exact"] = exact_accuracy(model, *row_val)
            if real_val is not None:
                record["val_real_exact"] = exact_accuracy(model, *real_val)
            history.append(record)
            print(f"step {i} {record}", flush=True)
            model.save_weights(out / "recogniser.weights.h5")
    (out / "recogniser_history.json").write_text(json.dumps(history, indent=1))
    export(model, images, args, history, time.monotonic() - started, real)


def export_checkpoint(args: argparse.Namespace) -> None:
    """Export the last saved checkpoint in --workdir (e.g. of a run still going or stopped),
    calibrated on the same crops as at the end of a run."""
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    images, _, _ = data.recogniser_arrays(args.samples, args.seed, args.workers)
    real = None
    if args.real:
        from training import real_crops

        real = real_crops.load(Path(args.real))
    model = build_model()
    model.load_weights(Path(args.workdir) / "recogniser.weights.h5")
    val = data.recogniser_arrays(2000, args.seed + 1000, args.workers)
    history = [{"step": "checkpoint", "val_exact": exact_accuracy(model, *val)}]
    print(f"checkpoint {history[0]}", flush=True)
    export(model, images, args, history, 0.0, real)


def export(model, images, args, history, seconds, real=None) -> None:
    from training.export import check_int8_model, convert_int8, write_model

    # Same weights with a static batch of one: no dynamic-shape ops in the exported graph.
    static = build_model(batch_size=1)
    static.set_weights(model.get_weights())
    model = static
    rep = [pack(images[i], RECOGNISER_PACK).astype(np.float32) / 255.0 for i in range(0, 2100, 7)]
    if real:  # calibrate on real crops too: their contrast and noise are not the generator's
        from training import real_crops

        picks = np.random.default_rng(args.seed).choice(len(real), min(100, len(real)), False)
        rep += [
            pack(image, RECOGNISER_PACK).astype(np.float32) / 255.0
            for image in real_crops.arrays(real, None, picks)[0]
        ]
    content = convert_int8(model, rep)
    io = check_int8_model(content, pack(images[0], RECOGNISER_PACK))
    write_model(
        Path(args.out),
        "recogniser",
        content,
        io,
        version=args.version,
        training={
            "data": f"synthetic crops (edge.synth.scene.render_crop), seed {args.seed}, "
            f"{args.samples} samples"
            + (
                f", plus the rows of {args.row_samples // 2} two-row plates "
                f"({args.row_share:.0%} of each batch), init {args.init}"
                if args.row_samples
                else ""
            )
            + (
                f", plus {len(real)} real crops of {args.real} ({args.real_share:.0%} of each "
                "batch, augmented)"
                if real
                else ""
            ),
            "seed": args.seed,
            "steps": args.steps,
            "batch": args.batch,
            "seconds": round(seconds),
        },
        metrics={
            "synthetic_val_exact_float": history[-1]["val_exact"] if history else None,
            "synthetic_val_rows_exact_float": (
                history[-1].get("val_rows_exact") if history else None
            ),
            "real_valid_exact_float": history[-1].get("val_real_exact") if history else None,
        },
        extra={
            "input_packing": RECOGNISER_PACK,
            "charset": data.CHARSET,
            "blank_index": 0,
            "sequence": SEQUENCE,
        },
    )
    print(f"exported {args.out}/recogniser.tflite ({len(content)} bytes)", flush=True)


# the first stage of the bundled model (tools/train.sh)
BUNDLED = Schedule(samples=160_000, steps=5000, batch=64, seed=11, eval_every=1000, version="2.0.0")


def main(argv=None) -> None:
    run_script("train the plate recogniser", argv, BUNDLED, add_options, train, export_checkpoint)


def add_options(parser) -> None:
    add_fine_tune_options(
        parser,
        real_help="plates with text, cut as the unit cuts them",
        real_share=0.25,
        valid_help="exact reads, never trained on",
    )
    parser.add_argument(
        "--row-samples", type=int, default=0, help="row crops of two-row plates (0: none)"
    )
    parser.add_argument("--row-share", type=float, default=0.25, help="their share of a batch")


if __name__ == "__main__":
    main()
