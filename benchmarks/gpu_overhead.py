"""Per-step learning-rate logging on an accelerator: Keras on the JAX backend (what a GPU
machine with JAX, tensorboard and numpy runs; no TensorFlow needed).

Timed as the user waits: whole `fit` calls, a fresh model's first fit and a later
`fit(epochs, initial_epoch=1)` of a model trained once the same way; four variants, rounds
interleaved, median over rounds:
  none          constant rate, no callback
  keras_cosine  Keras' CosineDecay inside the optimizer (in-graph, nothing logged): the floor
  article       the article's design: a Python callback sets the rate before each batch and
                writes one TensorBoard point after it
  lr_tb         lr_tb.WarmupCosineDecayScheduler, every step written to TensorBoard
Models: the tiny MLP of benchmarks/overhead.py, and `--model big` (a wide MLP on large
batches, >= 20 ms a step on a current GPU). Then the last lr_tb run's event file is read
back and compared with `learning_rates` and the closed form.

    KERAS_BACKEND=jax python benchmarks/gpu_overhead.py [--rounds 5] [--model tiny|big]
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


def big_mlp():
    return keras.Sequential(
        [keras.Input((1024,))]
        + [keras.layers.Dense(4096, activation="relu") for _ in range(6)]
        + [keras.layers.Dense(10)]
    )


VARIANTS = ["none", "keras_cosine", "article", "lr_tb"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--model", choices=["tiny", "big"], default="tiny")
    args = parser.parse_args()
    import jax

    print(f"keras {keras.__version__} on {keras.backend.backend()}, devices {jax.devices()}")
    rng = np.random.default_rng(0)
    if args.model == "tiny":
        build, features, n, batch = mlp, 32, 8000, 32
    else:
        build, features, n, batch = big_mlp, 1024, 4096 * 25, 4096
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, 10, size=n)
    spe = n // batch
    total = spe * args.epochs
    times = {(v, later): [] for v in VARIANTS for later in (False, True)}
    root = tempfile.mkdtemp()
    last_lr_tb = None

    def compiled(variant):
        lr = BASE
        if variant == "keras_cosine":
            lr = keras.optimizers.schedules.CosineDecay(
                0.0, total - WARMUP, warmup_target=BASE, warmup_steps=WARMUP
            )
        model = build()
        model.compile(
            keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        return model

    def callbacks(variant, log_dir):
        return {
            "none": [],
            "keras_cosine": [],
            "article": [Article(total, log_dir)],
            "lr_tb": [lr_tb.WarmupCosineDecayScheduler(BASE, warmup_steps=WARMUP, log_dir=log_dir)],
        }[variant]

    def timed(model, cbs, **kw):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, verbose=0, callbacks=cbs, **kw)
        return time.perf_counter() - start

    for r in range(args.rounds):
        for variant in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
            keras.utils.set_random_seed(r)
            log_dir = os.path.join(root, f"{variant}{r}")
            model = compiled(variant)
            cbs = callbacks(variant, log_dir)
            times[(variant, False)].append(timed(model, cbs, epochs=args.epochs))
            if variant == "lr_tb":
                last_lr_tb = (log_dir, cbs[0])
            model = compiled(variant)
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0,
                      callbacks=callbacks(variant, log_dir + "-later"))  # fmt: skip
            cbs = callbacks(variant, log_dir + "-later")
            times[(variant, True)].append(timed(model, cbs, epochs=args.epochs, initial_epoch=1))
    for later in (False, True):
        base = statistics.median(times[("none", later)])
        what = f"later fit(epochs={args.epochs}, initial_epoch=1)" if later else "first fit"
        print(f"{args.model} MLP, {what}: {spe} steps/epoch, batch {batch}")
        for variant in VARIANTS:
            med = statistics.median(times[(variant, later)])
            print(f"  {variant:<13} median {med:.4f} s/fit {med / base:.3f}x")
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
