"""What lr_tb's callbacks cost on any Keras backend, whole `fit` calls, side by side.

Variants on the same 41-layer MLP (a model whose whole training state is large, so copying it
back to the host every batch would show):
  constant      a float rate, no callbacks (the baseline)
  keras_cosine  Keras' CosineDecay inside the optimizer, nothing logged
  logger        Keras' CosineDecay inside the optimizer, lr_tb.LearningRateLogger writing
                every step
  scheduler     lr_tb.WarmupCosineDecayScheduler writing every step

Each round trains a fresh model once (not timed: it compiles), then times a later
`fit(epochs=3, initial_epoch=1)`; rounds are interleaved in a rotating order.

    KERAS_BACKEND=jax python benchmarks/logger_overhead.py
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

import lr_tb  # noqa: E402

VARIANTS = ["constant", "keras_cosine", "logger", "scheduler"]


def model(variant: str, total: int) -> keras.Model:
    m = keras.Sequential(
        [keras.Input((32,))]
        + [keras.layers.Dense(64, activation="relu") for _ in range(40)]
        + [keras.layers.Dense(10)]
    )
    rate = 1e-3
    if variant in ("keras_cosine", "logger"):
        rate = keras.optimizers.schedules.CosineDecay(1e-3, total)
    m.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy")
    return m


def callbacks(variant: str, log_dir: str) -> list:
    if variant == "logger":
        return [lr_tb.LearningRateLogger(log_dir)]
    if variant == "scheduler":
        return [lr_tb.WarmupCosineDecayScheduler(1e-3, warmup_steps=10, log_dir=log_dir)]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3200, 32)).astype("float32")
    y = rng.integers(0, 10, size=len(x))
    batch, epochs = 32, 3
    total = len(x) // batch * epochs
    print(f"keras {keras.__version__} on {keras.backend.backend()}")
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.rounds):
            for variant in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
                keras.utils.set_random_seed(r)
                m = model(variant, total)
                log_dir = os.path.join(root, f"{variant}-{r}")
                m.fit(x, y, batch_size=batch, epochs=1, verbose=0,
                      callbacks=callbacks(variant, log_dir))  # fmt: skip
                start = time.perf_counter()
                m.fit(x, y, batch_size=batch, epochs=epochs, initial_epoch=1, verbose=0,
                      callbacks=callbacks(variant, log_dir))  # fmt: skip
                times[variant].append(time.perf_counter() - start)
    base = statistics.median(times["constant"])
    print(f"41-layer MLP, later fit(epochs=3, initial_epoch=1), {len(x) // batch} steps/epoch")
    print(f"{'variant':<14}{'median s/fit':>14}{'ratio':>9}")
    for v in VARIANTS:
        med = statistics.median(times[v])
        print(f"{v:<14}{med:>14.4f}{med / base:>8.3f}x")


if __name__ == "__main__":
    main()
