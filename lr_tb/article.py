"""The article, reproduced in TensorBoard: its CNN trained with each of its four schedules.

One run per schedule under `logdir` (`plateau`, `exponential`, `warmup_cosine`,
`cosine_restarts`), each written by `lr_tb.TensorBoard`: Keras' `train`/`validation` curves
and, in `train`, `batch_learning_rate`, the rate every step applied (the run's only rate
chart, the first TensorBoard opens).

The article's setting is the default: 10 epochs, batch 31, Adam, base rate 1e-3, exponential
decay 0.9 per epoch, floor 1e-6. `quick=True` trains on 600 offline digits for 4 epochs (well
under a minute on 2 CPU cores) and is what the README's main command runs. In both, every
run shows its schedule's character: the plateau run drops at least once (it halves the rate
after any epoch that gains less than 3 points of validation accuracy), the restarts run
climbs back four times (restarts at 5, 15, 30 and 50 % of the run).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import keras

from lr_tb import catalog, datasets
from lr_tb.callbacks import LearningRateCallback, ReduceLROnPlateau, TensorBoard, schedulers

RUNS = ("plateau", "exponential", "warmup_cosine", "cosine_restarts")
BASE = 1e-3
FLOOR = 1e-6
# The article's settings of its three schedules, each with the base rate `BASE`.
SETTINGS = {
    "exponential": dict(decay_rate=0.9, min_learning_rate=FLOOR),
    "warmup_cosine": dict(
        warmup_learning_rate=1e-5, warmup_epochs=1, hold_epochs=0.5, min_learning_rate=FLOOR
    ),
    "cosine_restarts": dict(
        restarts=catalog.ARTICLE_RESTARTS,
        warmup_fraction=0.1,
        warmup_learning_rate=1e-5,
        min_learning_rate=FLOOR,
    ),
}


@dataclass
class Setting:
    epochs: int = 10
    batch_size: int = 31
    samples: int | None = None  # training samples used (None: all)

    @classmethod
    def quick(cls) -> Setting:
        return cls(epochs=4, batch_size=31, samples=600)


def article_cnn() -> keras.Model:
    """Conv 32 5x5, pool, Conv 64 5x5, pool, Dense 1024, Dense 256, softmax 10."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(1024, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="article_cnn",
    )


def scheduler(name: str, verbose: int = 1) -> LearningRateCallback:
    """The article's callback for each schedule, with the article's settings (no `log_dir`:
    the run's `lr_tb.TensorBoard` writes the rate it applies)."""
    if name == "plateau":
        # The article halves the rate on a plateau of val_loss with patience 2. So that the
        # drop shows within a few epochs (the quick demo has 4), this halves it after any
        # epoch that gains less than 3 points of validation accuracy.
        return ReduceLROnPlateau(
            monitor="val_accuracy",
            mode="max",
            factor=0.5,
            patience=0,
            min_delta=0.03,
            min_lr=FLOOR,
            verbose=verbose,
        )
    if name in SETTINGS:
        callback = getattr(schedulers, catalog.spec(name).callback)
        return callback(learning_rate_base=BASE, verbose=verbose, **SETTINGS[name])
    raise ValueError(f"Argument `name` must be one of {list(RUNS)}. Received: name={name!r}")


def run(
    logdir: str,
    setting: Setting | None = None,
    data: str = "auto",
    runs: tuple[str, ...] = RUNS,
    verbose: int = 1,
    keep: bool = False,
) -> dict[str, LearningRateCallback]:
    """Train the article's CNN once per schedule; returns each run's lr_tb callback."""
    setting = setting or Setting()
    digits = datasets.load(data)
    x, y = digits.x_train, digits.y_train
    if setting.samples is not None:
        x, y = x[: setting.samples], y[: setting.samples]
    results = {}
    for name in runs:
        run_dir = os.path.join(logdir, name)
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        callback = scheduler(name, verbose=1 if verbose else 0)
        keras.utils.set_random_seed(0)
        model = article_cnn()
        model.compile(
            optimizer=keras.optimizers.Adam(BASE),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        if verbose:
            print(f"\n== {name} ({digits.source}, {len(x)} samples) ==")
        model.fit(
            x,
            y,
            batch_size=setting.batch_size,
            epochs=setting.epochs,
            validation_data=(digits.x_test, digits.y_test),
            verbose=verbose,
            callbacks=[TensorBoard(run_dir), callback],
        )
        results[name] = callback
    return results
