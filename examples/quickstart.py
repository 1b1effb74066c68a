"""Train a tiny classifier once with each of the article's four schedules and write one
TensorBoard run per schedule: Keras' loss curves and lr_tb's per-step learning rate.

    python examples/quickstart.py --logdir runs
    tensorboard --logdir runs

The runs are `<logdir>/quickstart/<schedule>`, so they sit beside the article demo's
(`lr-tb demo --logdir runs`) instead of replacing them; a re-run replaces its own runs (say
which), unless `--keep`. Runs offline on synthetic data (no download) in well under a minute on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

# isort: split
import lr_tb  # first: Keras, imported by lr_tb, then starts without TensorFlow's C++ lines

# isort: split
import keras
import numpy as np


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four noisy Gaussian blobs in 16 dimensions: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(4, 16))
    y = rng.integers(0, 4, size=n)
    x = centers[y] + rng.normal(scale=2.5, size=(n, 16))
    return x.astype("float32"), y


RUN_GROUP = "quickstart"  # its runs: <logdir>/quickstart/<schedule>


def schedulers() -> dict[str, keras.callbacks.Callback]:
    """The article's four schedules, with the article's settings where it gives them. No
    `log_dir`: each run's `lr_tb.TensorBoard` writes the rate they apply."""
    return {
        # step decay on a plateau: halve the rate when val_loss stops improving
        "plateau": lr_tb.ReduceLROnPlateau(
            monitor="val_loss",
            factor=0.5,
            patience=1,
            min_delta=1e-3,
            verbose=1,
        ),
        # exponential decay once per epoch: base 1e-3, decay 0.9, floor 1e-6
        "exponential": lr_tb.ExponentialDecayScheduler(
            learning_rate_base=1e-2,
            decay_rate=0.7,
            min_learning_rate=1e-6,
        ),
        # cosine annealing with linear warmup and a hold at the peak, per step
        "warmup_cosine": lr_tb.WarmupCosineDecayScheduler(
            learning_rate_base=1e-2,
            warmup_learning_rate=1e-4,
            warmup_epochs=1,
            hold_epochs=0.5,
            min_learning_rate=1e-5,
        ),
        # the article's restarts: cycles of 5, 10, 15, 20 and 50 % of the run
        "cosine_restarts": lr_tb.CosineRestartsScheduler(
            learning_rate_base=1e-2,
            restarts=[0.05, 0.15, 0.30, 0.50],
            warmup_fraction=0.1,
            warmup_learning_rate=1e-4,
            min_learning_rate=1e-5,
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logdir", default="runs", help="TensorBoard log directory (runs)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per schedule (6)")
    parser.add_argument("--samples", type=int, default=4000, help="training samples (4000)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep this example's earlier runs (default: replace them; other runs under "
        "--logdir are never touched)",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.samples < 64:
        parser.error("--epochs must be >= 1 and --samples >= 64")

    x, y = make_data(args.samples)
    for name, scheduler in schedulers().items():
        run_dir = os.path.join(args.logdir, RUN_GROUP, name)
        if not args.keep and os.path.isdir(run_dir):
            shutil.rmtree(run_dir)
            print(f"replaced the earlier run {run_dir} (--keep keeps it)")
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((16,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(4, activation="softmax"),
            ]
        )
        model.compile(
            keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        print(f"\n== {name} ==")
        model.fit(
            x,
            y,
            batch_size=64,
            epochs=args.epochs,
            validation_split=0.2,
            verbose=2,
            callbacks=[lr_tb.TensorBoard(run_dir), scheduler],
        )
        rates = scheduler.learning_rates
        print(
            f"{name}: {len(rates)} steps logged to {run_dir}/train, "
            f"learning rate {rates[0]:.3g} -> {rates[-1]:.3g} (max {max(rates):.3g})"
        )
    print(f"\nSee the curves:\n  tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
