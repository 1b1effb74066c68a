"""Find a learning rate for the article's CNN with the LR range test, and see it in TensorBoard.

    python examples/lr_find.py [--quick] [--png lr_find.png] [--logdir runs/lr_find]
    tensorboard --logdir runs/lr_find

Trains a copy of the article's CNN (the model itself is left as it was) while the rate grows
from 1e-7 to 10, stops when the loss diverges, and prints fastai's suggestions. Runs offline:
`--quick` (a small CNN, 30 steps) and `--data digits` use scikit-learn's bundled digits,
upsampled to MNIST's size; otherwise MNIST when it is cached or downloadable, else those
digits. docs/lr_find.png is `--data digits --png docs/lr_find.png`.
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

from lr_tb import article, datasets


def small_cnn() -> keras.Model:
    """--quick's model: Conv 8 3x3, pool, softmax 10 (the article's CNN is 50x larger)."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small CNN, 600 offline digits and 30 steps (a few seconds)",
    )
    parser.add_argument(
        "--data",
        choices=datasets.SOURCES,
        default=None,
        help="auto (default; --quick: digits), mnist or digits",
    )
    parser.add_argument("--steps", type=int, default=None, help="steps of the sweep (100)")
    parser.add_argument("--png", default=None, help="save the loss-vs-rate figure here")
    parser.add_argument("--logdir", default=None, help="write the sweep to TensorBoard here")
    args = parser.parse_args(argv)
    steps = args.steps or (30 if args.quick else 100)
    if steps < 2:
        parser.error("--steps must be >= 2")

    digits = datasets.load(args.data or ("digits" if args.quick else "auto"))
    x, y = digits.x_train, digits.y_train
    if args.quick:
        x, y = x[:600], y[:600]
    if args.logdir:
        shutil.rmtree(os.path.join(args.logdir, "train"), ignore_errors=True)

    keras.utils.set_random_seed(0)
    model = small_cnn() if args.quick else article.article_cnn()
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    print(
        f"LR range test: {steps} steps at most, batch 32, {digits.source} ({len(x)} samples), "
        f"backend: {keras.backend.backend()}"
    )
    result = lr_tb.find_learning_rate(
        model, x, y, num_steps=steps, batch_size=32, log_dir=args.logdir
    )
    print(
        f"{len(result.losses)} steps, rate {result.learning_rates[0]:.3g} -> "
        f"{result.learning_rates[-1]:.3g}, stopped: {result.stop_reason}"
    )
    if result.suggestion is None:
        print("Too few steps for a suggestion: raise --steps.")
    else:
        print(f"suggested learning rate ({result.rule}): {result.suggestion:.3g}")
        for name, value in result.suggestions.items():
            print(f"  {name}: {value:.3g}")
    if args.png:
        with open(args.png, "wb") as f:
            f.write(result.to_png())
        print(f"Figure: {args.png}")
    if args.logdir:
        print(
            "See the sweep (scalars, and the figure under Images):\n"
            f"  tensorboard --logdir {args.logdir}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
