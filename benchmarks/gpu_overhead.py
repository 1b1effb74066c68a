"""Per-step learning-rate logging on an accelerator: Keras on the JAX backend (what a GPU
machine with JAX, tensorboard and numpy runs; no TensorFlow needed).

The tiny MLP of benchmarks/overhead.py, three ways, rounds interleaved, median epoch time
(first epoch of each fit, the compiling one, dropped):
  none     constant rate, no callback
  article  the article's design: a Python callback sets the rate before each batch and
           writes one TensorBoard point after it
  lr_tb    lr_tb.WarmupCosineDecayScheduler, every step written to TensorBoard
Then the lr_tb run's event file is read back and compared with the closed form.

    KERAS_BACKEND=jax python benchmarks/gpu_overhead.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import lr_tb  # noqa: E402
from lr_tb.event_writer import EventWriter  # noqa: E402

BASE, WARMUP = 1e-3, 50


def closed_form(t, total):
    if t < WARMUP:
        return BASE * t / WARMUP
    return 0.5 * BASE * (1 + math.cos(math.pi * min(t - WARMUP, total - WARMUP) / (total - WARMUP)))


class Timer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t)


class Article(keras.callbacks.Callback):
    def __init__(self, total, log_dir):
        super().__init__()
        self.total, self.step, self.writer = total, 0, EventWriter(os.path.join(log_dir, "train"))

    def on_train_batch_begin(self, batch, logs=None):
        self.lr = closed_form(self.step, self.total)
        self.model.optimizer.learning_rate = self.lr

    def on_train_batch_end(self, batch, logs=None):
        self.writer.write("learning_rate", [self.step], [self.lr])
        self.writer.flush()
        self.step += 1


def mlp():
    return keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    import jax

    print(f"keras {keras.__version__} on {keras.backend.backend()}, devices {jax.devices()}")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8000, 32)).astype("float32")
    y = rng.integers(0, 10, size=8000)
    spe, total = 250, 250 * args.epochs
    times = {"none": [], "article": [], "lr_tb": []}
    root = tempfile.mkdtemp()
    last_lr_tb = None
    for r in range(args.rounds):
        order = list(times)[r % 3 :] + list(times)[: r % 3]
        for variant in order:
            keras.utils.set_random_seed(r)
            model = mlp()
            model.compile(
                keras.optimizers.Adam(BASE),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
            log_dir = os.path.join(root, f"{variant}{r}")
            callbacks = {
                "none": [],
                "article": [Article(total, log_dir)],
                "lr_tb": [
                    lr_tb.WarmupCosineDecayScheduler(BASE, warmup_steps=WARMUP, log_dir=log_dir)
                ],
            }[variant]
            timer = Timer()
            model.fit(
                x, y, batch_size=32, epochs=args.epochs, verbose=0, callbacks=[*callbacks, timer]
            )
            times[variant].extend(timer.times[1:])
            if variant == "lr_tb":
                last_lr_tb = (log_dir, callbacks[0])
    base = statistics.median(times["none"])
    print(f"step time {1000 * base / spe:.3f} ms ({spe} steps/epoch, batch 32)")
    for variant, values in times.items():
        print(
            f"{variant:<8} median {statistics.median(values):.4f} s/epoch "
            f"{statistics.median(values) / base:.3f}x"
        )
    log_dir, callback = last_lr_tb
    acc = EventAccumulator(os.path.join(log_dir, "train"), size_guidance={"scalars": 0})
    acc.Reload()
    events = acc.Scalars("learning_rate")
    steps = [e.step for e in events]
    values = np.array([e.value for e in events])
    want = np.array([closed_form(t, total) for t in range(total)])
    print(
        f"read back: {len(steps)} points, steps 0..{total - 1} each once: "
        f"{steps == list(range(total))}; max |read - closed form| = "
        f"{np.max(np.abs(values - want)):.3g} (float32 ulp at the peak: "
        f"{float(np.spacing(np.float32(BASE))):.3g}); equals learning_rates: "
        f"{np.array_equal(np.float32(values), np.float32(callback.learning_rates))}"
    )


if __name__ == "__main__":
    main()
