"""A keras-tuner search over the learning-rate schedule: the five schedules and their
settings, on the offline digits, every trial's curves and LR in TensorBoard (HParams too).

    python examples/tuner_search.py [--quick] [--logdir runs_search/tensorboard]
    tensorboard --logdir runs_search/tensorboard

Runs offline; --quick (6 trials, 2 epochs) takes about half a minute on 2 CPU cores. Its
runs go under `runs_search/`, apart from the article demo's `runs/`, so that
`tensorboard --logdir runs` shows the demo alone.
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
import keras_tuner as kt

from lr_tb import datasets


def build_model(hp: kt.HyperParameters) -> keras.Model:
    """The user's own model: any architecture, compiled with any optimizer."""
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(hp.Int("units", 32, 128, step=32, default=64), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--logdir",
        default=os.path.join("runs_search", "tensorboard"),
        help="TensorBoard log directory, emptied first (default: %(default)s)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="keras-tuner's directory (default: keras_tuner beside the log directory)",
    )
    parser.add_argument("--quick", action="store_true", help="6 trials of 2 epochs")
    parser.add_argument("--trials", type=int, default=None, help="trials (15; --quick: 6)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (6; --quick: 2)")
    args = parser.parse_args(argv)
    trials = args.trials or (6 if args.quick else 15)
    epochs = args.epochs or (2 if args.quick else 6)
    if trials < 1 or epochs < 1:
        parser.error("--trials and --epochs must be >= 1")
    workdir = args.workdir or os.path.join(
        os.path.dirname(os.path.abspath(args.logdir)), "keras_tuner"
    )
    shutil.rmtree(args.logdir, ignore_errors=True)

    digits = datasets.load("digits")
    hypermodel = lr_tb.tuner.ScheduleHyperModel(build_model)  # all five schedules
    tuner = kt.RandomSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=trials,
        seed=0,
        directory=workdir,
        project_name="lr_tb_search",
        overwrite=True,
    )
    tuner.search(
        digits.x_train,
        digits.y_train,
        epochs=epochs,
        batch_size=32,
        validation_data=(digits.x_test, digits.y_test),
        verbose=0,
        callbacks=[lr_tb.TensorBoard(args.logdir)],
    )
    tuner.results_summary(num_trials=3)
    best = tuner.get_best_hyperparameters(1)[0].values
    prefix = f"lr_tb/{best['lr_tb/schedule']}/"
    settings = "".join(
        f", {k.removeprefix(prefix)}={v:.3g}" for k, v in best.items() if k.startswith(prefix)
    )
    print(
        f"\nBest trial's schedule: {best['lr_tb/schedule']} at learning_rate="
        f"{best['lr_tb/learning_rate']:.3g}{settings}"
    )
    print(
        f"\nCompare the trials (Scalars and HParams dashboards):\n"
        f"  tensorboard --logdir {args.logdir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
