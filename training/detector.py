"""Train the plate detector: a small CenterNet-style network with a stride-4 centre heatmap.

Depthwise-separable convolutions down to stride 32 for context, a light feature pyramid back up
to stride 4 so that plates only a few pixels high in the detector's 640×480 input still get
their own cell, and two heads: centre logits and box regression (see edge.vision.heatmap). It is
fully convolutional: trained on 384×288 scenes, exported at 640×480.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edge.vision import heatmap
from edge.vision.preprocess import DETECTOR_SIZE, PACK, pack
from training import data
from training.common import (
    Schedule,
    add_fine_tune_options,
    freeze_batch_norm,
    run_script,
    step_clock,
)


def build_model(width: int, height: int, batch_size: int | None = None):
    import keras
    from keras import layers

    def bn_relu(x):
        return layers.ReLU()(layers.BatchNormalization()(x))

    def separable(x, filters, stride=1):
        x = bn_relu(layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x))
        return bn_relu(layers.Conv2D(filters, 1, use_bias=False)(x))

    def lateral(x, filters):
        return bn_relu(layers.Conv2D(filters, 1, use_bias=False)(x))

    def up(x, like):
        # Nearest resize to the finer level: one RESIZE_NEAREST_NEIGHBOR op, which XNNPACK runs
        # in int8 (UpSampling2D lowers to TILE/RESHAPE ops that it does not).
        return layers.Resizing(like.shape[1], like.shape[2], interpolation="nearest")(x)

    # The grey frame arrives packed 4×4 into channels (edge.vision.preprocess.pack): a stem
    # convolution over a single channel at full resolution is slow in XNNPACK's int8 kernels.
    inputs = keras.Input(
        (height // PACK, width // PACK, PACK * PACK), batch_size=batch_size, name="frame"
    )
    x = bn_relu(layers.Conv2D(32, 1, use_bias=False)(inputs))  # a linear patch embedding
    c2 = separable(x, 32)  # stride 4
    c3 = separable(separable(separable(c2, 64, 2), 64), 64)  # stride 8
    c4 = separable(separable(separable(c3, 96, 2), 96), 96)  # stride 16
    c5 = separable(separable(c4, 128, 2), 128)  # stride 32
    p4 = layers.Add()([lateral(c4, 64), up(lateral(c5, 64), c4)])
    p3 = layers.Add()([lateral(c3, 64), up(p4, c3)])
    p3 = separable(p3, 64)
    p2 = layers.Add()([lateral(c2, 16), up(lateral(p3, 16), c2)])
    trunk = separable(
        p2, 24
    )  # one narrow trunk at stride 4 serves both heads: it is the costly level
    heat = layers.Conv2D(1, 1, name="heat", bias_initializer=keras.initializers.Constant(-2.19))(
        trunk
    )
    reg = layers.Conv2D(4, 1, name="box")(trunk)
    return keras.Model(inputs, [heat, reg], name="anpr_detector")


def batch_targets(boxes_list, out_h, out_w):
    heats, regs, masks = [], [], []
    for boxes in boxes_list:
        h, r, m = heatmap.make_targets(boxes, out_h, out_w)
        heats.append(h)
        regs.append(r)
        masks.append(m)
    return np.stack(heats)[..., None], np.stack(regs), np.stack(masks)[..., None]


def focal_loss(tf, logits, target):
    """CenterNet's penalty-reduced focal loss, normalised by the number of plates."""
    prob = tf.clip_by_value(tf.sigmoid(logits), 1e-4, 1 - 1e-4)
    positive = tf.cast(target >= 0.999, tf.float32)
    pos_loss = -tf.math.log(prob) * (1 - prob) ** 2 * positive
    neg_loss = -tf.math.log(1 - prob) * prob**2 * (1 - target) ** 4 * (1 - positive)
    count = tf.maximum(tf.reduce_sum(positive), 1.0)
    return (tf.reduce_sum(pos_loss) + tf.reduce_sum(neg_loss)) / count


def augment(tf, images):
    x = tf.cast(images, tf.float32) / 255.0
    batch = tf.shape(x)[0]
    gain = tf.random.uniform([batch, 1, 1, 1], 0.6, 1.3)
    bias = tf.random.uniform([batch, 1, 1, 1], -0.1, 0.1)
    gamma = tf.random.uniform([batch, 1, 1, 1], 0.7, 1.4)
    x = tf.clip_by_value(x, 0.0, 1.0) ** gamma * gain + bias
    x = x + tf.random.normal(tf.shape(x), stddev=0.02)
    return tf.clip_by_value(x, 0.0, 1.0)


def recall_at(model, images, boxes_list, threshold=0.3, iou=0.5) -> tuple[float, float]:
    """Detection recall and precision at IoU ≥ 0.5 on held-out scenes (float model)."""
    from edge.records import Box

    heat, reg = model.predict(pack(images).astype(np.float32) / 255.0, batch_size=32, verbose=0)
    matched = total = predicted = true_pos = 0
    for i, boxes in enumerate(boxes_list):
        found = [Box(*f[:4]) for f in heatmap.decode(heat[i, :, :, 0], reg[i], threshold)]
        predicted += len(found)
        total += len(boxes)
        for box in boxes:
            if any(Box(*box).iou(f) >= iou for f in found):
                matched += 1
        true_pos += sum(any(Box(*b).iou(f) >= iou for b in boxes) for f in found)
    return matched / max(total, 1), true_pos / max(predicted, 1)


def real_recall(model, scenes, threshold=0.3, iou=0.5) -> float:
    """Recall on real photos fitted into the unit's detector input, as the unit fits a frame."""
    from training import real_scenes

    deployed = build_model(*DETECTOR_SIZE)
    deployed.set_weights(model.get_weights())
    images, boxes = zip(*(real_scenes.fitted(s, DETECTOR_SIZE) for s in scenes), strict=True)
    return recall_at(deployed, np.stack(images), list(boxes), threshold, iou)[0]


# Plate heights of pasted real plates at the training size: readable, up to a near plate.
PASTE_HEIGHTS = (10, 80)


def train(args: argparse.Namespace) -> None:
    import keras
    import tensorflow as tf

    if args.threads:  # before any op runs: the machine's other cores belong to others
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    size = tuple(int(v) for v in args.size.split("x"))
    scenes = {"region": args.region, "max_plate": args.max_plate}
    images, boxes = data.detector_arrays(args.samples, args.seed, size, args.workers, **scenes)
    val_images, val_boxes = data.detector_arrays(
        500, args.seed + 1000, size, args.workers, **scenes
    )
    real = real_val = None
    if args.real:  # real photos (training.real_scenes), zoomed and cut afresh in every batch
        from training import real_scenes

        real = real_scenes.load(Path(args.real))
        if args.real_valid:  # watched only, never selected on
            real_val = real_scenes.load(Path(args.real_valid))
    model = build_model(*size)
    if args.init:  # a second stage fine-tunes the first stage's weights
        model.load_weights(args.init)
    if args.freeze_bn:
        freeze_batch_norm(model)
    print(f"detector parameters: {model.count_params()}", flush=True)
    schedule = keras.optimizers.schedules.CosineDecay(
        args.lr / 2,
        args.steps,
        alpha=0.02,
        warmup_target=args.lr,
        warmup_steps=min(300, args.steps // 10),
    )
    optimiser = keras.optimizers.Adam(schedule)
    out_h, out_w = size[1] // heatmap.STRIDE, size[0] // heatmap.STRIDE

    @tf.function
    def step(x, heat_t, reg_t, mask_t):
        with tf.GradientTape() as tape:
            heat, reg = model(augment(tf, x), training=True)
            heat_loss = focal_loss(tf, heat, heat_t)
            count = tf.maximum(tf.reduce_sum(tf.cast(heat_t >= 0.999, tf.float32)), 1.0)
            reg_loss = tf.reduce_sum(tf.abs(reg - reg_t) * mask_t) / count
            loss = heat_loss + reg_loss
        grads = tape.gradient(loss, model.trainable_variables)
        optimiser.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return heat_loss, reg_loss

    rng = np.random.default_rng(args.seed)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    started, history = time.monotonic(), []
    last = min(args.stop_at or args.steps, args.steps)
    real_batch = round(args.batch * args.real_share) if real else 0
    for i in range(1, last + 1):
        pick = rng.integers(0, len(images), args.batch - real_batch)
        x = images[pick]
        picked = [list(boxes[k]) for k in pick]
        if real and args.paste_share:  # real plates into synthetic scenes
            for b in np.flatnonzero(rng.random(len(pick)) < args.paste_share):
                picked[b] = real_scenes.paste(x[b], picked[b], real, rng, PASTE_HEIGHTS)
        if real_batch:
            chosen = rng.integers(0, len(real), real_batch)
            more = [real_scenes.sample(real[k], rng, size) for k in chosen]
            x = np.concatenate([x, np.stack([image for image, _ in more])])
            picked += [b for _, b in more]
        flips = rng.random(args.batch) < 0.5  # mirrored plates are still plates
        for b in np.flatnonzero(flips):
            x[b] = x[b, :, ::-1]
            picked[b] = [(size[0] - bx - bw, by, bw, bh) for bx, by, bw, bh in picked[b]]
        heat_t, reg_t, mask_t = batch_targets(picked, out_h, out_w)
        heat_loss, reg_loss = step(pack(x), heat_t, reg_t, mask_t)
        if i % 100 == 0:
            print(
                f"step {i} heat {float(heat_loss):.3f} box {float(reg_loss):.3f} "
                f"{step_clock(i, last, time.monotonic() - started)}",
                flush=True,
            )
        if i % args.eval_every == 0 or i == last:
            recall, precision = recall_at(model, val_images, val_boxes)
            record = {"step": i, "recall": recall, "precision": precision}
            if real_val:
                record["real_valid_recall"] = real_recall(model, real_val)
            history.append(record)
            print(f"step {i} val {record}", flush=True)
            model.save_weights(work / f"detector{args.tag}.weights.h5")
    (work / f"detector{args.tag}_history.json").write_text(json.dumps(history, indent=1))
    export(model, images, args, history, time.monotonic() - started, real)


def export_checkpoint(args: argparse.Namespace) -> None:
    """Export the last saved checkpoint (e.g. of a run that was stopped), calibrated and
    measured on the held-out scenes."""
    size = tuple(int(v) for v in args.size.split("x"))
    model = build_model(*size)
    model.load_weights(Path(args.workdir) / f"detector{args.tag}.weights.h5")
    val_images, val_boxes = data.detector_arrays(
        500, args.seed + 1000, size, args.workers, region=args.region, max_plate=args.max_plate
    )
    recall, precision = recall_at(model, val_images, val_boxes)
    print(f"checkpoint val recall {recall:.4f} precision {precision:.4f}", flush=True)
    history = [{"step": "checkpoint", "recall": recall, "precision": precision}]
    real = None
    if args.real:  # calibrate on real photos as the training run would have
        from training import real_scenes

        real = real_scenes.load(Path(args.real))
    export(model, val_images, args, history, 0.0, real)


def export(trained, images, args, history, seconds, real=None) -> None:
    import cv2

    from training.export import check_int8_model, convert_int8, write_model

    # Same weights, the deployment input size.
    model = build_model(*DETECTOR_SIZE, batch_size=1)
    model.set_weights(trained.get_weights())
    width, height = DETECTOR_SIZE
    step = max(1, len(images) // 200)
    frames = [cv2.resize(image, (width, height)) for image in images[::step][:200]]
    if real:  # calibrate on real photos too, fitted as the unit fits a frame
        from training import real_scenes

        picks = np.random.default_rng(args.seed).choice(len(real), min(100, len(real)), False)
        frames += [real_scenes.fitted(real[i], DETECTOR_SIZE)[0] for i in picks]
    rep = [pack(f).astype(np.float32) / 255.0 for f in frames]
    content = convert_int8(model, rep)
    io = check_int8_model(content, pack(frames[0]))
    write_model(
        Path(args.out),
        "detector",
        content,
        io,
        version=args.version,
        training={
            "data": f"synthetic scenes (edge.synth.scene.render_scene) {args.size}, "
            f"region {args.region}, plates 7–{args.max_plate} px, init {args.init or 'random'}, "
            f"seed {args.seed}, {args.samples} scenes"
            + (
                f", plus {len(real)} real photos of {args.real} ({args.real_share:.0%} of each "
                "batch, zoomed 0.8–2.5 and cut at random: training.real_scenes)"
                if real
                else ""
            )
            + (
                f"; real plates pasted into {args.paste_share:.0%} of the synthetic scenes"
                if real and args.paste_share
                else ""
            ),
            "seed": args.seed,
            "steps": args.steps if not args.stop_at else f"{args.stop_at} of {args.steps}",
            "batch": args.batch,
            "seconds": round(seconds),
        },
        metrics={
            "synthetic_val_recall_float": history[-1]["recall"] if history else None,
            "synthetic_val_precision_float": history[-1]["precision"] if history else None,
            "real_valid_recall_float": history[-1].get("real_valid_recall") if history else None,
        },
        extra={
            "stride": heatmap.STRIDE,
            "input_packing": PACK,
            "outputs_meaning": "heat: centre logits; box: dx, dy, "
            "log w, log h in cells (edge.vision.heatmap)",
        },
    )
    print(f"exported {args.out}/detector.tflite ({len(content)} bytes)", flush=True)


# the first stage of the bundled model (tools/train.sh)
BUNDLED = Schedule(samples=20_000, steps=3500, batch=16, seed=2, eval_every=700, version="1.0.0")


def main(argv=None) -> None:
    run_script(
        "train the plate detector", argv, BUNDLED, add_scene_options, train, export_checkpoint
    )


def add_scene_options(parser) -> None:
    parser.add_argument("--size", default="384x288", help="training scene size WxH")
    parser.add_argument("--region", default="mixed", choices=("mixed", "gb", "foreign", "half"))
    parser.add_argument("--max-plate", type=int, default=110, help="largest plate height, px")
    add_fine_tune_options(
        parser,
        real_help="every annotated box is a target",
        real_share=0.5,
        valid_help="recall, never trained on",
    )
    parser.add_argument(
        "--paste-share",
        type=float,
        default=0.0,
        help="with --real: the share of synthetic scenes that get a real plate pasted in",
    )
    parser.add_argument("--tag", default="", help="suffix of this stage's checkpoint files")
    parser.add_argument(
        "--stop-at",
        type=int,
        help="stop after this step of a --steps schedule (the bundled model's stage 2 is the "
        "first 1000 steps of a 3500-step schedule)",
    )


if __name__ == "__main__":
    main()
