"""What ScheduleHyperModel costs per keras-tuner trial, measured side by side in one process.

Three RandomSearch runs of the same fixed trials (one constant rate, same model, same data):
  plain         a plain HyperModel: build + model.fit, no callback
  callback      the same, with lr_tb's scheduler callback added by hand in fit()
  hypermodel    lr_tb.tuner.ScheduleHyperModel (it declares the space and adds the callback)
Rounds are interleaved; printed: median seconds per trial and the ratios. `hypermodel /
callback` is what the HyperModel adds beyond the callback itself.

    python benchmarks/tuner_overhead.py [--rounds 4] [--trials 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402

import lr_tb  # noqa: E402
from lr_tb import datasets  # noqa: E402

RATE = 1e-3


def build(hp):
    hp.Int("seed_unused", 0, 1000)  # one dimension so RandomSearch has trials to draw
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(RATE), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


class Plain(kt.HyperModel):
    def build(self, hp):
        return build(hp)


class WithCallback(Plain):
    def fit(self, hp, model, *args, **kwargs):
        callback = lr_tb.ScheduleCallback(lr_tb.schedules.Constant(RATE))
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), callback]
        return model.fit(*args, **kwargs)


def hypermodels():
    return {
        "plain": Plain(),
        "callback": WithCallback(),
        "hypermodel": lr_tb.tuner.ScheduleHyperModel(
            build, schedules=["constant"], learning_rate=RATE
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    digits = datasets.load("digits")
    per_trial = {name: [] for name in hypermodels()}
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.rounds):
            names = list(per_trial)
            names = names[r % 3 :] + names[: r % 3]
            for name in names:
                tuner = kt.RandomSearch(
                    hypermodels()[name],
                    objective="val_accuracy",
                    max_trials=args.trials,
                    seed=r,
                    directory=os.path.join(root, f"{name}{r}"),
                    project_name="p",
                )
                start = time.perf_counter()
                tuner.search(
                    digits.x_train,
                    digits.y_train,
                    epochs=args.epochs,
                    batch_size=32,
                    validation_data=(digits.x_test, digits.y_test),
                    verbose=0,
                )
                per_trial[name].append((time.perf_counter() - start) / args.trials)
    med = {name: statistics.median(times) for name, times in per_trial.items()}
    print(
        f"keras {keras.__version__}, keras-tuner {kt.__version__}: {args.rounds} rounds x "
        f"{args.trials} trials x {args.epochs} epochs (1,437 digits, batch 32)"
    )
    for name, value in med.items():
        print(f"{name:<12}{value:8.3f} s/trial{value / med['plain']:8.3f}x plain")
    print(f"hypermodel / callback: {med['hypermodel'] / med['callback']:.3f}x")


if __name__ == "__main__":
    main()
