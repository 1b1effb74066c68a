"""What per-step learning-rate logging costs, timed as the user waits: whole `fit` calls.

Variants, trained on the same data with the same model shape:
  constant      constant rate, no callbacks (the baseline)
  keras_cosine  Keras' CosineDecay inside the optimizer (in-graph, nothing logged): the floor
  article       the article's design: a Python callback that sets the rate before each
                batch and writes a tf.summary.scalar after it
  lr_tb         lr_tb.WarmupCosineDecayScheduler with every step written to TensorBoard

Scenarios, each timing the whole `model.fit(...)` call:
  first fit     a fresh model's first fit (tracing and compiling included)
  later fit     a model trained once the same way, then `fit(epochs=2, initial_epoch=1)` with
                a new, identical callback (a re-run notebook cell, a fine-tuning stage)
  later, XLA    the same with `jit_compile=True` and a 24-layer MLP, where a recompile is dear

Rounds are interleaved (every variant once per round, in a rotating order) so drift in the
machine's speed hits all alike; the median over rounds and its ratio to `constant` are
printed.

    python benchmarks/overhead.py            # every scenario
    python benchmarks/overhead.py --quick    # fewer rounds
    python benchmarks/overhead.py --scenario later --rounds 24   # one scenario, more rounds
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

BASE, WARMUP = 1e-3, 50


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


def deep_mlp():
    return keras.Sequential(
        [keras.Input((32,))]
        + [keras.layers.Dense(64, activation="relu") for _ in range(23)]
        + [keras.layers.Dense(10)]
    )


VARIANTS = ["constant", "keras_cosine", "article", "lr_tb"]


def compiled(build, variant, total, jit_compile):
    model = build()
    lr = BASE
    if variant == "keras_cosine":
        warmup = min(WARMUP, total // 4)
        lr = keras.optimizers.schedules.CosineDecay(
            0.0, total - warmup, warmup_target=BASE, warmup_steps=warmup
        )
    model.compile(
        keras.optimizers.Adam(lr),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def callbacks_for(variant, total, log_dir):
    return {
        "constant": [],
        "keras_cosine": [],
        "article": [ArticleScheduler(total, log_dir)],
        "lr_tb": [
            lr_tb.WarmupCosineDecayScheduler(
                BASE, warmup_steps=min(WARMUP, total // 4), log_dir=log_dir
            )
        ],
    }[variant]


def timed_fit(model, x, y, batch, callbacks, **kw):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, verbose=0, callbacks=callbacks, **kw)
    return time.perf_counter() - start


def run(name, build, x, y, batch, epochs, rounds, log_root, later, jit_compile=False):
    """Median whole-fit seconds per variant: the first fit of a fresh model, or (`later`) a
    `fit(epochs=2, initial_epoch=1)` of a model trained once the same way."""
    steps_per_epoch = len(x) // batch
    total = steps_per_epoch * epochs
    times = {v: [] for v in VARIANTS}
    for r in range(rounds):
        order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
        for variant in order:
            keras.utils.set_random_seed(r)
            model = compiled(build, variant, total, jit_compile)
            log_dir = os.path.join(log_root, f"{name}-{variant}-{r}")
            if later:
                model.fit(
                    x,
                    y,
                    batch_size=batch,
                    epochs=1,
                    verbose=0,
                    callbacks=callbacks_for(variant, 2 * steps_per_epoch, log_dir),
                )
                t = timed_fit(
                    model,
                    x,
                    y,
                    batch,
                    callbacks_for(variant, total, log_dir),
                    epochs=2,
                    initial_epoch=1,
                )
            else:
                t = timed_fit(
                    model, x, y, batch, callbacks_for(variant, total, log_dir), epochs=epochs
                )
            times[variant].append(t)
    base = statistics.median(times["constant"])
    what = "later fit(epochs=2, initial_epoch=1)" if later else f"first fit({epochs} epochs)"
    print(
        f"\n{name}, {what}{', jit_compile=True' if jit_compile else ''}: "
        f"{steps_per_epoch} steps/epoch, batch {batch}, {rounds} rounds"
    )
    print(f"{'variant':<14}{'median s/fit':>14}{'ratio':>9}")
    for v in VARIANTS:
        med = statistics.median(times[v])
        print(f"{v:<14}{med:>14.4f}{med / base:>8.3f}x")
    return {v: statistics.median(times[v]) / base for v in VARIANTS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--scenario",
        choices=["first", "later", "xla"],
        action="append",
        help="run only these scenarios (repeatable; default: all three)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"keras {keras.__version__} on {keras.backend.backend()}, tensorflow {tf.__version__}")
    rounds = args.rounds or (4 if args.quick else 8)
    x = rng.normal(size=(8000, 32)).astype("float32")
    y = rng.integers(0, 10, size=8000)
    with tempfile.TemporaryDirectory() as root:
        chosen = args.scenario or ["first", "later", "xla"]
        if "first" in chosen:
            run("tiny MLP", mlp, x, y, 32, 3, rounds, root, later=False)
        if "later" in chosen:
            run("tiny MLP", mlp, x, y, 32, 3, rounds, root, later=True)
        if "xla" in chosen:
            xs, ys = x[:640], y[:640]  # 20 steps per epoch
            run("24-layer MLP", deep_mlp, xs, ys, 32, 3, rounds, root, later=True, jit_compile=True)


if __name__ == "__main__":
    main()
