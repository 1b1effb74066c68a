"""What per-step learning-rate logging costs, measured side by side in one process.

Variants, trained on the same data with the same model shape:
  constant      constant rate, no callbacks (the baseline)
  keras_cosine  Keras' CosineDecay inside the optimizer (in-graph, nothing logged)
  article       the article's design: a Python callback that sets the rate before each
                batch and writes a tf.summary.scalar after it
  lr_tb         lr_tb.WarmupCosineDecayScheduler with every step written to TensorBoard

Rounds are interleaved (every variant once per round, in a rotating order) so drift in the
machine's speed hits all alike. Each fit runs several epochs; the first epoch of each fit
(tracing) is dropped and the median epoch time over all rounds is reported, with its ratio
to `constant`.

    python benchmarks/overhead.py            # tiny MLP and the article's CNN
    python benchmarks/overhead.py --quick    # fewer rounds, MLP only
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import lr_tb  # noqa: E402
from lr_tb.article import article_cnn  # noqa: E402

BASE, WARMUP = 1e-3, 50


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._t)

    def on_train_begin(self, logs=None):
        self.times = []


class ArticleScheduler(keras.callbacks.Callback):
    """The article's per-batch warmup-cosine callback, plus a tf.summary per batch."""

    def __init__(self, total_steps, log_dir):
        super().__init__()
        self.total_steps = total_steps
        self.global_step = 0
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train"))

    def on_train_batch_begin(self, batch, logs=None):
        t = self.global_step
        if t < WARMUP:
            lr = BASE * t / WARMUP
        else:
            progress = (t - WARMUP) / max(self.total_steps - WARMUP, 1)
            lr = 0.5 * BASE * (1 + np.cos(np.pi * min(progress, 1.0)))
        self.model.optimizer.learning_rate = lr
        self.lr = lr

    def on_train_batch_end(self, batch, logs=None):
        with self.writer.as_default():
            tf.summary.scalar("learning_rate", self.lr, step=self.global_step)
        self.global_step += 1


def mlp():
    return keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def run(name, build, x, y, batch, epochs, rounds, log_root, from_logits=True):
    steps_per_epoch = len(x) // batch
    total = steps_per_epoch * epochs
    variants = ["constant", "keras_cosine", "article", "lr_tb"]
    times = {v: [] for v in variants}
    for r in range(rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for variant in order:
            keras.utils.set_random_seed(r)
            model = build()
            lr = BASE
            if variant == "keras_cosine":
                lr = keras.optimizers.schedules.CosineDecay(
                    0.0, total - WARMUP, warmup_target=BASE, warmup_steps=WARMUP
                )
            model.compile(
                keras.optimizers.Adam(lr),
                keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            )
            log_dir = os.path.join(log_root, f"{name}-{variant}-{r}")
            callbacks = {
                "constant": [],
                "keras_cosine": [],
                "article": [ArticleScheduler(total, log_dir)],
                "lr_tb": [
                    lr_tb.WarmupCosineDecayScheduler(BASE, warmup_steps=WARMUP, log_dir=log_dir)
                ],
            }[variant]
            timer = EpochTimer()
            model.fit(
                x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[*callbacks, timer]
            )
            times[variant].extend(timer.times[1:])  # drop the epoch that traced
    base = statistics.median(times["constant"])
    print(
        f"\n{name}: {steps_per_epoch} steps/epoch, batch {batch}, {rounds} rounds x "
        f"{epochs - 1} timed epochs, step time {1000 * base / steps_per_epoch:.2f} ms"
    )
    print(f"{'variant':<14}{'median s/epoch':>16}{'ratio':>9}")
    for v in variants:
        med = statistics.median(times[v])
        print(f"{v:<14}{med:>16.4f}{med / base:>8.3f}x")
    return {v: statistics.median(times[v]) / base for v in variants}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, MLP only")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", choices=["mlp", "cnn"], default=None, help="one model only")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"keras {keras.__version__} on {keras.backend.backend()}, tensorflow {tf.__version__}")
    with tempfile.TemporaryDirectory() as root:
        if args.only != "cnn":
            x = rng.normal(size=(8000, 32)).astype("float32")
            y = rng.integers(0, 10, size=8000)
            run("tiny MLP", mlp, x, y, 32, 5, args.rounds or (3 if args.quick else 8), root)
        if not args.quick and args.only != "mlp":
            x = rng.random((31 * 40, 28, 28, 1)).astype("float32")
            y = rng.integers(0, 10, size=len(x))
            # 4 rounds: every variant takes every position in the rotation once
            run(
                "article CNN", article_cnn, x, y, 31, 3, args.rounds or 4, root, from_logits=False
            )  # lr_tb.article's CNN ends in a softmax


if __name__ == "__main__":
    main()
