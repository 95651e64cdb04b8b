"""What the two training scripts share: their command-line options and defaults."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """A model's training defaults: those of the bundled model, so `make train` reproduces it."""

    samples: int
    steps: int
    batch: int
    seed: int
    eval_every: int
    version: str


def run_script(
    description: str,
    argv: list[str] | None,
    defaults: Schedule,
    extra: Callable[[argparse.ArgumentParser], None],
    train: Callable[[argparse.Namespace], None],
    export: Callable[[argparse.Namespace], None],
) -> None:
    """A training script's `main`: train, or with --export-only export the last checkpoint."""
    args = parse_args(description, argv, defaults, extra)
    (export if args.export_only else train)(args)


def parse_args(
    description: str,
    argv: list[str] | None,
    defaults: Schedule,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    samples, steps, batch, seed = defaults.samples, defaults.steps, defaults.batch, defaults.seed
    eval_every, version = defaults.eval_every, defaults.version
    parser.add_argument("--out", default="edge/models", help="where the .tflite and .json go")
    parser.add_argument("--workdir", default="training/runs", help="checkpoints and history")
    parser.add_argument("--samples", type=int, default=samples, help="generated training samples")
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--seed", type=int, default=seed, help="data and initialisation seed")
    parser.add_argument("--workers", type=int, default=2, help="data generation processes")
    parser.add_argument("--eval-every", type=int, default=eval_every)
    parser.add_argument("--version", default=version, help="model version for the manifest")
    parser.add_argument(
        "--export-only", action="store_true", help="export the last checkpoint in --workdir"
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def freeze_batch_norm(model) -> None:
    """Keep every batch norm as it is, in inference mode: for weights recovered from a `.tflite`
    (training.tflite_weights), whose batch norms are an identity plus bias, batch statistics
    would change what every layer computes at the first step of a fine-tune."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def add_fine_tune_options(
    parser: argparse.ArgumentParser, *, real_help: str, real_share: float, valid_help: str
) -> None:
    """What both scripts take to start from weights and mix in real data."""
    parser.add_argument("--init", help="weights to start from (a previous stage, fine-tuning)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument(
        "--freeze-bn",
        action="store_true",
        help="keep batch norm as it is (weights recovered by training.tflite_weights)",
    )
    parser.add_argument(
        "--real",
        help="a labelled dataset folder (DESIGN §1) of real photos, its train split only "
        f"(e.g. /work/data/real-train/train): {real_help}",
    )
    parser.add_argument(
        "--real-share", type=float, default=real_share, help="the real samples' share of a batch"
    )
    parser.add_argument("--real-valid", help=f"a real dataset folder to watch ({valid_help})")
    parser.add_argument(
        "--threads", type=int, default=0, help="TensorFlow intra- and inter-op threads (0: all)"
    )


def step_clock(step: int, last: int, seconds: float) -> str:
    """`412s, about 0:38:10 left` for a training log line: the estimate from the pace so far."""
    left = round(seconds / step * (last - step)) if step else 0
    hours, rest = divmod(left, 3600)
    return f"{seconds:.0f}s, about {hours}:{rest // 60:02d}:{rest % 60:02d} left"
